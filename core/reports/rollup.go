package reports

import (
	"slices"
	"strings"

	"github.com/fedele-crm/fedele/core/customers"
)

// rollup is the parts a build step adds customers into.
type rollup struct {
	parts map[PartRef]*Part
}

// seriesDay is one transaction day of a customer in one series.
type seriesDay struct {
	date              string
	orders            int64
	net, costed, cost int64
	hasMoney          bool
}

// seriesDays are a customer's transaction days per series, oldest first:
// every valid day in AllCurrencies, and in each currency the days with an
// amount in it.
//
// A day's Orders are not split by currency in the profile; a day in one
// currency has them all, and a day in several (one customer paying in two
// currencies on one day) gives one order to each currency but the first
// in code order, which has the rest — so the orders of every series still
// add up to the customer's.
func seriesDays(p customers.Profile) map[string][]seriesDay {
	out := map[string][]seriesDay{}
	days := slices.Clone(p.Purchases.Days)
	slices.SortStableFunc(days, func(a, b customers.Day) int { return strings.Compare(a.Date, b.Date) })
	for i, d := range days {
		if !validDate(d.Date) || d.Orders <= 0 || i > 0 && days[i-1].Date == d.Date {
			continue // a malformed or repeated day is not a transaction day
		}
		out[AllCurrencies] = append(out[AllCurrencies], seriesDay{date: d.Date, orders: int64(d.Orders)})
		byCur := map[string]*seriesDay{}
		var codes []string
		for _, a := range d.Amounts {
			if !validCode(a.Currency) {
				continue // counted over every currency only
			}
			sd := byCur[a.Currency]
			if sd == nil {
				sd = &seriesDay{date: d.Date, hasMoney: true}
				byCur[a.Currency] = sd
				codes = append(codes, a.Currency)
			}
			sd.net += a.Net
			sd.costed += a.Costed
			sd.cost += a.Cost
		}
		slices.Sort(codes)
		for j, c := range codes {
			sd := byCur[c]
			sd.orders = 1
			if j == 0 {
				sd.orders = max(1, int64(d.Orders)-int64(len(codes)-1))
			}
			out[c] = append(out[c], *sd)
		}
	}
	return out
}

// touches lists the parts a customer adds to: per series, the year of
// its cohort and of every day.
func touches(sd map[string][]seriesDay) []PartRef {
	var refs []PartRef
	for s, days := range sd {
		for _, d := range days {
			r := PartRef{Series: s, Year: dateMonth(d.date).year()}
			if !slices.Contains(refs, r) {
				refs = append(refs, r)
			}
		}
	}
	return refs
}

func (r *rollup) part(ref PartRef) *Part {
	p := r.parts[ref]
	if p == nil {
		p = &Part{Series: ref.Series, Year: ref.Year}
		r.parts[ref] = p
	}
	return p
}

// add adds one customer's days of every series. The parts it touches
// must be loaded (or new) in r.
func (r *rollup) add(sd map[string][]seriesDay) {
	for s, days := range sd {
		if len(days) == 0 {
			continue
		}
		cohortMonth := dateMonth(days[0].date)
		cp := r.part(PartRef{Series: s, Year: cohortMonth.year()})
		if cp.Cohorts == nil {
			cp.Cohorts = map[string]*Cohort{}
		}
		row := cp.Cohorts[cohortMonth.String()]
		if row == nil {
			row = &Cohort{Cells: map[int]*Cell{}}
			cp.Cohorts[cohortMonth.String()] = row
		}
		row.Size++
		cell := func(m month) *Cell {
			c := row.Cells[int(m-cohortMonth)]
			if c == nil {
				c = &Cell{}
				row.Cells[int(m-cohortMonth)] = c
			}
			return c
		}
		if len(days) > 1 {
			cell(dateMonth(days[1].date)).Repeat++
		}
		prev := ""
		for i, d := range days {
			m := dateMonth(d.date)
			p := r.part(PartRef{Series: s, Year: m.year()})
			if p.Days == nil {
				p.Days = map[string]*DayStats{}
			}
			ds := p.Days[d.date]
			if ds == nil {
				ds = &DayStats{}
				p.Days[d.date] = ds
			}
			ds.Orders += d.orders
			ds.Active++
			if i == 0 {
				ds.New++
			}
			c := cell(m)
			c.Orders += d.orders
			if d.hasMoney {
				ds.Revenue = ds.Revenue.Add(d.net)
				ds.Costed = ds.Costed.Add(d.costed)
				ds.Cost = ds.Cost.Add(d.cost)
				c.Revenue = c.Revenue.Add(d.net)
			}
			if ms := m.String(); ms != prev {
				// The first day of a month the customer is active in.
				c.Active++
				if p.Returns == nil {
					p.Returns = map[string]map[string]int64{}
				}
				if p.Returns[ms] == nil {
					p.Returns[ms] = map[string]int64{}
				}
				p.Returns[ms][prev]++
				prev = ms
			}
		}
	}
}
