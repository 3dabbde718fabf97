package timers_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/clock"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/core/store/memstore"
	"github.com/fedele-crm/fedele/core/timers"
	"github.com/fedele-crm/fedele/schemas"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// rig is a timer service on memstore and a fake clock, with a handler of
// kind "mark" that writes one effect item per firing, guarded to exist
// once: a second effect for the same timer fails the test's count.
type rig struct {
	st    store.Store
	clock *clock.Fake
	svc   *timers.Service
	fail  atomic.Int64 // how many more calls of the handler fail
	calls atomic.Int64
}

func newRig(t testing.TB, st store.Store) *rig {
	r := &rig{st: st, clock: clock.NewFake(t0)}
	r.svc = timers.New(st, r.clock, slog.New(slog.DiscardHandler))
	r.svc.Register(timers.Handler{Kind: "mark", Handle: func(_ context.Context, tm core.Timer) ([]store.Write, error) {
		r.calls.Add(1)
		if r.fail.Add(-1) >= 0 {
			return nil, errors.New("handler down")
		}
		return []store.Write{{Op: store.OpPut, Cond: store.Cond{MustNotExist: true}, Item: store.Item{
			Key: store.Tenant(tm.Tenant).Key(tm.ID, "effect"), Version: 1, Data: []byte(tm.Subject)}}}, nil
	}})
	return r
}

