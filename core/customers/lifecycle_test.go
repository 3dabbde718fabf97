package customers_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/commerce"
	"github.com/fedele-crm/fedele/core/customers"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/core/timers"
	"github.com/fedele-crm/fedele/schemas"
)

// relay delivers what the outbox holds (job steps, lifecycle events)
// until it is empty.
func (w *world) relay() {
	w.t.Helper()
	r := &events.Relay{Store: w.st, Publisher: w.delivery, Log: slog.New(slog.DiscardHandler), Now: w.clock.Now}
	for range 1000 {
		n, err := r.Drain(context.Background())
		if err != nil {
			w.t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
	w.t.Fatal("the outbox never emptied")
}

// at sets the clock and fires the timers due by then, as the local loop
// or the scheduler would: never a scan of the contacts.
func (w *world) at(t time.Time) timers.DrainStats {
	w.t.Helper()
	w.clock.Set(t)
	st, err := w.timers.Drain(context.Background(), 0, w.timers.FireAll)
	if err != nil {
		w.t.Fatal(err)
	}
	return st
}

func (w *world) state(tenant, contact string) string {
	w.t.Helper()
	p := w.profile(tenant, contact)
	if p.Lifecycle == nil {
		return ""
	}
	return p.Lifecycle.State
}

// transitions are the tenant's contact.lifecycle_changed events, oldest
// first.
func (w *world) transitions(tenant string) []customers.Changed {
	w.t.Helper()
	page, err := store.QueryMerged(context.Background(), w.st, store.Query{}, events.EventsPKs(tenant), store.MaxPageItems, "")
	if err != nil {
		w.t.Fatal(err)
	}
	var out []customers.Changed
	for _, it := range page.Items {
		ev, err := events.Decode(it)
		if err != nil {
			w.t.Fatal(err)
		}
		if ev.DetailType != events.ContactLifecycleChanged {
			continue
		}
		detail, _ := json.Marshal(ev.Detail)
		if err := schemas.ValidateEventDetail(string(ev.DetailType), detail); err != nil {
			w.t.Errorf("%s: %v", detail, err)
		}
		var c customers.Changed
		if err := json.Unmarshal(ev.Detail.Entity.Data, &c); err != nil {
			w.t.Fatal(err)
		}
		c.At = time.Time{}
		out = append(out, c)
	}
	return out
}

func buy(w *world, tenant, contact string, at time.Time) {
	w.t.Helper()
	w.deliver(orderEvent(tenant, events.OrderPlaced, mkOrder(core.NewID(at), contact, 1, at, "EUR", commerce.OrderPlaced, line{"shoes", 1, 100, 0})))
}

// An order makes a customer new; time alone moves it, each step fired by
// its timer at the minute the threshold passes and not a minute before;
// an order while dormant makes it active again.
func TestLifecycleMovesWithTime(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "", "acme")
	buy(w, "acme", ada, start)
	if got := w.state("acme", ada); got != "new" {
		t.Fatalf("after the first order: %q, want new", got)
	}
	for _, step := range []struct {
		after time.Duration
		want  string
	}{
		{30 * 24 * time.Hour, "active"},
		{90 * 24 * time.Hour, "dormant"},
	} {
		due := start.Add(step.after)
		w.at(due.Add(-time.Minute))
		if got := w.state("acme", ada); got == step.want {
			t.Fatalf("%s a minute early", step.want)
		}
		if st := w.at(due); st.Fired != 1 || st.Lateness[0] != 0 {
			t.Fatalf("at %s: %+v, want one timer fired on time", due, st)
		}
		if got := w.state("acme", ada); got != step.want {
			t.Fatalf("at %s: %q, want %s", due, got, step.want)
		}
	}
	again := start.Add(100 * 24 * time.Hour)
	w.clock.Set(again)
	buy(w, "acme", ada, again)
	if got := w.state("acme", ada); got != "active" {
		t.Fatalf("after ordering while dormant: %q, want active", got)
	}
	// The dormant timer of the old order was cancelled: only the new
	// order's thresholds fire from now on.
	w.at(again.Add(90 * 24 * time.Hour))
	w.at(again.Add(180 * 24 * time.Hour))
	w.at(again.Add(365 * 24 * time.Hour))
	want := []customers.Changed{
		{ContactID: ada, From: "none", To: "new", Why: "first order"},
		{ContactID: ada, From: "new", To: "active", Why: "new for 30 days"},
		{ContactID: ada, From: "active", To: "dormant", Why: "no order for 90 days"},
		{ContactID: ada, From: "dormant", To: "active", Why: "ordered again"},
		{ContactID: ada, From: "active", To: "dormant", Why: "no order for 90 days"},
		{ContactID: ada, From: "dormant", To: "inactive", Why: "no order for 180 days"},
		{ContactID: ada, From: "inactive", To: "lost", Why: "no order for 365 days"},
	}
	if diff := cmp.Diff(want, w.transitions("acme")); diff != "" {
		t.Errorf("transitions (-want +got):\n%s", diff)
	}
	if l := w.profile("acme", ada).Lifecycle; !l.Next.IsZero() || l.TimerID != "" {
		t.Errorf("lost still has a timer: %+v", l)
	}
}

// History loaded late: a customer whose orders are a year old is lost
// since the minute the threshold passed, not since the load, and each
// state a later timer moves to is dated by its threshold too.
func TestLifecycleOfHistoryLoadedLateIsDatedByTheOrders(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "", "acme")
	bob, cy := core.NewID(start.Add(time.Second)), core.NewID(start.Add(2*time.Second))
	now := start.Add(400 * 24 * time.Hour)
	w.clock.Set(now)
	buy(w, "acme", ada, start)                       // lost since start + 365 days
	buy(w, "acme", bob, start.Add(300*24*time.Hour)) // dormant since + 90 days
	buy(w, "acme", cy, now.Add(-10*24*time.Hour))    // new since its order
	w.deliver(orderEvent("acme", events.OrderPlaced, mkOrder(core.NewID(now), cy, 1, now.Add(-40*24*time.Hour), "EUR", commerce.OrderPlaced, line{"shoes", 1, 100, 0})))
	for _, c := range []struct {
		contact, state string
		since          time.Time
	}{
		{ada, "lost", start.Add(365 * 24 * time.Hour)},
		{bob, "dormant", start.Add(390 * 24 * time.Hour)},
		{cy, "active", now.Add(-10 * 24 * time.Hour)},
	} {
		l := w.profile("acme", c.contact).Lifecycle
		if l.State != c.state || !l.Since.Equal(c.since) {
			t.Errorf("%s: %s since %s, want %s since %s", c.contact, l.State, l.Since, c.state, c.since)
		}
	}
	// History arriving out of order: a later order of Ada's, a year and a
	// half old, leaves her lost, now since its own threshold.
	buy(w, "acme", ada, start.Add(20*24*time.Hour))
	if l := w.profile("acme", ada).Lifecycle; l.State != "lost" || !l.Since.Equal(start.Add(385*24*time.Hour)) {
		t.Errorf("ada after a later old order: %s since %s, want lost since %s", l.State, l.Since, start.Add(385*24*time.Hour))
	}
	// Bob's timer fires at the inactive threshold: dated by it, whatever
	// minute the drain ran.
	inactive := start.Add(480 * 24 * time.Hour)
	w.at(inactive.Add(time.Hour))
	if l := w.profile("acme", bob).Lifecycle; l.State != "inactive" || !l.Since.Equal(inactive) {
		t.Errorf("bob after the timer: %s since %s, want inactive since %s", l.State, l.Since, inactive)
	}
}

