package timers_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/clock"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/store/memstore"
	"github.com/fedele-crm/fedele/core/timers"
	"github.com/fedele-crm/fedele/core/timers/timerstest"
	"github.com/fedele-crm/fedele/schemas"
)

func TestFiresOnceAtOrAfterDue(t *testing.T) { timerstest.FiresOnce(t, memstore.New()) }

func TestIdempotencyKey(t *testing.T) {
	r := timerstest.NewRig(t, memstore.New())
	a := r.Schedule(t, "acme", timerstest.T0.Add(time.Minute), "order-7")
	b := r.Schedule(t, "acme", timerstest.T0.Add(time.Hour), "order-7")
	if diff := cmp.Diff(a, b); diff != "" {
		t.Fatalf("same key made another timer (-first +second):\n%s", diff)
	}
	r.Clock.Advance(2 * time.Minute)
	r.Drain(t)
	c := r.Schedule(t, "acme", timerstest.T0.Add(time.Hour), "order-7") // after firing: the fired timer, not a new one
	if c.ID != a.ID || c.State != core.TimerFired {
		t.Fatalf("after firing, the same key gave %+v", c)
	}
	ts, err := r.Svc.ScheduleMany(context.Background(), "acme", []core.TimerRequest{
		{Kind: "mark", Due: timerstest.T0, Key: "order-7"}, {Kind: "mark", Due: timerstest.T0, Key: "order-8"}})
	if err != nil || len(ts) != 2 || ts[0].ID != a.ID || ts[1].State != core.TimerPending {
		t.Fatalf("ScheduleMany with a kept key: %+v, %v", ts, err)
	}
}

func TestScheduleRefusesBadRequests(t *testing.T) {
	r := timerstest.NewRig(t, memstore.New())
	for _, req := range []core.TimerRequest{
		{Kind: "nope", Due: timerstest.T0},
		{Kind: "mark"},
		{Kind: "mark", Due: timerstest.T0, Payload: json.RawMessage(`{`)},
	} {
		if _, err := r.Svc.Schedule(context.Background(), "acme", req); core.ErrorCode(err) != core.CodeInvalid {
			t.Errorf("%+v: %v, want invalid", req, err)
		}
	}
}

func TestRetriesWithBackoffThenDeadLetters(t *testing.T) {
	r := timerstest.NewRig(t, memstore.New())
	r.Fail.Store(100)
	tm := r.Schedule(t, "acme", timerstest.T0, "")
	var nexts []time.Duration
	for range 5 {
		r.Drain(t)
		got, _ := r.Svc.Get(context.Background(), "acme", tm.ID)
		if got.State == core.TimerDead {
			break
		}
		nexts = append(nexts, got.Next.Sub(r.Clock.Now()))
		r.Clock.Set(got.Next)
	}
	if diff := cmp.Diff([]time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}, nexts); diff != "" {
		t.Fatalf("backoff (-want +got):\n%s", diff)
	}
	got, _ := r.Svc.Get(context.Background(), "acme", tm.ID)
	if got.State != core.TimerDead || got.Attempts != 5 || got.LastError != "handler down" {
		t.Fatalf("after 5 failures: %+v", got)
	}
	stats, err := r.Svc.Stats(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	if stats.DeadLetters != 1 || len(stats.LatestDead) != 1 || stats.LatestDead[0].ID != tm.ID {
		t.Fatalf("stats after a dead letter: %+v", stats)
	}
}

func TestCancelAndRescheduleRaceFiring(t *testing.T) { timerstest.RaceFiring(t, memstore.New()) }

func TestTenThousandInOneMinute(t *testing.T) { timerstest.SameMinute(t, memstore.New(), 10_000) }

func TestCatchUpAfterAnHourDown(t *testing.T) { timerstest.CatchUp(t, memstore.New()) }

// TestRunWakesAtNextDue: the local loop sleeps on the clock until the next
// due time, and a timer scheduled earlier than that wakes it again.
func TestRunWakesAtNextDue(t *testing.T) {
	r := timerstest.NewRig(t, memstore.New())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r.Schedule(t, "acme", timerstest.T0.Add(time.Hour), "")
	done := make(chan struct{})
	go func() { r.Svc.Run(ctx); close(done) }()
	waitFor(t, func() bool { return r.Clock.Waiting() == 1 })
	early := r.Schedule(t, "acme", timerstest.T0.Add(time.Minute), "")
	r.Clock.Advance(time.Minute)
	waitFor(t, func() bool { tm, _ := r.Svc.Get(ctx, "acme", early.ID); return tm.State == core.TimerFired })
	if n := r.Effects(t, "acme"); n != 1 {
		t.Fatalf("%d effects after a minute, want 1", n)
	}
	r.Clock.Advance(time.Hour)
	waitFor(t, func() bool { return r.Effects(t, "acme") == 2 })
	cancel()
	<-done
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 10 s")
		}
		time.Sleep(time.Millisecond) // polling with a deadline
	}
}

