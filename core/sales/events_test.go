package sales

import (
	"testing"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/record"
)

func TestKindsEmitCatalogueTypes(t *testing.T) {
	if err := record.CheckEventTypes(pipelineKind, record.CRUD, []events.Type{events.PipelineCreated, events.PipelineUpdated, events.PipelineDeleted}); err != nil {
		t.Error(err)
	}
	// A deal's extra events: stage_changed, and one per closing outcome.
	verbs := append(append([]record.Verb(nil), record.CRUD...), "stage_changed")
	want := []events.Type{events.DealCreated, events.DealUpdated, events.DealDeleted, events.DealStageChanged}
	for _, o := range core.DealOutcomes {
		if o != core.DealOpen {
			verbs = append(verbs, record.Verb(o))
		}
	}
	want = append(want, events.DealWon, events.DealLost)
	if err := record.CheckEventTypes(dealKind, verbs, want); err != nil {
		t.Error(err)
	}
}
