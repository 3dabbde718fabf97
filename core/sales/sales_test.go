package sales_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/money"
	"github.com/fedele-crm/fedele/core/sales"
	"github.com/fedele-crm/fedele/core/store/memstore"
	"github.com/fedele-crm/fedele/core/team"
)

// The forecast and the pipeline report against figures computed by hand,
// on the in-memory store with a clock that moves only when told: the
// times in stage are exact, not wall time plus an offset.
func TestForecastAndReport(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	pipelines := sales.NewPipelines(st, clock)
	deals := sales.NewDeals(st, pipelines, clock)
	users := team.NewUsers(st, clock)

	p, err := pipelines.Create(ctx, "acme", core.PipelineFields{Name: "New business", Stages: []core.PipelineStage{
		{ID: "lead", Name: "Lead", Probability: 10},
		{ID: "qualified", Name: "Qualified", Probability: 30},
		{ID: "proposal", Name: "Proposal", Probability: 60},
		{ID: "won", Name: "Won", Probability: 100, Kind: core.StageKindWon},
		{ID: "lost", Name: "Lost", Kind: core.StageKindLost},
	}})
	if err != nil {
		t.Fatal(err)
	}
	u1, err := users.Create(ctx, "acme", core.UserFields{Name: "One", Email: "one@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	u2, err := users.Create(ctx, "acme", core.UserFields{Name: "Two", Email: "two@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	half := 50
	create := func(f core.DealFields) core.Deal {
		t.Helper()
		f.PipelineID = p.ID
		d, err := deals.Create(ctx, "acme", f)
		if err != nil {
			t.Fatalf("create %s: %v", f.Name, err)
		}
		return d
	}
	move := func(d core.Deal, after time.Duration, change func(*core.DealFields)) core.Deal {
		t.Helper()
		now = now.Add(after)
		out, err := deals.Update(ctx, "acme", d.ID, 0, func(f *core.DealFields) error { change(f); return nil })
		if err != nil {
			t.Fatalf("move %s: %v", d.Name, err)
		}
		return out
	}
	a := create(core.DealFields{Name: "A", Stage: "lead", AmountMinor: 10000, Currency: "EUR", ExpectedClose: "2026-12-15", OwnerID: u1.ID})
	create(core.DealFields{Name: "B", Stage: "proposal", AmountMinor: 6500, Currency: "EUR", ExpectedClose: "2027-01-10", OwnerID: u2.ID})
	c := create(core.DealFields{Name: "C", Stage: "qualified", AmountMinor: 20000, Currency: "EUR", Probability: &half, ExpectedClose: "2026-12-20"})
	create(core.DealFields{Name: "D", Stage: "lead", AmountMinor: 7777, Currency: "USD"})
	create(core.DealFields{Name: "E", Stage: "lead", AmountMinor: 5, Currency: "EUR"})

	// Open deals, weighted: A 10 % of 10 000 = 1 000; B 60 % of 6 500 =
	// 3 900; C its own 50 % of 20 000 = 10 000; E 10 % of 5 = 0.5, rounded
	// half away from zero to 1; D 10 % of 7 777 = 777.7 → 778, in USD.
	got, err := deals.Forecasts(ctx, "acme", sales.ForecastRange{})
	if err != nil {
		t.Fatal(err)
	}
	m := money.TotalOf
	want := []sales.Forecast{
		{Currency: "EUR", Total: m(14901), Weighted: "149.01", Deals: 4,
			ByMonth:    map[string]money.Total{"2026-12": m(11000), "2027-01": m(3900), "none": m(1)},
			ByOwner:    map[string]money.Total{u1.ID: m(1000), u2.ID: m(3900), "none": m(10001)},
			ByPipeline: map[string]money.Total{p.ID: m(14901)}},
		{Currency: "USD", Total: m(778), Weighted: "7.78", Deals: 1,
			ByMonth: map[string]money.Total{"none": m(778)}, ByOwner: map[string]money.Total{"none": m(778)}, ByPipeline: map[string]money.Total{p.ID: m(778)}},
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(money.Total.Equal)); diff != "" {
		t.Errorf("forecast (-want +got):\n%s", diff)
	}

	day := 24 * time.Hour
	a = move(a, 2*day, func(f *core.DealFields) { f.Stage = "qualified" })
	c = move(c, 2*day, func(f *core.DealFields) {
		f.Stage, f.CloseDate, f.LostReason = "lost", "2026-11-24", "went with a rival"
	})
	a = move(a, day, func(f *core.DealFields) { f.Stage = "proposal" })
	a = move(a, day, func(f *core.DealFields) { f.Stage, f.CloseDate = "won", "2026-11-26" })
	if a.Status != core.DealWon || c.Status != core.DealLost {
		t.Fatalf("A is %s, C is %s", a.Status, c.Status)
	}

	// Entered: lead A, D, E; qualified A, C; proposal A, B; won A; lost C.
	// Moved on: only A, which reached won. Days in stage: lead A 2;
	// qualified A 3 and C 4 (3.5); proposal A 1.
	r, err := deals.Report(ctx, "acme", p.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantReport := sales.PipelineReport{PipelineID: p.ID, Won: 1, Lost: 1, Open: 3, WinRate: 0.5, Stages: []sales.StageReport{
		{Stage: "lead", Entered: 3, MovedOn: 1, Conversion: 1.0 / 3, AvgDays: 2},
		{Stage: "qualified", Entered: 2, MovedOn: 1, Conversion: 0.5, AvgDays: 3.5},
		{Stage: "proposal", Entered: 2, MovedOn: 1, Conversion: 0.5, AvgDays: 1},
		{Stage: "won", Entered: 1},
		{Stage: "lost", Entered: 1},
	}}
	if diff := cmp.Diff(wantReport, r); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
}
