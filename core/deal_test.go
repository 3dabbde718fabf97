package core_test

import (
	"math"
	"testing"

	"github.com/fedele-crm/fedele/core"
)

var dealPipeline = &core.PipelineFields{Name: "P", Stages: []core.PipelineStage{
	{ID: "lead", Name: "Lead", Probability: 10, Kind: core.StageKindOpen},
	{ID: "won", Name: "Won", Probability: 100, Kind: core.StageKindWon},
	{ID: "lost", Name: "Lost", Kind: core.StageKindLost},
}}

// Money on a deal is int64 minor units, and every product and sum of it is
// checked: a line or a total that an int64 cannot hold is refused at the
// field that brings it over, never stored wrapped (two lines of 5e18 were
// once stored as a negative amount). Currencies are ISO 4217's.
func TestDealMoneyAndCurrency(t *testing.T) {
	line := func(qty, price, discount int64, currency string) core.LineItem {
		return core.LineItem{Product: "P", Quantity: qty, UnitPriceMinor: price, DiscountMinor: discount, Currency: currency}
	}
	for _, tc := range []struct {
		name   string
		f      core.DealFields
		faults []string
		amount int64 // after Normalize, when it passes
	}{
		{"lines sum to the amount", core.DealFields{Currency: "EUR",
			LineItems: []core.LineItem{line(2, 3000, 500, "EUR"), line(1, 1000, 0, "EUR")}}, nil, 6500},
		{"lines up to the largest amount", core.DealFields{Currency: "EUR",
			LineItems: []core.LineItem{line(1, math.MaxInt64-1, 0, "EUR"), line(1, 1, 0, "EUR")}}, nil, math.MaxInt64},
		{"two lines of 5e18", core.DealFields{Currency: "EUR",
			LineItems: []core.LineItem{line(1, 5e18, 0, "EUR"), line(1, 5e18, 0, "EUR")}}, []string{"line_items[1].unit_price_minor"}, 0},
		{"the third line goes over", core.DealFields{Currency: "EUR",
			LineItems: []core.LineItem{line(1, 4e18, 0, "EUR"), line(1, 4e18, 0, "EUR"), line(1, 4e18, 0, "EUR")}}, []string{"line_items[2].unit_price_minor"}, 0},
		{"quantity × unit price beyond int64", core.DealFields{Currency: "EUR",
			LineItems: []core.LineItem{line(1_000_000, 1e13, 0, "EUR")}}, []string{"line_items[0].unit_price_minor"}, 0},
		{"a discount cannot bring a product back in range", core.DealFields{Currency: "EUR",
			LineItems: []core.LineItem{line(3, 4e18, 4e18, "EUR")}}, []string{"line_items[0].unit_price_minor"}, 0},
		{"a line beyond int64 and another in the wrong currency", core.DealFields{Currency: "EUR",
			LineItems: []core.LineItem{line(10, math.MaxInt64/2, 0, "EUR"), line(1, 1, 0, "USD")}},
			[]string{"line_items[0].unit_price_minor", "line_items[1].currency"}, 0},
		{"discount over the line", core.DealFields{Currency: "EUR",
			LineItems: []core.LineItem{line(1, 10, 11, "EUR")}}, []string{"line_items[0].discount_minor"}, 0},
		{"quantity over the maximum", core.DealFields{Currency: "EUR",
			LineItems: []core.LineItem{line(core.MaxQuantity+1, 1, 0, "EUR")}}, []string{"line_items[0].quantity"}, 0},
		{"an amount that is not the lines' total", core.DealFields{Currency: "EUR", AmountMinor: 5,
			LineItems: []core.LineItem{line(1, 10, 0, "EUR")}}, []string{"amount_minor"}, 0},
		{"the largest amount", core.DealFields{Currency: "EUR", AmountMinor: math.MaxInt64}, nil, math.MaxInt64},
		{"a code that is not ISO 4217", core.DealFields{Currency: "XYZ", AmountMinor: 1}, []string{"currency"}, 0},
		{"a withdrawn currency", core.DealFields{Currency: "DEM", AmountMinor: 1}, []string{"currency"}, 0},
		{"no currency at all", core.DealFields{Currency: "XXX", AmountMinor: 1}, []string{"currency"}, 0},
		{"lower case", core.DealFields{Currency: "eur", AmountMinor: 1}, []string{"currency"}, 0},
		{"a recent currency", core.DealFields{Currency: "VES", AmountMinor: 1}, nil, 1},
		{"no minor units", core.DealFields{Currency: "JPY", AmountMinor: 1500}, nil, 1500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.f
			f.Name, f.Stage = "D", "lead"
			checkFaults(t, f.Normalize(dealPipeline), tc.faults)
			if tc.faults == nil && f.AmountMinor != tc.amount {
				t.Errorf("amount %d, want %d", f.AmountMinor, tc.amount)
			}
		})
	}
}
