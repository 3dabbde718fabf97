package customers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core/clock"
	"github.com/fedele-crm/fedele/core/customers"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/jobs"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/core/store/memstore"
	"github.com/fedele-crm/fedele/core/timers"
)

// rig is the RFM service on a store with the jobs and timers it needs, and
// a relay that delivers the job steps and timer events to them.
type rig struct {
	st    store.Store
	clock *clock.Fake
	jobs  *jobs.Service
	tm    *timers.Service
	rfm   *customers.RFMScoring
	relay *events.Relay
}

var zones = map[string]string{"acme": "Europe/Rome", "globex": "UTC"}

func newRig(t testing.TB, st store.Store) *rig {
	t.Helper()
	r := &rig{st: st, clock: clock.NewFake(time.Date(2026, 12, 2, 9, 3, 0, 0, time.UTC))}
	now := func() time.Time { return r.clock.Now().UTC() }
	log := slog.New(slog.DiscardHandler)
	r.jobs = jobs.New(st, now)
	r.tm = timers.New(st, r.clock, log)
	r.rfm = customers.NewRFMScoring(st, r.jobs, r.tm, func(_ context.Context, tenant string) (*time.Location, error) {
		return time.LoadLocation(zones[tenant])
	}, now)
	r.rfm.PageSize, r.rfm.PagesPerStep = 3, 2 // several steps in every pass
	for _, k := range r.rfm.Kinds() {
		r.jobs.Register(k)
	}
	for _, h := range r.rfm.TimerHandlers() {
		r.tm.Register(h)
	}
	c := events.NewConsumers(st, log, r.clock.Now)
	c.Register(r.jobs.Consumer())
	c.Register(r.rfm.Consumer())
	r.relay = &events.Relay{Store: st, Publisher: c, Log: log, Now: r.clock.Now}
	return r
}

// drain delivers every pending event, and those they cause.
func (r *rig) drain(t testing.TB) {
	t.Helper()
	for range 10_000 {
		n, err := r.relay.Drain(context.Background())
		if err != nil {
			t.Fatalf("drain: %v", err)
		}
		if n == 0 {
			return
		}
	}
	t.Fatal("the outbox never drained")
}

// run starts a job now and runs it to its end.
func (r *rig) run(t testing.TB, tenant string) (jobs.Job, customers.RFMReport) {
	t.Helper()
	j, err := r.rfm.Start(context.Background(), tenant, "test")
	if err != nil {
		t.Fatal(err)
	}
	return r.finish(t, tenant, j.ID)
}

func (r *rig) finish(t testing.TB, tenant, id string) (jobs.Job, customers.RFMReport) {
	t.Helper()
	r.drain(t)
	j, err := r.jobs.Get(context.Background(), tenant, id)
	if err != nil {
		t.Fatal(err)
	}
	if j.Status != jobs.Done {
		t.Fatalf("job %+v", j)
	}
	var rep customers.RFMReport
	if err := json.Unmarshal(j.Result, &rep); err != nil {
		t.Fatalf("result %s: %v", j.Result, err)
	}
	return j, rep
}

// putProfile stores a profile as the customers consumer would.
func putProfile(t testing.TB, st store.Store, tenant string, p customers.Profile) {
	t.Helper()
	w, err := customers.ProfileDoc.Put(customers.ProfileKey(tenant, p.ContactID), 0, &p)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Put(context.Background(), w.Item, w.Cond); err != nil {
		t.Fatal(err)
	}
}

