package money_test

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core/money"
)

func TestCheckedArithmetic(t *testing.T) {
	const max, min = math.MaxInt64, math.MinInt64
	for _, tc := range []struct {
		name string
		op   func(a, b int64) (int64, bool)
		a, b int64
		want int64
		ok   bool
	}{
		{"add", money.Add, 2, 3, 5, true},
		{"add to the edge", money.Add, max - 1, 1, max, true},
		{"add past the edge", money.Add, max, 1, 0, false},
		{"add two halves of 1e19", money.Add, 5e18, 5e18, 0, false},
		{"add below the edge", money.Add, min, -1, 0, false},
		{"add opposite signs", money.Add, max, min, -1, true},
		{"sub", money.Sub, 5, 7, -2, true},
		{"sub past the edge", money.Sub, min, 1, 0, false},
		{"sub a negative past the edge", money.Sub, max, -1, 0, false},
		{"sub to the edge", money.Sub, -1, max, min, true},
		{"mul", money.Mul, 1_000_000, 9_223_372_036_854, 9_223_372_036_854_000_000, true},
		{"mul past the edge", money.Mul, 1_000_000, 9_223_372_036_855, 0, false},
		{"mul by zero", money.Mul, 0, max, 0, true},
		{"mul two 2^32", money.Mul, 1 << 32, 1 << 32, 0, false},
		{"mul to min", money.Mul, -(1 << 62), 2, min, true},
		{"mul past min", money.Mul, min, -1, 0, false},
		{"mul negative", money.Mul, -3, 4, -12, true},
	} {
		got, ok := tc.op(tc.a, tc.b)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("%s: (%d, %d) = %d, %v; want %d, %v", tc.name, tc.a, tc.b, got, ok, tc.want, tc.ok)
		}
	}
}

func TestPercent(t *testing.T) {
	for _, tc := range []struct {
		amount, percent, want int64
		ok                    bool
	}{
		{10000, 10, 1000, true},
		{5, 10, 1, true},      // 0.5 rounds away from zero
		{4, 10, 0, true},      // 0.4 rounds down
		{7777, 10, 778, true}, // 777.7
		{-5, 10, -1, true},
		{math.MaxInt64, 100, math.MaxInt64, true},
		{math.MaxInt64, 60, 5534023222112865484, true}, // 5534023222112865484.2, exactly: float64 is off by hundreds
		{math.MaxInt64, 0, 0, true},
		{math.MaxInt64, 101, 0, false},
		{math.MinInt64, 100, math.MinInt64, true},
		{math.MaxInt64, math.MaxInt64, 0, false},
	} {
		got, ok := money.Percent(tc.amount, tc.percent)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("Percent(%d, %d) = %d, %v; want %d, %v", tc.amount, tc.percent, got, ok, tc.want, tc.ok)
		}
	}
}

func TestTotal(t *testing.T) {
	w := money.TotalOf(0)
	for range 2 {
		w = w.Add(math.MaxInt64)
	}
	if got, want := w.String(), "18446744073709551614"; got != want {
		t.Errorf("two MaxInt64 = %s, want %s", got, want)
	}
	if _, ok := w.Int64(); ok {
		t.Errorf("a total beyond int64 converts to one")
	}
	if v, ok := w.Add(-math.MaxInt64).Int64(); !ok || v != math.MaxInt64 {
		t.Errorf("back down to %d, %v", v, ok)
	}
	neg := money.TotalOf(math.MinInt64).Add(math.MinInt64).Add(-1)
	if got, want := neg.String(), "-18446744073709551617"; got != want {
		t.Errorf("negative total %s, want %s", got, want)
	}

	for _, tc := range []struct {
		t      money.Total
		digits int
		want   string
	}{
		{money.TotalOf(12345), 2, "123.45"},
		{money.TotalOf(5), 2, "0.05"},
		{money.TotalOf(-5), 3, "-0.005"},
		{money.TotalOf(0), 2, "0.00"},
		{money.TotalOf(1234), 0, "1234"},
		{money.TotalOf(-100), 4, "-0.0100"},
		{w, 2, "184467440737095516.14"},
		{neg, 2, "-184467440737095516.17"},
	} {
		if got := tc.t.Decimal(tc.digits); got != tc.want {
			t.Errorf("%s at %d digits = %s, want %s", tc.t, tc.digits, got, tc.want)
		}
	}
	if got := money.Decimal(math.MinInt64, 2); got != "-92233720368547758.08" {
		t.Errorf("Decimal(MinInt64, 2) = %s", got)
	}

	// JSON: an integer number, both ways, beyond int64 too.
	type doc struct {
		T map[string]money.Total `json:"t"`
	}
	in := doc{T: map[string]money.Total{"big": w, "neg": neg, "small": money.TotalOf(-42)}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"t":{"big":18446744073709551614,"neg":-18446744073709551617,"small":-42}}`; string(b) != want {
		t.Errorf("JSON %s, want %s", b, want)
	}
	var out doc
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, out); diff != "" {
		t.Errorf("round trip (-in +out):\n%s", diff)
	}
	for _, bad := range []string{`"12"`, `1.5`, `1e3`, `170141183460469231731687303715884105728`} {
		var x money.Total
		if err := json.Unmarshal([]byte(bad), &x); err == nil {
			t.Errorf("%s decoded as %s", bad, x)
		}
	}
	var edge money.Total
	if err := json.Unmarshal([]byte(`-170141183460469231731687303715884105728`), &edge); err != nil || edge.String() != "-170141183460469231731687303715884105728" {
		t.Errorf("-2^127: %s, %v", edge, err)
	}
}

func TestDigits(t *testing.T) {
	for _, tc := range []struct {
		code   string
		digits int
		ok     bool
	}{
		{"EUR", 2, true}, {"USD", 2, true}, {"JPY", 0, true}, {"KWD", 3, true}, {"CLF", 4, true},
		{"IRR", 2, true}, // ISO's exponent, not CLDR's 0
		// Currencies of the last years that older tables lack.
		{"VES", 2, true}, {"SLE", 2, true}, {"ZWG", 2, true}, {"XCG", 2, true},
		{"XYZ", 0, false}, {"eur", 0, false}, {"", 0, false}, {"EURO", 0, false}, {"BTC", 0, false},
		// Withdrawn, and codes that are not a priced currency.
		{"DEM", 0, false}, {"HRK", 0, false}, {"XXX", 0, false}, {"XTS", 0, false}, {"XAU", 0, false},
	} {
		d, ok := money.Digits(tc.code)
		if ok != tc.ok || d != tc.digits {
			t.Errorf("Digits(%q) = %d, %v; want %d, %v", tc.code, d, ok, tc.digits, tc.ok)
		}
	}
}
