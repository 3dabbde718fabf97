package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/ratelimit"
	"github.com/fedele-crm/fedele/core/store/memstore"
)

// TestLimitByAddress limits a stand-in public route (no key) per client
// address and tenant, on both limiters: the third request of an address
// within the burst is refused, other addresses and tenants are not.
func TestLimitByAddress(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	now := func() time.Time { return at }
	limiters := map[string]ratelimit.Limiter{
		"memory": ratelimit.NewMemory(now),
		"shared": ratelimit.NewShared(memstore.New(), now),
	}
	for name, lim := range limiters {
		t.Run(name, func(t *testing.T) {
			noSettings := func(context.Context, string) (core.Tenant, error) { return core.Tenant{}, nil }
			s := New(Config{Services: Services{RateLimits: ratelimit.NewGuard(lim, noSettings, now)}, Now: now})
			form := s.limitByAddress(core.RateLimit{Rate: 1, Burst: 2}, func(r *http.Request) string { return r.PathValue("tenant") },
				http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusAccepted) }))
			mux := http.NewServeMux()
			mux.Handle("POST /public/{tenant}/form", form)
			send := func(tenant, addr string) int {
				r := httptest.NewRequest(http.MethodPost, "/public/"+tenant+"/form", nil)
				r.RemoteAddr = addr
				w := httptest.NewRecorder()
				mux.ServeHTTP(w, r)
				if w.Header().Get("RateLimit-Limit") != "2" {
					t.Errorf("RateLimit-Limit %q, want 2", w.Header().Get("RateLimit-Limit"))
				}
				if w.Code == http.StatusTooManyRequests && w.Header().Get("Retry-After") != "1" {
					t.Errorf("429 with Retry-After %q, want 1", w.Header().Get("Retry-After"))
				}
				return w.Code
			}
			got := []int{
				send("acme", "203.0.113.5:1111"), send("acme", "203.0.113.5:2222"), send("acme", "203.0.113.5:3333"),
				send("acme", "198.51.100.7:1111"), send("globex", "203.0.113.5:1111"), send("acme", "[2001:db8::1]:443"),
			}
			want := []int{202, 202, 429, 202, 202, 202}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("statuses (-want +got):\n%s", diff)
			}
		})
	}
}
