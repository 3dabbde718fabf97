package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
)

// Shared is a Limiter whose buckets live in the store, so that every
// process (every Lambda instance) takes from the same ones. The port has
// no atomic add; a bucket is a versioned document, refilled and taken from
// by a read and a conditional put. Doing that for every request would cost
// each request two store calls and make concurrent instances race on one
// item, so an instance leases a few tokens at once (LeaseSize) and spends
// them locally for at most LeaseTTL; tokens it has not spent by then are
// lost, never handed out twice. The limit therefore holds exactly across
// instances — each token is granted once — at the price of a little
// under-use when many instances each hold a part-spent lease. A refusal is
// remembered locally until the next token is due, so a client hammering a
// full bucket costs the store nothing more.
type Shared struct {
	store store.Store
	now   func() time.Time

	mu      sync.Mutex
	buckets map[Bucket]*lease
}

// lease is what one process holds of a bucket.
type lease struct {
	mu           sync.Mutex
	tokens       int       // leased, not yet spent
	until        time.Time // when they lapse
	refusedUntil time.Time // after a refusal, when the next token is due
	shared       State     // the stored bucket after the last lease
	limit        Limit     // the limit it was taken under
}

const (
	// LeaseTTL bounds how long leased tokens stay usable: the most a
	// refill can be late for the other instances.
	LeaseTTL = time.Second
	// maxLease caps a lease, so that a large rate does not strand much.
	maxLease = 50
	// leaseRetries bounds re-reads when another instance wrote the bucket
	// between this one's read and put.
	leaseRetries = 4
	// sharedForget is how many leases Shared holds before it drops the
	// lapsed ones.
	sharedForget = 100_000
)

// LeaseSize is how many tokens one store round trip takes for limit l: a
// tenth of a second of its rate, at least one, at most a quarter of its
// burst (so that one instance cannot take the whole burst at once) and 50.
func LeaseSize(l Limit) int {
	n := int(l.Rate / 10)
	n = min(n, l.Burst/4, maxLease)
	return max(n, 1)
}

// bucketDoc is a bucket's stored state. It expires once it would be full
// again anyway, with a day's margin, so that idle buckets do not pile up.
var bucketDoc = record.Doc[storedBucket]{Name: "rate limit bucket", TTL: func(b *storedBucket) time.Time { return b.Expires }}

type storedBucket struct {
	State
	Expires time.Time `json:"expires"`
}

// NewShared returns a limiter whose buckets live in s.
func NewShared(s store.Store, now func() time.Time) *Shared {
	return &Shared{store: s, now: now, buckets: map[Bucket]*lease{}}
}

// Take implements Limiter.
func (sh *Shared) Take(ctx context.Context, b Bucket, l Limit) (Decision, error) {
	le := sh.leaseOf(b)
	le.mu.Lock()
	defer le.mu.Unlock()
	now := sh.now()
	if le.limit != l {
		// The tenant changed its limits: what was leased or refused under
		// the old ones no longer says anything.
		le.tokens, le.until, le.refusedUntil, le.shared, le.limit = 0, time.Time{}, time.Time{}, State{}, l
	}
	if now.Before(le.refusedUntil) {
		return l.Decide(l.At(le.shared, now), false, 0), nil
	}
	if le.tokens > 0 && now.Before(le.until) {
		le.tokens--
		s := l.At(le.shared, now)
		return l.Decide(s, true, int(s.Tokens)+le.tokens), nil
	}
	granted, st, err := sh.lease(ctx, b, l, now)
	if err != nil {
		return Decision{}, err
	}
	le.shared = st
	if granted == 0 {
		d := l.Decide(st, false, 0)
		le.tokens, le.refusedUntil = 0, now.Add(d.RetryAfter)
		return d, nil
	}
	le.tokens, le.until = granted-1, now.Add(LeaseTTL)
	return l.Decide(st, true, int(st.Tokens)+le.tokens), nil
}

func (sh *Shared) leaseOf(b Bucket) *lease {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	le, ok := sh.buckets[b]
	if !ok {
		if len(sh.buckets) >= sharedForget {
			now := sh.now()
			for k, o := range sh.buckets {
				if o.mu.TryLock() {
					if !now.Before(o.until) && !now.Before(o.refusedUntil) {
						delete(sh.buckets, k)
					}
					o.mu.Unlock()
				}
			}
		}
		le = &lease{}
		sh.buckets[b] = le
	}
	return le
}

// lease takes up to LeaseSize(l) tokens from the stored bucket with a read
// and a conditional put, re-reading when another instance got there first.
func (sh *Shared) lease(ctx context.Context, b Bucket, l Limit, now time.Time) (int, State, error) {
	k := bucketKey(b)
	for range leaseRetries {
		cur, version, err := bucketDoc.Get(ctx, sh.store, k)
		if err != nil && core.ErrorCode(err) != core.CodeNotFound {
			return 0, State{}, err
		}
		next, granted := l.Take(cur.State, now, LeaseSize(l))
		if granted == 0 {
			return 0, next, nil
		}
		doc := storedBucket{State: next, Expires: now.Add(l.Decide(next, true, 0).Reset + 24*time.Hour)}
		w, err := bucketDoc.Put(k, version, &doc)
		if err != nil {
			return 0, State{}, err
		}
		err = sh.store.Put(ctx, w.Item, w.Cond)
		if err == nil {
			return granted, next, nil
		}
		if !errors.Is(err, store.ErrConditionFailed) {
			return 0, State{}, fmt.Errorf("lease tokens of %s: %w", k, record.StoreError(err))
		}
	}
	return 0, State{}, fmt.Errorf("lease tokens of %s: %d writers in a row got there first", k, leaseRetries)
}
