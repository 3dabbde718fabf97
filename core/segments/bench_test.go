package segments

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/customers"
)

// benchExpr is the README's dormant high-value customers, with consent.
const benchExpr = `contact.consent.email && purchases.orders >= 2 && days_since(last_order) > 180 && "vip" in contact.tags`

func benchInputs(n int, now time.Time) []Input {
	ins := make([]Input, n)
	for i := range ins {
		c := core.Contact{Meta: core.Meta{ID: fmt.Sprintf("01J%023d", i), CreatedAt: now.AddDate(-2, 0, 0)},
			ContactFields: core.ContactFields{FirstName: "C", Tags: []string{"t1", "t2"}}}
		if i%3 == 0 {
			c.Tags = append(c.Tags, "vip")
		}
		if i%2 == 0 {
			c.Consent = &core.Consent{Email: &core.ChannelConsent{Status: core.ConsentGranted}}
		}
		ins[i] = Input{Contact: c, Profile: customers.Profile{Purchases: customers.Purchases{Orders: i % 5,
			LastOrderAt: now.AddDate(0, 0, -(i % 400))}}}
	}
	return ins
}

// handWritten is benchExpr in Go: the floor CEL is measured against.
func handWritten(in Input, now time.Time, loc *time.Location) bool {
	c := in.Contact
	if c.Consent == nil || c.Consent.Email == nil || c.Consent.Email.Status != core.ConsentGranted || in.Profile.Purchases.Orders < 2 {
		return false
	}
	h := History{Now: now, Loc: loc}
	return h.daysSince(in.Profile.Purchases.LastOrderAt) > 180 && slices.Contains(c.Tags, "vip")
}

// BenchmarkEvaluate is one contact's evaluation, side by side: the
// compiled program reused (what the consumer and jobs do), the same
// expression compiled for every contact (no reuse), and the predicate
// hand-written in Go. Reported as contacts/s.
//
//	go test ./core/segments -run '^$' -bench Evaluate
func BenchmarkEvaluate(b *testing.B) {
	now := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	ins := benchInputs(1000, now)
	p, err := Compile("expression", benchExpr)
	if err != nil {
		b.Fatal(err)
	}
	report := func(b *testing.B) {
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "contacts/s")
	}
	b.Run("cel-compiled-once", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := p.Match(ins[i%len(ins)], now, time.UTC); err != nil {
				b.Fatal(err)
			}
			i++
		}
		report(b)
	})
	b.Run("cel-with-next-flip", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := p.Evaluate(ins[i%len(ins)], now, time.UTC); err != nil {
				b.Fatal(err)
			}
			i++
		}
		report(b)
	})
	b.Run("cel-compiled-each-time", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			q, err := Compile("expression", benchExpr)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := q.Match(ins[i%len(ins)], now, time.UTC); err != nil {
				b.Fatal(err)
			}
			i++
		}
		report(b)
	})
	b.Run("go-hand-written", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			handWritten(ins[i%len(ins)], now, time.UTC)
			i++
		}
		report(b)
	})
}

// The benchmark's predicate agrees with its hand-written twin, so the
// comparison is of like with like.
func TestBenchPredicateAgrees(t *testing.T) {
	now := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	p, err := Compile("expression", benchExpr)
	if err != nil {
		t.Fatal(err)
	}
	matched := 0
	for _, in := range benchInputs(600, now) {
		got, err := p.Match(in, now, time.UTC)
		if err != nil || got != handWritten(in, now, time.UTC) {
			t.Fatalf("%s: cel %v (%v), go %v", in.Contact.ID, got, err, handWritten(in, now, time.UTC))
		}
		if got {
			matched++
		}
	}
	if matched == 0 {
		t.Fatal("the predicate matches nobody")
	}
}
