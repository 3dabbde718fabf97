package record

import (
	"errors"
	"fmt"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/store"
)

// txn is a transaction with, for each write, what its failure means.
type txn struct {
	writes []store.Write
	why    []func() error // nil: nothing to say beyond the store's error
}

func (t *txn) put(it store.Item, c store.Cond) {
	t.writes = append(t.writes, store.Write{Op: store.OpPut, Item: it, Cond: c})
	t.why = append(t.why, nil)
}

func (t *txn) delete(k store.Key) {
	t.writes = append(t.writes, store.Write{Op: store.OpDelete, Key: k})
	t.why = append(t.why, nil)
}

func (t *txn) addUnique(name string, u Unique, pointer []byte) {
	t.writes = append(t.writes, store.Write{Op: store.OpPut, Item: store.Item{Key: u.Key, IndexKeys: u.Index, Data: pointer}, Cond: store.Cond{MustNotExist: true}})
	t.why = append(t.why, func() error {
		return &core.Error{Code: core.CodeConflict, Message: fmt.Sprintf("another %s already has %s", name, u.Value),
			Fields: []core.FieldError{{Path: u.Path, Message: "is already used by another " + name, Value: u.Value}}}
	})
}

func (t *txn) check(r Ref) {
	t.writes = append(t.writes, store.Write{Op: store.OpCheck, Key: r.Key, Cond: store.Cond{MustExist: true}})
	t.why = append(t.why, func() error {
		return core.Invalid(r.Path, "no such "+r.What, r.Key.SK)
	})
}

// lostRace reports whether err is the record's own version condition failing:
// another writer got there first.
func (t txn) lostRace(err error) bool {
	var tc *store.TxCancelledError
	return errors.As(err, &tc) && tc.Index == 0 && errors.Is(err, store.ErrConditionFailed)
}

func (t txn) explain(err error, name, id string) error {
	var tc *store.TxCancelledError
	if errors.As(err, &tc) && errors.Is(err, store.ErrConditionFailed) && tc.Index < len(t.why) {
		if why := t.why[tc.Index]; why != nil {
			return why()
		}
		if tc.Index == 0 {
			return core.Errorf(core.CodeConflict, "%s %s was changed concurrently", name, id)
		}
	}
	return fmt.Errorf("write %s %s: %w", name, id, StoreError(err))
}
