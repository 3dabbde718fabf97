package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/fedele-crm/fedele/core/store"
)

// Relay moves events from the outbox to a publisher when Fedele runs as
// one process (in AWS the table's stream feeds the relay function instead).
// It reads the pending index, publishes, and takes each delivered event out
// of the index. The index is its persisted position: a relay killed at any
// point resumes with exactly the events not yet marked, so delivery is at
// least once and consumers deduplicate.
type Relay struct {
	Store     store.Store
	Publisher Publisher
	Log       *slog.Logger
	// Interval is how long the relay waits when the outbox is empty.
	Interval time.Duration
	// Batch is how many events one publish carries.
	Batch int
	// MinAge leaves events younger than it to another relay: the scheduler
	// re-drives only what the stream relay has not published by then.
	MinAge time.Duration
	// Now is the clock MinAge is measured on (time.Now when nil).
	Now func() time.Time
}

// Run relays until ctx ends. Its writes (the marks, the consumers'
// effects) are background work: they must not hold up requests' writes.
func (r *Relay) Run(ctx context.Context) {
	ctx = store.Background(ctx)
	for {
		n, err := r.Drain(ctx)
		if err != nil && ctx.Err() == nil {
			r.Log.Error("relay", slog.String("error", err.Error()))
		}
		if n > 0 && err == nil {
			continue // more may be waiting
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(r.Interval):
		}
	}
}

// Drain relays what is pending now and returns how many events it
// delivered.
func (r *Relay) Drain(ctx context.Context) (int, error) {
	batch := r.Batch
	if batch <= 0 {
		batch = 100
	}
	delivered := 0
	var errs []error
	for shard := range PendingShards {
		page, err := r.Store.Query(ctx, store.Query{Index: PendingIndex, PK: PendingPK(shard), Limit: batch})
		if err != nil {
			errs = append(errs, fmt.Errorf("read pending shard %d: %w", shard, err))
			continue
		}
		if len(page.Items) == 0 {
			continue
		}
		evs := make([]Envelope, 0, len(page.Items))
		items := make([]store.Item, 0, len(page.Items))
		for _, it := range page.Items {
			ev, err := Decode(it)
			if err != nil {
				errs = append(errs, err) // an unreadable event stays pending and is logged each round
				continue
			}
			if r.MinAge > 0 && r.now().Sub(ev.Detail.Time) < r.MinAge {
				break // ids are in time order: the rest of the shard is younger still
			}
			evs, items = append(evs, ev), append(items, it)
		}
		if len(evs) == 0 {
			continue
		}
		var published []store.Item
		for i, perr := range r.Publisher.Publish(ctx, evs) {
			if errors.Is(perr, ErrUndeliverable) {
				// Retrying cannot help, and left pending it would hold its
				// shard's first page for good: record it and move on.
				r.Log.Error("event undeliverable: dead-lettered", slog.String("event_id", evs[i].Detail.EventID),
					slog.String("tenant", evs[i].Detail.Tenant), slog.String("error", perr.Error()))
				if err := DeadLetterUndeliverable(ctx, r.Store, "relay", evs[i], perr); err != nil {
					errs = append(errs, err)
					continue
				}
			} else if perr != nil {
				errs = append(errs, fmt.Errorf("publish %s: %w", evs[i].Detail.EventID, perr))
				continue
			}
			published = append(published, items[i])
		}
		n, err := markAll(ctx, r.Store, published)
		delivered += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	return delivered, errors.Join(errs...)
}

// markConcurrency is how many marks are in flight at once. One at a time,
// the marks were a third of the local relay's time: each was its own
// commit and, on the embedded engine, its own sync to disk; side by side
// its committer makes them one, and DynamoDB takes them in parallel.
const markConcurrency = 16

// markAll marks items relayed, side by side, and returns how many were.
func markAll(ctx context.Context, s store.Store, items []store.Item) (int, error) {
	errs := make([]error, len(items))
	sem := make(chan struct{}, markConcurrency)
	var wg sync.WaitGroup
	for i, it := range items {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = MarkRelayed(ctx, s, it)
		})
	}
	wg.Wait()
	n := 0
	for _, err := range errs {
		if err == nil {
			n++
		}
	}
	return n, errors.Join(errs...)
}

// ErrUndeliverable marks a publishing failure that no retry can mend, such
// as an event over the bus's size limit. Publishers wrap it.
var ErrUndeliverable = errors.New("event cannot be delivered")

// DeadLetterUndeliverable records an event a bus refused for good, beside
// the consumers' dead letters, so that it is kept and can be looked into.
func DeadLetterUndeliverable(ctx context.Context, s store.Store, by string, ev Envelope, cause error) error {
	d := ev.Detail
	data := fmt.Appendf(nil, `{"consumer":%q,"event_id":%q,"detail_type":%q,"error":%q}`, by, d.EventID, ev.DetailType, cause.Error())
	err := s.Put(ctx, store.Item{Key: store.Key{PK: DeadLetterPK(d.Tenant), SK: by + "#" + d.EventID}, Version: 1,
		ExpiresAt: d.Time.Add(Retention), Data: data}, store.Cond{})
	if err != nil {
		return fmt.Errorf("dead-letter %s: %w", d.EventID, err)
	}
	return nil
}

func (r *Relay) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// MarkRelayed takes a published event out of the pending index, keeping it
// for the timeline and the events API.
func MarkRelayed(ctx context.Context, s store.Store, it store.Item) error {
	next := it
	next.IndexKeys = map[store.Index]store.Key{}
	for ix, k := range it.IndexKeys {
		if ix != PendingIndex {
			next.IndexKeys[ix] = k
		}
	}
	next.Version = it.Version + 1
	err := s.Put(ctx, next, store.Cond{Version: it.Version})
	if errors.Is(err, store.ErrConditionFailed) {
		return nil // another relay marked it
	}
	if err != nil {
		return fmt.Errorf("mark %s relayed: %w", it.Key, err)
	}
	return nil
}

// Fanout publishes to several publishers; an event succeeds only when every
// one of them took it, so a retry reaches those that missed it (and the
// others again: every bus here is at least once).
type Fanout []Publisher

// Publish publishes evs to each publisher.
func (f Fanout) Publish(ctx context.Context, evs []Envelope) []error {
	errs := make([]error, len(evs))
	for _, p := range f {
		for i, err := range p.Publish(ctx, evs) {
			if err != nil && errs[i] == nil {
				errs[i] = err
			}
		}
	}
	return errs
}
