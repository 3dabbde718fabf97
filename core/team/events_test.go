package team

import (
	"testing"

	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/record"
)

func TestKindsEmitCatalogueTypes(t *testing.T) {
	if err := record.CheckEventTypes(userKind, record.CRUD, []events.Type{events.UserCreated, events.UserUpdated, events.UserDeleted}); err != nil {
		t.Error(err)
	}
}