// Cancelling the only order takes the customer back to none, and its
// timer with it.
func TestCancellingTheOnlyOrder(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "", "acme")
	id := core.NewID(start)
	w.deliver(orderEvent("acme", events.OrderPlaced, mkOrder(id, ada, 1, start, "EUR", commerce.OrderPlaced, line{"shoes", 1, 100, 0})))
	timerID := w.profile("acme", ada).Lifecycle.TimerID
	w.deliver(orderEvent("acme", events.OrderCancelled, mkOrder(id, ada, 2, start, "EUR", commerce.OrderCancelled, line{"shoes", 1, 100, 0})))
	if got := w.state("acme", ada); got != "none" {
		t.Fatalf("state %q, want none", got)
	}
	tm, err := w.timers.Get(context.Background(), "acme", timerID)
	if err != nil || tm.State != core.TimerCancelled {
		t.Errorf("the old timer is %s (%v), want cancelled", tm.State, err)
	}
}

// With the relative basis, the thresholds are multiples of the tenant's
// median gap between consecutive transaction days of repeat buyers,
// measured by the job the rules change starts; the change reschedules
// every customer's timer.
func TestRelativeThresholdsAndARulesChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t, "", "acme")
	w.clock.Set(start.Add(26 * 24 * time.Hour))
	// Three repeat buyers with gaps of 10, 10 and 20 days: median 10.
	buyers := []string{core.NewID(start), core.NewID(start.Add(time.Second)), core.NewID(start.Add(2 * time.Second))}
	gaps := []int{10, 10, 20}
	for i, c := range buyers {
		buy(w, "acme", c, start)
		buy(w, "acme", c, start.Add(time.Duration(gaps[i])*24*time.Hour))
	}
	one := core.NewID(start.Add(3 * time.Second)) // bought once: not a repeat buyer
	buy(w, "acme", one, start.Add(20*24*time.Hour))
	w.relay()
	before := w.profile("acme", one).Lifecycle.Next
	if want := start.Add(50 * 24 * time.Hour); !before.Equal(want) {
		t.Fatalf("next change on days rules at %s, want %s (new for 30 days)", before, want)
	}

	rules := customers.DefaultRules()
	rules.Basis, rules.NewDays = customers.BasisRelative, 5
	rules.DormantAfter, rules.InactiveAfter, rules.LostAfter = 2, 3, 6
	set, jobID, err := w.customers.SetRules(ctx, "acme", rules, 0)
	if err != nil {
		t.Fatal(err)
	}
	if set.Version != 1 || jobID == "" {
		t.Fatalf("rules %+v, job %q", set, jobID)
	}
	w.relay()
	j, err := w.jobs.Get(ctx, "acme", jobID)
	if err != nil || j.Status != "done" {
		t.Fatalf("job %+v %v", j, err)
	}
	got, _ := w.customers.Rules(ctx, "acme")
	if got.TypicalGapDays != 10 || got.RepeatBuyers != 3 {
		t.Fatalf("typical gap %v over %d buyers, want 10 over 3", got.TypicalGapDays, got.RepeatBuyers)
	}
	// Bought 20 days after start, new for 5 days: active on day 26,
	// dormant after 2 × 10 days.
	l := w.profile("acme", one).Lifecycle
	if l.State != "active" || !l.Next.Equal(start.Add(40*24*time.Hour)) {
		t.Fatalf("after the change: %+v, want active until day 40", l)
	}
	old, err := w.timers.Get(ctx, "acme", w.profile("acme", one).Lifecycle.TimerID)
	if err != nil || old.State != core.TimerPending {
		t.Fatalf("new timer %+v %v", old, err)
	}
	w.at(start.Add(40 * 24 * time.Hour))
	if l := w.profile("acme", one).Lifecycle; l.State != "dormant" || l.Why != "no order for 20 days (2× the typical 10 days between purchases)" {
		t.Errorf("at day 40: %+v", l)
	}
	// The measure runs again daily while the basis is relative: the day-27
	// timer fired with the day-40 drain, its job schedules the next day's.
	w.relay()
	if st := w.at(start.Add(41 * 24 * time.Hour)); st.Fired != 1 {
		t.Errorf("no daily measure fired: %+v", st)
	}
}

// LifecycleRules are checked field by field.
func TestRulesAreChecked(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "", "acme")
	r := customers.DefaultRules()
	r.InactiveAfterDays = r.DormantAfterDays
	_, _, err := w.customers.SetRules(context.Background(), "acme", r, 0)
	var ce *core.Error
	if !asError(err, &ce) || ce.Code != core.CodeInvalid || len(ce.Fields) != 1 || ce.Fields[0].Path != "inactive_after_days" {
		t.Fatalf("got %v, want a problem at inactive_after_days", err)
	}
}

func asError(err error, ce **core.Error) bool { return errors.As(err, ce) }
