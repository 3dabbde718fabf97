package backtest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/backtest"
	"github.com/fedele-crm/fedele/core/commerce"
	"github.com/fedele-crm/fedele/core/contacts"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/jobs"
	"github.com/fedele-crm/fedele/core/plugins"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/core/store/memstore"
	"github.com/fedele-crm/fedele/core/tenancy"
	"github.com/fedele-crm/fedele/core/timeline"
)

// fakeEngine scores by the contact's tags: module "cand" answers the
// number after "c", module "base" the one after "b"; module "boom" traps.
// It keeps what each module was given.
type fakeEngine struct {
	mu   sync.Mutex
	seen map[string][]seenRecord
}

type seenRecord struct {
	Now        time.Time
	ContactID  string
	Activities int
	Company    string
	Orders     int
}

func (e *fakeEngine) Run(_ context.Context, r plugins.Request) (plugins.Response, error) {
	var recs []struct {
		Contact struct {
			ID   string   `json:"id"`
			Tags []string `json:"tags"`
		} `json:"contact"`
		Company *struct {
			Name string `json:"name"`
		} `json:"company"`
		Activities []json.RawMessage `json:"activities"`
		Orders     *struct {
			Count int `json:"count"`
		} `json:"orders"`
	}
	if err := json.Unmarshal(r.Input, &recs); err != nil {
		return plugins.Response{}, err
	}
	e.mu.Lock()
	for _, rec := range recs {
		s := seenRecord{Now: r.Now, ContactID: rec.Contact.ID, Activities: len(rec.Activities)}
		if rec.Company != nil {
			s.Company = rec.Company.Name
		}
		if rec.Orders != nil {
			s.Orders = rec.Orders.Count
		}
		e.seen[r.ModuleID] = append(e.seen[r.ModuleID], s)
	}
	e.mu.Unlock()
	if r.ModuleID == "boom" {
		return plugins.Response{}, &plugins.RunError{Class: "trap", Message: "unreachable"}
	}
	prefix := r.ModuleID[:1]
	out := make([]json.RawMessage, len(recs))
	for i, rec := range recs {
		out[i] = json.RawMessage(`{"error":"no tag"}`)
		for _, tag := range rec.Contact.Tags {
			if n, err := strconv.Atoi(strings.TrimPrefix(tag, prefix)); err == nil && strings.HasPrefix(tag, prefix) {
				out[i] = fmt.Appendf(nil, `{"score":%d}`, n)
			}
		}
	}
	b, _ := json.Marshal(out)
	return plugins.Response{Output: b}, nil
}

type fakeValidator struct{}

func (fakeValidator) Validate(_ context.Context, _ plugins.Kind, raw []byte) (plugins.Module, error) {
	return plugins.Module{ID: string(raw), Code: raw}, nil
}

type memBlobs struct{ sync.Map }

func (b *memBlobs) Put(_ context.Context, k string, v []byte) error { b.Store(k, v); return nil }
func (b *memBlobs) Get(_ context.Context, k string) ([]byte, error) {
	v, ok := b.Load(k)
	if !ok {
		return nil, plugins.ErrBlobNotFound
	}
	return v.([]byte), nil
}
func (b *memBlobs) Delete(_ context.Context, k string) error { b.Map.Delete(k); return nil }

// world is a tenant's CRM on a memory store, on a clock the test moves.
type world struct {
	st        store.Store
	at        time.Time
	engine    *fakeEngine
	contacts  *contacts.Contacts
	companies *contacts.Companies
	acts      *timeline.Activities
	plugins   *plugins.Service
	jobs      *jobs.Service
	backtests *backtest.Service
	relay     *events.Relay
}

var t0 = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)

func newWorld(t testing.TB) *world {
	w := &world{st: memstore.New(), at: t0.Add(-time.Hour), engine: &fakeEngine{seen: map[string][]seenRecord{}}}
	now := func() time.Time { return w.at }
	tenants := tenancy.NewTenants(w.st, now)
	ctx := context.Background()
	for _, id := range []string{"acme", "globex"} {
		if _, err := tenants.Create(ctx, id, id, "US"); err != nil {
			t.Fatal(err)
		}
	}
	w.contacts = contacts.NewContacts(w.st, tenants, now)
	w.companies = contacts.NewCompanies(w.st, tenants, now)
	w.acts = timeline.NewActivities(w.st, now)
	reg := plugins.NewRegistry(w.st, now)
	w.plugins = plugins.NewService(reg, &memBlobs{}, fakeValidator{}, w.engine)
	w.jobs = jobs.New(w.st, now)
	w.backtests = backtest.New(w.st, w.plugins, w.jobs, now).WithSteps(3, 2)
	w.jobs.Register(w.backtests.Kind())
	cs := events.NewConsumers(w.st, slog.New(slog.DiscardHandler), now)
	cs.Register(w.jobs.Consumer())
	w.relay = &events.Relay{Store: w.st, Publisher: cs, Log: slog.New(slog.DiscardHandler), Now: now}
	return w
}

