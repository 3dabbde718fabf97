package timers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
)

// Due is a timer read from the due index, with the version it was read at.
type Due struct {
	Timer   core.Timer
	Version int64
}

// Outcome is what acting on a timer did.
type Outcome int

const (
	Fired   Outcome = iota + 1 // its handler's effects committed with it
	Retried                    // its handler failed; it is tried again later
	Dead                       // its handler kept failing; it is dead-lettered
	Raced                      // it changed since it was read (cancelled, rescheduled, fired elsewhere)
	Skipped                    // nothing to do: not pending, or not due yet
)

// fire computes the writes that act on t (read at version v) at now: the
// timer marked fired, first — so that a lost race is the transaction's
// write 0 — then its handler's effects; or, when the handler fails, the
// timer moved to its retry or to the dead letters.
func (s *Service) fire(ctx context.Context, t core.Timer, v int64, now time.Time) ([]store.Write, Outcome, error) {
	var effects []store.Write
	h, ok := s.handlers[t.Kind]
	herr := fmt.Errorf("no handler is registered for kind %q", t.Kind)
	if ok {
		hctx := events.WithCause(ctx, events.Cause{Actor: events.Actor{Type: "automation", ID: "timer:" + t.Kind},
			CausationID: t.ID, CorrelationID: t.ID})
		effects, herr = h.Handle(hctx, t)
		if herr == nil && len(effects) >= store.MaxTxItems {
			herr = fmt.Errorf("handler %s returned %d writes: at most %d commit with the timer", t.Kind, len(effects), store.MaxTxItems-1)
		}
	}
	outcome := Fired
	t.LeasedUntil = time.Time{}
	if herr == nil {
		t.State, t.DoneAt, t.LatenessMS = core.TimerFired, now, now.Sub(t.Due).Milliseconds()
	} else {
		effects = nil
		t.Attempts++
		t.LastError = herr.Error()
		if t.Attempts >= s.MaxAttempts {
			outcome = Dead
			t.State, t.DoneAt = core.TimerDead, now
		} else {
			outcome = Retried
			t.Next = now.Add(s.backoff(t.Attempts))
			if err := s.place(ctx, &t, now); err != nil {
				return nil, 0, err
			}
		}
	}
	w, err := timerDoc.Put(timerKey(t.Tenant, t.ID), v, &t)
	if err != nil {
		return nil, 0, err
	}
	switch outcome {
	case Retried:
		s.log.Warn("timer handler failed: retrying", slog.String("tenant", t.Tenant), slog.String("timer", t.ID),
			slog.String("kind", t.Kind), slog.Int("attempt", t.Attempts), slog.Time("next", t.Next), slog.String("error", herr.Error()))
	case Dead:
		s.log.Error("timer dead-lettered", slog.String("tenant", t.Tenant), slog.String("timer", t.ID),
			slog.String("kind", t.Kind), slog.Int("attempts", t.Attempts), slog.String("error", herr.Error()))
	}
	return append([]store.Write{w}, effects...), outcome, nil
}

func (s *Service) backoff(attempt int) time.Duration {
	d := s.Backoff << min(attempt-1, 30)
	if d <= 0 || d > s.MaxBackoff {
		d = s.MaxBackoff
	}
	return d
}

// FireNow acts on a due timer and commits the result: the local loop's
// action. A timer that changed since it was read is left alone (Raced).
func (s *Service) FireNow(ctx context.Context, d Due) (Outcome, error) {
	writes, outcome, err := s.fire(ctx, d.Timer, d.Version, s.now())
	if err != nil {
		return 0, err
	}
	err = s.store.Transact(ctx, writes)
	var tc *store.TxCancelledError
	if errors.As(err, &tc) && tc.Index == 0 && errors.Is(err, store.ErrConditionFailed) {
		return Raced, nil
	}
	if err != nil {
		return 0, fmt.Errorf("commit timer %s: %w", d.Timer.ID, record.StoreError(err))
	}
	return outcome, nil
}

// Act is the worker's half of the AWS path: the writes that act on the
// timer a timer.due event names, for the consumer to commit with its
// processed marker. A timer no longer pending, or moved later since the
// event was sent, gives no writes: an event delivered twice, or late,
// acts once.
func (s *Service) Act(ctx context.Context, tenant, id string) ([]store.Write, error) {
	t, v, err := s.get(ctx, tenant, id)
	if core.ErrorCode(err) == core.CodeNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	now := s.now()
	if t.State != core.TimerPending || t.Next.After(now) {
		return nil, nil
	}
	writes, _, err := s.fire(ctx, t, v, now)
	return writes, err
}

