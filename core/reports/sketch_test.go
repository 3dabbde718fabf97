package reports_test

import (
	"math"
	"slices"
	"testing"

	"github.com/fedele-crm/fedele/core/reports"
)

// Past ExactUpTo values, a quantile is read from the bins, within
// SketchError of the exact nearest-rank value; up to it, exactly.
func TestSketchQuantiles(t *testing.T) {
	for _, n := range []int{1, 7, reports.ExactUpTo, 25_000} {
		var s reports.Sketch
		values := make([]float64, n)
		for i := range values {
			// Spread over five orders of magnitude, in no order, with zeros.
			x := float64((i*7919)%n) / float64(n)
			values[i] = math.Floor(math.Pow(10, 5*x)) - 1
			s.Add(values[i])
		}
		slices.Sort(values)
		for _, q := range []float64{0.1, 0.25, 0.5, 0.75, 0.9, 1} {
			want := values[max(int(math.Ceil(q*float64(n))), 1)-1]
			got := s.Quantile(q)
			tol := want * reports.SketchError
			if n <= reports.ExactUpTo {
				tol = 0
			}
			if want < 1 && got == 0 {
				continue // below a minor unit: zero
			}
			if math.Abs(got-want) > tol {
				t.Errorf("n=%d q=%v: %v, want %v ± %v", n, q, got, want, tol)
			}
		}
	}
	var empty reports.Sketch
	if empty.Quantile(0.5) != 0 {
		t.Error("an empty sketch has a median")
	}
}
