// Package record is the one persistence vocabulary of the domain: a Type
// says how the records of one aggregate live in the store — their key,
// their places in secondary indexes, the values unique within a tenant, the
// extra items that point back at them, the records they must reference,
// and the events a change writes — and its methods create, update and
// delete them, each in one transaction with its markers, entries,
// reference checks and outbox events. A cancelled write is explained as the
// field at fault; a lost optimistic race is retried a bounded number of
// times; store failures are mapped to core's error vocabulary in one place
// (StoreError).
//
// It must never know an aggregate by name: everything specific to one is a
// hook of its Type. It must never import an engine: it speaks the port.
package record

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/store"
)

// Type describes how records of one aggregate are stored. Name, Key and Meta
// are required; every hook is optional.
type Type[T any] struct {
	// Name is the aggregate's name in messages and the entity type of its
	// events ("contact" writes contact.created, contact.updated, ...).
	Name string
	// Key addresses the record with id in tenant's key space.
	Key func(tenant, id string) store.Key
	// Meta is the record's id, version and times.
	Meta func(*T) *core.Meta

	// Index places the record in secondary indexes.
	Index func(tenant string, v *T) map[store.Index]store.Key
	// Unique lists values unique within the tenant: each is a marker item
	// that must not exist when the value is added.
	Unique func(tenant string, v *T) []Unique
	// Entries are extra items pointing back at the record, for multi-valued
	// attributes a secondary index cannot hold (one item per tag).
	Entries func(tenant string, v *T) []store.Key
	// Slots are extra items at keys fixed per record (its slot 0, 1, ...),
	// each placing the record in secondary indexes under values that change
	// with it (a search token, a sort name). A changed value rewrites its
	// slot — one write, the index follows — where an entry would be deleted
	// and put again: two. Multi-valued attributes searched by prefix use
	// them to fit DynamoDB's 100 items a transaction. Only Key and
	// IndexKeys are read; the item holds a Pointer.
	Slots func(tenant string, v *T) []store.Item
	// Refs are other records that must exist when the value is set.
	Refs func(tenant string, v *T) []Ref
	// Verbs rename the events of the aggregate (VerbCreated → "logged").
	Verbs map[Verb]string
	// Timeline, when set, names the record whose timeline shows the
	// aggregate's events instead of its own (type "" for its own).
	Timeline func(v *T) (typ, id string)
	// Also names further events a change carries beside created or updated
	// (a deal's stage_changed, won, lost); prev is nil on create.
	Also func(prev, next *T) []string
}

// Verb is what a change did to a record.
type Verb string

// The three changes every aggregate has.
const (
	VerbCreated Verb = "created"
	VerbUpdated Verb = "updated"
	VerbDeleted Verb = "deleted"
)

// Unique is a value unique within a tenant.
type Unique struct {
	Key store.Key // the marker item
	// Index places the marker in secondary indexes (an e-mail's search
	// entry rides on its marker, costing the transaction nothing more).
	// It must follow from the value and the record's id alone: a kept
	// marker is not rewritten.
	Index map[store.Index]store.Key
	Path  string // the field that holds the value, for the error
	Value string
}

// Ref is a record another must reference.
type Ref struct {
	Key  store.Key
	Path string // the field that holds the reference, for the error
	What string // "company", for the error
}

// Pointer is the document of markers and entries: which record they serve.
type Pointer struct {
	ID string `json:"id"`
}

// PointerID reads the record id a marker or entry item holds.
func PointerID(it store.Item) (string, error) {
	var p Pointer
	if err := json.Unmarshal(it.Data, &p); err != nil {
		return "", fmt.Errorf("decode pointer %s: %w", it.Key, err)
	}
	return p.ID, nil
}

// MaxRetries bounds optimistic retries of writes that did not name a
// version: each retry re-reads, so it only repeats under real contention.
const MaxRetries = 5

// EventType is the catalogue's type of the event a change of this
// aggregate writes for verb (renamed by Verbs): its name, a dot and the
// verb. A spelling the catalogue lacks is an error, never an undocumented
// event; each area's tests try every verb of its types.
func (k Type[T]) EventType(verb Verb) (events.Type, error) {
	what := string(verb)
	if v, ok := k.Verbs[verb]; ok {
		what = v
	}
	t, ok := events.Lookup(k.Name + "." + what)
	if !ok {
		return "", fmt.Errorf("%s.%s is not in the event catalogue (core/events): add it with its schema", k.Name, what)
	}
	return t, nil
}

