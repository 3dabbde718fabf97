package customers_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/clock"
	"github.com/fedele-crm/fedele/core/commerce"
	"github.com/fedele-crm/fedele/core/customers"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/jobs"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/core/store/memstore"
	"github.com/fedele-crm/fedele/core/tenancy"
	"github.com/fedele-crm/fedele/core/timers"
)

var start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// world is one tenant's customers service on the in-memory store, with a
// fake clock, a timer service and the consumer set that delivers events
// exactly once.
type world struct {
	t         *testing.T
	st        store.Store
	clock     *clock.Fake
	customers *customers.Customers
	timers    *timers.Service
	jobs      *jobs.Service
	delivery  *events.Consumers
}

func newWorld(t *testing.T, zone string, tenants ...string) *world {
	t.Helper()
	st := memstore.New()
	t.Cleanup(func() { st.Close() })
	return newWorldOn(t, st, zone, tenants...)
}

func newWorldOn(t *testing.T, st store.Store, zone string, tenants ...string) *world {
	t.Helper()
	ctx := context.Background()
	fake := clock.NewFake(start)
	now := func() time.Time { return fake.Now().UTC() }
	ts := tenancy.NewTenants(st, now)
	for _, id := range tenants {
		if _, err := ts.Create(ctx, id, id, "IT"); err != nil {
			t.Fatal(err)
		}
		if zone != "" {
			if _, err := ts.Update(ctx, id, func(tn *core.Tenant) error { tn.TimeZone = zone; return nil }); err != nil {
				t.Fatal(err)
			}
		}
	}
	log := slog.New(slog.DiscardHandler)
	tm := timers.New(st, fake, log)
	js := jobs.New(st, now)
	c := customers.New(st, ts, tm, js, now)
	c.Register()
	d := events.NewConsumers(st, log, now)
	d.Register(c.Consumer())
	d.Register(js.Consumer())
	return &world{t: t, st: st, clock: fake, customers: c, timers: tm, jobs: js, delivery: d}
}

// deliver hands events to the consumers, each as if relayed.
func (w *world) deliver(evs ...events.Envelope) {
	w.t.Helper()
	for i, err := range w.delivery.Publish(context.Background(), evs) {
		if err != nil {
			w.t.Fatalf("deliver %s: %v", evs[i].DetailType, err)
		}
	}
}

func (w *world) profile(tenant, contact string) customers.Profile {
	w.t.Helper()
	p, _, err := customers.GetProfile(context.Background(), w.st, tenant, contact)
	if err != nil {
		w.t.Fatal(err)
	}
	return p
}

// orderEvent is the event of o's change, as commerce writes it.
func orderEvent(tenant string, typ events.Type, o commerce.Order) events.Envelope {
	data, _ := json.Marshal(o)
	ev := events.New(context.Background(), tenant, typ, start, events.Entity{Type: "order", ID: o.ID, Data: data})
	return ev
}

var (
	ada   = core.NewID(start)
	grace = core.NewID(start.Add(time.Millisecond))
)

type line struct {
	category string
	qty      int64
	price    int64
	refunded int64
}

func mkOrder(id, contact string, version int64, at time.Time, currency string, status commerce.OrderStatus, lines ...line) commerce.Order {
	o := commerce.Order{Meta: core.Meta{ID: id, Version: version}}
	o.ContactID, o.Currency, o.PlacedAt, o.Status, o.ExternalID = contact, currency, at, status, "x-"+id
	for _, l := range lines {
		o.Lines = append(o.Lines, commerce.Line{Category: l.category, Quantity: l.qty, UnitPrice: l.price, Refunded: l.refunded})
		o.Total += l.qty * l.price
		o.Refunded += l.refunded
	}
	return o
}

