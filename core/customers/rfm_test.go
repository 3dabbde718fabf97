package customers_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/customers"
)

// scoresOf scores one dimension's values by the tie rule, directly from
// the definition (1 + ⌊5·below/n⌋), for comparison with the cut points.
func scoresOf(vals []int64) []int {
	out := make([]int, len(vals))
	for i, v := range vals {
		var below int64
		for _, w := range vals {
			if w < v {
				below++
			}
		}
		out[i] = customers.RankScore(below, int64(len(vals)))
	}
	return out
}

func TestQuintilesAndTies(t *testing.T) {
	cases := []struct {
		name string
		vals []int64
		want []int
	}{
		{"one customer", []int64{7}, []int{1}},
		{"all equal", []int64{3, 3, 3, 3, 3, 3}, []int{1, 1, 1, 1, 1, 1}},
		{"four customers", []int64{10, 20, 30, 40}, []int{1, 2, 3, 4}},
		{"five customers", []int64{50, 10, 40, 20, 30}, []int{5, 1, 4, 2, 3}},
		{"seven customers", []int64{1, 2, 3, 4, 5, 6, 7}, []int{1, 1, 2, 3, 3, 4, 5}},
		{"ten customers are NTILE(5)", []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, []int{1, 1, 2, 2, 3, 3, 4, 4, 5, 5}},
		// 10 customers, 6 of whom bought once: the tie spans the cut points
		// of 2 and 3 and goes to the lower bin, with its first member.
		{"heavy tie at a cut point", []int64{1, 1, 1, 1, 1, 1, 2, 3, 4, 5}, []int{1, 1, 1, 1, 1, 1, 4, 4, 5, 5}},
		// A tie at the top that is more than a fifth of the customers
		// never reaches 5.
		{"heavy tie at the top", []int64{1, 2, 3, 4, 5, 6, 9, 9, 9, 9}, []int{1, 1, 2, 2, 3, 3, 4, 4, 4, 4}},
		{"tie straddling the middle", []int64{1, 2, 5, 5, 5, 5, 8, 9}, []int{1, 1, 2, 2, 2, 2, 4, 5}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if diff := cmp.Diff(c.want, scoresOf(c.vals)); diff != "" {
				t.Fatalf("the rule (-want +got):\n%s", diff)
			}
			// The job scores by cut points from sorted values and from a
			// histogram: both agree with the rule on every value.
			sorted := append([]int64(nil), c.vals...)
			slices.Sort(sorted)
			var h []customers.ValueCount
			for _, v := range sorted {
				if len(h) > 0 && h[len(h)-1].Value == v {
					h[len(h)-1].Count++
				} else {
					h = append(h, customers.ValueCount{Value: v, Count: 1})
				}
			}
			for _, cuts := range []customers.Cuts{customers.CutsOfSorted(sorted), customers.CutsOfHistogram(h)} {
				got := make([]int, len(c.vals))
				for i, v := range c.vals {
					got[i] = cuts.Score(v)
				}
				if diff := cmp.Diff(c.want, got); diff != "" {
					t.Errorf("cuts %v (-want +got):\n%s", cuts, diff)
				}
			}
		})
	}
}

func day(date string, orders int, amounts ...customers.Amount) customers.Day {
	return customers.Day{Date: date, Orders: orders, Amounts: amounts}
}

func eur(n int64) customers.Amount { return customers.Amount{Currency: "EUR", Net: n} }
func usd(n int64) customers.Amount { return customers.Amount{Currency: "USD", Net: n} }

