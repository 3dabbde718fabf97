package btyd

import (
	"cmp"
	"math"
	"slices"
)

// Row is one distinct (X, TX, T) and how many customers have it.
type Row struct {
	X     float64 `json:"x"`
	TX    float64 `json:"tx"`
	T     float64 `json:"t"`
	Count int     `json:"n"`
}

// SpendRow is one distinct (X, Spend) of customers with a repeat
// transaction, and how many customers have it.
type SpendRow struct {
	X     float64 `json:"x"`
	Spend float64 `json:"m"`
	Count int     `json:"n"`
}

// Summary is customers compressed for fitting: BG/NBD needs only how many
// customers share each (X, TX, T), Gamma-Gamma each (X, Spend). Its zero
// value is empty and ready; Add and Merge keep it compressed.
type Summary struct {
	Rows  []Row      `json:"rows,omitempty"`
	Spend []SpendRow `json:"spend,omitempty"`

	rows  map[Row]int // index of a (X, TX, T) with Count 0 in Rows
	spend map[SpendRow]int
}

// Summarize compresses customers.
func Summarize(cs []Customer) (Summary, error) {
	var s Summary
	for _, c := range cs {
		if err := s.Add(c); err != nil {
			return Summary{}, err
		}
	}
	return s, nil
}

// Add counts one customer. Its Spend counts for Gamma-Gamma only when X > 0
// and Spend > 0.
func (s *Summary) Add(c Customer) error {
	if err := c.check(); err != nil {
		return err
	}
	s.addRow(Row{X: c.X, TX: c.TX, T: c.T, Count: 1})
	if c.X > 0 && c.Spend > 0 && !math.IsInf(c.Spend, 0) {
		s.addSpend(SpendRow{X: c.X, Spend: c.Spend, Count: 1})
	}
	return nil
}

// Merge adds o's customers to s.
func (s *Summary) Merge(o Summary) error {
	for _, r := range o.Rows {
		if err := (Customer{X: r.X, TX: r.TX, T: r.T}).check(); err != nil || r.Count < 0 {
			return cmp.Or(err, errNegativeCount)
		}
		s.addRow(r)
	}
	for _, r := range o.Spend {
		if !(r.X > 0) || !(r.Spend > 0) || r.Count < 0 || math.IsInf(r.Spend, 0) {
			return errBadSpendRow
		}
		s.addSpend(r)
	}
	return nil
}

func (s *Summary) addRow(r Row) {
	if s.rows == nil {
		s.rows = make(map[Row]int, len(s.Rows))
		for i, o := range s.Rows {
			o.Count = 0
			s.rows[o] = i
		}
	}
	k := r
	k.Count = 0
	if i, ok := s.rows[k]; ok {
		s.Rows[i].Count += r.Count
		return
	}
	s.rows[k] = len(s.Rows)
	s.Rows = append(s.Rows, r)
}

func (s *Summary) addSpend(r SpendRow) {
	if s.spend == nil {
		s.spend = make(map[SpendRow]int, len(s.Spend))
		for i, o := range s.Spend {
			o.Count = 0
			s.spend[o] = i
		}
	}
	k := r
	k.Count = 0
	if i, ok := s.spend[k]; ok {
		s.Spend[i].Count += r.Count
		return
	}
	s.spend[k] = len(s.Spend)
	s.Spend = append(s.Spend, r)
}

// Sort orders the rows, so that a summary's encoding does not depend on
// the order customers were added in.
func (s *Summary) Sort() {
	slices.SortFunc(s.Rows, func(a, b Row) int {
		return cmp.Or(cmp.Compare(a.X, b.X), cmp.Compare(a.T, b.T), cmp.Compare(a.TX, b.TX))
	})
	slices.SortFunc(s.Spend, func(a, b SpendRow) int {
		return cmp.Or(cmp.Compare(a.X, b.X), cmp.Compare(a.Spend, b.Spend))
	})
	s.rows, s.spend = nil, nil
}

// Customers is how many customers the summary counts, and how many of them
// bought again.
func (s Summary) Customers() (customers, repeaters int) {
	for _, r := range s.Rows {
		customers += r.Count
		if r.X > 0 {
			repeaters += r.Count
		}
	}
	return customers, repeaters
}

// SpendCustomers is how many customers count for Gamma-Gamma.
func (s Summary) SpendCustomers() int {
	n := 0
	for _, r := range s.Spend {
		n += r.Count
	}
	return n
}
