package reports

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/money"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
)

// Range limits: a report reads the parts of the years it spans, and
// answers one bucket per day or month of it.
const (
	MaxMonths = 120
	MaxDays   = 366
)

// ReportAmount is a report's amount in one currency: exact minor units, and
// the same as a decimal for readers whose numbers are float64.
type ReportAmount struct {
	Minor   money.Total `json:"minor"`
	Decimal string      `json:"decimal,omitempty" pattern:"^-?[0-9]+(\\.[0-9]+)?$" doc:"minor as an exact decimal at the currency's ISO 4217 exponent (149.01 EUR, 14901 JPY)."`
}

func amountOf(t money.Total, currency string) ReportAmount {
	a := ReportAmount{Minor: t}
	if digits, ok := money.Digits(currency); ok {
		a.Decimal = t.Decimal(digits)
	}
	return a
}

// divRound is t / n rounded half away from zero, exactly (n > 0).
func divRound(t money.Total, n int64) money.Total {
	x, _ := new(big.Int).SetString(t.String(), 10)
	d := big.NewInt(n)
	q, r := new(big.Int).QuoRem(x, d, new(big.Int))
	if new(big.Int).Abs(new(big.Int).Mul(r, big.NewInt(2))).Cmp(d) >= 0 {
		if x.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	var out money.Total
	_ = out.UnmarshalJSON([]byte(q.String())) // |q| ≤ |t|: it fits
	return out
}

// ratio is a/b, nil when b is 0: a rate of nothing is not 0.
func ratio(a, b int64) *float64 {
	if b == 0 {
		return nil
	}
	r := float64(a) / float64(b)
	return &r
}

func totalRatio(a, b money.Total) *float64 {
	if b.Equal(money.Total{}) {
		return nil
	}
	x, _ := new(big.Float).SetString(a.String())
	y, _ := new(big.Float).SetString(b.String())
	r, _ := new(big.Float).Quo(x, y).Float64()
	return &r
}

func sub(a, b money.Total) money.Total {
	var neg money.Total
	_ = neg.UnmarshalJSON([]byte(new(big.Int).Neg(mustBig(b)).String()))
	return a.Plus(neg)
}

func mustBig(t money.Total) *big.Int {
	x, _ := new(big.Int).SetString(t.String(), 10)
	return x
}

// checkCurrency holds an optional currency to ISO 4217.
func checkCurrency(p *core.Problems, c string) {
	if c == "" {
		return
	}
	if _, ok := money.Digits(c); !ok {
		*p = append(*p, core.FieldError{Path: "currency", Message: "must be an ISO 4217 currency code such as EUR", Value: c})
	}
}

// monthRange reads from and to as months (YYYY-MM), from no later than
// to, at most MaxMonths of them.
func monthRange(p *core.Problems, from, to string) (month, month) {
	f, okf := parseMonthParam(p, "from", from)
	t, okt := parseMonthParam(p, "to", to)
	if okf && okt {
		switch {
		case f > t:
			*p = append(*p, core.FieldError{Path: "from", Message: "must not be after to (" + to + ")", Value: from})
		case int(t-f) >= MaxMonths:
			*p = append(*p, core.FieldError{Path: "to", Message: fmt.Sprintf("must be within %d months of from", MaxMonths), Value: to})
		}
	}
	return f, t
}

func parseMonthParam(p *core.Problems, name, v string) (month, bool) {
	if v == "" {
		*p = append(*p, core.FieldError{Path: name, Message: "is required: a month, YYYY-MM"})
		return 0, false
	}
	m, ok := parseMonth(v)
	if !ok {
		*p = append(*p, core.FieldError{Path: name, Message: "must be a month, YYYY-MM", Value: v})
	}
	return m, ok
}

// dateRange reads from and to as dates (YYYY-MM-DD), at most MaxDays.
func dateRange(p *core.Problems, from, to string) (time.Time, time.Time) {
	var out [2]time.Time
	ok := true
	for i, b := range []struct{ name, v string }{{"from", from}, {"to", to}} {
		if b.v == "" {
			*p = append(*p, core.FieldError{Path: b.name, Message: "is required: a date, YYYY-MM-DD"})
			ok = false
			continue
		}
		d, err := time.Parse(time.DateOnly, b.v)
		if err != nil {
			*p = append(*p, core.FieldError{Path: b.name, Message: "must be a date, YYYY-MM-DD", Value: b.v})
			ok = false
		}
		out[i] = d
	}
	if ok {
		switch {
		case out[0].After(out[1]):
			*p = append(*p, core.FieldError{Path: "from", Message: "must not be after to (" + to + ")", Value: from})
		case out[1].Sub(out[0]) >= MaxDays*24*time.Hour:
			*p = append(*p, core.FieldError{Path: "to", Message: fmt.Sprintf("must be within %d days of from", MaxDays), Value: to})
		}
	}
	return out[0], out[1]
}

// view is the published snapshot's head and the parts a report reads.
type view struct {
	head  Head
	found bool
	parts map[PartRef]*Part
}

// load reads the head and the parts want keeps. Parts of a build that
// expired (no refresh for PartTTL) read as empty.
func (s *Service) load(ctx context.Context, tenant string, want func(PartRef) bool) (view, error) {
	v := view{parts: map[PartRef]*Part{}}
	head, version, err := headDoc.Get(ctx, s.store, headKey(tenant))
	if core.ErrorCode(err) == core.CodeNotFound {
		return v, nil
	}
	if err != nil {
		return v, err
	}
	v.head, v.found = head, version > 0
	var keys []store.Key
	for _, ref := range head.Parts {
		if want(ref) {
			keys = append(keys, partKey(tenant, head.BuildID, ref))
		}
	}
	for chunk := range slices.Chunk(keys, store.MaxBatchGetKeys) {
		items, err := s.store.GetMany(ctx, chunk)
		if err != nil {
			return v, fmt.Errorf("load report parts: %w", record.StoreError(err))
		}
		for _, it := range items {
			p, err := partDoc.Decode(it)
			if err != nil {
				return v, err
			}
			v.parts[PartRef{Series: p.Series, Year: p.Year}] = &p.Part
		}
	}
	return v, nil
}

// currencies are the snapshot's currency series, sorted; only c when set.
func (v view) currencies(c string) []string {
	var out []string
	for _, ref := range v.head.Parts {
		if ref.Series != AllCurrencies && (c == "" || ref.Series == c) && !slices.Contains(out, ref.Series) {
			out = append(out, ref.Series)
		}
	}
	slices.Sort(out)
	return out
}

func (v view) asOf() *time.Time {
	if !v.found {
		return nil
	}
	t := v.head.AsOf
	return &t
}

func (v view) returns(series string, m month) map[string]int64 {
	if p := v.parts[PartRef{Series: series, Year: m.year()}]; p != nil {
		return p.Returns[m.String()]
	}
	return nil
}

func (v view) day(series, date string) DayStats {
	y := dateMonth(date).year()
	if p := v.parts[PartRef{Series: series, Year: y}]; p != nil && p.Days[date] != nil {
		return *p.Days[date]
	}
	return DayStats{}
}

func (v view) cohort(series string, m month) *Cohort {
	if p := v.parts[PartRef{Series: series, Year: m.year()}]; p != nil {
		return p.Cohorts[m.String()]
	}
	return nil
}

// monthDays sums the days of month m.
func (v view) monthDays(series string, m month) DayStats {
	var sum DayStats
	p := v.parts[PartRef{Series: series, Year: m.year()}]
	if p == nil {
		return sum
	}
	prefix := m.String() + "-"
	for d, ds := range p.Days {
		if strings.HasPrefix(d, prefix) {
			sum.add(*ds)
		}
	}
	return sum
}

func (d *DayStats) add(o DayStats) {
	d.Orders += o.Orders
	d.Revenue = d.Revenue.Plus(o.Revenue)
	d.Costed = d.Costed.Plus(o.Costed)
	d.Cost = d.Cost.Plus(o.Cost)
	d.New += o.New
	d.Active += o.Active
}

// activeIn counts the distinct customers active in some month of
// [from, to]: each is counted at the first of them, the one whose
// previous active month is before from (or none).
func (v view) activeIn(series string, from, to month) int64 {
	var n int64
	first := from.String()
	for m := from; m <= to; m++ {
		for prev, c := range v.returns(series, m) {
			if prev < first { // "" sorts first: new customers
				n += c
			}
		}
	}
	return n
}

// retainedIn counts the customers active in [pf, pt] and again in
// [from, to] (pt = from − 1): at their first month of the later range,
// their previous active month is in the earlier one.
func (v view) retainedIn(series string, pf, from, to month) int64 {
	var n int64
	lo, hi := pf.String(), from.String()
	for m := from; m <= to; m++ {
		for prev, c := range v.returns(series, m) {
			if prev >= lo && prev < hi {
				n += c
			}
		}
	}
	return n
}

// newIn counts the customers acquired in [from, to].
func (v view) newIn(series string, from, to month) int64 {
	var n int64
	for m := from; m <= to; m++ {
		n += v.returns(series, m)[""]
	}
	return n
}

func (v view) snapshotZone() string { return v.head.TimeZone }

func yearsWithin(series []string, from, to int) func(PartRef) bool {
	return func(r PartRef) bool {
		return (series == nil || slices.Contains(series, r.Series)) && r.Year >= from && r.Year <= to
	}
}

// roundMinor is a float of minor units as an integer amount.
func roundMinor(v float64) money.Total {
	if math.IsNaN(v) || v <= 0 {
		return money.Total{}
	}
	if v >= math.MaxInt64 {
		return money.TotalOf(math.MaxInt64)
	}
	return money.TotalOf(int64(math.Round(v)))
}
