package commerce_test

import (
	"math"
	"testing"

	"github.com/fedele-crm/fedele/core/commerce"
)

// The margin is on what the shop keeps: tax off, refunds off with their
// share of the tax, uncosted lines out.
func TestMarginLeavesTaxOut(t *testing.T) {
	cost := func(v int64) *int64 { return &v }
	for _, c := range []struct {
		name         string
		lines        []commerce.Line
		costed, cost int64
	}{
		{"no tax", []commerce.Line{{Quantity: 2, UnitPrice: 1000, UnitCost: cost(300)}}, 2000, 600},
		{"22 % VAT on top", []commerce.Line{{Quantity: 1, UnitPrice: 2451, Tax: 539, UnitCost: cost(1200)}}, 2451, 1200},
		{"discount, then tax", []commerce.Line{{Quantity: 3, UnitPrice: 1000, Discount: 500, Tax: 550, UnitCost: cost(100)}}, 2500, 300},
		{"half refunded: half the tax back", []commerce.Line{{Quantity: 2, UnitPrice: 1000, Tax: 200, Refunded: 1100, UnitCost: cost(400)}}, 1000, 800},
		{"fully refunded", []commerce.Line{{Quantity: 1, UnitPrice: 1000, Tax: 220, Refunded: 1220, UnitCost: cost(400)}}, 0, 400},
		{"uncosted lines out", []commerce.Line{{Quantity: 1, UnitPrice: 999, Tax: 1}, {Quantity: 1, UnitPrice: 10, UnitCost: cost(1)}}, 10, 1},
		{"rounded down", []commerce.Line{{Quantity: 1, UnitPrice: 1, Tax: 2, Refunded: 1, UnitCost: cost(0)}}, 0, 0},
		{"near 2^63: no overflow", []commerce.Line{{Quantity: 1, UnitPrice: math.MaxInt64 / 2, Tax: math.MaxInt64 / 2, UnitCost: cost(0)}}, math.MaxInt64 / 2, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			costed, cost := commerce.Order{OrderFields: commerce.OrderFields{Lines: c.lines}}.Margin()
			if costed != c.costed || cost != c.cost {
				t.Errorf("costed %d cost %d, want %d %d", costed, cost, c.costed, c.cost)
			}
		})
	}
}
