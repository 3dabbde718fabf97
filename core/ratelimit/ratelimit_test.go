package ratelimit

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/core/store/memstore"
)

// clock is a fake clock that moves only when told.
type clock struct{ t atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.t.Store(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) now() time.Time          { return time.Unix(0, c.t.Load()).UTC() }
func (c *clock) advance(d time.Duration) { c.t.Add(int64(d)) }

func TestBucketMath(t *testing.T) {
	l := Limit{Rate: 2, Burst: 4}
	t0 := newClock().now()
	tests := []struct {
		name    string
		s       State
		at      time.Duration
		n       int
		granted int
		tokens  float64
	}{
		{"an unused bucket is full", State{}, 0, 1, 1, 3},
		{"takes at most what is there", State{Tokens: 2.5, At: t0}, 0, 5, 2, 0.5},
		{"refills at the rate", State{Tokens: 0, At: t0}, 750 * time.Millisecond, 1, 1, 0.5},
		{"up to the burst only", State{Tokens: 1, At: t0}, time.Hour, 1, 1, 3},
		{"less than a token refuses", State{Tokens: 0.5, At: t0}, 125 * time.Millisecond, 1, 0, 0.75},
		{"a clock gone back mints nothing", State{Tokens: 0.5, At: t0}, -time.Minute, 1, 0, 0.5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			next, granted := l.Take(tc.s, t0.Add(tc.at), tc.n)
			if granted != tc.granted || next.Tokens != tc.tokens {
				t.Errorf("granted %d leaving %v, want %d leaving %v", granted, next.Tokens, tc.granted, tc.tokens)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	l := Limit{Rate: 4, Burst: 10}
	tests := []struct {
		name    string
		tokens  float64
		allowed bool
		want    Decision
	}{
		{"full", 10, true, Decision{Allowed: true, Limit: 10, Remaining: 10}},
		{"half", 5, true, Decision{Allowed: true, Limit: 10, Remaining: 5, Reset: 1250 * time.Millisecond}},
		{"empty", 0.5, false, Decision{Limit: 10, Reset: 2375 * time.Millisecond, RetryAfter: 125 * time.Millisecond}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := l.Decide(State{Tokens: tc.tokens}, tc.allowed, int(tc.tokens))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// limiters are both implementations, each on its own fake clock.
func limiters(t *testing.T) map[string]func(c *clock) Limiter {
	return map[string]func(c *clock) Limiter{
		"memory": func(c *clock) Limiter { return NewMemory(c.now) },
		"shared": func(c *clock) Limiter { return NewShared(memstore.New(), c.now) },
	}
}

// TestLimiters: a burst is served, the next request refused with the wait
// for its token, and the rate is served afterwards; buckets are separate.
func TestLimiters(t *testing.T) {
	l := Limit{Rate: 10, Burst: 5}
	ctx := context.Background()
	for name, open := range limiters(t) {
		t.Run(name, func(t *testing.T) {
			c := newClock()
			lim := open(c)
			a, b := KeyBucket("acme", "k1"), KeyBucket("acme", "k2")
			for i := range l.Burst {
				d, err := lim.Take(ctx, a, l)
				if err != nil || !d.Allowed {
					t.Fatalf("request %d of the burst: %+v, %v", i, d, err)
				}
				if d.Remaining != l.Burst-1-i {
					t.Errorf("request %d: remaining %d, want %d", i, d.Remaining, l.Burst-1-i)
				}
			}
			d, err := lim.Take(ctx, a, l)
			if err != nil || d.Allowed || d.RetryAfter != 100*time.Millisecond || d.Remaining != 0 {
				t.Fatalf("past the burst: %+v, %v; want refused, retry after 100ms", d, err)
			}
			if d, _ := lim.Take(ctx, b, l); !d.Allowed {
				t.Errorf("another bucket was refused: %+v", d)
			}
			c.advance(100 * time.Millisecond)
			if d, _ := lim.Take(ctx, a, l); !d.Allowed {
				t.Errorf("after the retry delay: %+v", d)
			}
			if d, _ := lim.Take(ctx, a, l); d.Allowed {
				t.Errorf("a second request on one token: %+v", d)
			}
			// A second at the rate: ten requests over it, each on time.
			for i := range 10 {
				c.advance(100 * time.Millisecond)
				if d, err := lim.Take(ctx, a, l); err != nil || !d.Allowed {
					t.Fatalf("request %d at the rate: %+v, %v", i, d, err)
				}
			}
		})
	}
}

// countingStore counts the writes Shared makes.
type countingStore struct {
	store.Store
	gets, puts atomic.Int64
}

func (s *countingStore) Get(ctx context.Context, k store.Key) (store.Item, error) {
	s.gets.Add(1)
	return s.Store.Get(ctx, k)
}

func (s *countingStore) Put(ctx context.Context, it store.Item, c store.Cond) error {
	s.puts.Add(1)
	return s.Store.Put(ctx, it, c)
}

// TestSharedAcrossInstances: instances on one store never grant more than
// the bucket holds, whatever their interleaving, and lease several tokens
// per store round trip.
func TestSharedAcrossInstances(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	st := &countingStore{Store: memstore.New()}
	l := Limit{Rate: 100, Burst: 200}
	instances := []*Shared{NewShared(st, c.now), NewShared(st, c.now), NewShared(st, c.now), NewShared(st, c.now)}
	var granted atomic.Int64
	var wg sync.WaitGroup
	for _, in := range instances {
		wg.Go(func() {
			for range 150 {
				d, err := in.Take(ctx, TenantBucket("acme"), l)
				if err != nil {
					t.Error(err)
					return
				}
				if d.Allowed {
					granted.Add(1)
				}
			}
		})
	}
	wg.Wait()
	// 600 asked of a bucket of 200 on a clock that stood still.
	if g := granted.Load(); g > int64(l.Burst) || g < int64(l.Burst)-int64(len(instances)*LeaseSize(l)) {
		t.Errorf("granted %d of a burst of %d to %d instances", g, l.Burst, len(instances))
	}
	if p := st.puts.Load(); p > int64(l.Burst/LeaseSize(l)+len(instances)*leaseRetries) {
		t.Errorf("%d puts for %d grants: leases of %d should need about %d", p, granted.Load(), LeaseSize(l), l.Burst/LeaseSize(l))
	}
	// Refusals are remembered until the next token is due: no store call.
	before := st.gets.Load()
	for range 50 {
		if d, _ := instances[0].Take(ctx, TenantBucket("acme"), l); d.Allowed {
			t.Fatalf("allowed from an empty bucket: %+v", d)
		}
	}
	if n := st.gets.Load() - before; n > 1 {
		t.Errorf("%d store reads for 50 refusals, want at most 1", n)
	}
}

func TestLeaseSize(t *testing.T) {
	tests := []struct {
		l    Limit
		want int
	}{
		{Limit{Rate: 1, Burst: 5}, 1},
		{Limit{Rate: 100, Burst: 200}, 10},
		{Limit{Rate: 100, Burst: 8}, 2},
		{Limit{Rate: 10000, Burst: 20000}, 50},
	}
	for _, tc := range tests {
		if got := LeaseSize(tc.l); got != tc.want {
			t.Errorf("LeaseSize(%+v) = %d, want %d", tc.l, got, tc.want)
		}
	}
}

// TestGuard: a key's bucket and its tenant's apply together, the tighter
// one decides, and a change of settings is seen after Forget.
func TestGuard(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	settings := core.Tenant{ID: "acme", RateLimits: &core.RateLimits{
		Tenant: &core.RateLimit{Rate: 1, Burst: 3}, APIKey: &core.RateLimit{Rate: 1, Burst: 2}}}
	reads := 0
	g := NewGuard(NewMemory(c.now), func(context.Context, string) (core.Tenant, error) { reads++; return settings, nil }, c.now)
	k1 := core.Principal{TenantID: "acme", KeyID: "k1"}
	k2 := core.Principal{TenantID: "acme", KeyID: "k2"}
	var got []bool
	for _, p := range []core.Principal{k1, k1, k1, k2, k2} {
		d, err := g.Request(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, d.Allowed)
	}
	// k1 runs out of its own 2; k2 gets the tenant's last one.
	if diff := cmp.Diff([]bool{true, true, false, true, false}, got); diff != "" {
		t.Errorf("allowed (-want +got):\n%s", diff)
	}
	if reads != 1 {
		t.Errorf("%d reads of the settings, want 1 (cached)", reads)
	}
	settings.RateLimits.Tenant.Burst = 100
	settings.RateLimits.Tenant.Rate = 100
	g.Forget("acme")
	c.advance(time.Second)
	if d, _ := g.Request(ctx, k2); !d.Allowed || d.Limit != 2 {
		t.Errorf("after the change: %+v, want allowed by the key's bucket of 2", d)
	}
}

// TestSmallerLimitAppliesAtOnce: a bucket shrunk by a settings change
// holds no more than its new burst, leased tokens included.
func TestSmallerLimitAppliesAtOnce(t *testing.T) {
	ctx := context.Background()
	for name, open := range limiters(t) {
		t.Run(name, func(t *testing.T) {
			c := newClock()
			lim := open(c)
			b := TenantBucket("acme")
			if d, _ := lim.Take(ctx, b, Limit{Rate: 100, Burst: 200}); !d.Allowed {
				t.Fatalf("first request refused: %+v", d)
			}
			small := Limit{Rate: 1, Burst: 2}
			var got []bool
			for range 3 {
				d, err := lim.Take(ctx, b, small)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, d.Allowed)
			}
			if diff := cmp.Diff([]bool{true, true, false}, got); diff != "" {
				t.Errorf("allowed under the smaller limit (-want +got):\n%s", diff)
			}
		})
	}
}