func TestSummaryOf(t *testing.T) {
	cases := []struct {
		name string
		days []customers.Day
		want customers.Summary
		ok   bool
	}{
		{"no days", nil, customers.Summary{}, false},
		{"only a day whose orders stopped counting", []customers.Day{day("2026-11-01", 0)}, customers.Summary{}, false},
		{"one purchase today", []customers.Day{day("2026-12-02", 2, eur(1500))}, customers.Summary{Recency: 0, Frequency: 1, Currency: "EUR", Monetary: 1500}, true},
		{"three days", []customers.Day{day("2026-01-10", 1, eur(100)), day("2026-06-01", 1, eur(200)), day("2026-11-02", 1, eur(300))},
			customers.Summary{Recency: 30, Frequency: 3, Currency: "EUR", Monetary: 600}, true},
		{"main currency by days", []customers.Day{day("2026-11-01", 1, usd(99999)), day("2026-11-02", 1, eur(10)), day("2026-11-03", 1, eur(20))},
			customers.Summary{Recency: 29, Frequency: 3, Currency: "EUR", Monetary: 30}, true},
		{"a tie of days goes to the first code", []customers.Day{day("2026-11-01", 1, usd(5)), day("2026-11-02", 1, eur(7))},
			customers.Summary{Recency: 30, Frequency: 2, Currency: "EUR", Monetary: 7}, true},
		{"a future day is recency 0", []customers.Day{day("2026-12-05", 1, eur(1))}, customers.Summary{Frequency: 1, Currency: "EUR", Monetary: 1}, true},
		{"net refunded below zero is 0", []customers.Day{day("2026-12-01", 1, eur(-5))}, customers.Summary{Recency: 1, Frequency: 1, Currency: "EUR"}, true},
		{"overflow saturates", []customers.Day{day("2026-12-01", 1, eur(1<<62)), day("2026-12-02", 1, eur(1<<62)), day("2026-12-02", 1, eur(1<<62))},
			customers.Summary{Frequency: 3, Currency: "EUR", Monetary: 1<<63 - 1}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := customers.Profile{Purchases: customers.Purchases{Days: c.days}}
			got, ok := customers.SummaryOf(&p, "2026-12-02")
			if ok != c.ok {
				t.Fatalf("ok %v, want %v", ok, c.ok)
			}
			if diff := cmp.Diff(c.want, got); ok && diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// Recency is reversed; monetary ranks within a currency only.
func TestScoreAll(t *testing.T) {
	sums := []customers.Summary{
		{Recency: 1, Frequency: 1, Currency: "EUR", Monetary: 100},
		{Recency: 1, Frequency: 5, Currency: "EUR", Monetary: 900},
		{Recency: 30, Frequency: 2, Currency: "EUR", Monetary: 300},
		{Recency: 200, Frequency: 1, Currency: "EUR", Monetary: 50},
		{Recency: 400, Frequency: 1, Currency: "EUR", Monetary: 400},
		{Recency: 10, Frequency: 3, Currency: "JPY", Monetary: 5},
	}
	got := customers.ScoreAll(sums)
	want := []customers.Scores{
		{R: 5, F: 1, M: 2}, {R: 5, F: 5, M: 5}, {R: 3, F: 3, M: 3},
		{R: 2, F: 1, M: 1}, {R: 1, F: 1, M: 4}, {R: 4, F: 4, M: 1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// Every cell of the grid, through the default table.
func TestDefaultSegmentGrid(t *testing.T) {
	// want[fm-1][r-1], as the README's table reads (top row FM 5).
	want := [5][5]string{
		{"Lost", "Hibernating", "About to sleep", "Promising", "New"},
		{"Lost", "Hibernating", "About to sleep", "Potential loyalist", "Potential loyalist"},
		{"At risk", "At risk", "Need attention", "Potential loyalist", "Potential loyalist"},
		{"At risk", "At risk", "Loyal", "Loyal", "Champions"},
		{"Can't lose them", "Can't lose them", "Loyal", "Loyal", "Champions"},
	}
	m := customers.DefaultSegmentMap()
	for r := 1; r <= 5; r++ {
		for f := 1; f <= 5; f++ {
			for mm := 1; mm <= 5; mm++ {
				fm := customers.FM(f, mm)
				if got := m.Segment(customers.Scores{R: r, F: f, M: mm}); got != want[fm-1][r-1] {
					t.Errorf("R%d F%d M%d (FM %d): %q, want %q", r, f, mm, fm, got, want[fm-1][r-1])
				}
			}
		}
	}
	if got := len(m.Names()); got != 11 {
		t.Errorf("%d segments, want 11", got)
	}
	if got := m.Segment(customers.Scores{R: 0, F: 1, M: 1}); got != "" {
		t.Errorf("out of range scores: %q", got)
	}
	if got := customers.FM(3, 4); got != 4 {
		t.Errorf("FM(3, 4) = %d: the average rounds half up", got)
	}
}

func TestSegmentTableValidation(t *testing.T) {
	all := customers.ScoreRange{Min: 1, Max: 5}
	rule := func(name string, r, fm customers.ScoreRange) customers.SegmentRule {
		return customers.SegmentRule{Name: name, R: r, FM: fm}
	}
	cases := []struct {
		name  string
		rules []customers.SegmentRule
		want  []core.FieldError // paths and messages
	}{
		{"the default table", customers.DefaultSegments(), nil},
		{"one rule for everyone", []customers.SegmentRule{rule("Everyone", all, all)}, nil},
		{"empty", nil, []core.FieldError{{Path: "rules", Message: "must hold at least one rule"}}},
		{"a blank name", []customers.SegmentRule{rule("  ", all, all)}, []core.FieldError{{Path: "rules[0].name", Message: "is required"}}},
		{"a control character", []customers.SegmentRule{rule("A\nB", all, all)}, []core.FieldError{{Path: "rules[0].name", Message: "holds a control character"}}},
		{"out of range", []customers.SegmentRule{rule("X", customers.ScoreRange{Min: 0, Max: 6}, all)}, []core.FieldError{
			{Path: "rules[0].r.min", Message: "is 0; scores are 1 to 5"}, {Path: "rules[0].r.max", Message: "is 6; scores are 1 to 5"}}},
		{"reversed", []customers.SegmentRule{rule("X", all, customers.ScoreRange{Min: 4, Max: 2})}, []core.FieldError{{Path: "rules[0].fm", Message: "min 4 is above max 2"}}},
		{"a hole", []customers.SegmentRule{
			rule("Top", customers.ScoreRange{Min: 3, Max: 5}, all),
			rule("Low", customers.ScoreRange{Min: 1, Max: 2}, customers.ScoreRange{Min: 1, Max: 4}),
		}, []core.FieldError{{Path: "rules", Message: "no rule matches (r 1, fm 5), (r 2, fm 5): every cell of the 5 × 5 grid needs one"}}},
		{"a shadowed rule", []customers.SegmentRule{
			rule("All", all, all), rule("Never", customers.ScoreRange{Min: 5, Max: 5}, all),
		}, []core.FieldError{{Path: "rules[1]", Message: "is never reached: earlier rules match every cell of its ranges"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := customers.NewSegmentMap(c.rules)
			var got []core.FieldError
			if err != nil {
				ce, ok := err.(*core.Error)
				if !ok || ce.Code != core.CodeInvalid {
					t.Fatalf("error %v is not an invalid-request *core.Error", err)
				}
				got = ce.Fields
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	many := make([]customers.SegmentRule, customers.MaxSegmentRules+1)
	for i := range many {
		many[i] = rule(fmt.Sprint("R", i), all, all)
	}
	if _, err := customers.NewSegmentMap(many); err == nil {
		t.Error("a table of 51 rules was taken")
	}
}
