package commerce

import (
	"errors"

	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/record"
)

// CheckEventTypes holds the kinds' verbs to the event catalogue.
func CheckEventTypes() error {
	return errors.Join(
		record.CheckEventTypes(productKind, record.CRUD, []events.Type{events.ProductCreated, events.ProductUpdated, events.ProductDeleted}),
		record.CheckEventTypes(orderKind, []record.Verb{record.VerbCreated, record.VerbUpdated, "cancelled", "refunded"},
			[]events.Type{events.OrderPlaced, events.OrderUpdated, events.OrderCancelled, events.OrderRefunded}))
}
