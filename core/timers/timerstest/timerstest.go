// Package timerstest holds the timer scenarios every engine must pass —
// fires once, races against cancel and reschedule, many timers in one
// minute, catching up after downtime — run on memstore by core/timers'
// tests and on the embedded and DynamoDB engines by app's. It is for tests
// only and must never be imported by production code.
package timerstest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/clock"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/core/timers"
)

// T0 is when every scenario starts.
var T0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Rig is a timer service on memstore and a fake clock, with a handler of
// kind "mark" that writes one effect item per firing, guarded to exist
// once: a second effect for the same timer fails the test's count.
type Rig struct {
	St    store.Store
	Clock *clock.Fake
	Svc   *timers.Service
	Fail  atomic.Int64 // how many more calls of the handler fail
	Calls atomic.Int64
}

// NewRig builds a rig on st.
func NewRig(t testing.TB, st store.Store) *Rig {
	r := &Rig{St: st, Clock: clock.NewFake(T0)}
	r.Svc = timers.New(st, r.Clock, slog.New(slog.DiscardHandler))
	r.Svc.Register(timers.Handler{Kind: "mark", Handle: func(_ context.Context, tm core.Timer) ([]store.Write, error) {
		r.Calls.Add(1)
		if r.Fail.Add(-1) >= 0 {
			return nil, errors.New("handler down")
		}
		return []store.Write{{Op: store.OpPut, Cond: store.Cond{MustNotExist: true}, Item: store.Item{
			Key: store.Tenant(tm.Tenant).Key(tm.ID, "effect"), Version: 1, Data: []byte(tm.Subject)}}}, nil
	}})
	return r
}

