package app_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/app"
	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/clock"
	"github.com/fedele-crm/fedele/core/commerce"
	"github.com/fedele-crm/fedele/core/customers"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/timers"
	"github.com/fedele-crm/fedele/internal/testsupport/enginetest"
)

// customerWorld is the whole app on one engine with a fake clock: order
// events in through the consumer set, timers fired as the local loop or
// the scheduler would, job steps through the relay.
type customerWorld struct {
	t     *testing.T
	a     *app.App
	clock *clock.Fake
}

func (w *customerWorld) order(tenant, id, contact string, version int64, at time.Time, status commerce.OrderStatus) {
	w.t.Helper()
	o := commerce.Order{Meta: core.Meta{ID: id, Version: version}, Total: 4200}
	o.ContactID, o.Currency, o.PlacedAt, o.Status, o.ExternalID = contact, "EUR", at, status, "shop-"+id
	o.Lines = []commerce.Line{{Category: "shoes", Quantity: 1, UnitPrice: 4200}}
	data, _ := json.Marshal(o)
	typ := events.OrderPlaced
	if version > 1 {
		typ = events.OrderUpdated
	}
	ev := events.New(context.Background(), tenant, typ, w.clock.Now(), events.Entity{Type: "order", ID: id, Data: data})
	for _, err := range w.a.Delivery().Publish(context.Background(), []events.Envelope{ev}) {
		if err != nil {
			w.t.Fatal(err)
		}
	}
}

func (w *customerWorld) at(t time.Time) int {
	w.t.Helper()
	w.clock.Set(t)
	// Other areas' timers (the RFM and reports debounces, their daily
	// runs) fire in the same drain; only the lifecycle's are counted.
	fired := 0
	_, err := w.a.Timers.Drain(context.Background(), 0, func(ctx context.Context, ds []timers.Due) ([]timers.Outcome, error) {
		os, err := w.a.Timers.FireAll(ctx, ds)
		for i, o := range os {
			if o == timers.Fired && ds[i].Timer.Kind == customers.LifecycleTimerKind {
				fired++
			}
		}
		return os, err
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return fired
}

func (w *customerWorld) relay() {
	w.t.Helper()
	r := w.a.LocalRelay(time.Second)
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

func (w *customerWorld) profile(tenant, contact string) (customers.Profile, int64) {
	w.t.Helper()
	p, v, err := w.a.Customers.Profile(context.Background(), tenant, contact)
	if err != nil {
		w.t.Fatal(err)
	}
	return p, v
}

func (w *customerWorld) state(tenant, contact string) string {
	w.t.Helper()
	p, _ := w.profile(tenant, contact)
	if p.Lifecycle == nil {
		return ""
	}
	return p.Lifecycle.State
}

// Orders and time move a customer through its lifecycle on each real
// engine: the transitions time causes fire from their timers at the
// minute, a new order while dormant makes it active, a rules change
// reschedules it through the job, and another tenant's events — even one
// naming this tenant's contact — stay in their own key space.
func TestCustomerLifecycleOnEveryEngine(t *testing.T) {
	t.Parallel()
	for name, open := range enginetest.Engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			day0 := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
			fake := clock.NewFake(day0)
			a, err := app.New(app.Ports{Store: open(t), Clock: fake, Log: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			for _, tn := range []string{"acme", "beta"} {
				if _, err := a.Tenants.Create(ctx, tn, tn, "IT"); err != nil {
					t.Fatal(err)
				}
			}
			w := &customerWorld{t: t, a: a, clock: fake}
			ada := core.NewID(day0)
			first := core.NewID(day0)
			w.order("acme", first, ada, 1, day0, commerce.OrderPlaced)
			w.order("acme", first, ada, 1, day0, commerce.OrderPlaced) // again: no effect
			if got := w.state("acme", ada); got != "new" {
				t.Fatalf("after the first order: %q", got)
			}
			for _, step := range []struct {
				days int
				want string
			}{{30, "active"}, {90, "dormant"}} {
				due := day0.Add(time.Duration(step.days) * 24 * time.Hour)
				if n := w.at(due.Add(-time.Minute)); n != 0 {
					t.Fatalf("%d timers fired a minute before day %d", n, step.days)
				}
				if n := w.at(due); n != 1 || w.state("acme", ada) != step.want {
					t.Fatalf("day %d: %d fired, state %q, want %s", step.days, n, w.state("acme", ada), step.want)
				}
			}
			again := day0.Add(95 * 24 * time.Hour)
			fake.Set(again)
			w.order("acme", core.NewID(again), ada, 1, again, commerce.OrderPlaced)
			if p, _ := w.profile("acme", ada); p.Lifecycle.State != "active" || p.Lifecycle.Why != "ordered again" ||
				p.Purchases.Orders != 2 || p.Purchases.TransactionDays != 2 {
				t.Fatalf("after ordering while dormant: %+v %+v", p.Lifecycle, p.Purchases)
			}

			// Tenant isolation: beta's order for "ada" (acme's contact id)
			// makes a profile in beta's key space only.
			_, before := w.profile("acme", ada)
			w.order("beta", core.NewID(again), ada, 1, again, commerce.OrderPlaced)
			if p, v := w.profile("beta", ada); v != 1 || p.Purchases.Orders != 1 {
				t.Errorf("beta's profile: v%d %+v", v, p.Purchases)
			}
			if _, after := w.profile("acme", ada); after != before {
				t.Errorf("acme's profile moved from v%d to v%d on beta's event", before, after)
			}

			// A rules change: dormant after 10 days, through the job.
			rules := customers.DefaultRules()
			rules.NewDays, rules.DormantAfterDays = 5, 10
			if _, _, err := a.Customers.SetRules(ctx, "acme", rules, 0); err != nil {
				t.Fatal(err)
			}
			w.relay()
			p, _ := w.profile("acme", ada)
			if want := again.Add(10 * 24 * time.Hour); !p.Lifecycle.Next.Equal(want) {
				t.Fatalf("after the rules change the next change is at %s, want %s", p.Lifecycle.Next, want)
			}
			if n := w.at(again.Add(10 * 24 * time.Hour)); n < 1 || w.state("acme", ada) != "dormant" {
				t.Errorf("the rescheduled timer: %d fired, state %q", n, w.state("acme", ada))
			}
			if got := w.state("beta", ada); got != "new" && got != "active" {
				t.Errorf("acme's rules moved beta's customer: %q", got)
			}
		})
	}
}