// Consumer is the worker's consumer of timer.due events.
func (s *Service) Consumer() events.Handler {
	return events.Handler{Name: "timers", Types: []events.Type{events.TimerDue},
		Handle: func(ctx context.Context, ev events.Envelope) ([]store.Write, error) {
			return s.Act(ctx, ev.Detail.Tenant, ev.Detail.Entity.ID)
		}}
}

// DrainStats is what one drain did.
type DrainStats struct {
	Read, Fired, Retried, Dead, Raced int
	// Lateness of the timers it fired, in order.
	Lateness []time.Duration
}

func (d *DrainStats) add(o Outcome, late time.Duration) {
	switch o {
	case Fired:
		d.Fired++
		d.Lateness = append(d.Lateness, late)
	case Retried:
		d.Retried++
	case Dead:
		d.Dead++
	case Raced:
		d.Raced++
	}
}

// Percentile is the p-th percentile (0..100) of ds, 0 when empty.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

// drainPage is how many due timers one read takes.
const drainPage = 200

// Drain acts on every timer due now with act, minute by minute and, in a
// minute, in due order (the shards merged), at most Concurrency at once —
// after a downtime the backlog goes oldest first and never all at once.
// It visits only the minutes of the directory up to now's (never the
// future), drops from the directory the minutes past their grace that it
// leaves empty, and stops early, between pages, when ctx is done or within
// reserve of its deadline (a Lambda function's time).
func (s *Service) Drain(ctx context.Context, reserve time.Duration, act func(ctx context.Context, ds []Due) ([]Outcome, error)) (DrainStats, error) {
	var st DrainStats
	now := s.now()
	upto := minuteOf(now)
	var errs []error
	cursor := ""
	for {
		dir, err := s.store.Query(ctx, store.Query{PK: MinutesPK(), To: upto, Cursor: cursor})
		if err != nil {
			return st, fmt.Errorf("read due minutes: %w", err)
		}
		for _, m := range dir.Items {
			if out(ctx, reserve) {
				return st, errors.Join(errs...)
			}
			complete, err := s.drainMinute(ctx, m.SK, now, reserve, act, &st)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if complete && m.SK < minuteOf(now.Add(-s.Grace)) {
				// Past its grace, a minute gets no new entries, and every
				// entry of it was due: acted on, it is empty.
				if err := s.dropMinute(ctx, m.SK); err != nil {
					errs = append(errs, err)
				}
			}
		}
		if cursor = dir.Next; cursor == "" {
			return st, errors.Join(errs...)
		}
	}
}

func out(ctx context.Context, reserve time.Duration) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && time.Until(dl) < reserve
}

func (s *Service) drainMinute(ctx context.Context, minute string, now time.Time, reserve time.Duration,
	act func(ctx context.Context, ds []Due) ([]Outcome, error), st *DrainStats) (complete bool, err error) {
	q := store.Query{Index: DueIndex, To: dueSK(now) + "$"} // '$' sorts after the '#' that follows the time
	cursor := ""
	for {
		if out(ctx, reserve) {
			return false, nil
		}
		page, err := store.QueryMerged(ctx, s.store, q, duePKs(minute), drainPage, cursor)
		if err != nil {
			return false, fmt.Errorf("read due minute %s: %w", minute, err)
		}
		ds := make([]Due, 0, len(page.Items))
		for _, it := range page.Items {
			t, err := timerDoc.Decode(it)
			if err != nil {
				s.log.Error("unreadable timer", slog.String("key", it.Key.String()), slog.String("error", err.Error()))
				continue
			}
			ds = append(ds, Due{Timer: t, Version: it.Version})
		}
		st.Read += len(ds)
		if len(ds) > 0 {
			outcomes, err := act(ctx, ds)
			for i, o := range outcomes {
				st.add(o, now.Sub(ds[i].Timer.Due))
			}
			if err != nil {
				return false, err
			}
		}
		if cursor = page.Next; cursor == "" {
			return true, nil
		}
	}
}