func (w *world) contact(t testing.TB, tenant string, at time.Duration, f core.ContactFields) core.Contact {
	t.Helper()
	w.at = t0.Add(at)
	c, err := w.contacts.Create(context.Background(), tenant, f)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// emit records an event as its producer would (orders, won deals: their
// areas are not on this branch), on the contact's timeline.
func (w *world) emit(t testing.TB, tenant string, at time.Duration, typ events.Type, entity events.Entity, contactID string) {
	t.Helper()
	w.at = t0.Add(at)
	ev := events.New(context.Background(), tenant, typ, w.at, entity)
	ev.Timeline = &events.Entity{Type: "contact", ID: contactID}
	wr, err := events.OutboxWrite(ev)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.st.Transact(context.Background(), []store.Write{wr}); err != nil {
		t.Fatal(err)
	}
}

func (w *world) order(t testing.TB, tenant string, at time.Duration, c core.Contact, placed time.Time) {
	t.Helper()
	id := core.NewID(t0.Add(at))
	o := commerce.Order{Meta: core.Meta{ID: id, Version: 1}, OrderFields: commerce.OrderFields{ExternalID: id, ContactID: c.ID,
		Currency: "EUR", PlacedAt: placed, Status: commerce.OrderPlaced}, Total: 5000}
	data, _ := json.Marshal(o)
	w.emit(t, tenant, at, events.OrderPlaced, events.Entity{Type: "order", ID: id, Data: data}, c.ID)
}

func (w *world) wonDeal(t testing.TB, tenant string, at time.Duration, c core.Contact) {
	t.Helper()
	id := core.NewID(t0.Add(at))
	data, _ := json.Marshal(map[string]any{"id": id, "contact_id": c.ID, "status": "won", "name": "deal"})
	w.emit(t, tenant, at, events.DealWon, events.Entity{Type: "deal", ID: id, Data: data}, c.ID)
}

func (w *world) upload(t testing.TB, tenant, name, module string) plugins.Version {
	t.Helper()
	v, err := w.plugins.Upload(context.Background(), tenant, name, plugins.KindScore, nil, []byte(module))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// run starts a backtest at now and runs its steps to the end.
func (w *world) run(t testing.TB, tenant string, v plugins.Version, req backtest.Request) backtest.Backtest {
	t.Helper()
	ctx := context.Background()
	b, err := w.backtests.Start(ctx, tenant, v.Name, v.Number, req)
	if err != nil {
		t.Fatal(err)
	}
	for range 200 {
		if _, err := w.relay.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		got, err := w.backtests.Get(ctx, tenant, v.Name, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != jobs.Running {
			return got
		}
	}
	t.Fatal("the backtest never ended")
	return b
}

func day(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }

// scenario records, in acme, five contacts whose tags tell each decider's
// score (c<n> the candidate's, b<n> the baseline's), an activity, a won
// deal and two orders; and in globex a contact that must never show.
//
//	contact  cand  base  outcome (window 30 days)
//	A        90    10    deal won on day 5            → positive
//	B        70    80    first order on day 41        → negative (too late)
//	C        30    90    none                         → negative
//	D        50    50    first order on day 3         → positive
//	E        42    40    none                         → negative
func scenario(t *testing.T, w *world) map[string]core.Contact {
	ctx := context.Background()
	w.at = t0
	co, err := w.companies.Create(ctx, "acme", core.CompanyFields{Name: "Initech", Size: "51-200"})
	if err != nil {
		t.Fatal(err)
	}
	cs := map[string]core.Contact{}
	for i, spec := range []struct {
		name string
		tags []string
	}{{"A", []string{"c90", "b10"}}, {"B", []string{"c70", "b80"}}, {"C", []string{"c30", "b90"}}, {"D", []string{"c50", "b50"}}, {"E", []string{"c42", "b40"}}} {
		f := core.ContactFields{FirstName: spec.name, Tags: spec.tags}
		if spec.name == "A" {
			f.CompanyID = co.ID
		}
		cs[spec.name] = w.contact(t, "acme", time.Hour+time.Duration(i)*time.Minute, f)
	}
	w.at = t0.Add(day(2))
	if _, err := w.acts.Log(ctx, "acme", core.ActivityFields{Type: "meeting", At: w.at, ContactID: cs["A"].ID}); err != nil {
		t.Fatal(err)
	}
	w.order(t, "acme", day(3), cs["D"], t0.Add(day(3)))
	w.wonDeal(t, "acme", day(5), cs["A"])
	w.order(t, "acme", day(41), cs["B"], t0.Add(day(41)))
	cs["globex"] = w.contact(t, "globex", day(1), core.ContactFields{FirstName: "Other", Tags: []string{"c99", "b99"}})
	w.at = t0.Add(day(60))
	return cs
}

// keepEvents makes the process keep events long enough for the scenario's
// range, 60 days back, to be within retention.
func keepEvents(t *testing.T) {
	if err := events.SetEventRetention(400 * 24 * time.Hour); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = events.SetEventRetention(0) })
}

func TestBacktestNumbers(t *testing.T) {
	keepEvents(t)
	w := newWorld(t)
	cs := scenario(t, w)
	ctx := context.Background()
	base := w.upload(t, "acme", "live", "base")
	if _, err := w.plugins.Activate(ctx, "acme", "live", base.Number); err != nil {
		t.Fatal(err)
	}
	cand := w.upload(t, "acme", "next", "cand")
	b := w.run(t, "acme", cand, backtest.Request{From: "2026-10-01", To: "2026-10-10"})
	if b.Status != jobs.Done || b.Result == nil || b.Result.Ranking == nil {
		t.Fatalf("backtest %+v", b)
	}
	r := *b.Result
	f := func(v float64) *float64 { return &v }
	want := backtest.BacktestResult{
		From: t0, To: t0.Add(day(10)), OutcomesUntil: t0.Add(day(40)),
		// Events: the company, 5 contacts, the activity, an order and the
		// won deal; B's order (day 41) is past to + 30 days, and the
		// plugins' events come after now's range.
		EventsRead: b.Result.EventsRead,
		// 5 creations, the activity on A and D's order re-score.
		Decisions: 7,
		Agreement: backtest.BacktestAgreement{Within5: 3.0 / 7, Exact: 2.0 / 7},
		Candidate: backtest.BacktestDecider{DecidedBy: core.DecidedByPlugin, Plugin: &plugins.Ref{Name: "next", Version: 1},
			Histogram: [10]int{3: 1, 4: 1, 5: 2, 7: 1, 9: 2}, Mean: (90 + 70 + 30 + 50 + 42 + 90 + 50) / 7.0,
			AUC: f(5.0 / 6), TopDecileLift: f(2.5)},
		Baseline: backtest.BacktestDecider{DecidedBy: core.DecidedByPlugin, Plugin: &plugins.Ref{Name: "live", Version: 1},
			Histogram: [10]int{1: 2, 4: 1, 5: 2, 8: 1, 9: 1}, Mean: (10 + 80 + 90 + 50 + 40 + 10 + 50) / 7.0,
			AUC: f(1.0 / 6), TopDecileLift: f(0)},
		Ranking: &backtest.BacktestRanking{Outcome: backtest.OutcomeEither, WindowDays: 30, Contacts: 5, Positives: 2},
	}
	ignore := cmp.FilterPath(func(p cmp.Path) bool {
		s := p.String()
		return strings.HasSuffix(s, "StdDev") || strings.HasSuffix(s, "Shift") || strings.HasSuffix(s, "Notes")
	}, cmp.Ignore())
	approx := cmp.Comparer(func(a, b float64) bool { return a == b || (a-b < 1e-9 && b-a < 1e-9) })
	if d := cmp.Diff(want, r, ignore, approx); d != "" {
		t.Errorf("result (-want +got):\n%s", d)
	}
	if r.EventsRead != 9 || b.Done != 9 || b.Total != 9 {
		t.Errorf("events read %d, done %d of %d; want 9", r.EventsRead, b.Done, b.Total)
	}
	if r.Shift.KS <= 0 || r.Shift.PSI <= 0 {
		t.Errorf("shift %+v: the two disagree, it cannot be nil", r.Shift)
	}
	if len(r.Notes) != 0 {
		t.Errorf("notes %q: the range is within retention and its outcomes are all in", r.Notes)
	}

	// The records were rebuilt as of their events: A's creation without
	// activities, its meeting's re-score with it, both with its company;
	// D's order re-score with the order; and the plugin's clock is the
	// time of the event.
	seen := map[string][]seenRecord{}
	for _, s := range w.engine.seen["cand"] {
		seen[s.ContactID] = append(seen[s.ContactID], s)
	}
	a := seen[cs["A"].ID]
	if len(a) != 2 || a[0].Activities != 0 || a[1].Activities != 1 || a[0].Company != "Initech" || a[1].Company != "Initech" ||
		!a[1].Now.Equal(t0.Add(day(2))) {
		t.Errorf("A's records %+v", a)
	}
	if d := seen[cs["D"].ID]; len(d) != 2 || d[0].Orders != 0 || d[1].Orders != 1 {
		t.Errorf("D's records %+v", d)
	}
	// Tenant isolation: globex's contact was never replayed in acme's.
	if len(seen[cs["globex"].ID]) != 0 {
		t.Errorf("acme's backtest replayed globex's contact: %+v", seen[cs["globex"].ID])
	}
}

// Each outcome alone, and a window too short for the won deal.
func TestBacktestOutcomes(t *testing.T) {
	w := newWorld(t)
	scenario(t, w)
	cand := w.upload(t, "acme", "next", "cand")
	for _, tc := range []struct {
		req       backtest.Request
		positives int
	}{
		{backtest.Request{From: "2026-10-01", To: "2026-10-10", Outcome: backtest.OutcomeWonDeal}, 1},
		{backtest.Request{From: "2026-10-01", To: "2026-10-10", Outcome: backtest.OutcomeFirstOrder}, 1},
		// 2 days: D's order (day 3) is too late for its score at hour 1, and
		// A's deal (day 5) for A's last score, on its meeting (day 2).
		{backtest.Request{From: "2026-10-01", To: "2026-10-10", WindowDays: 2}, 0},
		// 45 days: B's order on day 41 counts too.
		{backtest.Request{From: "2026-10-01", To: "2026-10-10", WindowDays: 45}, 3},
	} {
		b := w.run(t, "acme", cand, tc.req)
		if b.Result.Ranking == nil || b.Result.Ranking.Positives != tc.positives || b.Result.Ranking.Contacts != 5 {
			t.Errorf("%+v: ranking %+v, want %d positives of 5", tc.req, b.Result.Ranking, tc.positives)
		}
		// Without an active version, the baseline is the built-in.
		if b.Result.Baseline.DecidedBy != core.DecidedByBuiltin || b.Params.Baseline != nil {
			t.Errorf("baseline %+v", b.Result.Baseline)
		}
	}
}

// A candidate that fails on every call is counted, the built-in stands in
// for it as it would live, and the job ends; the version is not disabled
// nor its failures recorded against it.
func TestBacktestFailingCandidate(t *testing.T) {
	w := newWorld(t)
	scenario(t, w)
	boom := w.upload(t, "acme", "boom", "boom")
	b := w.run(t, "acme", boom, backtest.Request{From: "2026-10-01", To: "2026-10-10"})
	f := b.Result.Candidate.Failures
	if b.Status != jobs.Done || f.Calls == 0 || f.Records != 7 || f.Classes["trap"] != f.Calls {
		t.Fatalf("status %s, failures %+v", b.Status, f)
	}
	if b.Result.Agreement.Exact != 1 {
		t.Errorf("agreement %+v: the built-in decided both sides", b.Result.Agreement)
	}
	v, err := w.plugins.Get(context.Background(), "acme", "boom", 1)
	if err != nil || v.Status == plugins.StatusDisabled {
		t.Errorf("version after the backtest: %+v %v", v, err)
	}
	if fs, err := w.plugins.Failures(context.Background(), "acme", "boom", 10); err != nil || len(fs) != 0 {
		t.Errorf("failures recorded against the plugin: %+v %v", fs, err)
	}
}

func TestBacktestRefusals(t *testing.T) {
	w := newWorld(t)
	scenario(t, w)
	ctx := context.Background()
	cand := w.upload(t, "acme", "next", "cand")
	route, err := w.plugins.Upload(ctx, "acme", "router", plugins.KindRoute, nil, []byte("route"))
	if err != nil {
		t.Fatal(err)
	}
	ok := backtest.Request{From: "2026-10-01", To: "2026-10-10"}
	for _, tc := range []struct {
		name    string
		tenant  string
		plugin  string
		version int
		req     backtest.Request
		code    core.Code
		field   string
	}{
		{"another tenant's version", "globex", "next", 1, ok, core.CodeNotFound, ""},
		{"no such version", "acme", "next", 2, ok, core.CodeNotFound, ""},
		{"a route plugin", "acme", route.Name, 1, ok, core.CodeInvalid, "version"},
		{"no from", "acme", cand.Name, 1, backtest.Request{To: "2026-10-10"}, core.CodeInvalid, "from"},
		{"not a time", "acme", cand.Name, 1, backtest.Request{From: "yesterday", To: "2026-10-10"}, core.CodeInvalid, "from"},
		{"to before from", "acme", cand.Name, 1, backtest.Request{From: "2026-10-10", To: "2026-10-01"}, core.CodeInvalid, "to"},
		{"in the future", "acme", cand.Name, 1, backtest.Request{From: "2027-01-01", To: "2027-02-01"}, core.CodeInvalid, "from"},
		{"window too long", "acme", cand.Name, 1, backtest.Request{From: "2026-10-01", To: "2026-10-10", WindowDays: 400}, core.CodeInvalid, "window_days"},
		{"unknown outcome", "acme", cand.Name, 1, backtest.Request{From: "2026-10-01", To: "2026-10-10", Outcome: "churn"}, core.CodeInvalid, "outcome"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := w.backtests.Start(ctx, tc.tenant, tc.plugin, tc.version, tc.req)
			ce, isCore := errors.AsType[*core.Error](err)
			if !isCore || ce.Code != tc.code {
				t.Fatalf("error %v, want %s", err, tc.code)
			}
			if tc.field != "" && (len(ce.Fields) == 0 || ce.Fields[0].Path != tc.field) {
				t.Errorf("fields %+v, want %s", ce.Fields, tc.field)
			}
		})
	}
	// A backtest of acme's is not globex's to read, nor another plugin's.
	b, err := w.backtests.Start(ctx, "acme", cand.Name, 1, ok)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.backtests.Get(ctx, "globex", cand.Name, b.ID); core.ErrorCode(err) != core.CodeNotFound {
		t.Errorf("globex reads acme's backtest: %v", err)
	}
	if _, err := w.backtests.Get(ctx, "acme", "other", b.ID); core.ErrorCode(err) != core.CodeNotFound {
		t.Errorf("another plugin's route shows it: %v", err)
	}
}