// Get returns one record; an id that is not an id, or another tenant's, is
// simply not found.
func (k Type[T]) Get(ctx context.Context, s store.Store, tenant, id string) (T, error) {
	var v T
	if !core.ValidID(id) {
		return v, k.notFound(id)
	}
	it, err := s.Get(ctx, k.Key(tenant, id))
	if errors.Is(err, store.ErrNotFound) {
		return v, k.notFound(id)
	}
	if err != nil {
		return v, fmt.Errorf("load %s %s: %w", k.Name, id, StoreError(err))
	}
	return k.Decode(it)
}

// Decode reads a record from its item.
func (k Type[T]) Decode(it store.Item) (T, error) {
	var v T
	if err := json.Unmarshal(it.Data, &v); err != nil {
		return v, fmt.Errorf("decode %s %s: %w", k.Name, it.Key, err)
	}
	return v, nil
}

func (k Type[T]) notFound(id string) error {
	return core.Errorf(core.CodeNotFound, "%s %s not found", k.Name, id)
}

// Create stores v as a new record, assigning its meta.
func (k Type[T]) Create(ctx context.Context, s store.Store, tenant string, now time.Time, v *T) error {
	m := k.Meta(v)
	*m = core.Meta{ID: core.NewID(now), Version: 1, CreatedAt: now, UpdatedAt: now}
	doc, err := k.encode(v)
	if err != nil {
		return err
	}
	var t txn
	t.put(store.Item{Key: k.Key(tenant, m.ID), IndexKeys: k.index(tenant, v), Version: 1, Data: doc}, store.Cond{MustNotExist: true})
	pointer := pointerDoc(m.ID)
	for _, u := range k.unique(tenant, v) {
		t.addUnique(k.Name, u, pointer)
	}
	for _, e := range k.entries(tenant, v) {
		t.put(store.Item{Key: e, Data: pointer}, store.Cond{})
	}
	for _, sl := range k.slots(tenant, v) {
		t.put(store.Item{Key: sl.Key, IndexKeys: sl.IndexKeys, Data: pointer}, store.Cond{})
	}
	for _, r := range k.refs(tenant, v) {
		t.check(r)
	}
	if err := k.record(ctx, &t, tenant, VerbCreated, now, v, doc, nil, nil); err != nil {
		return err
	}
	if err := s.Transact(ctx, t.writes); err != nil {
		return t.explain(err, k.Name, m.ID)
	}
	return nil
}

// Update applies mutate to the current record and stores the result. With
// ifVersion > 0 the record must still be at that version (If-Match);
// without, a concurrent change makes it re-read and re-apply mutate, up to
// MaxRetries times. A mutation that changes nothing writes nothing and
// keeps the version. mutate must not change the record's meta.
func (k Type[T]) Update(ctx context.Context, s store.Store, tenant, id string, ifVersion int64, now func() time.Time,
	mutate func(cur T) (T, error)) (T, error) {
	for attempt := 0; ; attempt++ {
		cur, next, t, err := k.change(ctx, s, tenant, id, ifVersion, now, mutate)
		if err != nil || t.writes == nil {
			return next, err
		}
		err = s.Transact(ctx, t.writes)
		if err == nil {
			return next, nil
		}
		if !t.lostRace(err) {
			return cur, t.explain(err, k.Name, id)
		}
		if ifVersion > 0 || attempt == MaxRetries {
			return cur, Stale(k.Name, id, ifVersion, -1)
		}
	}
}

// Change is Update for a caller that commits the writes itself, in its own
// transaction — a consumer's, beside its processed marker, so that the
// change and the record of having made it commit together. It returns the
// changed record and its writes (none when mutate changes nothing). The
// record's own write comes first and is guarded by the version read: a
// concurrent change fails the transaction there, and the caller retries.
func (k Type[T]) Change(ctx context.Context, s store.Store, tenant, id string, now func() time.Time,
	mutate func(cur T) (T, error)) (T, []store.Write, error) {
	_, next, t, err := k.change(ctx, s, tenant, id, 0, now, mutate)
	return next, t.writes, err
}

