package contacts

import (
	"testing"

	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/record"
)

func TestKindsEmitCatalogueTypes(t *testing.T) {
	if err := record.CheckEventTypes(contactKind, record.CRUD, []events.Type{events.ContactCreated, events.ContactUpdated, events.ContactDeleted}); err != nil {
		t.Error(err)
	}
	if err := record.CheckEventTypes(companyKind, record.CRUD, []events.Type{events.CompanyCreated, events.CompanyUpdated, events.CompanyDeleted}); err != nil {
		t.Error(err)
	}
}
