package httpapi

import (
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/messaging"
	"github.com/fedele-crm/fedele/core/ratelimit"
)

// rateLimit takes a token for every authenticated request from its key's
// and its tenant's buckets (core/ratelimit), answers the RateLimit-Limit,
// -Remaining and -Reset headers on every such answer, and refuses a
// request over either budget with 429 and Retry-After. It runs before the
// idempotency middleware, so a refused POST does not hold its key. A
// limiter that cannot tell (its store is down) lets the request through:
// the budget protects the store, it must not become an outage of its own.
func (s *Server) rateLimit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := PrincipalFrom(r.Context())
		if !ok || s.limits == nil {
			next.ServeHTTP(w, r)
			return
		}
		d, err := s.limits.Request(r.Context(), p)
		if err != nil {
			s.log.WarnContext(r.Context(), "rate limit unknown; request let through", slog.String("error", err.Error()))
			next.ServeHTTP(w, r)
			return
		}
		if admit(w, d) {
			next.ServeHTTP(w, r)
		}
	})
}

// limitByAddress limits a public endpoint — one that needs no key, such as
// a tenant's self-service form — per client address and tenant (tenantOf
// reads the tenant from the request), with the same headers and 429.
func (s *Server) limitByAddress(l core.RateLimit, tenantOf func(*http.Request) string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.limits == nil {
			next.ServeHTTP(w, r)
			return
		}
		d, err := s.limits.Address(r.Context(), tenantOf(r), clientAddress(r), l)
		if err != nil {
			s.log.WarnContext(r.Context(), "rate limit unknown; request let through", slog.String("error", err.Error()))
			next.ServeHTTP(w, r)
			return
		}
		if admit(w, d) {
			next.ServeHTTP(w, r)
		}
	})
}

// UnsubscribeLimit is the budget of one client address on the public
// one-click unsubscribe links of a tenant: a person clicks once, a mail
// receiver posts once per message; a scanner of tokens gets 429s.
var UnsubscribeLimit = core.RateLimit{Rate: 1, Burst: 20}

// limitUnsubscribe spends UnsubscribeLimit on /u/ requests, by address in
// the tenant the token names. A token that names none is answered 404
// without touching the store, so there is nothing to protect and no
// tenant's bucket to spend.
func (s *Server) limitUnsubscribe(next http.Handler) http.Handler {
	limited := s.limitByAddress(UnsubscribeLimit, func(r *http.Request) string {
		tenant, _ := messaging.TokenTenant(strings.TrimPrefix(r.URL.Path, messaging.UnsubscribePath))
		return tenant
	}, next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, public := strings.CutPrefix(r.URL.Path, messaging.UnsubscribePath)
		if _, ok := messaging.TokenTenant(tok); public && ok {
			limited.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// clientAddress is the caller's IP: the connection's peer locally, the
// source address API Gateway saw in Lambda (the proxy adapter puts it in
// RemoteAddr). X-Forwarded-For is not read: a client can write it.
func clientAddress(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// admit writes d's headers and, when d refuses, the 429; it says whether
// the request goes on.
func admit(w http.ResponseWriter, d ratelimit.Decision) bool {
	h := w.Header()
	h.Set("RateLimit-Limit", strconv.Itoa(d.Limit))
	h.Set("RateLimit-Remaining", strconv.Itoa(d.Remaining))
	h.Set("RateLimit-Reset", seconds(d.Reset, 0))
	if d.Allowed {
		return true
	}
	h.Set("Retry-After", seconds(d.RetryAfter, 1))
	writeProblem(w, newProblem(http.StatusTooManyRequests, "over the rate limit; retry after "+seconds(d.RetryAfter, 1)+" s"))
	return false
}

// seconds renders d as whole seconds, rounded up, at least least.
func seconds(d time.Duration, least int) string {
	return strconv.Itoa(max(least, int(math.Ceil(d.Seconds()))))
}