// oracle is the summary recomputed from scratch from each order's latest
// version: what the consumer must keep incrementally.
func oracle(orders []commerce.Order, contact string, loc *time.Location) customers.Purchases {
	latest := map[string]commerce.Order{}
	for _, o := range orders {
		if cur, ok := latest[o.ID]; !ok || o.Version > cur.Version {
			latest[o.ID] = o
		}
	}
	var p customers.Purchases
	days := map[string]*customers.Day{}
	rev := map[string]*customers.Revenue{}
	cats := map[string]int{}
	for _, o := range latest {
		if o.ContactID != contact || !o.Counts() {
			continue
		}
		p.Orders++
		if p.FirstOrderAt.IsZero() || o.PlacedAt.Before(p.FirstOrderAt) {
			p.FirstOrderAt = o.PlacedAt
		}
		if o.PlacedAt.After(p.LastOrderAt) {
			p.LastOrderAt = o.PlacedAt
		}
		r := rev[o.Currency]
		if r == nil {
			r = &customers.Revenue{Currency: o.Currency}
			rev[o.Currency] = r
		}
		r.Amount += o.Net()
		r.Orders++
		date := o.PlacedAt.In(loc).Format(time.DateOnly)
		d := days[date]
		if d == nil {
			d = &customers.Day{Date: date}
			days[date] = d
		}
		d.Orders++
		j := slices.IndexFunc(d.Amounts, func(a customers.Amount) bool { return a.Currency == o.Currency })
		if j < 0 {
			d.Amounts = append(d.Amounts, customers.Amount{Currency: o.Currency})
			j = len(d.Amounts) - 1
		}
		d.Amounts[j].Net += o.Net()
		costed, cost := o.Margin()
		d.Amounts[j].Costed += costed
		d.Amounts[j].Cost += cost
		seen := map[string]bool{}
		for _, l := range o.Lines {
			if l.Category != "" && l.Refunded < l.Gross() && !seen[l.Category] {
				seen[l.Category] = true
				cats[l.Category]++
				if !slices.Contains(d.Categories, l.Category) {
					d.Categories = append(d.Categories, l.Category)
				}
			}
		}
	}
	for _, c := range slices.Sorted(maps.Keys(rev)) {
		r := rev[c]
		r.Average = roundDiv(r.Amount, int64(r.Orders))
		p.Revenue = append(p.Revenue, *r)
	}
	for _, date := range slices.Sorted(maps.Keys(days)) {
		d := days[date]
		slices.Sort(d.Categories)
		slices.SortFunc(d.Amounts, func(a, b customers.Amount) int { return strings.Compare(a.Currency, b.Currency) })
		p.Days = append(p.Days, *d)
	}
	p.TransactionDays = len(p.Days)
	if len(cats) > 0 {
		p.CategoryOrders = cats
		p.Categories = slices.Sorted(maps.Keys(cats))
	}
	return p
}

// roundDiv is a/b rounded half away from zero, the slow obvious way.
func roundDiv(a, b int64) int64 {
	q := float64(a) / float64(b)
	if q < 0 {
		return -int64(-q + 0.5)
	}
	return int64(q + 0.5)
}

var purchasesCmp = []cmp.Option{cmpopts.EquateEmpty(), cmpopts.EquateApproxTime(0)}