// Dates are days in the tenant's time zone, and a range whose outcomes
// are still to come, or that begins past the log's retention, says so.
func TestBacktestRangeNotes(t *testing.T) {
	w := newWorld(t)
	scenario(t, w)
	cand := w.upload(t, "acme", "next", "cand")
	// Now is day 60; outcomes of a range to day 50 are read until then.
	b := w.run(t, "acme", cand, backtest.Request{From: "2026-07-01T00:00:00Z", To: "2026-11-20T00:00:00Z"})
	if len(b.Result.Notes) != 2 || !strings.Contains(b.Result.Notes[0], "retention") || !strings.Contains(b.Result.Notes[1], "outcomes were read until") {
		t.Errorf("notes %q", b.Result.Notes)
	}
	if !b.Result.OutcomesUntil.Before(w.at) {
		t.Errorf("outcomes until %s, after now %s", b.Result.OutcomesUntil, w.at)
	}
}

// A range that starts a second ago has nothing settled to replay yet: the
// job finishes with no events instead of failing every step on a query
// whose bounds are upside down (found by the README's walk-through).
func TestBacktestOfARangeStartingNow(t *testing.T) {
	w := newWorld(t)
	scenario(t, w)
	cand := w.upload(t, "acme", "next", "cand")
	b := w.run(t, "acme", cand, backtest.Request{From: w.at.Add(-time.Second).Format(time.RFC3339), To: w.at.Add(time.Hour).Format(time.RFC3339)})
	if b.Status != "done" || b.Result.EventsRead != 0 {
		t.Errorf("status %s, %d events; want done with none", b.Status, b.Result.EventsRead)
	}
}
