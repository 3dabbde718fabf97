package customers

import (
	"math"
	"slices"
	"time"

	"github.com/fedele-crm/fedele/core/money"
)

// RFM scores: recency, frequency and monetary value, 1–5 each, by
// quintiles of the tenant's customers.
//
// Inputs (Summary, from a profile's transaction days and nothing else):
//   - recency: whole days from the last transaction day to the as-of day,
//     both in the tenant's time zone (0 for a purchase today; never negative);
//   - frequency: the number of transaction days (orders of one day are one
//     transaction, as the BTYD models count);
//   - monetary: the net revenue (refunds off) in the customer's main
//     currency.
//
// Currencies are not comparable, so monetary quintiles are computed per
// currency, among the customers whose main currency it is: the currency of
// most of their transaction days, ties to the alphabetically first code. A
// customer's amounts in other currencies do not count towards M (they do
// towards F and R).
//
// The tie rule (RankScore): a value scores 1 + ⌊5·below/N⌋, where below is
// the number of customers with a strictly smaller value and N the
// customers ranked — the percentile of the value's first occurrence (SQL
// RANK()−1 over N, pandas rank(method="min")). Equal values always get
// the same score, and a heavy tie goes to the bin its first member falls
// in: the lower one. Without ties and with N a multiple of 5 it is exactly
// NTILE(5). Recency is scored on days ascending and reversed (R = 6 −
// score), so the most recent buyers always get R = 5, one-time buyers
// always F = 1 and the smallest spenders M = 1, however many share those
// values; the price is that a top tie may never reach 5 (when more than a
// fifth of the customers share the highest frequency, nobody gets F = 5).
// Midrank percentiles were the alternative: symmetric, but they give the
// 60% of customers who bought once F = 2 and leave F = 1 empty, which
// reads wrong in every segment map. Small tenants need no special case:
// one customer is R5 F1 M1; with fewer than five customers some scores
// stay unused.

// Summary is one customer's RFM inputs at an as-of day.
type Summary struct {
	Recency   int64  `json:"recency_days"`
	Frequency int64  `json:"frequency"`
	Currency  string `json:"currency,omitempty"`
	Monetary  int64  `json:"monetary"`
}

// SummaryOf is a profile's RFM inputs at the as-of day asOf
// ("2006-01-02", in the tenant's zone, as the days are); false when the
// profile has no transaction day (a contact whose orders were all
// cancelled or refunded is not a customer).
func SummaryOf(p *Profile, asOf string) (Summary, bool) {
	var s Summary
	last := ""
	var curs []currencyTotal
	for _, d := range p.Purchases.Days {
		if d.Orders <= 0 {
			continue
		}
		s.Frequency++
		if d.Date > last {
			last = d.Date
		}
		for _, a := range d.Amounts {
			i := slices.IndexFunc(curs, func(c currencyTotal) bool { return c.code == a.Currency })
			if i < 0 {
				curs = append(curs, currencyTotal{code: a.Currency})
				i = len(curs) - 1
			}
			curs[i].days++
			if sum, ok := money.Add(curs[i].net, a.Net); ok {
				curs[i].net = sum
			} else if a.Net > 0 {
				curs[i].net = math.MaxInt64 // a rank, not a ledger: saturate
			} else {
				curs[i].net = math.MinInt64
			}
		}
	}
	if s.Frequency == 0 {
		return s, false
	}
	best := -1
	for i, c := range curs {
		if best < 0 || c.days > curs[best].days || c.days == curs[best].days && c.code < curs[best].code {
			best = i
		}
	}
	if best >= 0 {
		s.Currency, s.Monetary = curs[best].code, max(curs[best].net, 0)
	}
	s.Recency = max(daysBetween(last, asOf), 0)
	return s, true
}

type currencyTotal struct {
	code string
	days int
	net  int64
}

// daysBetween is the whole days from a to b (dates "2006-01-02"); a date
// that does not parse counts as b (recency 0): the profile's writer
// checks its dates.
func daysBetween(a, b string) int64 {
	ta, err1 := time.Parse(time.DateOnly, a)
	tb, err2 := time.Parse(time.DateOnly, b)
	if err1 != nil || err2 != nil {
		return 0
	}
	return int64(tb.Sub(ta).Hours()) / 24
}

