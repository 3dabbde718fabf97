package segments

import (
	"testing"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/customers"
)

func TestCompileAndEvaluate(t *testing.T) {
	now := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	in := Input{
		Contact: core.Contact{Meta: core.Meta{ID: "01J00000000000000000000000", CreatedAt: now.AddDate(0, -1, 0)},
			ContactFields: core.ContactFields{FirstName: "Ada", Tags: []string{"vip"}, Birthday: "1990-06-14",
				Emails:  []core.Email{{Address: "ada@example.com", Primary: true}},
				Consent: &core.Consent{Email: &core.ChannelConsent{Status: core.ConsentGranted}},
				Custom:  map[string]any{"plan": "gold"}}},
		Profile: customers.Profile{Purchases: customers.Purchases{Orders: 3, LastOrderAt: now.AddDate(0, 0, -200),
			Days: []customers.Day{{Date: "2026-05-01", Orders: 2, Categories: []string{"eyewear/sunglasses"}, Amounts: []customers.Amount{{Currency: "EUR", Net: 5000}}}}}},
		Seen: map[string]time.Time{"activity.logged": now.Add(-48 * time.Hour)},
	}
	for _, c := range []struct {
		expr string
		want bool
	}{
		{`"vip" in contact.tags && contact.consent.email`, true},
		{`contact.custom.plan == "gold"`, true},
		{`ordered("eyewear", duration("90d"))`, true},
		{`ordered("eyewear/sunglasses", duration("30d"))`, false},
		{`orders_within(duration("60d")) >= 2`, true},
		{`spent_within("EUR", duration("60d")) == 5000`, true},
		{`did("activity.logged", duration("7d"))`, true},
		{`did("activity.logged", duration("1d"))`, false},
		{`days_since(last_order) > 180`, true},
		{`birthday_in(duration("7d"))`, true},
		{`birthday_in(duration("3d"))`, false},
		{`purchases.orders == 3 && contact.email == "ada@example.com"`, true},
	} {
		p, err := Compile("expression", c.expr)
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		got, err := p.Match(in, now, time.UTC)
		if err != nil || got != c.want {
			t.Errorf("%s = %v, %v; want %v", c.expr, got, err, c.want)
		}
	}
}
