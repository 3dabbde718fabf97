package ratelimit

import (
	"context"
	"sync"
	"time"

	"github.com/fedele-crm/fedele/core"
)

// Guard applies a tenant's budgets to its requests: each request takes a
// token from its API key's bucket and from its tenant's.
type Guard struct {
	limiter Limiter
	limits  func(ctx context.Context, tenant string) (core.Tenant, error)
	now     func() time.Time

	mu    sync.Mutex
	cache map[string]cachedLimits
}

type cachedLimits struct {
	tenant, key Limit
	until       time.Time
}

// LimitsTTL is how long a process keeps a tenant's limits before reading
// its settings again: how long a change takes to reach every process (the
// process that made it forgets at once, see Forget).
const LimitsTTL = 30 * time.Second

// NewGuard returns a guard taking from l, reading a tenant's limits from
// its settings with tenant.
func NewGuard(l Limiter, tenant func(ctx context.Context, id string) (core.Tenant, error), now func() time.Time) *Guard {
	return &Guard{limiter: l, limits: tenant, now: now, cache: map[string]cachedLimits{}}
}

// FromSetting is a bucket shape from a tenant's setting.
func FromSetting(r core.RateLimit) Limit { return Limit{Rate: float64(r.Rate), Burst: r.Burst} }

// Request takes a token for one request of p. The decision is the
// refusal, or of the two buckets the one with fewer tokens left.
func (g *Guard) Request(ctx context.Context, p core.Principal) (Decision, error) {
	tl, kl, err := g.limitsOf(ctx, p.TenantID)
	if err != nil {
		return Decision{}, err
	}
	kd, err := g.limiter.Take(ctx, KeyBucket(p.TenantID, p.KeyID), kl)
	if err != nil || !kd.Allowed {
		return kd, err
	}
	td, err := g.limiter.Take(ctx, TenantBucket(p.TenantID), tl)
	if err != nil || !td.Allowed || td.Remaining < kd.Remaining {
		return td, err
	}
	return kd, nil
}

// Address takes a token for one request from address to a public endpoint
// of tenant (one that needs no key), with limit l.
func (g *Guard) Address(ctx context.Context, tenant, address string, l core.RateLimit) (Decision, error) {
	return g.limiter.Take(ctx, AddressBucket(tenant, address), FromSetting(l))
}

// Forget drops what the guard knows of tenant's limits, after a change.
func (g *Guard) Forget(tenant string) {
	g.mu.Lock()
	delete(g.cache, tenant)
	g.mu.Unlock()
}

func (g *Guard) limitsOf(ctx context.Context, tenant string) (Limit, Limit, error) {
	now := g.now()
	g.mu.Lock()
	c, ok := g.cache[tenant]
	g.mu.Unlock()
	if ok && now.Before(c.until) {
		return c.tenant, c.key, nil
	}
	t, err := g.limits(ctx, tenant)
	if err != nil {
		return Limit{}, Limit{}, err
	}
	tr, kr := t.Limits()
	c = cachedLimits{tenant: FromSetting(tr), key: FromSetting(kr), until: now.Add(LimitsTTL)}
	g.mu.Lock()
	if len(g.cache) >= 10_000 {
		clear(g.cache)
	}
	g.cache[tenant] = c
	g.mu.Unlock()
	return c.tenant, c.key, nil
}
