package crm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/store"
)

// kind says how one entity type is laid out in the store; records of every
// kind are created, updated and deleted by the same code below, so uniqueness
// markers, secondary entries and version checks behave the same everywhere.
type kind[T any] struct {
	name string // in messages: "contact"
	key  func(tenant, id string) store.Key
	meta func(*T) *core.Meta
	// indexKeys places the record in secondary indexes.
	indexKeys func(tenant string, v *T) map[store.Index]store.Key
	// markers are values unique within the tenant; each is an item that must
	// not exist when the value is added.
	markers func(tenant string, v *T) []marker
	// entries are extra items pointing back at the record, for multi-valued
	// attributes a secondary index cannot hold (one item per tag).
	entries func(tenant string, v *T) []store.Key
	// refs are other records that must exist when the value is set.
	refs func(tenant string, v *T) []ref
	// verbs rename the events of a kind ("created" → "logged"); nil keeps
	// created, updated and deleted.
	verbs map[string]string
	// timeline, when set, names the record whose timeline shows the
	// kind's events instead of its own (type "" for its own).
	timeline func(v *T) (typ, id string)
	// also names further events a change carries beside created or
	// updated (a deal's stage_changed, won, lost); prev is nil on create.
	also func(prev, next *T) []string
}

type marker struct {
	key   store.Key
	path  string // the field that holds the value, for the error
	value string
}

type ref struct {
	key  store.Key
	path string
	what string
}

// pointer is the document of markers and entries: which record they serve.
type pointer struct {
	ID string `json:"id"`
}

// maxRetries bounds optimistic retries of writes that did not name a
// version: each retry re-reads, so it only repeats under real contention.
const maxRetries = 5

func (k kind[T]) get(ctx context.Context, s store.Store, tenant, id string) (T, error) {
	var v T
	if !core.ValidID(id) {
		return v, core.Errorf(core.CodeNotFound, "%s %s not found", k.name, id)
	}
	it, err := s.Get(ctx, k.key(tenant, id))
	if errors.Is(err, store.ErrNotFound) {
		return v, core.Errorf(core.CodeNotFound, "%s %s not found", k.name, id)
	}
	if err != nil {
		return v, fmt.Errorf("load %s %s: %w", k.name, id, storeErr(err))
	}
	if err := json.Unmarshal(it.Data, &v); err != nil {
		return v, fmt.Errorf("decode %s %s: %w", k.name, id, err)
	}
	return v, nil
}

func (k kind[T]) item(tenant string, v *T) (store.Item, error) {
	m := k.meta(v)
	data, err := json.Marshal(v)
	if err != nil {
		return store.Item{}, fmt.Errorf("encode %s %s: %w", k.name, m.ID, err)
	}
	return store.Item{Key: k.key(tenant, m.ID), IndexKeys: k.indexKeys(tenant, v), Version: m.Version, Data: data}, nil
}

// create stores v as a new record, assigning its meta.
func (k kind[T]) create(ctx context.Context, s store.Store, tenant string, now time.Time, v *T) error {
	m := k.meta(v)
	*m = core.Meta{ID: core.NewID(now), Version: 1, CreatedAt: now, UpdatedAt: now}
	var zero T
	w, err := k.changes(tenant, &zero, v, store.Cond{MustNotExist: true})
	if err != nil {
		return err
	}
	if err := w.record(k.event(ctx, tenant, "created", now, v, nil)); err != nil {
		return err
	}
	if err := k.recordAlso(ctx, &w, tenant, now, nil, v); err != nil {
		return err
	}
	if err := s.Transact(ctx, w.writes); err != nil {
		return w.explain(err, k.name, m.ID)
	}
	return nil
}

