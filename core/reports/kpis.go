package reports

import (
	"context"
	"slices"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/customers"
	"github.com/fedele-crm/fedele/core/money"
)

// KPIQuery asks for the KPIs of the months From to To (YYYY-MM), against
// the as many months just before.
type KPIQuery struct {
	From, To string
}

// Count is a figure of the period and of the one before.
type Count struct {
	Current  int64    `json:"current"`
	Previous int64    `json:"previous"`
	Trend    *float64 `json:"trend,omitempty" doc:"(current − previous) / previous; absent when previous is 0."`
}

func countOf(cur, prev int64) Count {
	c := Count{Current: cur, Previous: prev}
	c.Trend = ratio(cur-prev, prev)
	return c
}

// AmountTrend is an amount of the period and of the one before.
type AmountTrend struct {
	Current  ReportAmount `json:"current"`
	Previous ReportAmount `json:"previous"`
	Trend    *float64     `json:"trend,omitempty" doc:"(current − previous) / previous; absent when previous is 0."`
}

// KPIRevenue is one currency's money KPIs.
type KPIRevenue struct {
	Currency   string        `json:"currency"`
	Revenue    AmountTrend   `json:"revenue"`
	Orders     Count         `json:"orders"`
	AOV        *ReportAmount `json:"average_order_value,omitempty" doc:"Of the period; absent without orders."`
	Margin     ReportAmount  `json:"gross_margin" doc:"Of the period, on the lines whose cost is known."`
	MarginRate *float64      `json:"gross_margin_rate,omitempty" doc:"gross_margin / costed revenue; absent when no line was costed."`
	Active     Count         `json:"active_customers" doc:"Distinct customers with an order in this currency."`
}

// CLVQuantiles is the distribution of the customers' lifetime values in
// one currency, as the last CLV fit left them on the profiles.
type CLVQuantiles struct {
	Currency  string       `json:"currency"`
	Customers int64        `json:"customers"`
	P10       ReportAmount `json:"p10"`
	P25       ReportAmount `json:"p25"`
	P50       ReportAmount `json:"p50"`
	P75       ReportAmount `json:"p75"`
	P90       ReportAmount `json:"p90"`
}

// KPISegment is how many customers an RFM segment holds.
type KPISegment struct {
	Segment   string  `json:"segment"`
	Customers int64   `json:"customers"`
	Share     float64 `json:"share" doc:"Of the customers with an RFM segment."`
}

// KPIState is how many customers a lifecycle state holds.
type KPIState struct {
	State     string  `json:"state" doc:"new, active, dormant, inactive or lost."`
	Customers int64   `json:"customers"`
	Share     float64 `json:"share" doc:"Of the customers with a lifecycle state."`
}

// KPIReport is the one summary every team reads.
type KPIReport struct {
	AsOf         *time.Time `json:"as_of,omitempty" doc:"When the snapshot the report reads was built; absent before the first refresh."`
	TimeZone     string     `json:"time_zone,omitempty"`
	From         string     `json:"from"`
	To           string     `json:"to"`
	PreviousFrom string     `json:"previous_from" doc:"The period compared against: as many months, just before."`
	PreviousTo   string     `json:"previous_to"`
	Customers    int64      `json:"customers" doc:"Customers acquired by the end of the period (a first counted order on or before it), in any currency."`
	New          Count      `json:"new_customers"`
	Active       Count      `json:"active_customers" doc:"Distinct customers with a counted order in the period."`
	ActiveShare  *float64   `json:"active_share,omitempty" doc:"active_customers.current / customers."`
	// Retention compares the periods: of the customers active in the one
	// before, the share active again in this one.
	Retained      int64          `json:"retained" doc:"Customers active in the previous period and again in this one."`
	RetentionRate *float64       `json:"retention_rate,omitempty" doc:"retained / active_customers.previous."`
	ChurnRate     *float64       `json:"churn_rate,omitempty" doc:"1 − retention_rate."`
	Revenue       []KPIRevenue   `json:"revenue" doc:"Per currency."`
	CLV           []CLVQuantiles `json:"clv" doc:"Per currency, as on the profiles when the snapshot was built (not per period); quantiles within 1 %."`
	RFM           []KPISegment   `json:"rfm_segments" doc:"As on the profiles when the snapshot was built (not per period), largest first."`
	States        []KPIState     `json:"lifecycle_states" doc:"As on the profiles when the snapshot was built (not per period), in the lifecycle's order: new, active, dormant, inactive, lost."`
}

