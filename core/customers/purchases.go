package customers

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/commerce"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/money"
	"github.com/fedele-crm/fedele/core/record"
)

// Bounds of a profile, so that it stays well within DynamoDB's 400 KB
// item: a transaction day takes about 90-150 bytes, so MaxDays of them
// take about 200-300 KB. Past MaxDays the oldest days are folded
// (Purchases.Earlier): still counted, no longer listed. Past MaxCategories
// distinct categories, a new category is not tracked (the order still
// counts).
const (
	MaxDays       = 2000
	MaxCategories = 200
)

// entry is what one counted order adds to its contact's summary. It is
// kept twice: in the order's contribution (to know what to take away when
// the order changes) and in the contact's purchase partition (to recompute
// a day, or the first and last order, from the few entries concerned).
type entry struct {
	OrderID    string    `json:"order_id"`
	PlacedAt   time.Time `json:"placed_at"`
	Date       string    `json:"date"` // in the tenant's zone when it was counted
	Currency   string    `json:"currency"`
	Net        int64     `json:"net"`
	Costed     int64     `json:"costed,omitempty"`
	Cost       int64     `json:"cost,omitempty"`
	Categories []string  `json:"categories,omitempty"` // distinct, sorted
}

// contribution is what an order adds to its contact's summary now: the
// order version it reflects, and its entry when it counts.
type contribution struct {
	OrderID   string `json:"order_id"`
	ContactID string `json:"contact_id"`
	Version   int64  `json:"version"`
	Entry     *entry `json:"entry,omitempty"`
}

var (
	contributionDoc = record.Doc[contribution]{Name: "order contribution"}
	entryDoc        = record.Doc[entry]{Name: "purchase entry"}
	tombstoneDoc    = record.Doc[tombstone]{Name: "customer tombstone"}
)

// tombstone marks a deleted contact: its order events change nothing.
type tombstone struct {
	ContactID string    `json:"contact_id"`
	At        time.Time `json:"at"`
}

func sortTime(t time.Time) string { return record.SortTime(t) }

// entryOf is what o adds to its contact's summary, nil when it does not
// count. Days are in loc; a fully refunded line's category is not bought.
func entryOf(o commerce.Order, loc *time.Location) *entry {
	if !o.Counts() {
		return nil
	}
	costed, cost := o.Margin()
	e := &entry{OrderID: o.ID, PlacedAt: o.PlacedAt.UTC(), Date: o.PlacedAt.In(loc).Format(time.DateOnly),
		Currency: o.Currency, Net: o.Net(), Costed: costed, Cost: cost}
	for _, l := range o.Lines {
		if c := strings.TrimSpace(l.Category); c != "" && l.Refunded < l.Gross() && !slices.Contains(e.Categories, c) {
			e.Categories = append(e.Categories, c)
		}
	}
	slices.Sort(e.Categories)
	return e
}

// dayEntries reads the entries of a contact's day, consistently.
type dayEntries func(ctx context.Context, contactID, date string) ([]entry, error)

// ends reads a contact's first or last entry by (date, time), skipping
// the key being removed.
type ends func(ctx context.Context, contactID string, desc bool, skip string) (*entry, error)

// change is one profile's part of an order event: an entry to take away,
// one to add (either may be nil).
type change struct {
	removed, added *entry
}

// apply changes p's purchases by c. It is exact: totals move by the
// difference, and the days and ends touched are recomputed from the
// contact's entries (read, less the removed entry, plus the added one).
func apply(ctx context.Context, p *Purchases, contactID string, c change, days dayEntries, end ends) error {
	r, a := c.removed, c.added
	if r != nil {
		if err := p.count(r, -1); err != nil {
			return err
		}
	}
	if a != nil {
		if err := p.count(a, +1); err != nil {
			return err
		}
	}
	dates := []string{}
	if r != nil {
		dates = append(dates, r.Date)
	}
	if a != nil && (r == nil || a.Date != r.Date) {
		dates = append(dates, a.Date)
	}
	for _, d := range dates {
		es, err := days(ctx, contactID, d)
		if err != nil {
			return err
		}
		before := len(es) > 0
		es = slices.DeleteFunc(es, func(e entry) bool {
			return r != nil && e.OrderID == r.OrderID || a != nil && e.OrderID == a.OrderID
		})
		if a != nil && a.Date == d {
			es = append(es, *a)
		}
		p.setDay(d, es, before)
	}
	p.fold()
	return p.ends(ctx, contactID, c, end)
}

