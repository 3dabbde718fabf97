package sales

import (
	"testing"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/record"
)

func TestKindsEmitCatalogueTypes(t *testing.T) {
	// Pipelines are only created today (Pipelines has no update or delete).
	if err := record.CheckEventTypes(pipelineKind, []record.Verb{record.VerbCreated}, []events.Type{events.PipelineCreated}); err != nil {
		t.Error(err)
	}
	if _, err := pipelineKind.EventType(record.VerbDeleted); err == nil {
		t.Error("pipeline.deleted resolved, but the catalogue has no such type")
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
