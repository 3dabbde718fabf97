package reports

import (
	"context"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/money"
)

// Intervals are the buckets of the revenue report.
var Intervals = []string{"day", "month"}

// RevenueQuery asks for revenue from From to To: dates (YYYY-MM-DD) by
// day, months (YYYY-MM) by month; in one currency, or every one.
type RevenueQuery struct {
	From, To, Interval, Currency string
}

// Bucket is one day or month of one currency's revenue.
type Bucket struct {
	Period          string        `json:"period" doc:"The day (YYYY-MM-DD) or month (YYYY-MM) in the tenant's time zone; \"total\" for the whole range."`
	Orders          int64         `json:"orders" doc:"Counted orders: not cancelled, not refunded in full."`
	Revenue         ReportAmount  `json:"revenue" doc:"Net of refunds, tax included."`
	AOV             *ReportAmount `json:"average_order_value,omitempty" doc:"revenue / orders, rounded half away from zero; absent without orders."`
	Costed          ReportAmount  `json:"costed_revenue" doc:"The part of revenue from lines whose unit cost is known."`
	Cost            ReportAmount  `json:"cost" doc:"What those lines cost."`
	Margin          ReportAmount  `json:"gross_margin" doc:"costed_revenue − cost."`
	MarginRate      *float64      `json:"gross_margin_rate,omitempty" doc:"gross_margin / costed_revenue; absent when no line was costed."`
	CostedShare     *float64      `json:"costed_share,omitempty" doc:"costed_revenue / revenue: how much of revenue the margin speaks for."`
	NewCustomers    int64         `json:"new_customers" doc:"Customers whose first order in the currency fell in the period."`
	ActiveCustomers *int64        `json:"active_customers,omitempty" doc:"Distinct customers with an order in the period; absent on the total of a daily report (days do not add into distinct customers)."`
}

// RevenueSeries is one currency's buckets and their total.
type RevenueSeries struct {
	Currency string   `json:"currency"`
	Total    Bucket   `json:"total"`
	Buckets  []Bucket `json:"buckets"`
}

// RevenueReport is revenue per currency.
type RevenueReport struct {
	AsOf       *time.Time      `json:"as_of,omitempty" doc:"When the snapshot the report reads was built; absent before the first refresh."`
	TimeZone   string          `json:"time_zone,omitempty"`
	Interval   string          `json:"interval"`
	From       string          `json:"from"`
	To         string          `json:"to"`
	Currencies []RevenueSeries `json:"currencies"`
}

func bucketOf(period, currency string, d DayStats, active *int64) Bucket {
	b := Bucket{Period: period, Orders: d.Orders, Revenue: amountOf(d.Revenue, currency), Costed: amountOf(d.Costed, currency),
		Cost: amountOf(d.Cost, currency), Margin: amountOf(sub(d.Costed, d.Cost), currency), NewCustomers: d.New, ActiveCustomers: active}
	if d.Orders > 0 {
		a := amountOf(divRound(d.Revenue, d.Orders), currency)
		b.AOV = &a
	}
	b.MarginRate = totalRatio(sub(d.Costed, d.Cost), d.Costed)
	if !d.Costed.Equal(money.Total{}) {
		b.CostedShare = totalRatio(d.Costed, d.Revenue)
	}
	return b
}

// Revenue answers orders, revenue, average order value and gross margin
// per day or month of the range, per currency.
func (s *Service) Revenue(ctx context.Context, tenant string, q RevenueQuery) (RevenueReport, error) {
	var p core.Problems
	var fromY, toY int
	var months [2]month
	var days [2]time.Time
	switch q.Interval {
	case "month":
		months[0], months[1] = monthRange(&p, q.From, q.To)
		fromY, toY = months[0].year(), months[1].year()
	case "day":
		days[0], days[1] = dateRange(&p, q.From, q.To)
		fromY, toY = days[0].Year(), days[1].Year()
	default:
		p = append(p, core.FieldError{Path: "interval", Message: "must be day or month", Value: q.Interval})
	}
	checkCurrency(&p, q.Currency)
	if err := p.Err(); err != nil {
		return RevenueReport{}, err
	}
	v, err := s.load(ctx, tenant, func(r PartRef) bool {
		return r.Series != AllCurrencies && (q.Currency == "" || r.Series == q.Currency) && r.Year >= fromY && r.Year <= toY
	})
	if err != nil {
		return RevenueReport{}, err
	}
	out := RevenueReport{AsOf: v.asOf(), TimeZone: v.snapshotZone(), Interval: q.Interval, From: q.From, To: q.To, Currencies: []RevenueSeries{}}
	for _, c := range v.currencies(q.Currency) {
		rs := RevenueSeries{Currency: c, Buckets: []Bucket{}}
		var total DayStats
		if q.Interval == "month" {
			for m := months[0]; m <= months[1]; m++ {
				d := v.monthDays(c, m)
				d.New = v.newIn(c, m, m)
				active := v.activeIn(c, m, m)
				rs.Buckets = append(rs.Buckets, bucketOf(m.String(), c, d, &active))
				total.add(d)
			}
			active := v.activeIn(c, months[0], months[1])
			rs.Total = bucketOf("total", c, total, &active)
		} else {
			for t := days[0]; !t.After(days[1]); t = t.AddDate(0, 0, 1) {
				date := t.Format(time.DateOnly)
				d := v.day(c, date)
				active := d.Active
				rs.Buckets = append(rs.Buckets, bucketOf(date, c, d, &active))
				total.add(d)
			}
			rs.Total = bucketOf("total", c, total, nil)
		}
		out.Currencies = append(out.Currencies, rs)
	}
	return out, nil
}

