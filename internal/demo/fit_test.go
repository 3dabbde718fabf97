package demo

import (
	"math"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/core/btyd"
)

// The walk-through shows a CLV fit of what the generator makes: both models
// must converge on it, and BG/NBD must find roughly the parameters the
// customers were drawn from (the generator is BG/NBD's story; Gamma-Gamma's
// spend is baskets of catalogue items, so only its fit is checked).
func TestTheGeneratedYearIsFittable(t *testing.T) {
	from := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)
	p := Defaults(2000, from, from.AddDate(1, 0, 0))
	type buyer struct {
		days  map[string]bool
		first time.Time
		last  time.Time
		spend float64
	}
	buyers := map[string]*buyer{}
	for _, o := range Orders(p) {
		b := buyers[o.Email]
		if b == nil {
			b = &buyer{days: map[string]bool{}, first: o.PlacedAt}
			buyers[o.Email] = b
		}
		day := o.PlacedAt.Format(time.DateOnly)
		if !b.days[day] && len(b.days) > 0 {
			for _, l := range o.Lines {
				b.spend += float64(l.Quantity * l.UnitPrice)
			}
		}
		b.days[day] = true
		if o.PlacedAt.After(b.last) {
			b.last = o.PlacedAt
		}
	}
	var cs []btyd.Customer
	for _, b := range buyers {
		c := btyd.Customer{X: float64(len(b.days) - 1), T: p.To.Sub(b.first).Hours() / 24}
		if c.X > 0 {
			c.TX, c.Spend = b.last.Sub(b.first).Hours()/24, b.spend/c.X
		}
		cs = append(cs, c)
	}
	s, err := btyd.Summarize(cs)
	if err != nil {
		t.Fatal(err)
	}
	bg, err := btyd.FitBGNBD(s, btyd.Options{})
	if err != nil || !bg.Converged {
		t.Fatalf("BG/NBD: %+v %v", bg, err)
	}
	gg, err := btyd.FitGammaGamma(s, btyd.Options{})
	if err != nil || !gg.Converged {
		t.Fatalf("Gamma-Gamma: %+v %v", gg, err)
	}
	// Within 35 % of the truth on 2 000 customers and one year (it lands within 15 %).
	m := bg.Model
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"r", m.R, p.R}, {"alpha", m.Alpha, p.Alpha}, {"a", m.A, p.A}, {"b", m.B, p.B}} {
		if r := c.got / c.want; math.Abs(math.Log(r)) > math.Log(1.35) {
			t.Errorf("BG/NBD %s = %.3g, drawn from %.3g", c.name, c.got, c.want)
		}
	}
	t.Logf("BG/NBD %+v; Gamma-Gamma %+v", bg, gg)
}