// count adds (sign +1) or takes away (-1) one order's totals.
func (p *Purchases) count(e *entry, sign int) error {
	p.Orders += sign
	i := slices.IndexFunc(p.Revenue, func(r Revenue) bool { return r.Currency == e.Currency })
	if i < 0 {
		p.Revenue = append(p.Revenue, Revenue{Currency: e.Currency})
		slices.SortFunc(p.Revenue, func(a, b Revenue) int { return strings.Compare(a.Currency, b.Currency) })
		i = slices.IndexFunc(p.Revenue, func(r Revenue) bool { return r.Currency == e.Currency })
	}
	rv := &p.Revenue[i]
	amount, ok := money.Add(rv.Amount, int64(sign)*e.Net)
	if !ok {
		return fmt.Errorf("revenue of %s overflows int64", e.Currency)
	}
	rv.Amount, rv.Orders = amount, rv.Orders+sign
	rv.Average = average(rv.Amount, rv.Orders)
	if rv.Orders <= 0 {
		p.Revenue = slices.Delete(p.Revenue, i, i+1)
	}
	for _, c := range e.Categories {
		if sign > 0 && p.CategoryOrders[c] == 0 && len(p.CategoryOrders) >= MaxCategories {
			continue
		}
		if p.CategoryOrders == nil {
			p.CategoryOrders = map[string]int{}
		}
		if p.CategoryOrders[c] += sign; p.CategoryOrders[c] <= 0 {
			delete(p.CategoryOrders, c)
		}
	}
	p.Categories = slices.Sorted(maps.Keys(p.CategoryOrders))
	if len(p.CategoryOrders) == 0 {
		p.CategoryOrders, p.Categories = nil, nil
	}
	return nil
}

// average is amount / orders rounded half away from zero.
func average(amount int64, orders int) int64 {
	if orders <= 0 {
		return 0
	}
	n := int64(orders)
	q, r := amount/n, amount%n
	if r < 0 {
		r = -r
	}
	if r*2 >= n { // r < n, so 2r cannot overflow for n < 2^62
		if amount < 0 {
			q--
		} else {
			q++
		}
	}
	return q
}

// setDay makes date's day what es says (no entries: no day). before says
// whether the day had entries before the change, for a folded day.
func (p *Purchases) setDay(date string, es []entry, before bool) {
	if p.Earlier != nil && date <= p.Earlier.Through {
		switch {
		case before && len(es) == 0:
			p.Earlier.Days--
		case !before && len(es) > 0:
			p.Earlier.Days++
		}
		p.recount()
		return
	}
	i, found := slices.BinarySearchFunc(p.Days, date, func(d Day, date string) int { return strings.Compare(d.Date, date) })
	if len(es) == 0 {
		if found {
			p.Days = slices.Delete(p.Days, i, i+1)
		}
		p.recount()
		return
	}
	d := Day{Date: date, Orders: len(es)}
	for _, e := range es {
		j := slices.IndexFunc(d.Amounts, func(a Amount) bool { return a.Currency == e.Currency })
		if j < 0 {
			d.Amounts = append(d.Amounts, Amount{Currency: e.Currency})
			j = len(d.Amounts) - 1
		}
		d.Amounts[j].Net += e.Net
		d.Amounts[j].Costed += e.Costed
		d.Amounts[j].Cost += e.Cost
		for _, c := range e.Categories {
			if !slices.Contains(d.Categories, c) {
				d.Categories = append(d.Categories, c)
			}
		}
	}
	slices.SortFunc(d.Amounts, func(a, b Amount) int { return strings.Compare(a.Currency, b.Currency) })
	slices.Sort(d.Categories)
	if found {
		p.Days[i] = d
	} else {
		p.Days = slices.Insert(p.Days, i, d)
	}
	p.recount()
}

func (p *Purchases) recount() {
	p.TransactionDays = len(p.Days)
	if p.Earlier != nil {
		p.TransactionDays += p.Earlier.Days
	}
}

// fold takes the oldest days out of Days past MaxDays.
func (p *Purchases) fold() {
	if len(p.Days) <= MaxDays {
		return
	}
	n := len(p.Days) - MaxDays
	if p.Earlier == nil {
		p.Earlier = &Folded{}
	}
	p.Earlier.Days += n
	p.Earlier.Through = p.Days[n-1].Date
	p.Days = slices.Delete(p.Days, 0, n)
	p.recount()
}

// ends keeps FirstOrderAt and LastOrderAt: the added entry can only move
// them outwards; a removed entry that was an end sends us to the contact's
// entries (as stored before this change, less the removed one) for the
// next one.
func (p *Purchases) ends(ctx context.Context, contactID string, c change, end ends) error {
	if p.Orders <= 0 {
		p.Orders, p.FirstOrderAt, p.LastOrderAt = 0, time.Time{}, time.Time{}
		return nil
	}
	for _, desc := range []bool{false, true} {
		at := &p.FirstOrderAt
		if desc {
			at = &p.LastOrderAt
		}
		if r := c.removed; r != nil && (r.PlacedAt.Equal(*at) || at.IsZero()) {
			e, err := end(ctx, contactID, desc, entrySK(*r))
			if err != nil {
				return err
			}
			*at = time.Time{}
			if e != nil {
				*at = e.PlacedAt
			}
		}
		if a := c.added; a != nil && (at.IsZero() || !desc && a.PlacedAt.Before(*at) || desc && a.PlacedAt.After(*at)) {
			*at = a.PlacedAt
		}
	}
	return nil
}

// orderEvent decodes the order an order event carries; ok is false for an
// event that names no order or no buyer (nothing to count).
func orderEvent(ev events.Envelope) (commerce.Order, bool) {
	var o commerce.Order
	if err := json.Unmarshal(ev.Detail.Entity.Data, &o); err != nil {
		return o, false
	}
	if o.ID == "" {
		o.ID = ev.Detail.Entity.ID
	}
	return o, o.ID != "" && o.ContactID != "" && o.Version > 0 && core.ValidID(o.ContactID)
}