// Scores are a customer's R, F and M, 1–5 each.
type Scores struct{ R, F, M int }

// NoCut marks a score that no value of the distribution reaches.
const NoCut = math.MaxInt64

// Cuts are where scores begin over one dimension's raw values, ascending:
// Cuts[k] is the smallest value scoring k+2 (k = 0..3), NoCut when none
// does. A value scores 1 + the number of cuts at or below it, so a job can
// score a value its distribution never saw (a profile that changed between
// the passes) and still agree with RankScore on every value it did.
type Cuts [4]int64

// Score is v's score, 1–5.
func (c Cuts) Score(v int64) int {
	s := 1
	for _, cut := range c {
		if v >= cut {
			s++
		}
	}
	return s
}

// RankScore is the score of a value with below customers strictly under
// it among n: 1 + ⌊5·below/n⌋.
func RankScore(below, n int64) int { return 1 + int(5*below/n) }

// ValueCount is one distinct value of a distribution and how many
// customers have it.
type ValueCount struct {
	Value int64 `json:"v"`
	Count int64 `json:"n"`
}

// CutsOfHistogram are the cuts of a distribution given as its distinct
// values, ascending, with their counts.
func CutsOfHistogram(h []ValueCount) Cuts {
	c := Cuts{NoCut, NoCut, NoCut, NoCut}
	var n, below int64
	for _, vc := range h {
		n += vc.Count
	}
	for _, vc := range h {
		for s := RankScore(below, n); s >= 2 && c[s-2] == NoCut; s-- {
			c[s-2] = vc.Value
		}
		below += vc.Count
	}
	return c
}

// CutsOfSorted are the cuts of a distribution given as every customer's
// value, sorted ascending.
func CutsOfSorted(vals []int64) Cuts {
	c := Cuts{NoCut, NoCut, NoCut, NoCut}
	n := int64(len(vals))
	for i, v := range vals {
		if i > 0 && vals[i-1] == v {
			continue // a tie scores as its first occurrence
		}
		for s := RankScore(int64(i), n); s >= 2 && c[s-2] == NoCut; s-- {
			c[s-2] = v
		}
	}
	return c
}

// Model is a tenant's cut points: recency (days, scored ascending then
// reversed), frequency, and monetary per currency.
type Model struct {
	Recency   Cuts            `json:"recency"`
	Frequency Cuts            `json:"frequency"`
	Monetary  map[string]Cuts `json:"monetary"`
}

// Score is a summary's scores under m. A currency m does not know (a
// customer whose main currency changed after the distributions were
// taken) scores M = 1: it has no peers to rank among yet.
func (m *Model) Score(s Summary) Scores {
	out := Scores{R: 6 - m.Recency.Score(s.Recency), F: m.Frequency.Score(s.Frequency), M: 1}
	if c, ok := m.Monetary[s.Currency]; ok {
		out.M = c.Score(s.Monetary)
	}
	return out
}

// ModelOf builds the model of a set of summaries: one sort of each
// dimension's int64 values (monetary grouped by currency), then cut points.
func ModelOf(sums []Summary) Model {
	r, f := make([]int64, len(sums)), make([]int64, len(sums))
	byCur := map[string][]int64{}
	for i, s := range sums {
		r[i], f[i] = s.Recency, s.Frequency
		byCur[s.Currency] = append(byCur[s.Currency], s.Monetary)
	}
	slices.Sort(r)
	slices.Sort(f)
	m := Model{Recency: CutsOfSorted(r), Frequency: CutsOfSorted(f), Monetary: make(map[string]Cuts, len(byCur))}
	for cur, vals := range byCur {
		slices.Sort(vals)
		m.Monetary[cur] = CutsOfSorted(vals)
	}
	return m
}

// ScoreAll scores every summary among the others: the pure function the
// job computes in passes over the store.
func ScoreAll(sums []Summary) []Scores {
	m := ModelOf(sums)
	out := make([]Scores, len(sums))
	for i, s := range sums {
		out[i] = m.Score(s)
	}
	return out
}
