package backtest

import (
	"math"
	"testing"
)

func scores(pairs ...int) Scores {
	var h Scores
	for i := 0; i+1 < len(pairs); i += 2 {
		h[pairs[i]] += pairs[i+1]
	}
	return h
}

// labelled is contacts as (score, positive) pairs.
func labelled(pos, neg []int) Labelled {
	var l Labelled
	for _, s := range pos {
		l.Add(s, true)
	}
	for _, s := range neg {
		l.Add(s, false)
	}
	return l
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestAUC(t *testing.T) {
	for _, tc := range []struct {
		name     string
		pos, neg []int
		want     float64
		ok       bool
	}{
		{"perfect", []int{90, 80}, []int{10, 20}, 1, true},
		{"inverted", []int{10}, []int{90, 80}, 0, true},
		// pairs: 90>70, 90>30, 50<70, 50>30: 3 of 4.
		{"three of four", []int{90, 50}, []int{70, 30}, 0.75, true},
		// every pair tied: each is one half.
		{"all ties", []int{50, 50}, []int{50}, 0.5, true},
		// 60 vs (60, 40): ½ + 1; 40 vs (60, 40): 0 + ½ → 2 of 4.
		{"some ties", []int{60, 40}, []int{60, 40}, 0.5, true},
		// 5 pairs won of 6, as in the end-to-end scenario.
		{"five of six", []int{90, 50}, []int{70, 30, 42}, 5.0 / 6, true},
		{"no positives", nil, []int{1, 2}, 0, false},
		{"no negatives", []int{1}, nil, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := labelled(tc.pos, tc.neg)
			got, ok := l.AUC()
			if ok != tc.ok || !near(got, tc.want) {
				t.Errorf("AUC = %v, %v; want %v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestTopDecileLift(t *testing.T) {
	for _, tc := range []struct {
		name     string
		pos, neg []int
		want     float64
		ok       bool
	}{
		// 5 contacts: the top tenth is ceil(0.5) = 1, the 90, positive;
		// 2 of 5 positive overall: (1/1) / (2/5) = 2.5.
		{"top is positive", []int{90, 50}, []int{70, 30, 42}, 2.5, true},
		{"top is negative", []int{10, 50}, []int{80, 90, 40}, 0, true},
		// 20 contacts, top 2: scores 99 (pos) and 98 (neg) → ½ / (4/20) = 2.5.
		{"twenty", []int{99, 10, 11, 12}, []int{98, 1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 14, 15, 16, 17, 18}, 2.5, true},
		// 10 contacts all at 50, 3 positive: the one in the decile is 3/10
		// positive in expectation, lift 1 — a tie does not pick a side.
		{"all tied", []int{50, 50, 50}, []int{50, 50, 50, 50, 50, 50, 50}, 1, true},
		// 10 contacts, top 1 from a tie of two at 80 (one positive): ½ / (1/10) = 5.
		{"tie at the edge", []int{80}, []int{80, 1, 2, 3, 4, 5, 6, 7, 8}, 5, true},
		{"no positives", nil, []int{1}, 0, false},
		{"nobody", nil, nil, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := labelled(tc.pos, tc.neg)
			got, ok := l.TopDecileLift()
			if ok != tc.ok || !near(got, tc.want) {
				t.Errorf("lift = %v, %v; want %v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestKS(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b Scores
		want float64
	}{
		{"same", scores(10, 2, 50, 2), scores(10, 1, 50, 1), 0},
		{"disjoint", scores(10, 3), scores(90, 1), 1},
		// CDFs at 10: a 1/2, b 0; at 50: a 1, b 1/2; at 90: both 1 → ½.
		{"half", scores(10, 1, 50, 1), scores(50, 1, 90, 1), 0.5},
		// a: 0,0,100 ; b: 0,100,100 → at 0: 2/3 vs 1/3.
		{"a third", scores(0, 2, 100, 1), scores(0, 1, 100, 2), 1.0 / 3},
		{"empty", Scores{}, scores(1, 1), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := KS(&tc.a, &tc.b); !near(got, tc.want) {
				t.Errorf("KS = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPSI(t *testing.T) {
	// Half in bin 1, half in bin 5, against all in bin 1:
	// bin 1: (0.5−1)·ln(0.5/1) = 0.5·ln 2; bin 5: (0.5−0.0001)·ln(0.5/0.0001).
	want := 0.5*math.Ln2 + (0.5-psiFloor)*math.Log(0.5/psiFloor)
	for _, tc := range []struct {
		name     string
		exp, act Scores
		want     float64
	}{
		{"same shares", scores(15, 2, 55, 2), scores(12, 1, 58, 1), 0},
		{"moved half", scores(15, 4), scores(10, 1, 19, 1, 50, 2), want},
		{"empty", Scores{}, scores(1, 1), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := PSI(&tc.exp, &tc.act); !near(got, tc.want) {
				t.Errorf("PSI = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestHistogramAndMoments(t *testing.T) {
	h := scores(0, 1, 9, 1, 10, 1, 99, 1, 100, 1)
	if got, want := h.Bins10(), [10]int{2, 1, 0, 0, 0, 0, 0, 0, 0, 2}; got != want {
		t.Errorf("bins %v, want %v", got, want)
	}
	// 2, 4, 4, 4, 5, 5, 7, 9: mean 5, population stddev 2.
	moments := scores(2, 1, 4, 3, 5, 2, 7, 1, 9, 1)
	m, s := moments.MeanStd()
	if !near(m, 5) || !near(s, 2) {
		t.Errorf("mean %v stddev %v, want 5 and 2", m, s)
	}
	if m, s := (&Scores{}).MeanStd(); m != 0 || s != 0 {
		t.Errorf("empty: %v %v", m, s)
	}
}
