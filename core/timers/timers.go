package timers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/clock"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
)

// Handler acts on the timers of one kind. Handle returns store writes — its
// effects — that commit in one transaction with the timer's change to
// fired (at most store.MaxTxItems-1 of them); effects outside the store
// happen at least once and must be idempotent by the timer's id. An error
// retries the timer later.
type Handler struct {
	Kind   string
	Handle func(ctx context.Context, t core.Timer) ([]store.Write, error)
}

// Keep is how long a timer is kept once fired, cancelled or dead.
const Keep = 30 * 24 * time.Hour

var timerDoc = record.Doc[core.Timer]{
	Name:    "timer",
	Version: func(t *core.Timer) *int64 { return &t.Version },
	Index:   indexKeys,
	TTL: func(t *core.Timer) time.Time {
		if t.State == core.TimerPending {
			return time.Time{}
		}
		return t.DoneAt.Add(Keep)
	},
}

// Service schedules timers and acts on them. Every method is safe for
// concurrent use.
type Service struct {
	store    store.Store
	clock    clock.Clock
	log      *slog.Logger
	handlers map[string]Handler

	// MaxAttempts is how many times a failing handler is tried before its
	// timer is dead-lettered; Backoff the wait before the second try,
	// doubled for each next one up to MaxBackoff.
	MaxAttempts int
	Backoff     time.Duration
	MaxBackoff  time.Duration
	// Concurrency bounds the timers acted on at once by a drain.
	Concurrency int
	// Lease is how long a timer handed to the worker stays out of the due
	// index before it is handed out again (real time, as Grace).
	Lease time.Duration
	// Grace is how long after its minute an emptied minute is kept in the
	// directory: a writer whose clock is that far behind, or whose commit
	// is that slow, may still add to it. It is real time: on a
	// fast-forwarded clock it is that many times longer, or a timer
	// committed a millisecond after its minute was dropped (months of
	// server time at 129 600×) is in a minute nobody looks at again.
	Grace time.Duration

	buckets sync.Map     // minutes this process has put in the directory
	armed   atomic.Int64 // unix nanoseconds the local loop sleeps until; 0 while it is busy
	kick    chan struct{}
}

// New returns a service on s whose time is c.
func New(s store.Store, c clock.Clock, log *slog.Logger) *Service {
	return &Service{store: s, clock: c, log: log, handlers: map[string]Handler{},
		MaxAttempts: 5, Backoff: time.Second, MaxBackoff: time.Hour, Concurrency: 8,
		Lease: realOn(c, 5*time.Minute), Grace: realOn(c, 2*time.Minute), kick: make(chan struct{}, 1)}
}

// realOn is d of real time on c: Lease and Grace bound how long work and
// writes take, which a fast-forwarded clock does not speed up.
func realOn(c clock.Clock, d time.Duration) time.Duration {
	return time.Duration(float64(d) * clock.Rate(c))
}

// Register adds the handler of a kind; only registered kinds are scheduled.
func (s *Service) Register(h Handler) { s.handlers[h.Kind] = h }

