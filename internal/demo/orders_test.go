package demo

import (
	"testing"
	"time"
)

// The generator is a tool, but the walk-through's numbers depend on it:
// the same seed gives the same orders, every order is valid enough to
// ingest, and the shop has repeat buyers and one-off buyers both.
func TestOrdersAreDeterministicAndBelievable(t *testing.T) {
	from := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)
	p := Defaults(2000, from, from.AddDate(1, 0, 0))
	a, b := Orders(p), Orders(p)
	if len(a) != len(b) || len(a) < 2000 {
		t.Fatalf("%d and %d orders for 2000 customers", len(a), len(b))
	}
	buyers := map[string]int{}
	ids := map[string]bool{}
	for i, o := range a {
		if o.ExternalID != b[i].ExternalID || !o.PlacedAt.Equal(b[i].PlacedAt) || len(o.Lines) != len(b[i].Lines) {
			t.Fatalf("order %d differs between two runs of one seed", i)
		}
		if ids[o.ExternalID] {
			t.Fatalf("external id %s twice", o.ExternalID)
		}
		ids[o.ExternalID] = true
		if o.PlacedAt.Before(from) || !o.PlacedAt.Before(p.To) || len(o.Lines) == 0 || o.Email == "" {
			t.Fatalf("order %+v", o)
		}
		buyers[o.Email]++
	}
	repeat := 0
	for _, n := range buyers {
		if n > 1 {
			repeat++
		}
	}
	if repeat < 400 || repeat > 1800 {
		t.Fatalf("%d repeat buyers of %d customers: the walk-through's RFM and CLV need both kinds", repeat, len(buyers))
	}
}