// change reads the record, applies mutate and returns the transaction that
// stores the result; an empty transaction when nothing changed (next is
// then cur).
func (k Type[T]) change(ctx context.Context, s store.Store, tenant, id string, ifVersion int64, now func() time.Time,
	mutate func(cur T) (T, error)) (cur, next T, t txn, err error) {
	cur, err = k.Get(ctx, s, tenant, id)
	if err != nil {
		return cur, cur, t, err
	}
	cm := *k.Meta(&cur)
	if ifVersion > 0 && cm.Version != ifVersion {
		return cur, cur, t, Stale(k.Name, id, ifVersion, cm.Version)
	}
	curDoc, err := k.encode(&cur)
	if err != nil {
		return cur, cur, t, err
	}
	// mutate works on a copy decoded afresh, so that nothing it does in
	// place (to a slice, say) can change cur, which the markers and
	// entries to remove are computed from.
	work, err := k.Decode(store.Item{Key: k.Key(tenant, id), Data: curDoc})
	if err != nil {
		return cur, cur, t, err
	}
	next, err = mutate(work)
	if err != nil {
		return cur, cur, t, err
	}
	*k.Meta(&next) = cm
	if sameDoc, err := k.encode(&next); err != nil {
		return cur, cur, t, err
	} else if bytes.Equal(curDoc, sameDoc) {
		return cur, cur, t, nil
	}
	nm := k.Meta(&next)
	nm.Version, nm.UpdatedAt = cm.Version+1, now()
	if !nm.UpdatedAt.After(cm.UpdatedAt) {
		nm.UpdatedAt = cm.UpdatedAt.Add(time.Nanosecond) // keeps the updated index strictly ordered under clock skew
	}
	nextDoc, err := k.encode(&next)
	if err != nil {
		return cur, cur, t, err
	}
	t, err = k.updateTxn(ctx, tenant, &cur, &next, curDoc, nextDoc)
	return cur, next, t, err
}

// updateTxn moves a record from cur to next: its own write under cur's
// version, markers and entries added and removed, new references checked.
func (k Type[T]) updateTxn(ctx context.Context, tenant string, cur, next *T, curDoc, nextDoc []byte) (txn, error) {
	var t txn
	nm := k.Meta(next)
	t.put(store.Item{Key: k.Key(tenant, nm.ID), IndexKeys: k.index(tenant, next), Version: nm.Version, Data: nextDoc},
		store.Cond{Version: nm.Version - 1})
	pointer := pointerDoc(nm.ID)
	oldU, newU := k.unique(tenant, cur), k.unique(tenant, next)
	for _, u := range newU {
		if !slices.ContainsFunc(oldU, func(o Unique) bool { return o.Key == u.Key }) {
			t.addUnique(k.Name, u, pointer)
		}
	}
	for _, u := range oldU {
		if !slices.ContainsFunc(newU, func(n Unique) bool { return n.Key == u.Key }) {
			t.delete(u.Key)
		}
	}
	oldE, newE := k.entries(tenant, cur), k.entries(tenant, next)
	for _, e := range newE {
		if !slices.Contains(oldE, e) {
			t.put(store.Item{Key: e, Data: pointer}, store.Cond{})
		}
	}
	for _, e := range oldE {
		if !slices.Contains(newE, e) {
			t.delete(e)
		}
	}
	oldS, newS := k.slots(tenant, cur), k.slots(tenant, next)
	for _, sl := range newS {
		if !slices.ContainsFunc(oldS, func(o store.Item) bool { return o.Key == sl.Key && maps.Equal(o.IndexKeys, sl.IndexKeys) }) {
			t.put(store.Item{Key: sl.Key, IndexKeys: sl.IndexKeys, Data: pointer}, store.Cond{})
		}
	}
	for _, sl := range oldS {
		if !slices.ContainsFunc(newS, func(n store.Item) bool { return n.Key == sl.Key }) {
			t.delete(sl.Key)
		}
	}
	oldR := k.refs(tenant, cur)
	for _, r := range k.refs(tenant, next) {
		// Already linked: a record is not re-validated against deletions elsewhere.
		if !slices.ContainsFunc(oldR, func(o Ref) bool { return o.Key == r.Key }) {
			t.check(r)
		}
	}
	err := k.record(ctx, &t, tenant, VerbUpdated, nm.UpdatedAt, next, nextDoc, cur, curDoc)
	return t, err
}