func TestPurchasesFromOrderEvents(t *testing.T) {
	t.Parallel()
	o1, o2, o3 := core.NewID(start), core.NewID(start.Add(time.Second)), core.NewID(start.Add(2*time.Second))
	day1, day2 := start, start.Add(3*24*time.Hour)
	placed := func(id string, v int64, at time.Time, cur string, st commerce.OrderStatus, ls ...line) commerce.Order {
		return mkOrder(id, ada, v, at, cur, st, ls...)
	}
	shoes := line{"shoes", 1, 5000, 0}
	bags := line{"bags", 2, 1250, 0}
	for _, tc := range []struct {
		name   string
		events []events.Type
		orders []commerce.Order
		want   func(p customers.Purchases) string // extra checks beside the oracle
	}{
		{name: "place", events: []events.Type{events.OrderPlaced},
			orders: []commerce.Order{placed(o1, 1, day1, "EUR", commerce.OrderPlaced, shoes)}},
		{name: "same event again", events: []events.Type{events.OrderPlaced, events.OrderPlaced},
			orders: []commerce.Order{placed(o1, 1, day1, "EUR", commerce.OrderPlaced, shoes), placed(o1, 1, day1, "EUR", commerce.OrderPlaced, shoes)}},
		{name: "update amount", events: []events.Type{events.OrderPlaced, events.OrderUpdated},
			orders: []commerce.Order{placed(o1, 1, day1, "EUR", commerce.OrderPlaced, shoes), placed(o1, 2, day1, "EUR", commerce.OrderPaid, line{"shoes", 3, 5000, 0})}},
		{name: "partial refund", events: []events.Type{events.OrderPlaced, events.OrderRefunded},
			orders: []commerce.Order{placed(o1, 1, day1, "EUR", commerce.OrderPlaced, shoes, bags), placed(o1, 2, day1, "EUR", commerce.OrderPaid, shoes, line{"bags", 2, 1250, 2500})},
			want: func(p customers.Purchases) string {
				if slices.Contains(p.Categories, "bags") {
					return "a category refunded in full is still bought"
				}
				return ""
			}},
		{name: "full refund", events: []events.Type{events.OrderPlaced, events.OrderRefunded},
			orders: []commerce.Order{placed(o1, 1, day1, "EUR", commerce.OrderPlaced, shoes), placed(o1, 2, day1, "EUR", commerce.OrderRefunded, line{"shoes", 1, 5000, 5000})}},
		{name: "cancel", events: []events.Type{events.OrderPlaced, events.OrderPlaced, events.OrderCancelled},
			orders: []commerce.Order{placed(o1, 1, day1, "EUR", commerce.OrderPlaced, shoes), placed(o2, 1, day2, "EUR", commerce.OrderPlaced, bags),
				placed(o2, 2, day2, "EUR", commerce.OrderCancelled, bags)},
			want: func(p customers.Purchases) string {
				if !p.LastOrderAt.Equal(day1) || slices.Contains(p.Categories, "bags") {
					return "the cancelled order is still the last one, or its category still bought"
				}
				return ""
			}},
		{name: "v2 before v1", events: []events.Type{events.OrderUpdated, events.OrderPlaced},
			orders: []commerce.Order{placed(o1, 2, day2, "EUR", commerce.OrderPaid, bags), placed(o1, 1, day1, "EUR", commerce.OrderPlaced, shoes)}},
		{name: "cancelled before placed arrives", events: []events.Type{events.OrderCancelled, events.OrderPlaced},
			orders: []commerce.Order{placed(o1, 2, day1, "EUR", commerce.OrderCancelled, shoes), placed(o1, 1, day1, "EUR", commerce.OrderPlaced, shoes)},
			want: func(p customers.Purchases) string {
				if p.Orders != 0 {
					return "a cancelled order counts"
				}
				return ""
			}},
		{name: "two orders on one day are one transaction", events: []events.Type{events.OrderPlaced, events.OrderPlaced},
			orders: []commerce.Order{placed(o1, 1, day1, "EUR", commerce.OrderPlaced, shoes), placed(o2, 1, day1.Add(5*time.Hour), "EUR", commerce.OrderPlaced, bags)},
			want: func(p customers.Purchases) string {
				if p.TransactionDays != 1 || p.Orders != 2 {
					return "two orders on a day are not one transaction day"
				}
				return ""
			}},
		{name: "first order cancelled moves the first", events: []events.Type{events.OrderPlaced, events.OrderPlaced, events.OrderPlaced, events.OrderCancelled},
			orders: []commerce.Order{placed(o1, 1, day1, "EUR", commerce.OrderPlaced, shoes), placed(o2, 1, day1.Add(time.Hour), "EUR", commerce.OrderPlaced, bags),
				placed(o3, 1, day2, "EUR", commerce.OrderPlaced, bags), placed(o1, 2, day1, "EUR", commerce.OrderCancelled, shoes)},
			want: func(p customers.Purchases) string {
				if !p.FirstOrderAt.Equal(day1.Add(time.Hour)) {
					return "the first order is not the next one"
				}
				return ""
			}},
		{name: "several currencies", events: []events.Type{events.OrderPlaced, events.OrderPlaced, events.OrderPlaced},
			orders: []commerce.Order{placed(o1, 1, day1, "EUR", commerce.OrderPlaced, shoes), placed(o2, 1, day2, "JPY", commerce.OrderPlaced, line{"tea", 1, 800, 0}),
				placed(o3, 1, day2, "EUR", commerce.OrderPlaced, bags)},
			want: func(p customers.Purchases) string {
				if len(p.Revenue) != 2 || len(p.Days[1].Amounts) != 2 {
					return "not one revenue per currency"
				}
				return ""
			}},
		{name: "average order value rounds half away from zero", events: []events.Type{events.OrderPlaced, events.OrderPlaced},
			orders: []commerce.Order{placed(o1, 1, day1, "EUR", commerce.OrderPlaced, line{"", 1, 100, 0}), placed(o2, 1, day2, "EUR", commerce.OrderPlaced, line{"", 1, 101, 0})},
			want: func(p customers.Purchases) string {
				if p.Revenue[0].Average != 101 { // 100.5
					return "100.5 did not round to 101"
				}
				return ""
			}},
		{name: "placed at moves to another day", events: []events.Type{events.OrderPlaced, events.OrderUpdated},
			orders: []commerce.Order{placed(o1, 1, day1, "EUR", commerce.OrderPlaced, shoes), placed(o1, 2, day2, "EUR", commerce.OrderPlaced, shoes)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, "", "acme")
			for i, o := range tc.orders {
				w.deliver(orderEvent("acme", tc.events[i], o))
			}
			got := w.profile("acme", ada).Purchases
			if diff := cmp.Diff(oracle(tc.orders, ada, time.UTC), got, purchasesCmp...); diff != "" {
				t.Errorf("summary (-oracle +kept):\n%s", diff)
			}
			if tc.want != nil {
				if msg := tc.want(got); msg != "" {
					t.Errorf("%s: %+v", msg, got)
				}
			}
		})
	}
}