// update applies mutate to the current record and stores the result. With
// ifVersion > 0 the record must still be at that version (If-Match);
// without, a concurrent change makes it re-read and re-apply mutate.
// A mutation that changes nothing writes nothing and keeps the version.
func (k kind[T]) update(ctx context.Context, s store.Store, tenant, id string, ifVersion int64, now func() time.Time,
	mutate func(cur T) (T, error)) (T, error) {
	for attempt := 0; ; attempt++ {
		cur, err := k.get(ctx, s, tenant, id)
		if err != nil {
			return cur, err
		}
		cm := *k.meta(&cur)
		if ifVersion > 0 && cm.Version != ifVersion {
			return cur, staleError(k.name, id, ifVersion, cm.Version)
		}
		next, err := mutate(cur)
		if err != nil {
			return cur, err
		}
		*k.meta(&next) = cm
		if same(cur, next) {
			return cur, nil
		}
		nm := k.meta(&next)
		nm.Version, nm.UpdatedAt = cm.Version+1, now()
		if !nm.UpdatedAt.After(cm.UpdatedAt) {
			nm.UpdatedAt = cm.UpdatedAt.Add(time.Nanosecond) // keeps the updated index strictly ordered under clock skew
		}
		w, err := k.changes(tenant, &cur, &next, store.Cond{Version: cm.Version})
		if err != nil {
			return cur, err
		}
		if err := w.record(k.event(ctx, tenant, "updated", nm.UpdatedAt, &next, &cur)); err != nil {
			return cur, err
		}
		if err := k.recordAlso(ctx, &w, tenant, nm.UpdatedAt, &cur, &next); err != nil {
			return cur, err
		}
		err = s.Transact(ctx, w.writes)
		if err == nil {
			return next, nil
		}
		if !w.lostRace(err) {
			return cur, w.explain(err, k.name, id)
		}
		if ifVersion > 0 || attempt == maxRetries {
			return cur, staleError(k.name, id, ifVersion, -1)
		}
	}
}

// remove deletes a record with its markers and entries.
func (k kind[T]) remove(ctx context.Context, s store.Store, tenant, id string, ifVersion int64, now func() time.Time) (T, error) {
	for attempt := 0; ; attempt++ {
		cur, err := k.get(ctx, s, tenant, id)
		if err != nil {
			return cur, err
		}
		cm := k.meta(&cur)
		if ifVersion > 0 && cm.Version != ifVersion {
			return cur, staleError(k.name, id, ifVersion, cm.Version)
		}
		var zero T
		w, err := k.changes(tenant, &cur, &zero, store.Cond{Version: cm.Version})
		if err != nil {
			return cur, err
		}
		w.writes[0] = store.Write{Op: store.OpDelete, Key: k.key(tenant, cm.ID), Cond: store.Cond{Version: cm.Version}}
		if err := w.record(k.event(ctx, tenant, "deleted", now(), &cur, nil)); err != nil {
			return cur, err
		}
		err = s.Transact(ctx, w.writes)
		if err == nil {
			return cur, nil
		}
		if !w.lostRace(err) {
			return cur, w.explain(err, k.name, id)
		}
		if ifVersion > 0 || attempt == maxRetries {
			return cur, staleError(k.name, id, ifVersion, -1)
		}
	}
}

// eventType is the catalogue's type of a kind's event: its name, a dot and
// the verb (renamed by k.verbs). A spelling the catalogue lacks is an error,
// never an undocumented event; TestKindsEmitCatalogueTypes tries every kind.
func (k kind[T]) eventType(what string) (events.Type, error) {
	if v, ok := k.verbs[what]; ok {
		what = v
	}
	t, ok := events.Lookup(k.name + "." + what)
	if !ok {
		return "", fmt.Errorf("%s.%s is not in the event catalogue (core/events): add it with its schema", k.name, what)
	}
	return t, nil
}

// event describes a change of rec (from prev, for an update) as an event
// carrying the cause in ctx.
func (k kind[T]) event(ctx context.Context, tenant, what string, at time.Time, rec, prev *T) (events.Envelope, error) {
	dt, err := k.eventType(what)
	if err != nil {
		return events.Envelope{}, err
	}
	data, _ := json.Marshal(rec)
	ev := events.New(ctx, tenant, dt, at, events.Entity{Type: k.name, ID: k.meta(rec).ID, Data: data})
	if prev != nil {
		ev.Detail.Changed = changedFields(prev, rec)
	}
	if k.timeline != nil {
		if typ, id := k.timeline(rec); typ != "" {
			ev.Timeline = &events.Entity{Type: typ, ID: id}
		}
	}
	return ev, nil
}

// recordAlso adds the events k.also names for a change.
func (k kind[T]) recordAlso(ctx context.Context, w *txn, tenant string, at time.Time, prev, next *T) error {
	if k.also == nil {
		return nil
	}
	for _, what := range k.also(prev, next) {
		if err := w.record(k.event(ctx, tenant, what, at, next, prev)); err != nil {
			return err
		}
	}
	return nil
}