// dropMinute removes a drained minute from the directory.
func (s *Service) dropMinute(ctx context.Context, minute string) error {
	if err := s.store.Delete(ctx, store.Key{PK: MinutesPK(), SK: minute}, store.Cond{}); err != nil {
		return fmt.Errorf("drop due minute %s: %w", minute, err)
	}
	s.buckets.Delete(minute)
	return nil
}

// parallel runs f on each due timer, at most n at once, in order of start.
func parallel(ctx context.Context, n int, ds []Due, f func(ctx context.Context, i int, d Due) (Outcome, error)) ([]Outcome, error) {
	outcomes := make([]Outcome, len(ds))
	errs := make([]error, len(ds))
	sem := make(chan struct{}, max(1, n))
	var wg sync.WaitGroup
	for i, d := range ds {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			outcomes[i], errs[i] = f(ctx, i, d)
		})
	}
	wg.Wait()
	return outcomes, errors.Join(errs...)
}

// FireAll is Drain's action for the local loop: each timer fired here.
// The handlers run at most Concurrency at once; their results commit
// several timers to a transaction (group commit: on a file store each
// transaction is a sync to disk), each timer's effects still all-or-nothing
// with its own change. A group that fails — one of its timers raced —
// commits its timers one by one, so that only the raced one is left out.
func (s *Service) FireAll(ctx context.Context, ds []Due) ([]Outcome, error) {
	preps := make([][]store.Write, len(ds))
	outcomes, err := parallel(ctx, s.Concurrency, ds, func(ctx context.Context, i int, d Due) (Outcome, error) {
		writes, o, err := s.fire(ctx, d.Timer, d.Version, s.now())
		preps[i] = writes
		return o, err
	})
	var groups [][]int
	var cur []int
	n, size := 0, 0
	for i, w := range preps {
		if outcomes[i] == 0 {
			continue // its handler's writes could not be made: left due
		}
		b := 0
		for _, x := range w {
			b += x.Item.Size()
		}
		if len(cur) > 0 && (n+len(w) > store.MaxTxItems || size+b > store.MaxTxBytes/2) {
			groups, cur, n, size = append(groups, cur), nil, 0, 0
		}
		cur, n, size = append(cur, i), n+len(w), size+b
	}
	if len(cur) > 0 {
		groups = append(groups, cur)
	}
	gds := make([]Due, len(groups)) // parallel's items: only their index matters
	_, cerr := parallel(ctx, s.Concurrency, gds, func(ctx context.Context, g int, _ Due) (Outcome, error) {
		var all []store.Write
		for _, i := range groups[g] {
			all = append(all, preps[i]...)
		}
		if len(groups[g]) > 1 && s.store.Transact(ctx, all) == nil {
			return 0, nil
		}
		var errs []error
		for _, i := range groups[g] {
			err := s.store.Transact(ctx, preps[i])
			var tc *store.TxCancelledError
			if errors.As(err, &tc) && tc.Index == 0 && errors.Is(err, store.ErrConditionFailed) {
				outcomes[i] = Raced
			} else if err != nil {
				outcomes[i] = 0
				errs = append(errs, fmt.Errorf("commit timer %s: %w", ds[i].Timer.ID, record.StoreError(err)))
			}
		}
		return 0, errors.Join(errs...)
	})
	return outcomes, errors.Join(err, cerr)
}

// Dispatcher is Drain's action for the scheduler function: each due timer
// is leased (moved out of the due index for Lease) and announced as a
// timer.due event on pub, for the worker to act on. A slow handler so
// never delays the drain; an event lost is sent again when the lease ends.
func (s *Service) Dispatcher(pub events.Publisher) func(ctx context.Context, ds []Due) ([]Outcome, error) {
	return func(ctx context.Context, ds []Due) ([]Outcome, error) {
		now := s.now()
		leased := make([]events.Envelope, len(ds))
		outcomes, err := parallel(ctx, s.Concurrency, ds, func(ctx context.Context, i int, d Due) (Outcome, error) {
			t := d.Timer
			t.LeasedUntil = now.Add(s.Lease)
			if err := s.place(ctx, &t, now); err != nil {
				return 0, err
			}
			w, err := timerDoc.Put(timerKey(t.Tenant, t.ID), d.Version, &t)
			if err != nil {
				return 0, err
			}
			if err := s.store.Put(ctx, w.Item, w.Cond); errors.Is(err, store.ErrConditionFailed) {
				return Raced, nil
			} else if err != nil {
				return 0, fmt.Errorf("lease timer %s: %w", t.ID, record.StoreError(err))
			}
			leased[i] = dueEvent(t, now)
			return Skipped, nil
		})
		var evs []events.Envelope
		for _, ev := range leased {
			if ev.DetailType != "" {
				evs = append(evs, ev)
			}
		}
		var perrs []error
		if len(evs) > 0 {
			for i, perr := range pub.Publish(ctx, evs) {
				if perr != nil {
					perrs = append(perrs, fmt.Errorf("announce timer %s: %w", evs[i].Detail.Entity.ID, perr))
				}
			}
		}
		return outcomes, errors.Join(append(perrs, err)...)
	}
}