// Kinds lists the registered kinds, sorted.
func (s *Service) Kinds() []string {
	kinds := make([]string, 0, len(s.handlers))
	for k := range s.handlers {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	return kinds
}

func (s *Service) now() time.Time { return s.clock.Now().UTC() }

// Get returns a timer; another tenant's is not found.
func (s *Service) Get(ctx context.Context, tenant, id string) (core.Timer, error) {
	t, _, err := s.get(ctx, tenant, id)
	return t, err
}

func (s *Service) get(ctx context.Context, tenant, id string) (core.Timer, int64, error) {
	if !validID(id) {
		return core.Timer{}, 0, core.Errorf(core.CodeNotFound, "timer %s not found", id)
	}
	t, v, err := timerDoc.Get(ctx, s.store, timerKey(tenant, id))
	if core.ErrorCode(err) == core.CodeNotFound {
		return t, 0, core.Errorf(core.CodeNotFound, "timer %s not found", id)
	}
	return t, v, err
}

// Schedule makes a timer. With a key, a timer of the same kind and key
// already kept is returned as it is, and nothing is written.
func (s *Service) Schedule(ctx context.Context, tenant string, req core.TimerRequest) (core.Timer, error) {
	t, w, err := s.newTimer(ctx, tenant, req)
	if err != nil {
		return t, err
	}
	err = s.store.Put(ctx, w.Item, w.Cond)
	if errors.Is(err, store.ErrConditionFailed) && req.Key != "" {
		return s.Get(ctx, tenant, t.ID)
	}
	if err != nil {
		return t, fmt.Errorf("schedule timer: %w", record.StoreError(err))
	}
	s.notify(t.Next)
	return t, nil
}

// Notify wakes the local loop for a timer committed by the caller (see
// ScheduleWrite) when it is due before the time the loop sleeps until.
func (s *Service) Notify(next time.Time) { s.notify(next) }

// ScheduleMany makes several timers, up to store.MaxTxItems per
// transaction: an import's timers at a fraction of the requests. A chunk
// that holds a kept key falls back to Schedule one by one.
func (s *Service) ScheduleMany(ctx context.Context, tenant string, reqs []core.TimerRequest) ([]core.Timer, error) {
	out := make([]core.Timer, 0, len(reqs))
	for chunk := range slices.Chunk(reqs, store.MaxTxItems) {
		ts, ws := make([]core.Timer, len(chunk)), make([]store.Write, len(chunk))
		earliest := time.Time{}
		for i, r := range chunk {
			t, w, err := s.newTimer(ctx, tenant, r)
			if err != nil {
				return out, err
			}
			ts[i], ws[i] = t, w
			if earliest.IsZero() || t.Next.Before(earliest) {
				earliest = t.Next
			}
		}
		err := s.store.Transact(ctx, ws)
		if errors.Is(err, store.ErrConditionFailed) {
			for i, r := range chunk {
				if ts[i], err = s.Schedule(ctx, tenant, r); err != nil {
					return out, err
				}
			}
		} else if err != nil {
			return out, fmt.Errorf("schedule timers: %w", record.StoreError(err))
		}
		out = append(out, ts...)
		s.notify(earliest)
	}
	return out, nil
}

func (s *Service) newTimer(ctx context.Context, tenant string, req core.TimerRequest) (core.Timer, store.Write, error) {
	if err := req.Normalize(); err != nil {
		return core.Timer{}, store.Write{}, err
	}
	if _, ok := s.handlers[req.Kind]; !ok {
		return core.Timer{}, store.Write{}, core.Invalid("kind", "no handler is registered for this kind", req.Kind)
	}
	now := s.now()
	id := core.NewID(now)
	if req.Key != "" {
		id = keyedID(req.Kind, req.Key)
	}
	t := core.Timer{ID: id, Tenant: tenant, TimerRequest: req, State: core.TimerPending, Next: req.Due, ScheduledAt: now}
	if err := s.place(ctx, &t, now); err != nil {
		return t, store.Write{}, err
	}
	w, err := timerDoc.Put(timerKey(tenant, id), 0, &t)
	return t, w, err
}

// place puts t in the bucket of its next try, or of now when that has
// passed (a past bucket may already have been drained), making sure the
// bucket is in the directory before the timer is written: a crash between
// the two leaves an empty minute, never a timer nobody will look for.
func (s *Service) place(ctx context.Context, t *core.Timer, now time.Time) error {
	at := t.Next
	if t.LeasedUntil.After(at) {
		at = t.LeasedUntil
	}
	if at.Before(now) {
		at = now
	}
	t.Bucket = minuteOf(at)
	if _, ok := s.buckets.Load(t.Bucket); ok {
		return nil
	}
	// An unconditional put: concurrent writers of the same minute agree.
	err := s.store.Put(ctx, store.Item{Key: store.Key{PK: MinutesPK(), SK: t.Bucket}, Version: 1}, store.Cond{})
	if err != nil {
		return fmt.Errorf("record due minute %s: %w", t.Bucket, record.StoreError(err))
	}
	s.buckets.Store(t.Bucket, struct{}{})
	return nil
}

// Cancel cancels a pending timer: one write, conditional on the version
// read (or on ifVersion when > 0). A timer that fired, or is firing and
// commits first, answers a conflict.
func (s *Service) Cancel(ctx context.Context, tenant, id string, ifVersion int64) (core.Timer, error) {
	return s.change(ctx, tenant, id, ifVersion, func(t *core.Timer, now time.Time) error {
		t.State, t.DoneAt = core.TimerCancelled, now
		return nil
	})
}

// Reschedule moves a pending timer to due: one conditional write, like
// Cancel. Its attempts start over.
func (s *Service) Reschedule(ctx context.Context, tenant, id string, due time.Time, ifVersion int64) (core.Timer, error) {
	if due.IsZero() {
		return core.Timer{}, core.Invalid("due", "is required", "")
	}
	t, err := s.change(ctx, tenant, id, ifVersion, func(t *core.Timer, now time.Time) error {
		t.Due, t.Next, t.LeasedUntil, t.Attempts, t.LastError = due.UTC(), due.UTC(), time.Time{}, 0, ""
		return s.place(ctx, t, now)
	})
	if err == nil {
		s.notify(t.Next)
	}
	return t, err
}

func (s *Service) change(ctx context.Context, tenant, id string, ifVersion int64, mutate func(t *core.Timer, now time.Time) error) (core.Timer, error) {
	for attempt := 0; ; attempt++ {
		t, v, err := s.get(ctx, tenant, id)
		if err != nil {
			return t, err
		}
		if ifVersion > 0 && v != ifVersion {
			return t, record.Stale("timer", id, ifVersion, v)
		}
		if t.State != core.TimerPending {
			return t, core.Errorf(core.CodeConflict, "timer %s is %s", id, t.State)
		}
		if err := mutate(&t, s.now()); err != nil {
			return t, err
		}
		w, err := timerDoc.Put(timerKey(tenant, id), v, &t)
		if err != nil {
			return t, err
		}
		err = s.store.Put(ctx, w.Item, w.Cond)
		if err == nil {
			return t, nil
		}
		if !errors.Is(err, store.ErrConditionFailed) {
			return t, fmt.Errorf("write timer %s: %w", id, record.StoreError(err))
		}
		// Moved since it was read: fired (the next read says so), or only
		// leased or retried, which a cancel or reschedule still overrides.
		if ifVersion > 0 || attempt == record.MaxRetries {
			return t, core.Errorf(core.CodeConflict, "timer %s changed or fired concurrently", id)
		}
	}
}

// notify wakes the local loop when a timer is due before the time it
// sleeps until.
func (s *Service) notify(next time.Time) {
	armed := s.armed.Load()
	if armed != 0 && next.UnixNano() >= armed {
		return
	}
	select {
	case s.kick <- struct{}{}:
	default:
	}
}