// KPIs answers the KPIs of the months q.From to q.To.
func (s *Service) KPIs(ctx context.Context, tenant string, q KPIQuery) (KPIReport, error) {
	var p core.Problems
	from, to := monthRange(&p, q.From, q.To)
	if err := p.Err(); err != nil {
		return KPIReport{}, err
	}
	n := to - from + 1
	pf, pt := from-n, from-1
	v, err := s.load(ctx, tenant, func(r PartRef) bool {
		// Every year up to to for the customers acquired by then; the two
		// periods' years for the rest.
		return r.Year <= to.year() && (r.Series == AllCurrencies || r.Year >= pf.year())
	})
	if err != nil {
		return KPIReport{}, err
	}
	out := KPIReport{AsOf: v.asOf(), TimeZone: v.snapshotZone(), From: q.From, To: q.To, PreviousFrom: pf.String(), PreviousTo: pt.String(),
		Revenue: []KPIRevenue{}, CLV: []CLVQuantiles{}, RFM: []KPISegment{}, States: []KPIState{}}
	all := AllCurrencies
	for _, ref := range v.head.Parts {
		if ref.Series != all || ref.Year > to.year() {
			continue
		}
		if part := v.parts[ref]; part != nil {
			for m, prevs := range part.Returns {
				if mm, ok := parseMonth(m); ok && mm <= to {
					out.Customers += prevs[""]
				}
			}
		}
	}
	out.New = countOf(v.newIn(all, from, to), v.newIn(all, pf, pt))
	out.Active = countOf(v.activeIn(all, from, to), v.activeIn(all, pf, pt))
	out.ActiveShare = ratio(out.Active.Current, out.Customers)
	out.Retained = v.retainedIn(all, pf, from, to)
	out.RetentionRate = ratio(out.Retained, out.Active.Previous)
	if out.RetentionRate != nil {
		churn := 1 - *out.RetentionRate
		out.ChurnRate = &churn
	}
	for _, c := range v.currencies("") {
		var cur, prev DayStats
		for m := from; m <= to; m++ {
			cur.add(v.monthDays(c, m))
		}
		for m := pf; m <= pt; m++ {
			prev.add(v.monthDays(c, m))
		}
		kr := KPIRevenue{Currency: c, Orders: countOf(cur.Orders, prev.Orders),
			Revenue: AmountTrend{Current: amountOf(cur.Revenue, c), Previous: amountOf(prev.Revenue, c)},
			Margin:  amountOf(sub(cur.Costed, cur.Cost), c), MarginRate: totalRatio(sub(cur.Costed, cur.Cost), cur.Costed),
			Active: countOf(v.activeIn(c, from, to), v.activeIn(c, pf, pt))}
		if !prev.Revenue.Equal(money.Total{}) {
			kr.Revenue.Trend = totalRatio(sub(cur.Revenue, prev.Revenue), prev.Revenue)
		}
		if cur.Orders > 0 {
			a := amountOf(divRound(cur.Revenue, cur.Orders), c)
			kr.AOV = &a
		}
		out.Revenue = append(out.Revenue, kr)
	}
	var codes []string
	for c := range v.head.CLV {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	for _, c := range codes {
		sk := v.head.CLV[c]
		q := func(f float64) ReportAmount { return amountOf(roundMinor(sk.Quantile(f)), c) }
		out.CLV = append(out.CLV, CLVQuantiles{Currency: c, Customers: sk.Count, P10: q(0.10), P25: q(0.25), P50: q(0.50), P75: q(0.75), P90: q(0.90)})
	}
	var segmented int64
	for _, n := range v.head.RFM {
		segmented += n
	}
	for seg, n := range v.head.RFM {
		out.RFM = append(out.RFM, KPISegment{Segment: seg, Customers: n, Share: float64(n) / float64(segmented)})
	}
	var staged int64
	for _, n := range v.head.States {
		staged += n
	}
	for _, st := range customers.States {
		if n := v.head.States[string(st)]; n > 0 {
			out.States = append(out.States, KPIState{State: string(st), Customers: n, Share: float64(n) / float64(staged)})
		}
	}
	slices.SortFunc(out.RFM, func(a, b KPISegment) int {
		if a.Customers != b.Customers {
			return int(b.Customers - a.Customers)
		}
		if a.Segment < b.Segment {
			return -1
		}
		return 1
	})
	return out, nil
}