func (r *rig) effects(t testing.TB, tenant string) int {
	t.Helper()
	n, cursor := 0, ""
	for {
		p, err := r.st.Query(context.Background(), store.Query{PK: store.Tenant(tenant).PK("effect"), Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		n += len(p.Items)
		if cursor = p.Next; cursor == "" {
			return n
		}
	}
}

func (r *rig) drain(t testing.TB) timers.DrainStats {
	t.Helper()
	st, err := r.svc.Drain(context.Background(), 0, r.svc.FireAll)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func (r *rig) schedule(t testing.TB, tenant string, due time.Time, key string) core.Timer {
	t.Helper()
	tm, err := r.svc.Schedule(context.Background(), tenant, core.TimerRequest{Kind: "mark", Subject: "s1", Due: due, Key: key,
		Payload: json.RawMessage(`{"x":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func TestFiresOnceAtOrAfterDue(t *testing.T) { FiresOnce(t, memstore.New()) }

// FiresOnce: nothing fires before due, the timer fires once at due, and
// draining again (a redelivery) fires nothing more.
func FiresOnce(t *testing.T, st store.Store) {
	r := newRig(t, st)
	ctx := context.Background()
	tm := r.schedule(t, "acme", t0.Add(90*time.Second), "")
	if got := r.drain(t); got.Fired != 0 || r.effects(t, "acme") != 0 {
		t.Fatalf("fired before due: %+v", got)
	}
	r.clock.Advance(90 * time.Second)
	if got := r.drain(t); got.Fired != 1 {
		t.Fatalf("at due: %+v, want one fired", got)
	}
	r.clock.Advance(time.Minute)
	r.drain(t)
	if n := r.effects(t, "acme"); n != 1 {
		t.Fatalf("%d effects, want 1", n)
	}
	got, err := r.svc.Get(ctx, "acme", tm.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != core.TimerFired || got.LatenessMS != 0 || got.DoneAt != t0.Add(90*time.Second) {
		t.Fatalf("after firing: %+v", got)
	}
	if _, err := r.svc.Cancel(ctx, "acme", tm.ID, 0); core.ErrorCode(err) != core.CodeConflict {
		t.Fatalf("cancel after firing: %v, want a conflict", err)
	}
	if _, err := r.svc.Get(ctx, "globex", tm.ID); core.ErrorCode(err) != core.CodeNotFound {
		t.Fatalf("another tenant's timer: %v, want not found", err)
	}
}

func TestIdempotencyKey(t *testing.T) {
	r := newRig(t, memstore.New())
	a := r.schedule(t, "acme", t0.Add(time.Minute), "order-7")
	b := r.schedule(t, "acme", t0.Add(time.Hour), "order-7")
	if diff := cmp.Diff(a, b); diff != "" {
		t.Fatalf("same key made another timer (-first +second):\n%s", diff)
	}
	r.clock.Advance(2 * time.Minute)
	r.drain(t)
	c := r.schedule(t, "acme", t0.Add(time.Hour), "order-7") // after firing: the fired timer, not a new one
	if c.ID != a.ID || c.State != core.TimerFired {
		t.Fatalf("after firing, the same key gave %+v", c)
	}
	ts, err := r.svc.ScheduleMany(context.Background(), "acme", []core.TimerRequest{
		{Kind: "mark", Due: t0, Key: "order-7"}, {Kind: "mark", Due: t0, Key: "order-8"}})
	if err != nil || len(ts) != 2 || ts[0].ID != a.ID || ts[1].State != core.TimerPending {
		t.Fatalf("ScheduleMany with a kept key: %+v, %v", ts, err)
	}
}

func TestScheduleRefusesBadRequests(t *testing.T) {
	r := newRig(t, memstore.New())
	for _, req := range []core.TimerRequest{
		{Kind: "nope", Due: t0},
		{Kind: "mark"},
		{Kind: "mark", Due: t0, Payload: json.RawMessage(`{`)},
	} {
		if _, err := r.svc.Schedule(context.Background(), "acme", req); core.ErrorCode(err) != core.CodeInvalid {
			t.Errorf("%+v: %v, want invalid", req, err)
		}
	}
}

func TestRetriesWithBackoffThenDeadLetters(t *testing.T) {
	r := newRig(t, memstore.New())
	r.fail.Store(100)
	tm := r.schedule(t, "acme", t0, "")
	var nexts []time.Duration
	for range 5 {
		r.drain(t)
		got, _ := r.svc.Get(context.Background(), "acme", tm.ID)
		if got.State == core.TimerDead {
			break
		}
		nexts = append(nexts, got.Next.Sub(r.clock.Now()))
		r.clock.Set(got.Next)
	}
	if diff := cmp.Diff([]time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}, nexts); diff != "" {
		t.Fatalf("backoff (-want +got):\n%s", diff)
	}
	got, _ := r.svc.Get(context.Background(), "acme", tm.ID)
	if got.State != core.TimerDead || got.Attempts != 5 || got.LastError != "handler down" {
		t.Fatalf("after 5 failures: %+v", got)
	}
	stats, err := r.svc.Stats(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	if stats.DeadLetters != 1 || len(stats.LatestDead) != 1 || stats.LatestDead[0].ID != tm.ID {
		t.Fatalf("stats after a dead letter: %+v", stats)
	}
}

func TestCancelAndRescheduleRaceFiring(t *testing.T) { RaceFiring(t, memstore.New()) }

// RaceFiring cancels or reschedules timers while a drain fires them, many
// times over: each timer ends either fired with exactly one effect, or
// cancelled (or moved) with none — never both, never twice.
func RaceFiring(t *testing.T, st store.Store) {
	r := newRig(t, st)
	ctx := context.Background()
	const n = 200
	ids := make([]string, n)
	for i := range n {
		ids[i] = r.schedule(t, "acme", t0, "").ID
	}
	var wg sync.WaitGroup
	var cancelled, moved sync.Map
	wg.Go(func() { r.drain(t) })
	for i, id := range ids {
		wg.Go(func() {
			if i%2 == 0 {
				if _, err := r.svc.Cancel(ctx, "acme", id, 0); err == nil {
					cancelled.Store(id, true)
				} else if core.ErrorCode(err) != core.CodeConflict {
					t.Error(err)
				}
			} else if _, err := r.svc.Reschedule(ctx, "acme", id, t0.Add(time.Hour), 0); err == nil {
				moved.Store(id, true)
			} else if core.ErrorCode(err) != core.CodeConflict {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	r.drain(t) // what raced the first drain and stayed due
	for _, id := range ids {
		tm, err := r.svc.Get(ctx, "acme", id)
		if err != nil {
			t.Fatal(err)
		}
		_, c := cancelled.Load(id)
		_, m := moved.Load(id)
		_, effErr := st.Get(ctx, store.Tenant("acme").Key(id, "effect"))
		fired := effErr == nil
		switch {
		case c && (fired || tm.State != core.TimerCancelled):
			t.Errorf("%s cancelled but %s, effect %v", id, tm.State, fired)
		case m && (fired || tm.State != core.TimerPending || !tm.Due.Equal(t0.Add(time.Hour))):
			t.Errorf("%s rescheduled but %s, effect %v", id, tm.State, fired)
		case !c && !m && (!fired || tm.State != core.TimerFired):
			t.Errorf("%s neither cancelled nor moved, but %s, effect %v", id, tm.State, fired)
		}
	}
	r.clock.Advance(time.Hour)
	r.drain(t)
	want := n
	cancelled.Range(func(any, any) bool { want--; return true })
	if got := r.effects(t, "acme"); got != want {
		t.Fatalf("%d effects, want %d (every timer not cancelled, once)", got, want)
	}
}

func TestTenThousandInOneMinute(t *testing.T) { SameMinute(t, memstore.New(), 10_000) }

// SameMinute schedules n timers due within one minute, over many tenants,
// and fires each once, in due order across the minute's shards.
func SameMinute(t *testing.T, st store.Store, n int) {
	r := newRig(t, st)
	ctx := context.Background()
	reqs := make(map[string][]core.TimerRequest)
	for i := range n {
		tenant := fmt.Sprintf("t%d", i%10)
		reqs[tenant] = append(reqs[tenant], core.TimerRequest{Kind: "mark", Subject: fmt.Sprint(i),
			Due: t0.Add(time.Duration(i%60_000) * time.Millisecond * 60_000 / 60_000)})
	}
	for tenant, rs := range reqs {
		if _, err := r.svc.ScheduleMany(ctx, tenant, rs); err != nil {
			t.Fatal(err)
		}
	}
	r.clock.Advance(time.Minute)
	var mu sync.Mutex
	var order []time.Time
	st2, err := r.svc.Drain(ctx, 0, func(ctx context.Context, ds []timers.Due) ([]timers.Outcome, error) {
		mu.Lock()
		for _, d := range ds {
			order = append(order, d.Timer.Due)
		}
		mu.Unlock()
		return r.svc.FireAll(ctx, ds)
	})
	if err != nil {
		t.Fatal(err)
	}
	if st2.Fired != n {
		t.Fatalf("fired %d of %d", st2.Fired, n)
	}
	for i := 1; i < len(order); i++ {
		if order[i].Before(order[i-1]) {
			t.Fatalf("timer %d due %s came after one due %s", i, order[i], order[i-1])
		}
	}
	total := 0
	for tenant := range reqs {
		total += r.effects(t, tenant)
	}
	if total != n || r.calls.Load() != int64(n) {
		t.Fatalf("%d effects and %d calls for %d timers", total, r.calls.Load(), n)
	}
}

func TestCatchUpAfterAnHourDown(t *testing.T) { CatchUp(t, memstore.New()) }

// CatchUp: timers due every 30 s over an hour nobody drained are fired
// oldest first, each once, with their lateness recorded, and the minutes
// they were in leave the directory.
func CatchUp(t *testing.T, st store.Store) {
	r := newRig(t, st)
	ctx := context.Background()
	var want []time.Time
	for i := range 120 {
		due := t0.Add(time.Duration(i) * 30 * time.Second)
		want = append(want, due)
		r.schedule(t, "acme", due, "")
	}
	r.clock.Advance(time.Hour + 5*time.Minute)
	var got []time.Time
	r.svc.Concurrency = 4
	stats, err := r.svc.Drain(ctx, 0, func(ctx context.Context, ds []timers.Due) ([]timers.Outcome, error) {
		for _, d := range ds {
			got = append(got, d.Timer.Due)
		}
		return r.svc.FireAll(ctx, ds)
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("catch-up order (-want +got):\n%s", diff)
	}
	if stats.Fired != 120 || r.effects(t, "acme") != 120 {
		t.Fatalf("fired %d, %d effects, want 120", stats.Fired, r.effects(t, "acme"))
	}
	if p := timers.Percentile(stats.Lateness, 100); p != time.Hour+5*time.Minute {
		t.Fatalf("worst lateness %s", p)
	}
	if _, ok, err := r.svc.NextDue(ctx); ok || err != nil {
		t.Fatalf("after catch-up, something is still due (%v)", err)
	}
	dir, _ := st.Query(ctx, store.Query{PK: timers.MinutesPK()})
	if len(dir.Items) != 0 {
		t.Fatalf("%d drained minutes left in the directory", len(dir.Items))
	}
	s, err := r.svc.Stats(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if s.LatenessP99MS < (time.Hour).Milliseconds() || s.Fired != 120 {
		t.Fatalf("stats: %+v", s)
	}
}

// TestRunWakesAtNextDue: the local loop sleeps on the clock until the next
// due time, and a timer scheduled earlier than that wakes it again.
func TestRunWakesAtNextDue(t *testing.T) {
	r := newRig(t, memstore.New())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r.schedule(t, "acme", t0.Add(time.Hour), "")
	done := make(chan struct{})
	go func() { r.svc.Run(ctx); close(done) }()
	waitFor(t, func() bool { return r.clock.Waiting() == 1 })
	early := r.schedule(t, "acme", t0.Add(time.Minute), "")
	r.clock.Advance(time.Minute)
	waitFor(t, func() bool { tm, _ := r.svc.Get(ctx, "acme", early.ID); return tm.State == core.TimerFired })
	if n := r.effects(t, "acme"); n != 1 {
		t.Fatalf("%d effects after a minute, want 1", n)
	}
	r.clock.Advance(time.Hour)
	waitFor(t, func() bool { return r.effects(t, "acme") == 2 })
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
	r := newRig(t, memstore.New())
	ctx := context.Background()
	tm := r.schedule(t, "acme", t0, "")
	bus := &capture{}
	if _, err := r.svc.Drain(ctx, 0, r.svc.Dispatcher(bus)); err != nil {
		t.Fatal(err)
	}
	if len(bus.evs) != 1 || bus.evs[0].Detail.Entity.ID != tm.ID {
		t.Fatalf("announced %+v", bus.evs)
	}
	data, _ := json.Marshal(bus.evs[0].Detail)
	if err := schemas.ValidateEventDetail(string(events.TimerDue), data); err != nil {
		t.Fatalf("timer.due against its schema: %v", err)
	}
	if _, err := r.svc.Drain(ctx, 0, r.svc.Dispatcher(bus)); err != nil || len(bus.evs) != 1 {
		t.Fatalf("a leased timer was announced again: %d events, %v", len(bus.evs), err)
	}
	r.clock.Advance(r.svc.Lease + time.Second) // the event was lost: announced again
	if _, err := r.svc.Drain(ctx, 0, r.svc.Dispatcher(bus)); err != nil || len(bus.evs) != 2 {
		t.Fatalf("after the lease: %d events, %v", len(bus.evs), err)
	}
	cons := events.NewConsumers(r.st, slog.New(slog.DiscardHandler), r.clock.Now)
	cons.Register(r.svc.Consumer())
	for _, ev := range []events.Envelope{bus.evs[0], bus.evs[1], bus.evs[0]} {
		if err := cons.Publish(ctx, []events.Envelope{ev})[0]; err != nil {
			t.Fatal(err)
		}
	}
	if n := r.effects(t, "acme"); n != 1 || r.calls.Load() != 1 {
		t.Fatalf("%d effects, %d calls, want 1", n, r.calls.Load())
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
