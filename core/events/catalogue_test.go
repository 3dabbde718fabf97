package events_test

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/schemas"
)

// The catalogue and schemas/events/ name the same detail types: an event
// emitted without a schema is undocumented, a schema without an emitter
// documents nothing.
func TestCatalogueMatchesSchemas(t *testing.T) {
	withSchema, err := schemas.EventTypes()
	if err != nil {
		t.Fatal(err)
	}
	var catalogued []string
	for _, typ := range events.Catalogue() {
		catalogued = append(catalogued, string(typ))
	}
	slices.Sort(withSchema)
	slices.Sort(catalogued)
	if diff := cmp.Diff(catalogued, withSchema); diff != "" {
		t.Errorf("catalogue in core/events (-) and schemas in schemas/events (+):\n%s", diff)
	}
	if n := len(slices.Compact(slices.Clone(catalogued))); n != len(catalogued) {
		t.Errorf("the catalogue lists a type twice: %v", catalogued)
	}
}

func TestLookup(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want events.Type
		ok   bool
	}{
		{"contact.created", events.ContactCreated, true},
		{"deal.won", events.DealWon, true},
		{"pipeline.updated", events.PipelineUpdated, true},
		{"pipeline.renamed", "", false},
		{"Contact.Created", "", false},
		{"", "", false},
	} {
		got, ok := events.Lookup(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Lookup(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
