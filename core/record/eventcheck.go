package record

import (
	"errors"
	"fmt"

	"github.com/fedele-crm/fedele/core/events"
)

// CheckEventTypes reports every verb that k does not resolve to the
// catalogue type at the same position in want: each area's tests call it
// for every aggregate, so a type the catalogue lacks fails there, not at
// the first write in production.
func CheckEventTypes[T any](k Type[T], verbs []Verb, want []events.Type) error {
	var errs []error
	for i, verb := range verbs {
		got, err := k.EventType(verb)
		switch {
		case err != nil:
			errs = append(errs, err)
		case got != want[i]:
			errs = append(errs, fmt.Errorf("%s %s: %q, want %q", k.Name, verb, got, want[i]))
		}
	}
	return errors.Join(errs...)
}

// CRUD are the verbs every aggregate writes.
var CRUD = []Verb{VerbCreated, VerbUpdated, VerbDeleted}
