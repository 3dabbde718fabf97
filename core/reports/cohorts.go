package reports

import (
	"context"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/money"
)

// CohortQuery asks for the acquisition cohorts of From to To (months,
// YYYY-MM), in one currency or (Currency empty) over all of them, without
// revenue.
type CohortQuery struct {
	From, To, Currency string
}

// CohortCell is one month of a cohort.
type CohortCell struct {
	MonthsSince     int           `json:"months_since" doc:"0 is the month of acquisition."`
	Month           string        `json:"month" doc:"YYYY-MM, in the tenant's time zone."`
	Active          int64         `json:"active" doc:"Customers of the cohort with a counted order that month."`
	Share           float64       `json:"share" doc:"active / the cohort's size."`
	Orders          int64         `json:"orders"`
	Revenue         *ReportAmount `json:"revenue,omitempty" doc:"What the cohort's customers spent that month, net of refunds; with a currency only."`
	RevenueShare    *float64      `json:"revenue_share,omitempty" doc:"revenue / the revenue of month 0; with a currency only."`
	SecondPurchases int64         `json:"second_purchases" doc:"Customers of the cohort whose second transaction day fell that month."`
}

// CohortRow is one acquisition cohort: the customers whose first counted
// order (in the currency, with one) fell in its month, and every month
// since, up to the snapshot's.
type CohortRow struct {
	Cohort string       `json:"cohort" doc:"YYYY-MM."`
	Size   int64        `json:"size"`
	Cells  []CohortCell `json:"cells"`
}

// CohortReport is the retention matrix.
type CohortReport struct {
	AsOf     *time.Time  `json:"as_of,omitempty" doc:"When the snapshot the report reads was built; absent before the first refresh."`
	TimeZone string      `json:"time_zone,omitempty" doc:"The zone the snapshot's days and months are in."`
	Currency string      `json:"currency,omitempty"`
	From     string      `json:"from"`
	To       string      `json:"to"`
	Cohorts  []CohortRow `json:"cohorts"`
}

// Cohorts answers the retention matrix of the cohorts acquired from
// q.From to q.To. A cohort's cells run to the snapshot's month (in the
// tenant's zone), zeros included; months without a cohort have no row.
func (s *Service) Cohorts(ctx context.Context, tenant string, q CohortQuery) (CohortReport, error) {
	var p core.Problems
	from, to := monthRange(&p, q.From, q.To)
	checkCurrency(&p, q.Currency)
	if err := p.Err(); err != nil {
		return CohortReport{}, err
	}
	series := q.Currency
	v, err := s.load(ctx, tenant, yearsWithin([]string{series}, from.year(), to.year()))
	if err != nil {
		return CohortReport{}, err
	}
	out := CohortReport{AsOf: v.asOf(), TimeZone: v.snapshotZone(), Currency: q.Currency, From: q.From, To: q.To, Cohorts: []CohortRow{}}
	if !v.found {
		return out, nil
	}
	last := dateMonth(v.head.Today)
	for m := from; m <= to && m <= last; m++ {
		c := v.cohort(series, m)
		if c == nil || c.Size == 0 {
			continue
		}
		row := CohortRow{Cohort: m.String(), Size: c.Size, Cells: []CohortCell{}}
		var base money.Total
		if c0 := c.Cells[0]; c0 != nil {
			base = c0.Revenue
		}
		for k := 0; m+month(k) <= last; k++ {
			cell := Cell{}
			if c.Cells[k] != nil {
				cell = *c.Cells[k]
			}
			cc := CohortCell{MonthsSince: k, Month: (m + month(k)).String(), Active: cell.Active, Share: float64(cell.Active) / float64(c.Size),
				Orders: cell.Orders, SecondPurchases: cell.Repeat}
			if series != AllCurrencies {
				a := amountOf(cell.Revenue, series)
				cc.Revenue = &a
				cc.RevenueShare = totalRatio(cell.Revenue, base)
			}
			row.Cells = append(row.Cells, cc)
		}
		out.Cohorts = append(out.Cohorts, row)
	}
	return out, nil
}