// Effects counts the effect items of tenant.
func (r *Rig) Effects(t testing.TB, tenant string) int {
	t.Helper()
	n, cursor := 0, ""
	for {
		p, err := r.St.Query(context.Background(), store.Query{PK: store.Tenant(tenant).PK("effect"), Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		n += len(p.Items)
		if cursor = p.Next; cursor == "" {
			return n
		}
	}
}

// Drain fires what is due now.
func (r *Rig) Drain(t testing.TB) timers.DrainStats {
	t.Helper()
	st, err := r.Svc.Drain(context.Background(), 0, r.Svc.FireAll)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// Schedule schedules a "mark" timer.
func (r *Rig) Schedule(t testing.TB, tenant string, due time.Time, key string) core.Timer {
	t.Helper()
	tm, err := r.Svc.Schedule(context.Background(), tenant, core.TimerRequest{Kind: "mark", Subject: "s1", Due: due, Key: key,
		Payload: json.RawMessage(`{"x":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// FiresOnce: nothing fires before due, the timer fires once at due, and
// draining again (a redelivery) fires nothing more.
func FiresOnce(t *testing.T, st store.Store) {
	r := NewRig(t, st)
	ctx := context.Background()
	tm := r.Schedule(t, "acme", T0.Add(90*time.Second), "")
	if got := r.Drain(t); got.Fired != 0 || r.Effects(t, "acme") != 0 {
		t.Fatalf("fired before due: %+v", got)
	}
	r.Clock.Advance(90 * time.Second)
	if got := r.Drain(t); got.Fired != 1 {
		t.Fatalf("at due: %+v, want one fired", got)
	}
	r.Clock.Advance(time.Minute)
	r.Drain(t)
	if n := r.Effects(t, "acme"); n != 1 {
		t.Fatalf("%d effects, want 1", n)
	}
	got, err := r.Svc.Get(ctx, "acme", tm.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != core.TimerFired || got.LatenessMS != 0 || got.DoneAt != T0.Add(90*time.Second) {
		t.Fatalf("after firing: %+v", got)
	}
	if _, err := r.Svc.Cancel(ctx, "acme", tm.ID, 0); core.ErrorCode(err) != core.CodeConflict {
		t.Fatalf("cancel after firing: %v, want a conflict", err)
	}
	if _, err := r.Svc.Get(ctx, "globex", tm.ID); core.ErrorCode(err) != core.CodeNotFound {
		t.Fatalf("another tenant's timer: %v, want not found", err)
	}
}

// RaceFiring cancels or reschedules timers while a drain fires them, many
// times over: each timer ends either fired with exactly one effect, or
// cancelled (or moved) with none — never both, never twice.
func RaceFiring(t *testing.T, st store.Store) {
	r := NewRig(t, st)
	ctx := context.Background()
	const n = 200
	ids := make([]string, n)
	for i := range n {
		ids[i] = r.Schedule(t, "acme", T0, "").ID
	}
	var wg sync.WaitGroup
	var cancelled, moved sync.Map
	wg.Go(func() { r.Drain(t) })
	for i, id := range ids {
		wg.Go(func() {
			if i%2 == 0 {
				if _, err := r.Svc.Cancel(ctx, "acme", id, 0); err == nil {
					cancelled.Store(id, true)
				} else if core.ErrorCode(err) != core.CodeConflict {
					t.Error(err)
				}
			} else if _, err := r.Svc.Reschedule(ctx, "acme", id, T0.Add(time.Hour), 0); err == nil {
				moved.Store(id, true)
			} else if core.ErrorCode(err) != core.CodeConflict {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	r.Drain(t) // what raced the first drain and stayed due
	for _, id := range ids {
		tm, err := r.Svc.Get(ctx, "acme", id)
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
		case m && (fired || tm.State != core.TimerPending || !tm.Due.Equal(T0.Add(time.Hour))):
			t.Errorf("%s rescheduled but %s, effect %v", id, tm.State, fired)
		case !c && !m && (!fired || tm.State != core.TimerFired):
			t.Errorf("%s neither cancelled nor moved, but %s, effect %v", id, tm.State, fired)
		}
	}
	r.Clock.Advance(time.Hour)
	r.Drain(t)
	want := n
	cancelled.Range(func(any, any) bool { want--; return true })
	if got := r.Effects(t, "acme"); got != want {
		t.Fatalf("%d effects, want %d (every timer not cancelled, once)", got, want)
	}
}

// SameMinute schedules n timers due within one minute, over many tenants,
// and fires each once, in due order across the minute's shards.
func SameMinute(t *testing.T, st store.Store, n int) {
	r := NewRig(t, st)
	ctx := context.Background()
	reqs := make(map[string][]core.TimerRequest)
	for i := range n {
		tenant := fmt.Sprintf("t%d", i%10)
		reqs[tenant] = append(reqs[tenant], core.TimerRequest{Kind: "mark", Subject: fmt.Sprint(i),
			Due: T0.Add(time.Duration(i%60_000) * time.Millisecond * 60_000 / 60_000)})
	}
	for tenant, rs := range reqs {
		if _, err := r.Svc.ScheduleMany(ctx, tenant, rs); err != nil {
			t.Fatal(err)
		}
	}
	r.Clock.Advance(time.Minute)
	var mu sync.Mutex
	var order []time.Time
	st2, err := r.Svc.Drain(ctx, 0, func(ctx context.Context, ds []timers.Due) ([]timers.Outcome, error) {
		mu.Lock()
		for _, d := range ds {
			order = append(order, d.Timer.Due)
		}
		mu.Unlock()
		return r.Svc.FireAll(ctx, ds)
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
		total += r.Effects(t, tenant)
	}
	if total != n || r.Calls.Load() != int64(n) {
		t.Fatalf("%d effects and %d calls for %d timers", total, r.Calls.Load(), n)
	}
}

// CatchUp: timers due every 30 s over an hour nobody drained are fired
// oldest first, each once, with their lateness recorded, and the minutes
// they were in leave the directory.
func CatchUp(t *testing.T, st store.Store) {
	r := NewRig(t, st)
	ctx := context.Background()
	var want []time.Time
	for i := range 120 {
		due := T0.Add(time.Duration(i) * 30 * time.Second)
		want = append(want, due)
		r.Schedule(t, "acme", due, "")
	}
	r.Clock.Advance(time.Hour + 5*time.Minute)
	var got []time.Time
	r.Svc.Concurrency = 4
	stats, err := r.Svc.Drain(ctx, 0, func(ctx context.Context, ds []timers.Due) ([]timers.Outcome, error) {
		for _, d := range ds {
			got = append(got, d.Timer.Due)
		}
		return r.Svc.FireAll(ctx, ds)
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(want, got, time.Time.Equal) {
		t.Fatalf("catch-up order: got %v, want %v", got, want)
	}
	if stats.Fired != 120 || r.Effects(t, "acme") != 120 {
		t.Fatalf("fired %d, %d effects, want 120", stats.Fired, r.Effects(t, "acme"))
	}
	if p := timers.Percentile(stats.Lateness, 100); p != time.Hour+5*time.Minute {
		t.Fatalf("worst lateness %s", p)
	}
	if _, ok, err := r.Svc.NextDue(ctx); ok || err != nil {
		t.Fatalf("after catch-up, something is still due (%v)", err)
	}
	dir, _ := st.Query(ctx, store.Query{PK: timers.MinutesPK()})
	if len(dir.Items) != 0 {
		t.Fatalf("%d drained minutes left in the directory", len(dir.Items))
	}
	s, err := r.Svc.Stats(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if s.LatenessP99MS < (time.Hour).Milliseconds() || s.Fired != 120 {
		t.Fatalf("stats: %+v", s)
	}
}