// Delete removes a record with its markers and entries.
func (k Type[T]) Delete(ctx context.Context, s store.Store, tenant, id string, ifVersion int64, now func() time.Time) (T, error) {
	for attempt := 0; ; attempt++ {
		cur, err := k.Get(ctx, s, tenant, id)
		if err != nil {
			return cur, err
		}
		cm := k.Meta(&cur)
		if ifVersion > 0 && cm.Version != ifVersion {
			return cur, Stale(k.Name, id, ifVersion, cm.Version)
		}
		doc, err := k.encode(&cur)
		if err != nil {
			return cur, err
		}
		var t txn
		t.writes = append(t.writes, store.Write{Op: store.OpDelete, Key: k.Key(tenant, cm.ID), Cond: store.Cond{Version: cm.Version}})
		t.why = append(t.why, nil)
		for _, u := range k.unique(tenant, &cur) {
			t.delete(u.Key)
		}
		for _, e := range k.entries(tenant, &cur) {
			t.delete(e)
		}
		for _, sl := range k.slots(tenant, &cur) {
			t.delete(sl.Key)
		}
		if err := k.record(ctx, &t, tenant, VerbDeleted, now(), &cur, doc, nil, nil); err != nil {
			return cur, err
		}
		err = s.Transact(ctx, t.writes)
		if err == nil {
			return cur, nil
		}
		if !t.lostRace(err) {
			return cur, t.explain(err, k.Name, id)
		}
		if ifVersion > 0 || attempt == MaxRetries {
			return cur, Stale(k.Name, id, ifVersion, -1)
		}
	}
}

func (k Type[T]) encode(v *T) ([]byte, error) {
	doc, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %s %s: %w", k.Name, k.Meta(v).ID, err)
	}
	return doc, nil
}

func (k Type[T]) index(tenant string, v *T) map[store.Index]store.Key {
	if k.Index == nil {
		return nil
	}
	return k.Index(tenant, v)
}

func (k Type[T]) unique(tenant string, v *T) []Unique {
	if k.Unique == nil {
		return nil
	}
	return k.Unique(tenant, v)
}

func (k Type[T]) entries(tenant string, v *T) []store.Key {
	if k.Entries == nil {
		return nil
	}
	return k.Entries(tenant, v)
}

func (k Type[T]) slots(tenant string, v *T) []store.Item {
	if k.Slots == nil {
		return nil
	}
	return k.Slots(tenant, v)
}

func (k Type[T]) refs(tenant string, v *T) []Ref {
	if k.Refs == nil {
		return nil
	}
	return k.Refs(tenant, v)
}

// record adds the change's events to t: the verb's own, then those Also
// names. prev and prevDoc are the record before an update.
func (k Type[T]) record(ctx context.Context, t *txn, tenant string, verb Verb, at time.Time, v *T, doc []byte, prev *T, prevDoc []byte) error {
	var changed []string
	if prev != nil {
		var err error
		if changed, err = ChangedFields(prevDoc, doc); err != nil {
			return fmt.Errorf("compare %s %s: %w", k.Name, k.Meta(v).ID, err)
		}
	}
	first, err := k.EventType(verb)
	if err != nil {
		return err
	}
	types := []events.Type{first}
	if k.Also != nil && verb != VerbDeleted {
		for _, what := range k.Also(prev, v) {
			t, err := k.EventType(Verb(what))
			if err != nil {
				return err
			}
			types = append(types, t)
		}
	}
	for _, typ := range types {
		ev := events.New(ctx, tenant, typ, at, events.Entity{Type: k.Name, ID: k.Meta(v).ID, Data: doc})
		ev.Detail.Changed = changed
		if k.Timeline != nil {
			if typ, id := k.Timeline(v); typ != "" {
				ev.Timeline = &events.Entity{Type: typ, ID: id}
			}
		}
		w, err := events.OutboxWrite(ev)
		if err != nil {
			return err
		}
		t.writes = append(t.writes, w)
		t.why = append(t.why, nil)
	}
	return nil
}

// ChangedFields lists the top-level fields of two JSON objects whose values
// differ, less the bookkeeping every change moves (version, updated_at).
func ChangedFields(prev, next []byte) ([]string, error) {
	var x, y map[string]json.RawMessage
	if err := json.Unmarshal(prev, &x); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(next, &y); err != nil {
		return nil, err
	}
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
	return out, nil
}

func pointerDoc(id string) []byte {
	doc, _ := json.Marshal(Pointer{ID: id}) // a string field cannot fail to encode
	return doc
}
