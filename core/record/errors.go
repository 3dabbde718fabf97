package record

import (
	"errors"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/store"
)

// StoreError turns store failures a caller can act on into core errors: the
// one mapping of the store's vocabulary to the domain's.
func StoreError(err error) error {
	switch {
	case errors.Is(err, store.ErrItemTooLarge), errors.Is(err, store.ErrTxTooLarge):
		return &core.Error{Code: core.CodeTooLarge, Message: "the record is too large to store: " + err.Error()}
	case errors.Is(err, store.ErrThrottled), errors.Is(err, store.ErrUnavailable):
		return &core.Error{Code: core.CodeUnavailable, Message: "the store is busy; retry shortly"}
	}
	return err
}

// Stale is the error of a write whose If-Match version (want) is not the
// record's (have; -1 when it moved on during the write). want <= 0 means
// no version was named and the record kept changing.
func Stale(name, id string, want, have int64) error {
	if want <= 0 {
		return core.Errorf(core.CodeConflict, "%s %s kept changing concurrently; retry", name, id)
	}
	if have < 0 {
		return core.Errorf(core.CodeStale, "%s %s is no longer at version %d", name, id, want)
	}
	return core.Errorf(core.CodeStale, "%s %s is at version %d, not %d", name, id, have, want)
}

// IsRace reports whether err is a condition failing: another writer got
// there first.
func IsRace(err error) bool {
	return errors.Is(err, store.ErrConditionFailed)
}
