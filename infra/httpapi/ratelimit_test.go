package httpapi_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/app"
	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/clock"
	"github.com/fedele-crm/fedele/core/ratelimit"
	"github.com/fedele-crm/fedele/infra/httpapi"
)

// limitedEnv is an env whose buckets are the real ones, shared through its
// store as the Lambda instances share them.
func limitedEnv(t *testing.T, name string) *env {
	return newEnvWith(t, engines[name](t), func(e *env, p *app.Ports) { p.Limiter = ratelimit.NewShared(e.store, e.now) })
}

// headers are the RateLimit-* values of an answer.
func headers(r response) [3]string {
	return [3]string{r.Header.Get("RateLimit-Limit"), r.Header.Get("RateLimit-Remaining"), r.Header.Get("RateLimit-Reset")}
}

// TestRateLimits: every answer carries the budget, a key over its bucket
// gets 429 with Retry-After until its next token, other keys and tenants
// keep theirs, and a second instance on the same store takes from the
// same buckets.
func TestRateLimits(t *testing.T) {
	for name := range engines {
		t.Run(name, func(t *testing.T) {
			e := limitedEnv(t, name)
			reader := e.key(t, "acme", core.ScopeRead)

			// The defaults: a key's 100 (tighter than the tenant's 200).
			if got := headers(reader.do("GET", "/v1/contacts", nil).want(t, 200, nil)); got != [3]string{"100", "99", "1"} {
				t.Errorf("default budget headers %q, want limit 100, 99 left, full in 1 s", got)
			}
			var tenant core.Tenant
			e.a.do("PATCH", "/v1/tenant", map[string]any{"rate_limits": map[string]any{"api_key": map[string]any{"rate": 1, "burst": 3}}}).want(t, 200, &tenant)
			if tenant.RateLimits == nil || *tenant.RateLimits.APIKey != (core.RateLimit{Rate: 1, Burst: 3}) || tenant.RateLimits.Tenant != nil {
				t.Fatalf("rate limits after PATCH: %+v", tenant.RateLimits)
			}
			e.a.do("PATCH", "/v1/tenant", map[string]any{"rate_limits": map[string]any{"api_key": map[string]any{"rate": 0, "burst": 3}}}).
				want(t, 422, nil).problem(t)

			// A fresh key, on its own bucket of 3; a second instance on the
			// same store serves its second request.
			k := e.key(t, "acme", core.ScopeRead)
			other, err := app.New(app.Ports{Store: e.store, Clock: clock.Func(e.now), Log: slog.New(slog.DiscardHandler), Limiter: ratelimit.NewShared(e.store, e.now)})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(other.Handler())
			t.Cleanup(srv.Close)
			k2 := *k
			k2.url = srv.URL
			for i, c := range []*client{k, &k2, k} {
				r := c.do("GET", "/v1/contacts", nil).want(t, 200, nil)
				if got := r.Header.Get("RateLimit-Remaining"); got != []string{"2", "1", "0"}[i] {
					t.Errorf("request %d: %s left, want %d", i, got, 2-i)
				}
			}
			for _, c := range []*client{k, &k2} {
				r := c.do("GET", "/v1/contacts", nil)
				p := r.want(t, 429, nil).problem(t)
				if !strings.HasSuffix(p.Type, "/rate_limited") || r.Header.Get("Retry-After") != "1" || r.Header.Get("RateLimit-Remaining") != "0" {
					t.Errorf("over the limit: type %s, Retry-After %q, headers %q", p.Type, r.Header.Get("Retry-After"), headers(r))
				}
			}
			// Other keys and tenants are not held back by k.
			reader.do("GET", "/v1/contacts", nil).want(t, 200, nil)
			e.b.do("GET", "/v1/contacts", nil).want(t, 200, nil)
			// A second later k has a token again.
			e.advance(time.Second)
			k.do("GET", "/v1/contacts", nil).want(t, 200, nil)
			k.do("GET", "/v1/contacts", nil).want(t, 429, nil)

			// The tenant's bucket holds every key of it together.
			e.a.do("PATCH", "/v1/tenant", map[string]any{"rate_limits": map[string]any{"tenant": map[string]any{"rate": 1, "burst": 2}, "api_key": map[string]any{"rate": 100, "burst": 100}}}).want(t, 200, nil)
			a, b := e.key(t, "acme", core.ScopeRead), e.key(t, "acme", core.ScopeRead)
			a.do("GET", "/v1/contacts", nil).want(t, 200, nil)
			b.do("GET", "/v1/contacts", nil).want(t, 200, nil)
			a.do("GET", "/v1/contacts", nil).want(t, 429, nil)
			b.do("GET", "/v1/contacts", nil).want(t, 429, nil)
			e.b.do("GET", "/v1/contacts", nil).want(t, 200, nil)
		})
	}
}

// The public unsubscribe links are budgeted per client address within the
// tenant the token names: a scanner of tokens gets 429s after the burst,
// while another tenant's links, and text that is no token at all (a 404
// that reads nothing), are not held back.
func TestUnsubscribeLinksAreRateLimited(t *testing.T) {
	e := limitedEnv(t, "embedded")
	link := func(c *client, email string) string {
		t.Helper()
		var ct core.Contact
		c.do(http.MethodPost, "/v1/contacts", map[string]any{"first_name": "Ada", "emails": []map[string]any{{"address": email}},
			"consent": map[string]any{"email": map[string]any{"status": "granted", "source": "signup form"}}}).want(t, http.StatusCreated, &ct)
		var out outcomeBody
		c.do(http.MethodPost, "/v1/messages", map[string]any{"contact_id": ct.ID, "channel": "email", "template": "t", "key": "k"}).
			want(t, http.StatusCreated, &out)
		u, err := url.Parse(out.Message.Unsubscribe.URL)
		if err != nil {
			t.Fatal(err)
		}
		return u.Path
	}
	acme, globex := link(e.a, "ada@example.com"), link(e.b, "bo@example.com")
	forged := acme[:len(acme)-2] + "AA"
	if forged == acme {
		forged = acme[:len(acme)-2] + "BB"
	}
	public := &client{t: t, url: e.url}
	for range httpapi.UnsubscribeLimit.Burst {
		public.do(http.MethodGet, forged, nil).want(t, http.StatusNotFound, nil)
	}
	r := public.do(http.MethodGet, acme, nil)
	r.want(t, http.StatusTooManyRequests, nil)
	if r.Header.Get("Retry-After") != "1" {
		t.Errorf("Retry-After %q, want 1", r.Header.Get("Retry-After"))
	}
	public.do(http.MethodGet, globex, nil).want(t, http.StatusOK, nil)
	public.do(http.MethodGet, "/u/not-a-token", nil).want(t, http.StatusNotFound, nil)
	e.advance(time.Second)
	public.do(http.MethodGet, acme, nil).want(t, http.StatusOK, nil)
}