// changedFields lists the top-level JSON fields whose values differ, less
// the bookkeeping every change moves.
func changedFields(a, b any) []string {
	var x, y map[string]json.RawMessage
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	_ = json.Unmarshal(ja, &x)
	_ = json.Unmarshal(jb, &y)
	var out []string
	for k := range x {
		if _, ok := y[k]; !ok {
			out = append(out, k)
		}
	}
	for k, v := range y {
		if k == "version" || k == "updated_at" {
			continue
		}
		if old, ok := x[k]; !ok || !bytes.Equal(old, v) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// record adds the outbox write of ev to the transaction: the event commits
// with the change or not at all.
func (t *txn) record(ev events.Envelope, err error) error {
	if err != nil {
		return err
	}
	w, err := events.OutboxWrite(ev)
	if err != nil {
		return err
	}
	t.writes = append(t.writes, w)
	t.why = append(t.why, nil)
	return nil
}

// txn is a transaction with, for each write, what its failure means.
type txn struct {
	writes []store.Write
	why    []func() error // nil: the record itself
}

// changes builds the transaction that moves a record from cur to next (a
// zero value on either side means create or delete): the record's own write
// first, then marker and entry items added and removed, then reference checks.
func (k kind[T]) changes(tenant string, cur, next *T, cond store.Cond) (txn, error) {
	var t txn
	it, err := k.item(tenant, next)
	if err != nil {
		return t, err
	}
	t.writes = append(t.writes, store.Write{Op: store.OpPut, Item: it, Cond: cond})
	t.why = append(t.why, nil)

	id := k.meta(next).ID
	if id == "" {
		id = k.meta(cur).ID
	}
	doc, _ := json.Marshal(pointer{ID: id})
	old := k.markers(tenant, cur)
	for _, m := range k.markers(tenant, next) {
		if containsKey(old, m.key, func(m marker) store.Key { return m.key }) {
			continue
		}
		t.writes = append(t.writes, store.Write{Op: store.OpPut, Item: store.Item{Key: m.key, Data: doc}, Cond: store.Cond{MustNotExist: true}})
		t.why = append(t.why, func() error {
			return &core.Error{Code: core.CodeConflict, Message: fmt.Sprintf("another %s already has %s", k.name, m.value),
				Fields: []core.FieldError{{Path: m.path, Message: "is already used by another " + k.name, Value: m.value}}}
		})
	}
	nextMarkers := k.markers(tenant, next)
	for _, m := range old {
		if !containsKey(nextMarkers, m.key, func(m marker) store.Key { return m.key }) {
			t.writes = append(t.writes, store.Write{Op: store.OpDelete, Key: m.key})
			t.why = append(t.why, nil)
		}
	}
	oldEntries, nextEntries := k.entries(tenant, cur), k.entries(tenant, next)
	for _, e := range nextEntries {
		if !containsKey(oldEntries, e, identity) {
			t.writes = append(t.writes, store.Write{Op: store.OpPut, Item: store.Item{Key: e, Data: doc}})
			t.why = append(t.why, nil)
		}
	}
	for _, e := range oldEntries {
		if !containsKey(nextEntries, e, identity) {
			t.writes = append(t.writes, store.Write{Op: store.OpDelete, Key: e})
			t.why = append(t.why, nil)
		}
	}
	oldRefs := k.refs(tenant, cur)
	for _, r := range k.refs(tenant, next) {
		if containsKey(oldRefs, r.key, func(r ref) store.Key { return r.key }) {
			continue // already linked; a record is not re-validated against deletions elsewhere
		}
		t.writes = append(t.writes, store.Write{Op: store.OpCheck, Key: r.key, Cond: store.Cond{MustExist: true}})
		t.why = append(t.why, func() error {
			return &core.Error{Code: core.CodeInvalid, Message: "validation failed",
				Fields: []core.FieldError{{Path: r.path, Message: "no such " + r.what, Value: r.key.SK}}}
		})
	}
	return t, nil
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
	return fmt.Errorf("write %s %s: %w", name, id, storeErr(err))
}

// storeErr turns store failures a caller can act on into core errors.
func storeErr(err error) error {
	switch {
	case errors.Is(err, store.ErrItemTooLarge), errors.Is(err, store.ErrTxTooLarge):
		return &core.Error{Code: core.CodeTooLarge, Message: "the record is too large to store: " + err.Error()}
	case errors.Is(err, store.ErrThrottled), errors.Is(err, store.ErrUnavailable):
		return &core.Error{Code: core.CodeUnavailable, Message: "the store is busy; retry shortly"}
	}
	return err
}

func staleError(name, id string, want, have int64) error {
	if want <= 0 {
		return core.Errorf(core.CodeConflict, "%s %s kept changing concurrently; retry", name, id)
	}
	if have < 0 {
		return core.Errorf(core.CodeStale, "%s %s is no longer at version %d", name, id, want)
	}
	return core.Errorf(core.CodeStale, "%s %s is at version %d, not %d", name, id, have, want)
}

func same[T any](a, b T) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

func identity(k store.Key) store.Key { return k }

func containsKey[E any](list []E, k store.Key, key func(E) store.Key) bool {
	for _, e := range list {
		if key(e) == k {
			return true
		}
	}
	return false
}