// TestDispatchAndAct is the AWS path on memstore: the scheduler leases each
// due timer and announces it; the worker acts on it once, however often
// the event is delivered; an event lost is announced again after the lease.
func TestDispatchAndAct(t *testing.T) {
	r := timerstest.NewRig(t, memstore.New())
	ctx := context.Background()
	tm := r.Schedule(t, "acme", timerstest.T0, "")
	bus := &capture{}
	if _, err := r.Svc.Drain(ctx, 0, r.Svc.Dispatcher(bus)); err != nil {
		t.Fatal(err)
	}
	if len(bus.evs) != 1 || bus.evs[0].Detail.Entity.ID != tm.ID {
		t.Fatalf("announced %+v", bus.evs)
	}
	data, _ := json.Marshal(bus.evs[0].Detail)
	if err := schemas.ValidateEventDetail(string(events.TimerDue), data); err != nil {
		t.Fatalf("timer.due against its schema: %v", err)
	}
	if _, err := r.Svc.Drain(ctx, 0, r.Svc.Dispatcher(bus)); err != nil || len(bus.evs) != 1 {
		t.Fatalf("a leased timer was announced again: %d events, %v", len(bus.evs), err)
	}
	r.Clock.Advance(r.Svc.Lease + time.Second) // the event was lost: announced again
	if _, err := r.Svc.Drain(ctx, 0, r.Svc.Dispatcher(bus)); err != nil || len(bus.evs) != 2 {
		t.Fatalf("after the lease: %d events, %v", len(bus.evs), err)
	}
	cons := events.NewConsumers(r.St, slog.New(slog.DiscardHandler), r.Clock.Now)
	cons.Register(r.Svc.Consumer())
	for _, ev := range []events.Envelope{bus.evs[0], bus.evs[1], bus.evs[0]} {
		if err := cons.Publish(ctx, []events.Envelope{ev})[0]; err != nil {
			t.Fatal(err)
		}
	}
	if n := r.Effects(t, "acme"); n != 1 || r.Calls.Load() != 1 {
		t.Fatalf("%d effects, %d calls, want 1", n, r.Calls.Load())
	}
}

type capture struct {
	mu  sync.Mutex
	evs []events.Envelope
}

func (c *capture) Publish(_ context.Context, evs []events.Envelope) []error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.evs = append(c.evs, evs...)
	return make([]error, len(evs))
}

// TestCancelALeasedTimer: a timer handed to the worker can still be
// cancelled, and the worker's event then acts on nothing.
func TestCancelALeasedTimer(t *testing.T) {
	r := timerstest.NewRig(t, memstore.New())
	ctx := context.Background()
	tm := r.Schedule(t, "acme", timerstest.T0, "")
	bus := &capture{}
	if _, err := r.Svc.Drain(ctx, 0, r.Svc.Dispatcher(bus)); err != nil || len(bus.evs) != 1 {
		t.Fatalf("dispatch: %d events, %v", len(bus.evs), err)
	}
	if _, err := r.Svc.Cancel(ctx, "acme", tm.ID, 0); err != nil {
		t.Fatalf("cancel a leased timer: %v", err)
	}
	writes, err := r.Svc.Act(ctx, "acme", tm.ID)
	if err != nil || len(writes) != 0 || r.Calls.Load() != 0 {
		t.Fatalf("the worker acted on a cancelled timer: %d writes, %d calls, %v", len(writes), r.Calls.Load(), err)
	}
}

// Lease and Grace are real time: on a clock 129 600 times faster they are
// that many times longer, or a commit a millisecond late would land in a
// minute already dropped from the directory (a journey's first step never
// fired in `fedele serve --fast-forward 129600`).
func TestLeaseAndGraceAreRealTime(t *testing.T) {
	for _, tc := range []struct {
		name         string
		c            clock.Clock
		lease, grace time.Duration
	}{
		{"system", clock.System, 5 * time.Minute, 2 * time.Minute},
		{"fake", clock.NewFake(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)), 5 * time.Minute, 2 * time.Minute},
		{"fast-forward", clock.FastForward(129600), 129600 * 5 * time.Minute, 129600 * 2 * time.Minute},
	} {
		s := timers.New(memstore.New(), tc.c, slog.New(slog.DiscardHandler))
		if s.Lease != tc.lease || s.Grace != tc.grace {
			t.Errorf("%s: lease %s, grace %s; want %s, %s", tc.name, s.Lease, s.Grace, tc.lease, tc.grace)
		}
	}
}
