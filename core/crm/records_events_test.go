package crm

import (
	"testing"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/events"
)

// The generic record code spells detail types from a kind's name and a
// verb; every one a repository can write must be in the catalogue, or the
// write fails. This tries them all, so the failure shows here first.
func TestKindsEmitCatalogueTypes(t *testing.T) {
	crud := []string{"created", "updated", "deleted"}
	// A deal's extra events: stage_changed, and one per closing outcome.
	dealVerbs := append(append([]string(nil), crud...), "stage_changed")
	for _, o := range core.DealOutcomes {
		if o != core.DealOpen {
			dealVerbs = append(dealVerbs, string(o))
		}
	}
	for _, tc := range []struct {
		kind  string
		typ   func(string) (events.Type, error)
		verbs []string
		want  []events.Type
	}{
		{"contact", contactKind.eventType, crud, []events.Type{events.ContactCreated, events.ContactUpdated, events.ContactDeleted}},
		{"company", companyKind.eventType, crud, []events.Type{events.CompanyCreated, events.CompanyUpdated, events.CompanyDeleted}},
		{"activity", activityKind.eventType, crud, []events.Type{events.ActivityLogged, events.ActivityUpdated, events.ActivityDeleted}},
		{"user", userKind.eventType, crud, []events.Type{events.UserCreated, events.UserUpdated, events.UserDeleted}},
		// Pipelines are only created today (Pipelines has no Patch or Delete).
		{"pipeline", pipelineKind.eventType, []string{"created"}, []events.Type{events.PipelineCreated}},
		{"deal", dealKind.eventType, dealVerbs, []events.Type{events.DealCreated, events.DealUpdated, events.DealDeleted,
			events.DealStageChanged, events.DealWon, events.DealLost}},
	} {
		for i, verb := range tc.verbs {
			got, err := tc.typ(verb)
			if err != nil {
				t.Errorf("%s %s: %v", tc.kind, verb, err)
				continue
			}
			if got != tc.want[i] {
				t.Errorf("%s %s: %q, want %q", tc.kind, verb, got, tc.want[i])
			}
		}
	}
	if _, err := pipelineKind.eventType("deleted"); err == nil {
		t.Error("pipeline.deleted resolved, but the catalogue has no such type")
	}
}
