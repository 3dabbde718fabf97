package ratelimit

import (
	"context"
	"sync"
	"time"
)

// Bucket names one bucket: a tenant's own ("tenant"), one of its API keys'
// ("key#<id>"), or a client address's on a tenant's public endpoints
// ("addr#<ip>").
type Bucket struct {
	Tenant string
	Name   string
}

// TenantBucket, KeyBucket and AddressBucket are the buckets the API uses.
func TenantBucket(tenant string) Bucket           { return Bucket{tenant, "tenant"} }
func KeyBucket(tenant, key string) Bucket         { return Bucket{tenant, "key#" + key} }
func AddressBucket(tenant, address string) Bucket { return Bucket{tenant, "addr#" + address} }

// Limiter takes one token from a bucket of limit l. An error means the
// limiter could not tell (its store failed); callers let the request
// through rather than turn a counter's outage into the API's.
type Limiter interface {
	Take(ctx context.Context, b Bucket, l Limit) (Decision, error)
}

// Memory is an in-process Limiter: exact, free, and only as wide as its
// process — right for a server that is the only one (the embedded store
// allows no other), wrong for Lambda instances that scale out.
type Memory struct {
	now func() time.Time

	mu      sync.Mutex
	buckets map[Bucket]State
}

// memorySweep is how many buckets Memory holds before it forgets the full
// ones (which are the same as absent).
const memorySweep = 100_000

// NewMemory returns an in-process limiter on the clock now.
func NewMemory(now func() time.Time) *Memory {
	return &Memory{now: now, buckets: map[Bucket]State{}}
}

// Take implements Limiter.
func (m *Memory) Take(_ context.Context, b Bucket, l Limit) (Decision, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.buckets) >= memorySweep {
		for k, s := range m.buckets {
			if l.At(s, now).Tokens >= float64(l.Burst) {
				delete(m.buckets, k)
			}
		}
	}
	next, granted := l.Take(m.buckets[b], now, 1)
	m.buckets[b] = next
	return l.Decide(next, granted == 1, int(next.Tokens)), nil
}
