package segments

import (
	"errors"
	"strings"
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

// A fault is a 422 at the field, naming the line, column and offset.
func TestCompileErrorsPointAtTheFault(t *testing.T) {
	for _, c := range []struct {
		expr, want string
	}{
		{`purchases.orders > "x"`, `1:18 (offset 17): found no matching overload for '_>_'`},
		{"contact.tags.size() > 1 &&\n  contact.nope == 1", `2:10 (offset 36): undefined field 'nope'`},
		{`ordered(1, duration("90d"))`, `found no matching overload for 'ordered'`},
		{`days_since(last_order) >`, `1:25 (offset 24): Syntax error`},
		{`contact.first_name`, `must be a condition (bool), not string`},
		{`unknown_var == 1`, `undeclared reference to 'unknown_var'`},
	} {
		_, err := Compile("expression", c.expr)
		var ce *core.Error
		if !errors.As(err, &ce) || ce.Code != core.CodeInvalid || len(ce.Fields) != 1 || ce.Fields[0].Path != "expression" {
			t.Errorf("%q: %v, want an invalid expression", c.expr, err)
			continue
		}
		if !strings.Contains(ce.Fields[0].Message, c.want) {
			t.Errorf("%q: %q, want it to contain %q", c.expr, ce.Fields[0].Message, c.want)
		}
	}
}

// An expression whose worst case is expensive is refused when saved.
func TestCostLimitRefusesExpensiveExpressions(t *testing.T) {
	cheap := `contact.tags.exists(t, t.startsWith("vip"))`
	if _, err := Compile("expression", cheap); err != nil {
		t.Fatalf("%s: %v", cheap, err)
	}
	for _, expr := range []string{
		`purchases.categories.all(a, purchases.categories.all(b, purchases.categories.exists(c, a + b == c)))`,
		`contact.custom.all(k, contact.custom.all(j, string(contact.custom[k]).matches(string(contact.custom[j]))))`,
	} {
		_, err := Compile("expression", expr)
		if err == nil || !strings.Contains(err.(*core.Error).Fields[0].Message, "too expensive") {
			t.Errorf("%s: %v, want refused as too expensive", expr, err)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"90d": 90 * 24 * time.Hour, "2w": 14 * 24 * time.Hour, "36h": 36 * time.Hour,
		"1d12h": 36 * time.Hour, "90m": 90 * time.Minute} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("%s = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "90x", "99999999d", "-3d"} {
		if _, err := ParseDuration(in); err == nil {
			t.Errorf("%q parsed", in)
		}
	}
}

// The next flip is the first instant the answer changes by time alone.
func TestNextFlip(t *testing.T) {
	rome, _ := time.LoadLocation("Europe/Rome")
	now := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	in := Input{
		Contact: core.Contact{Meta: core.Meta{ID: "01J00000000000000000000000", CreatedAt: now.Add(-time.Hour)},
			ContactFields: core.ContactFields{Birthday: "1990-06-20"}},
		Profile: customers.Profile{Purchases: customers.Purchases{Orders: 1, LastOrderAt: time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC),
			Days: []customers.Day{{Date: "2026-06-01", Orders: 1, Categories: []string{"eyewear/sunglasses"}}}}},
		Seen: map[string]time.Time{"activity.logged": now.Add(-time.Hour)},
	}
	for _, c := range []struct {
		expr  string
		match bool
		flip  time.Time
	}{
		{`did("activity.logged", duration("7d"))`, true, now.Add(-time.Hour + 7*24*time.Hour)},
		// 1 June ends at midnight in Rome (22:00 UTC); 30 days later it no longer counts.
		{`ordered("eyewear", duration("30d"))`, true, time.Date(2026, 7, 1, 22, 0, 0, 0, time.UTC)},
		{`days_since(last_order) > 10`, false, time.Date(2026, 6, 11, 22, 0, 0, 0, time.UTC)},
		{`birthday_in(duration("7d"))`, false, time.Date(2026, 6, 19, 22, 0, 0, 0, time.UTC).Add(-7 * 24 * time.Hour)},
		{`contact.created_at > now - duration("2h")`, true, now.Add(time.Hour)},
		{`purchases.orders >= 1`, true, time.Time{}},
	} {
		p, err := Compile("expression", c.expr)
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		got, err := p.Evaluate(in, now, rome)
		if err != nil || got.Match != c.match || !got.Flip.Equal(c.flip) {
			t.Errorf("%s: %+v, %v; want match %v flipping at %s", c.expr, got, err, c.match, c.flip)
		}
	}
}

// The compiler never panics, whatever it is given, and what compiles
// evaluates within its cost limit.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{`"vip" in contact.tags`, `ordered("eyewear/sunglasses", duration("90d"))`,
		`orders_within(duration("30d")) >= 2`, `did("activity.logged", duration("7d"))`, `days_since(last_order) > 180`,
		`birthday_in(duration("7d"))`, `contact.custom.plan == "gold" && score > 50`, `duration("99999999999d") > duration("1d")`,
		`[1,2,3].all(x, [1,2,3].all(y, x < y))`, `contact.tags.map(t, t + t).size() > 0`, "\x00", `((((((`, `'\u00e9' == "é"`} {
		f.Add(s)
	}
	now := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	in := Input{Contact: core.Contact{Meta: core.Meta{ID: "01J00000000000000000000000"}, ContactFields: core.ContactFields{Tags: []string{"a", "b"}}}}
	f.Fuzz(func(t *testing.T, expr string) {
		p, err := Compile("expression", expr)
		if err != nil {
			var ce *core.Error
			if !errors.As(err, &ce) || ce.Code != core.CodeInvalid {
				t.Fatalf("%q: %v is not a 422", expr, err)
			}
			return
		}
		if _, err := p.Evaluate(in, now, time.UTC); err != nil && !errors.Is(err, ErrCost) {
			t.Fatalf("%q: %v", expr, err)
		}
	})
}