// Periods are the retention report's periods.
var Periods = []string{"month"}

// RetentionQuery asks for retention and churn per month from From to To
// (YYYY-MM), in one currency's customers or (empty) all of them.
type RetentionQuery struct {
	From, To, Period, Currency string
}

// RetentionPeriod is one month's retention and churn.
type RetentionPeriod struct {
	Period         string   `json:"period" doc:"YYYY-MM."`
	Active         int64    `json:"active" doc:"Customers with a counted order in the month."`
	New            int64    `json:"new" doc:"Of them, customers whose first order it was."`
	Returning      int64    `json:"returning" doc:"active − new: customers who had bought before."`
	RepeatRate     *float64 `json:"repeat_rate,omitempty" doc:"returning / active."`
	PreviousActive int64    `json:"previous_active" doc:"Customers active in the month before."`
	Retained       int64    `json:"retained" doc:"Customers active in the month before and in this one."`
	Churned        int64    `json:"churned" doc:"previous_active − retained: active the month before, not in this one."`
	RetentionRate  *float64 `json:"retention_rate,omitempty" doc:"retained / previous_active; absent when previous_active is 0."`
	ChurnRate      *float64 `json:"churn_rate,omitempty" doc:"churned / previous_active = 1 − retention_rate; absent when previous_active is 0."`
}

// RetentionReport is churn per month and the repeat-purchase rate.
type RetentionReport struct {
	AsOf     *time.Time `json:"as_of,omitempty" doc:"When the snapshot the report reads was built; absent before the first refresh."`
	TimeZone string     `json:"time_zone,omitempty"`
	Currency string     `json:"currency,omitempty"`
	Period   string     `json:"period"`
	From     string     `json:"from"`
	To       string     `json:"to"`
	// The repeat-purchase rate of the customers acquired in the range.
	Acquired           int64             `json:"acquired" doc:"Customers whose first counted order fell in the range."`
	Repeaters          int64             `json:"repeaters" doc:"Of them, those with a second transaction day by the end of the range (orders on one day are one transaction)."`
	RepeatPurchaseRate *float64          `json:"repeat_purchase_rate,omitempty" doc:"repeaters / acquired; absent when none were acquired."`
	Periods            []RetentionPeriod `json:"periods"`
}

// Retention answers, per month of the range, active, new and returning
// customers and churn against the month before, and the range's
// repeat-purchase rate.
func (s *Service) Retention(ctx context.Context, tenant string, q RetentionQuery) (RetentionReport, error) {
	var p core.Problems
	from, to := monthRange(&p, q.From, q.To)
	if q.Period != "month" {
		p = append(p, core.FieldError{Path: "period", Message: "must be month", Value: q.Period})
	}
	checkCurrency(&p, q.Currency)
	if err := p.Err(); err != nil {
		return RetentionReport{}, err
	}
	series := q.Currency
	v, err := s.load(ctx, tenant, yearsWithin([]string{series}, (from-1).year(), to.year()))
	if err != nil {
		return RetentionReport{}, err
	}
	out := RetentionReport{AsOf: v.asOf(), TimeZone: v.snapshotZone(), Currency: q.Currency, Period: q.Period, From: q.From, To: q.To, Periods: []RetentionPeriod{}}
	for m := from; m <= to; m++ {
		r := RetentionPeriod{Period: m.String(), Active: v.activeIn(series, m, m), New: v.newIn(series, m, m),
			PreviousActive: v.activeIn(series, m-1, m-1), Retained: v.returns(series, m)[(m - 1).String()]}
		r.Returning = r.Active - r.New
		r.Churned = r.PreviousActive - r.Retained
		r.RepeatRate = ratio(r.Returning, r.Active)
		r.RetentionRate = ratio(r.Retained, r.PreviousActive)
		r.ChurnRate = ratio(r.Churned, r.PreviousActive)
		out.Periods = append(out.Periods, r)
		if c := v.cohort(series, m); c != nil {
			out.Acquired += c.Size
			for k, cell := range c.Cells {
				if m+month(k) <= to {
					out.Repeaters += cell.Repeat
				}
			}
		}
	}
	out.RepeatPurchaseRate = ratio(out.Repeaters, out.Acquired)
	return out, nil
}