// Days are the tenant's: 23:30 UTC is the next day in Rome.
func TestTransactionDaysAreInTheTenantsZone(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "Europe/Rome", "acme")
	at := time.Date(2026, 3, 2, 23, 30, 0, 0, time.UTC)
	w.deliver(orderEvent("acme", events.OrderPlaced, mkOrder(core.NewID(at), ada, 1, at, "EUR", commerce.OrderPlaced, line{"shoes", 1, 100, 0})))
	if got := w.profile("acme", ada).Purchases.Days; len(got) != 1 || got[0].Date != "2026-03-03" {
		t.Errorf("days %+v, want 2026-03-03", got)
	}
}

// An order whose buyer changes moves its contribution between the two
// profiles in one transaction.
func TestAnOrderChangingContactMovesItsContribution(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "", "acme")
	id := core.NewID(start)
	v1 := mkOrder(id, ada, 1, start, "EUR", commerce.OrderPlaced, line{"shoes", 1, 100, 0})
	v2 := mkOrder(id, grace, 2, start, "EUR", commerce.OrderPlaced, line{"shoes", 1, 100, 0})
	w.deliver(orderEvent("acme", events.OrderPlaced, v1), orderEvent("acme", events.OrderUpdated, v2))
	all := []commerce.Order{v1, v2}
	for _, c := range []string{ada, grace} {
		if diff := cmp.Diff(oracle(all, c, time.UTC), w.profile("acme", c).Purchases, purchasesCmp...); diff != "" {
			t.Errorf("contact %s (-oracle +kept):\n%s", c, diff)
		}
	}
}

// Random histories of a few orders of two contacts — amounts, refunds,
// cancellations, days and buyers changing — delivered shuffled and with
// duplicates, keep the summary the oracle computes from the last versions.
func FuzzPurchases(f *testing.F) {
	for _, seed := range []uint64{1, 2, 3, 42, 1234, 99999} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, seed uint64) {
		r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
		w := newWorld(t, "America/New_York", "acme")
		loc, _ := time.LoadLocation("America/New_York")
		var all []commerce.Order
		var evs []events.Envelope
		cats := []string{"", "shoes", "bags", "tea"}
		for n := range 1 + r.IntN(5) {
			id := core.NewID(start.Add(time.Duration(n) * time.Second))
			for v := int64(1); v <= int64(1+r.IntN(4)); v++ {
				contact := ada
				if r.IntN(4) == 0 {
					contact = grace
				}
				at := start.Add(time.Duration(r.IntN(6)) * 13 * time.Hour)
				status := []commerce.OrderStatus{commerce.OrderPlaced, commerce.OrderPaid, commerce.OrderCancelled}[r.IntN(3)]
				var ls []line
				for range 1 + r.IntN(3) {
					l := line{cats[r.IntN(len(cats))], 1 + int64(r.IntN(3)), int64(r.IntN(1000)), 0}
					if r.IntN(3) == 0 {
						l.refunded = l.qty * l.price * int64(r.IntN(2))
					}
					ls = append(ls, l)
				}
				cur := []string{"EUR", "USD"}[r.IntN(2)]
				o := mkOrder(id, contact, v, at, cur, status, ls...)
				typ := events.OrderUpdated
				if v == 1 {
					typ = events.OrderPlaced
				}
				all = append(all, o)
				ev := orderEvent("acme", typ, o)
				evs = append(evs, ev)
				if r.IntN(3) == 0 {
					evs = append(evs, ev) // delivered twice
				}
			}
		}
		r.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
		w.deliver(evs...)
		for _, c := range []string{ada, grace} {
			if diff := cmp.Diff(oracle(all, c, loc), w.profile("acme", c).Purchases, purchasesCmp...); diff != "" {
				t.Errorf("seed %d, contact %s (-oracle +kept):\n%s", seed, c, diff)
			}
		}
	})
}
