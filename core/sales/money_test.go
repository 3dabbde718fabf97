package sales_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/money"
	"github.com/fedele-crm/fedele/core/sales"
	"github.com/fedele-crm/fedele/core/store/memstore"
)

func newDeals(t *testing.T) (*sales.Deals, core.Pipeline) {
	t.Helper()
	st := memstore.New()
	t.Cleanup(func() { st.Close() })
	clock := func() time.Time { return time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC) }
	pipelines := sales.NewPipelines(st, clock)
	p, err := pipelines.Create(context.Background(), "acme", core.PipelineFields{Name: "P", Stages: []core.PipelineStage{
		{ID: "lead", Name: "Lead", Probability: 10},
		{ID: "proposal", Name: "Proposal", Probability: 60},
		{ID: "won", Name: "Won", Probability: 100, Kind: core.StageKindWon},
		{ID: "lost", Name: "Lost", Kind: core.StageKindLost},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return sales.NewDeals(st, pipelines, clock), p
}

// The forecast never overflows: two deals of the largest amount at 60 %
// weigh 2 × 5 534 023 222 112 865 484.2, each rounded, beyond int64, and
// the totals say so exactly (they were once negative).
func TestForecastBeyondInt64(t *testing.T) {
	ctx := context.Background()
	deals, p := newDeals(t)
	for _, c := range []string{"EUR", "EUR", "JPY", "KWD"} {
		if _, err := deals.Create(ctx, "acme", core.DealFields{Name: "Big", PipelineID: p.ID, Stage: "proposal",
			AmountMinor: math.MaxInt64, Currency: c, ExpectedClose: "2027-03-01"}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := deals.Forecasts(ctx, "acme", sales.ForecastRange{})
	if err != nil {
		t.Fatal(err)
	}
	var two, one money.Total
	two = two.Add(5534023222112865484).Add(5534023222112865484)
	one = one.Add(5534023222112865484)
	if two.String() != "11068046444225730968" {
		t.Fatalf("the expected sum is %s", two)
	}
	want := []sales.Forecast{
		{Currency: "EUR", Total: two, Weighted: "110680464442257309.68", Deals: 2,
			ByMonth: map[string]money.Total{"2027-03": two}, ByOwner: map[string]money.Total{"none": two}, ByPipeline: map[string]money.Total{p.ID: two}},
		{Currency: "JPY", Total: one, Weighted: "5534023222112865484", Deals: 1,
			ByMonth: map[string]money.Total{"2027-03": one}, ByOwner: map[string]money.Total{"none": one}, ByPipeline: map[string]money.Total{p.ID: one}},
		{Currency: "KWD", Total: one, Weighted: "5534023222112865.484", Deals: 1,
			ByMonth: map[string]money.Total{"2027-03": one}, ByOwner: map[string]money.Total{"none": one}, ByPipeline: map[string]money.Total{p.ID: one}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("forecast (-want +got):\n%s", diff)
	}
}

// A deal's currency changes only with its amount: the same number in
// another currency is another price. New line items bring their own total.
func TestDealCurrencyChangesWithItsAmount(t *testing.T) {
	ctx := context.Background()
	lines := func(c string, prices ...int64) []core.LineItem {
		var out []core.LineItem
		for _, p := range prices {
			out = append(out, core.LineItem{Product: "P", Quantity: 1, UnitPriceMinor: p, Currency: c})
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		start  core.DealFields
		change func(*core.DealFields)
		fault  string // the path refused; "" when the change passes
		amount int64
	}{
		{"currency alone", core.DealFields{AmountMinor: 1000, Currency: "EUR"},
			func(f *core.DealFields) { f.Currency = "USD" }, "currency", 0},
		{"currency with a new amount", core.DealFields{AmountMinor: 1000, Currency: "EUR"},
			func(f *core.DealFields) { f.Currency, f.AmountMinor = "JPY", 1600 }, "", 1600},
		{"currency without an amount", core.DealFields{Currency: "EUR"},
			func(f *core.DealFields) { f.Currency = "USD" }, "", 0},
		{"currency alone, with line items", core.DealFields{Currency: "EUR", LineItems: lines("EUR", 700, 300)},
			func(f *core.DealFields) { f.Currency = "USD" }, "currency", 0},
		{"currency with new line items", core.DealFields{Currency: "EUR", LineItems: lines("EUR", 700, 300)},
			func(f *core.DealFields) { f.Currency, f.LineItems = "USD", lines("USD", 800, 400) }, "", 1200},
		{"new line items, same currency", core.DealFields{Currency: "EUR", LineItems: lines("EUR", 700, 300)},
			func(f *core.DealFields) { f.LineItems = lines("EUR", 5) }, "", 5},
		{"new line items with their own amount", core.DealFields{Currency: "EUR", LineItems: lines("EUR", 700, 300)},
			func(f *core.DealFields) { f.LineItems, f.AmountMinor = lines("EUR", 5), 6 }, "amount_minor", 0},
		{"to a code that is not ISO 4217", core.DealFields{Currency: "EUR"},
			func(f *core.DealFields) { f.Currency = "XYZ" }, "currency", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			deals, p := newDeals(t)
			f := tc.start
			f.Name, f.PipelineID, f.Stage = "D", p.ID, "lead"
			d, err := deals.Create(ctx, "acme", f)
			if err != nil {
				t.Fatal(err)
			}
			got, err := deals.Update(ctx, "acme", d.ID, 0, func(f *core.DealFields) error { tc.change(f); return nil })
			if tc.fault == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if got.AmountMinor != tc.amount {
					t.Errorf("amount %d, want %d", got.AmountMinor, tc.amount)
				}
				return
			}
			var ce *core.Error
			if !errors.As(err, &ce) || ce.Code != core.CodeInvalid || len(ce.Fields) != 1 || ce.Fields[0].Path != tc.fault {
				t.Fatalf("error %v, want one at %s", err, tc.fault)
			}
			if after, _ := deals.Get(ctx, "acme", d.ID); after.Version != 1 {
				t.Errorf("the refused change was stored: version %d", after.Version)
			}
		})
	}
}
