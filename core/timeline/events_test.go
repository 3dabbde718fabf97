package timeline

import (
	"testing"

	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/record"
)

func TestKindsEmitCatalogueTypes(t *testing.T) {
	if err := record.CheckEventTypes(activityKind, record.CRUD, []events.Type{events.ActivityLogged, events.ActivityUpdated, events.ActivityDeleted}); err != nil {
		t.Error(err)
	}
}