// DueDetail is the entity data of a timer.due event.
type DueDetail struct {
	Kind    string    `json:"kind"`
	Subject string    `json:"subject"`
	Due     time.Time `json:"due"`
	Attempt int       `json:"attempt"`
}

func dueEvent(t core.Timer, now time.Time) events.Envelope {
	data, _ := json.Marshal(DueDetail{Kind: t.Kind, Subject: t.Subject, Due: t.Due, Attempt: t.Attempts + 1}) // plain fields cannot fail
	id := core.NewID(now)
	return events.Envelope{Source: events.Source, DetailType: events.TimerDue, Detail: events.Detail{
		EventID: id, Tenant: t.Tenant, Time: now, Actor: events.Actor{Type: "system", ID: "timers"},
		CorrelationID: t.ID, Entity: events.Entity{Type: "timer", ID: t.ID, Data: data}}}
}

// NextDue is when the earliest pending timer is next due (false when there
// is none): the first minute of the directory that holds one, and its
// earliest entry.
func (s *Service) NextDue(ctx context.Context) (time.Time, bool, error) {
	dir, err := s.store.Query(ctx, store.Query{PK: MinutesPK(), Limit: 20})
	if err != nil {
		return time.Time{}, false, fmt.Errorf("read due minutes: %w", err)
	}
	for _, m := range dir.Items {
		page, err := store.QueryMerged(ctx, s.store, store.Query{Index: DueIndex}, duePKs(m.SK), 1, "")
		if err != nil {
			return time.Time{}, false, fmt.Errorf("read due minute %s: %w", m.SK, err)
		}
		if len(page.Items) == 0 {
			continue
		}
		at, err := time.Parse(dueLayout, page.Items[0].IndexKeys[DueIndex].SK[:len(dueLayout)])
		if err != nil {
			return time.Time{}, false, fmt.Errorf("read due minute %s: %w", m.SK, err)
		}
		return at, true, nil
	}
	if len(dir.Items) == 20 {
		// Twenty empty minutes: look again from the last of them.
		at, err := time.Parse(minuteLayout, dir.Items[19].SK)
		return at, err == nil, err
	}
	return time.Time{}, false, nil
}

// Run is the local loop of `fedele serve`: it drains what is due, then
// sleeps on the clock until the next due time — not on a fixed poll —
// woken early when a timer is scheduled before it. It logs each drain that
// did something, with the lateness of what it fired.
func (s *Service) Run(ctx context.Context) {
	for {
		s.armed.Store(0) // busy: any schedule from now on wakes the next sleep
		st, err := s.Drain(ctx, 0, s.FireAll)
		if err != nil && ctx.Err() == nil {
			s.log.Error("timers", slog.String("error", err.Error()))
		}
		if st.Read > 0 {
			s.log.Info("timers fired", slog.Int("fired", st.Fired), slog.Int("retried", st.Retried), slog.Int("dead", st.Dead),
				slog.Int("raced", st.Raced), slog.Duration("lateness_p50", Percentile(st.Lateness, 50)),
				slog.Duration("lateness_p99", Percentile(st.Lateness, 99)))
		}
		next, ok, nerr := s.NextDue(ctx)
		if nerr != nil || err != nil {
			next, ok = s.now().Add(time.Second), true // the store is away: try again soon
		}
		var wake <-chan struct{}
		stop := func() {}
		if ok {
			wake, stop = s.clock.At(next)
			s.armed.Store(next.UnixNano())
		} else {
			s.armed.Store(math.MaxInt64)
		}
		select {
		case <-ctx.Done():
			stop()
			return
		case <-wake:
		case <-s.kick:
		}
		stop()
	}
}
