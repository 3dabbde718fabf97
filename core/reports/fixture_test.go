package reports_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/clock"
	"github.com/fedele-crm/fedele/core/customers"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/jobs"
	"github.com/fedele-crm/fedele/core/reports"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/core/store/memstore"
	"github.com/fedele-crm/fedele/core/timers"
)

var rome = mustZone("Europe/Rome")

func mustZone(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// order is one counted order of the fixture, at a UTC instant: the
// profile's days are its dates in Europe/Rome, as the customers consumer
// makes them.
type order struct {
	at           string // RFC 3339, UTC
	currency     string
	net          int64
	costed, cost int64
}

// profileOf builds a profile's transaction days from orders, in zone.
func profileOf(id string, zone *time.Location, orders ...order) customers.Profile {
	p := customers.Profile{ContactID: id}
	for _, o := range orders {
		at, err := time.Parse(time.RFC3339, o.at)
		if err != nil {
			panic(err)
		}
		date := at.In(zone).Format(time.DateOnly)
		i := slices.IndexFunc(p.Purchases.Days, func(d customers.Day) bool { return d.Date == date })
		if i < 0 {
			p.Purchases.Days = append(p.Purchases.Days, customers.Day{Date: date})
			i = len(p.Purchases.Days) - 1
		}
		d := &p.Purchases.Days[i]
		d.Orders++
		j := slices.IndexFunc(d.Amounts, func(a customers.Amount) bool { return a.Currency == o.currency })
		if j < 0 {
			d.Amounts = append(d.Amounts, customers.Amount{Currency: o.currency})
			j = len(d.Amounts) - 1
		}
		d.Amounts[j].Net += o.net
		d.Amounts[j].Costed += o.costed
		d.Amounts[j].Cost += o.cost
		p.Purchases.Orders++
	}
	slices.SortFunc(p.Purchases.Days, func(a, b customers.Day) int {
		if a.Date < b.Date {
			return -1
		}
		return 1
	})
	p.Purchases.TransactionDays = len(p.Purchases.Days)
	return p
}

// fixture is a dozen customers of a shop in Europe/Rome, January to April
// 2026, in EUR and USD, with orders a few minutes either side of midnight
// (Rome's, in winter and in summer time) so that a report in UTC would put
// them in another day, month or year. The expected figures in the tests
// are worked out by hand from this list (see the comments there).
func fixture() []customers.Profile {
	ps := []customers.Profile{
		profileOf("c01", rome, order{"2026-01-05T10:00:00Z", "EUR", 10000, 10000, 6000}, order{"2026-02-10T09:00:00Z", "EUR", 5000, 0, 0}),
		// 00:30 on 1 February in Rome: a February customer.
		profileOf("c02", rome, order{"2026-01-31T23:30:00Z", "EUR", 8000, 8000, 5000}, order{"2026-03-15T12:00:00Z", "EUR", 2000, 0, 0}),
		// Two orders on one day are one transaction day; 23:59 on 2 April
		// in Rome's summer time (UTC+2).
		profileOf("c03", rome, order{"2026-01-20T08:00:00Z", "EUR", 3000, 0, 0}, order{"2026-01-20T20:00:00Z", "EUR", 2000, 0, 0},
			order{"2026-04-02T21:59:00Z", "EUR", 4000, 0, 0}),
		// 23:59 on 31 January in Rome: still January.
		profileOf("c04", rome, order{"2026-01-31T22:59:00Z", "EUR", 1500, 0, 0}),
		profileOf("c05", rome, order{"2026-02-03T15:00:00Z", "USD", 20000, 20000, 12000}, order{"2026-03-03T15:00:00Z", "USD", 10000, 10000, 7000}),
		// 00:10 on 1 March in Rome: a March customer, in USD, then in EUR.
		profileOf("c06", rome, order{"2026-02-28T23:10:00Z", "USD", 7000, 0, 0}, order{"2026-03-20T10:00:00Z", "EUR", 3000, 0, 0}),
		profileOf("c07", rome, order{"2026-02-14T11:00:00Z", "EUR", 6000, 0, 0}, order{"2026-03-14T11:00:00Z", "EUR", 6000, 0, 0},
			order{"2026-04-14T11:00:00Z", "EUR", 6000, 0, 0}),
		// 00:30 on 1 April in Rome (summer time): an April customer.
		profileOf("c08", rome, order{"2026-03-31T22:30:00Z", "EUR", 2500, 0, 0}),
		// Three orders on one day in two currencies: EUR has two, USD one.
		profileOf("c09", rome, order{"2026-03-10T10:00:00Z", "EUR", 1000, 0, 0}, order{"2026-03-10T11:00:00Z", "USD", 1200, 0, 0},
			order{"2026-03-10T12:00:00Z", "EUR", 500, 0, 0}),
		profileOf("c10", rome, order{"2026-01-10T10:00:00Z", "EUR", 4000, 0, 0}, order{"2026-03-10T10:00:00Z", "EUR", 4000, 0, 0}),
		// Every order cancelled: a profile without a transaction day.
		{ContactID: "c11"},
		// 00:30 on New Year's Day in Rome: a 2026 customer, and its second
		// transaction day the next day.
		profileOf("c12", rome, order{"2025-12-31T23:30:00Z", "EUR", 9000, 0, 0}, order{"2026-01-02T10:00:00Z", "EUR", 1000, 0, 0}),
		// Acquired in November 2025, back in February.
		profileOf("c13", rome, order{"2025-11-15T10:00:00Z", "EUR", 5000, 0, 0}, order{"2026-02-20T10:00:00Z", "EUR", 5000, 0, 0}),
	}
	// What the RFM and CLV jobs left on some of them.
	seg := map[string]string{"c01": "champions", "c02": "loyal", "c07": "champions", "c05": "at_risk"}
	clv := map[string]customers.CLV{"c01": {Value: 12000, Currency: "EUR"}, "c02": {Value: 8000, Currency: "EUR"}, "c03": {Value: 5000, Currency: "EUR"},
		"c07": {Value: 30000, Currency: "EUR"}, "c12": {Value: 10000, Currency: "EUR"}, "c05": {Value: 50000, Currency: "USD"}}
	// …and what the lifecycle consumer left: c11 bought nothing that counts.
	state := map[string]string{"c01": "active", "c02": "dormant", "c03": "dormant", "c05": "lost", "c11": "none"}
	for i := range ps {
		if s, ok := state[ps[i].ContactID]; ok {
			ps[i].Lifecycle = &customers.Lifecycle{State: s}
		}
		if s, ok := seg[ps[i].ContactID]; ok {
			ps[i].RFM = &customers.RFM{Segment: s}
		}
		if c, ok := clv[ps[i].ContactID]; ok {
			ps[i].CLV = &c
		}
	}
	return ps
}

// asOf is when the fixture's snapshot is built: 00:30 on 1 May in Rome,
// so the cohorts run to May (in UTC it is still April).
var asOf = time.Date(2026, 4, 30, 22, 30, 0, 0, time.UTC)

// world is the reports service on a store, with the jobs and timers it
// runs on, delivering events as the relay does.
type world struct {
	st        store.Store
	written   *written
	consumers *events.Consumers
	clock     *clock.Fake
	jobs      *jobs.Service
	timers    *timers.Service
	reports   *reports.Service
	relay     *events.Relay
	last      jobs.Job // the last refresh job refresh ran
}

func newWorld(t testing.TB) *world { return newWorldOn(t, memstore.New()) }

// newWorldOn is newWorld on a store of the caller's.
func newWorldOn(t testing.TB, base store.Store) *world {
	t.Helper()
	rec := &written{Store: base, pks: map[string]bool{}}
	st := store.Store(rec)
	w := &world{st: st, written: rec, clock: clock.NewFake(asOf)}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	now := func() time.Time { return w.clock.Now().UTC() }
	w.jobs = jobs.New(st, now)
	w.timers = timers.New(st, w.clock, log)
	zone := func(context.Context, string) (*time.Location, error) { return rome, nil }
	w.reports = reports.New(st, w.jobs, w.timers, zone, now)
	w.jobs.Register(w.reports.Kind())
	for _, h := range w.reports.TimerHandlers() {
		w.timers.Register(h)
	}
	cs := events.NewConsumers(st, log, w.clock.Now)
	cs.Register(w.jobs.Consumer())
	cs.Register(w.reports.Consumer())
	w.consumers = cs
	w.relay = &events.Relay{Store: st, Publisher: cs, Log: log, Now: w.clock.Now}
	return w
}

func (w *world) put(t testing.TB, tenant string, ps ...customers.Profile) {
	t.Helper()
	for i := range ps {
		wr, err := customers.ProfileDoc.Put(customers.ProfileKey(tenant, ps[i].ContactID), 0, &ps[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := w.st.Put(context.Background(), wr.Item, wr.Cond); err != nil {
			t.Fatal(err)
		}
	}
}

// drain delivers every pending event, and those they cause.
func (w *world) drain(t testing.TB) {
	t.Helper()
	for range 1000 {
		n, err := w.relay.Drain(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
	t.Fatal("the outbox never drained")
}

// refresh builds tenant's snapshot and returns the finished job.
func (w *world) refresh(t testing.TB, tenant string) jobs.Job {
	t.Helper()
	j, err := w.reports.Refresh(context.Background(), tenant)
	if err != nil {
		t.Fatal(err)
	}
	w.drain(t)
	j, err = w.jobs.Get(context.Background(), tenant, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if j.Status != jobs.Done {
		t.Fatalf("refresh job %+v", j)
	}
	w.last = j
	return j
}

// written is a store that remembers the partitions transactions put
// items in, so a test can find builds it does not know the ids of.
type written struct {
	store.Store
	mu  sync.Mutex
	pks map[string]bool
}

func (s *written) Transact(ctx context.Context, ws []store.Write) error {
	s.mu.Lock()
	for _, w := range ws {
		if w.Op == store.OpPut {
			s.pks[w.Item.PK] = true
		}
	}
	s.mu.Unlock()
	return s.Store.Transact(ctx, ws)
}

// buildPartitions counts the report builds that still hold parts.
func (w *world) buildPartitions(t testing.TB, tenant string) int {
	t.Helper()
	n := 0
	prefix := store.Tenant(tenant).PK("report-build") + "#"
	for pk := range w.written.pks {
		if !strings.HasPrefix(pk, prefix) {
			continue
		}
		page, err := w.st.Query(context.Background(), store.Query{PK: pk, Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) > 0 {
			n++
		}
	}
	return n
}

// pendingTimers are the due times of tenant's pending refresh timers,
// earliest first; each kind has at most one.
func (w *world) pendingTimers(t testing.TB, tenant string) []time.Time {
	t.Helper()
	o, err := w.timers.Stats(context.Background(), tenant)
	if err != nil {
		t.Fatal(err)
	}
	var out []time.Time
	for _, k := range o.Kinds {
		if k.Pending > 1 {
			t.Errorf("%d %s timers pending", k.Pending, k.Kind)
		}
		if k.Pending > 0 {
			out = append(out, k.OldestDue)
		}
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}

// orderEvent is the i-th order.placed of tenant.
func orderEvent(tenant string, i int) events.Envelope {
	return events.Envelope{Source: events.Source, DetailType: events.OrderPlaced, Detail: events.Detail{
		EventID: core.NewID(asOf), Tenant: tenant, Time: asOf, Actor: events.Actor{Type: "user", ID: "test"},
		Entity: events.Entity{Type: "order", ID: fmt.Sprint("o", i)}}}
}

func (w *world) relayPublish(ctx context.Context, ev events.Envelope) error {
	return errors.Join(w.consumers.Publish(ctx, []events.Envelope{ev})...)
}

func asError(err error, target **core.Error) bool { return errors.As(err, target) }