func profile(t testing.TB, st store.Store, tenant, id string) customers.Profile {
	t.Helper()
	p, _, err := customers.GetProfile(context.Background(), st, tenant, id)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// seed gives tenant n customers: customer i last bought i*7 days before
// 2026-12-02, on 1 + i%4 days, for 1000*(i%5+1) in EUR, or in USD for
// every sixth; and one contact whose orders all stopped counting.
func seed(t testing.TB, st store.Store, tenant string, n int) []customers.Summary {
	t.Helper()
	var sums []customers.Summary
	last := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	for i := range n {
		cur := "EUR"
		if i%6 == 5 {
			cur = "USD"
		}
		p := customers.Profile{ContactID: fmt.Sprintf("01KC%022d", i)}
		freq := 1 + i%4
		for d := freq - 1; d >= 0; d-- {
			date := last.AddDate(0, 0, -i*7-d*30).Format(time.DateOnly)
			p.Purchases.Days = append(p.Purchases.Days, customers.Day{Date: date, Orders: 1, Amounts: []customers.Amount{{Currency: cur, Net: int64(1000 * (i%5 + 1))}}})
		}
		putProfile(t, st, tenant, p)
		sums = append(sums, customers.Summary{Recency: int64(i * 7), Frequency: int64(freq), Currency: cur, Monetary: int64(freq * 1000 * (i%5 + 1))})
	}
	putProfile(t, st, tenant, customers.Profile{ContactID: fmt.Sprintf("01KD%022d", 0), RFM: &customers.RFM{R: 5, F: 5, M: 5, Segment: "Champions"}})
	return sums
}

// The job's scores are the pure function's over the same summaries, in
// every pass's steps; a second run writes nothing; a contact who stopped
// being a customer loses its scores; the other tenant is untouched.
func TestRFMJob(t *testing.T) {
	t.Parallel()
	r := newRig(t, memstore.New())
	sums := seed(t, r.st, "acme", 23)
	seed(t, r.st, "globex", 4)
	want := customers.ScoreAll(sums)
	j, rep := r.run(t, "acme")
	if j.Total != 23 || j.Done != 24 || j.Steps < 9 {
		t.Errorf("job %+v: want 23 customers of 24 profiles, in steps of 6", j)
	}
	segs := customers.DefaultSegmentMap()
	counts := map[string]int{}
	for i, w := range want {
		p := profile(t, r.st, "acme", fmt.Sprintf("01KC%022d", i))
		if p.RFM == nil {
			t.Fatalf("customer %d has no scores", i)
		}
		got := customers.Scores{R: p.RFM.R, F: p.RFM.F, M: p.RFM.M}
		if got != w || p.RFM.Segment != segs.Segment(w) || !p.RFM.At.Equal(j.StartedAt) {
			t.Errorf("customer %d: %+v, want %+v %q", i, p.RFM, w, segs.Segment(w))
		}
		if len(p.Purchases.Days) == 0 {
			t.Errorf("customer %d lost its purchases", i)
		}
		counts[p.RFM.Segment]++
	}
	if p := profile(t, r.st, "acme", fmt.Sprintf("01KD%022d", 0)); p.RFM != nil {
		t.Errorf("a contact without transaction days kept %+v", p.RFM)
	}
	if rep.Customers != 23 || rep.Changed != 24 || rep.AsOf != "2026-12-02" || rep.TimeZone != "Europe/Rome" {
		t.Errorf("report %+v", rep)
	}
	total := 0
	for _, s := range rep.Segments {
		if s.Customers != counts[s.Name] {
			t.Errorf("segment %s: %d, counted %d", s.Name, s.Customers, counts[s.Name])
		}
		total += s.Customers
	}
	grid := 0
	for _, row := range rep.Grid {
		for _, n := range row {
			grid += n
		}
	}
	if total != 23 || grid != 23 || len(rep.Segments) != 11 {
		t.Errorf("segments %v (%d), grid %v (%d)", rep.Segments, total, rep.Grid, grid)
	}
	// Monetary per currency: 20 EUR customers, 3 USD ones.
	if len(rep.Monetary) != 2 || rep.Monetary[0].Currency != "EUR" || rep.Monetary[0].Customers != 20 || rep.Monetary[1].Customers != 3 {
		t.Errorf("monetary %+v", rep.Monetary)
	}
	// The recency bins run from R 5 (the fewest days) down.
	if b := rep.Recency.Bins; len(b) != 5 || b[0].Score != 5 || b[0].Min != 0 || b[4].Score != 1 || b[4].Max != 22*7 {
		t.Errorf("recency bins %+v", b)
	}
	latest, err := r.rfm.Latest(context.Background(), "acme")
	if err != nil || latest.JobID != j.ID {
		t.Errorf("latest %+v, %v", latest, err)
	}
	if _, err := r.rfm.Latest(context.Background(), "globex"); err == nil {
		t.Error("globex has a report it never computed")
	}
	if p := profile(t, r.st, "globex", fmt.Sprintf("01KC%022d", 0)); p.RFM != nil {
		t.Errorf("acme's job scored globex: %+v", p.RFM)
	}

	// Nothing changed: nothing is written, the report is the same.
	r.clock.Advance(time.Hour)
	j2, rep2 := r.run(t, "acme")
	if rep2.Changed != 0 || rep2.Customers != 23 {
		t.Errorf("second run %+v", rep2)
	}
	if diff := cmp.Diff(rep.Segments, rep2.Segments); diff != "" {
		t.Errorf("segments moved:\n%s", diff)
	}
	if p := profile(t, r.st, "acme", fmt.Sprintf("01KC%022d", 0)); !p.RFM.At.Equal(j.StartedAt) {
		t.Errorf("an unchanged part was rewritten at %v (job %v)", p.RFM.At, j2.StartedAt)
	}
}

// A tenant without customers gets an empty distribution.
func TestRFMJobNoCustomers(t *testing.T) {
	t.Parallel()
	r := newRig(t, memstore.New())
	_, rep := r.run(t, "acme")
	if rep.Customers != 0 || len(rep.Segments) != 11 || len(rep.Monetary) != 0 || len(rep.Recency.Bins) != 0 {
		t.Errorf("report %+v", rep)
	}
}

// racing changes a profile (its purchases, as the customers consumer
// does) just before the first transaction of profile writes commits.
type racing struct {
	store.Store
	once   atomic.Bool
	tenant string
	id     string
}

func (s *racing) Transact(ctx context.Context, ws []store.Write) error {
	if len(ws) > 1 && ws[0].Item.Key == customers.ProfileKey(s.tenant, s.id) && s.once.CompareAndSwap(false, true) {
		p, v, err := customers.GetProfile(ctx, s.Store, s.tenant, s.id)
		if err != nil {
			return err
		}
		p.Purchases.Days = append(p.Purchases.Days, customers.Day{Date: "2026-12-02", Orders: 1, Amounts: []customers.Amount{{Currency: "EUR", Net: 1}}})
		w, _ := customers.ProfileDoc.Put(customers.ProfileKey(s.tenant, s.id), v, &p)
		if err := s.Store.Put(ctx, w.Item, w.Cond); err != nil {
			return err
		}
	}
	return s.Store.Transact(ctx, ws)
}

// A profile another writer changes between the job's read and its write
// is re-read and re-scored: its purchases are kept, its scores are the
// new ones.
func TestRFMJobRetriesAProfileThatMoved(t *testing.T) {
	t.Parallel()
	mem := memstore.New()
	seed(t, mem, "acme", 10)
	// The first profile of the merged listing is the one raced.
	page, err := store.QueryMerged(context.Background(), mem, store.Query{}, customers.ProfilePKs("acme"), 1, "")
	if err != nil {
		t.Fatal(err)
	}
	id := page.Items[0].SK
	st := &racing{Store: mem, tenant: "acme", id: id}
	r := newRig(t, st)
	r.rfm.PageSize = 20
	r.run(t, "acme")
	if !st.once.Load() {
		t.Fatal("the race never ran")
	}
	p := profile(t, mem, "acme", id)
	if p.Purchases.Days[len(p.Purchases.Days)-1].Date != "2026-12-02" || p.RFM == nil || p.RFM.R != 5 {
		t.Errorf("profile %+v: the other writer's day lost, or not re-scored", p)
	}
}

// A new segment table re-maps every scored customer, keeping R, F and M.
func TestRFMRemap(t *testing.T) {
	t.Parallel()
	r := newRig(t, memstore.New())
	seed(t, r.st, "acme", 12)
	_, before := r.run(t, "acme")
	all := customers.ScoreRange{Min: 1, Max: 5}
	rules := []customers.SegmentRule{
		{Name: "Recent", R: customers.ScoreRange{Min: 4, Max: 5}, FM: all},
		{Name: "Others", R: all, FM: all},
	}
	table, j, err := r.rfm.PutSegments(context.Background(), "acme", rules, 0)
	if err != nil {
		t.Fatal(err)
	}
	if table.Version != 1 || table.Default {
		t.Errorf("table %+v", table)
	}
	_, rep := r.finish(t, "acme", j.ID)
	want := []customers.SegmentSize{{Name: "Recent"}, {Name: "Others"}}
	for i := range 12 {
		p := profile(t, r.st, "acme", fmt.Sprintf("01KC%022d", i))
		seg := "Others"
		if p.RFM.R >= 4 {
			seg, want[0].Customers = "Recent", want[0].Customers+1
		} else {
			want[1].Customers++
		}
		if p.RFM.Segment != seg {
			t.Errorf("customer %d: %+v, want %s", i, p.RFM, seg)
		}
	}
	if diff := cmp.Diff(want, rep.Segments); diff != "" {
		t.Errorf("segments (-want +got):\n%s", diff)
	}
	latest, _ := r.rfm.Latest(context.Background(), "acme")
	if diff := cmp.Diff(want, latest.Segments); diff != "" || latest.Kind != customers.JobRFMRemap {
		t.Errorf("latest %+v (-want +got):\n%s", latest, diff)
	}
	if diff := cmp.Diff(before.Grid, latest.Grid); diff != "" || latest.AsOf != before.AsOf {
		t.Errorf("the re-map changed the scores' distribution:\n%s", diff)
	}
	// A stale If-Match, and an invalid table, change nothing.
	if _, _, err := r.rfm.PutSegments(context.Background(), "acme", customers.DefaultSegments(), 7); err == nil {
		t.Error("a stale version was taken")
	}
	if _, _, err := r.rfm.PutSegments(context.Background(), "acme", rules[:1], 0); err == nil {
		t.Error("a table with holes was taken")
	}
	if got, _ := r.rfm.Segments(context.Background(), "globex"); !got.Default {
		t.Errorf("globex got acme's table: %+v", got)
	}
}

// Many orders in a window start one job at its end; the daily timer
// starts one after the tenant's midnight and chains the next day's.
func TestRFMDebounce(t *testing.T) {
	t.Parallel()
	r := newRig(t, memstore.New())
	seed(t, r.st, "acme", 5)
	ctx := context.Background()
	order := func(tenant string) {
		ev := events.New(ctx, tenant, events.OrderPlaced, r.clock.Now(), events.Entity{Type: "order", ID: "01KCORDER00000000000000000", Data: json.RawMessage(`{}`)})
		w, err := events.OutboxWrite(ev)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.st.Transact(ctx, []store.Write{w}); err != nil {
			t.Fatal(err)
		}
	}
	fire := func() {
		if _, err := r.tm.Drain(ctx, 0, r.tm.FireAll); err != nil {
			t.Fatal(err)
		}
		r.drain(t)
	}
	count := func(tenant string) map[string]int {
		js, _, err := r.jobs.List(ctx, tenant, "", 100, "")
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		for _, j := range js {
			var p struct{ Reason string }
			_ = json.Unmarshal(j.Params, &p)
			out[p.Reason]++
		}
		return out
	}
	// 09:03 to 09:09: 30 orders in one window; one in the next.
	for range 30 {
		order("acme")
		r.drain(t)
		r.clock.Advance(12 * time.Second)
	}
	fire()
	if got := count("acme"); len(got) != 0 {
		t.Fatalf("jobs before the window ended: %v", got)
	}
	r.clock.Set(time.Date(2026, 12, 2, 9, 10, 30, 0, time.UTC))
	order("acme")
	r.drain(t)
	r.clock.Set(time.Date(2026, 12, 2, 9, 11, 0, 0, time.UTC)) // the first window's end + settle
	fire()
	if got := count("acme"); got["orders"] != 1 {
		t.Fatalf("after the first window: %v", got)
	}
	r.clock.Set(time.Date(2026, 12, 2, 9, 21, 0, 0, time.UTC))
	fire()
	if got := count("acme"); got["orders"] != 2 || got["daily"] != 0 {
		t.Fatalf("after the second window: %v", got)
	}
	if got := count("globex"); len(got) != 0 {
		t.Fatalf("globex got acme's jobs: %v", got)
	}
	// Rome's midnight is 23:00 UTC; the daily job starts at 23:15, and
	// again the next day with no order in between.
	r.clock.Set(time.Date(2026, 12, 2, 23, 16, 0, 0, time.UTC))
	fire()
	r.clock.Set(time.Date(2026, 12, 3, 23, 16, 0, 0, time.UTC))
	fire()
	if got := count("acme"); got["daily"] != 2 || got["orders"] != 2 {
		t.Fatalf("after two days: %v", got)
	}
	js, _, _ := r.jobs.List(ctx, "acme", customers.JobRFM, 1, "")
	if len(js) != 1 || js[0].Status != jobs.Done {
		t.Fatalf("the last job %+v", js)
	}
	var rep customers.RFMReport
	_ = json.Unmarshal(js[0].Result, &rep)
	if rep.AsOf != "2026-12-04" {
		t.Errorf("the daily job of Dec 4 (Rome) counted recency to %s", rep.AsOf)
	}
}
