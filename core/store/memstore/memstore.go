// Package memstore is the store.Store port in memory, for fast unit tests of
// the domain's rules: it behaves like the engines (same conditions,
// all-or-nothing transactions, limits, sparse indexes, cursors and TTL
// semantics, proved by core/store/storetest) without a file or a JVM.
//
// It is for tests and nothing in production: it keeps no data past the
// process, has no size bound beyond the items' own, and must never be wired
// into a server, a Lambda or the CLI. Like every engine it must never
// interpret an item's Data.
package memstore

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fedele-crm/fedele/core/store"
)

// Store is the in-memory engine. It is safe for concurrent use; one lock
// serialises writes, which is what makes a conditional write or a
// transaction atomic against every other.
type Store struct {
	mu     sync.RWMutex
	closed bool
	items  map[store.Key]store.Item
	// parts holds, per index (store.Table included) and partition key, the
	// partition's entries sorted as the engines order them, so that a query
	// is a binary search and a slice walk.
	parts map[store.Index]map[string][]entry
}

var _ store.Store = (*Store)(nil)

// entry places an item in a partition: by sort key, then by table key,
// which on an index orders items that share an index key the way the
// embedded engine does (and on the table changes nothing).
type entry struct {
	sk string
	tk store.Key
}

func compareEntries(a, b entry) int {
	return cmp.Or(strings.Compare(a.sk, b.sk), strings.Compare(a.tk.PK, b.tk.PK), strings.Compare(a.tk.SK, b.tk.SK))
}

// New returns an empty store.
func New() *Store {
	parts := make(map[store.Index]map[string][]entry, len(store.Indexes)+1)
	for _, ix := range append([]store.Index{store.Table}, store.Indexes...) {
		parts[ix] = map[string][]entry{}
	}
	return &Store{items: map[store.Key]store.Item{}, parts: parts}
}

// Close empties the store; later calls answer store.ErrUnavailable. The
// write lock makes in-flight calls finish first.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.items, s.parts = nil, nil
	return nil
}

var errClosed = fmt.Errorf("memstore closed: %w", store.ErrUnavailable)

// ready refuses a call on a closed store or with a finished context, as a
// remote engine would.
func (s *Store) ready(ctx context.Context) error {
	if s.closed {
		return errClosed
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: %w", err)
	}
	return nil
}

// clone copies it so that neither the caller nor the store can change the
// other's bytes or map. The TTL keeps whole seconds in UTC, as both engines
// store it (DynamoDB's TTL is an epoch-seconds number).
func clone(it store.Item) store.Item {
	it.Data = bytes.Clone(it.Data)
	if len(it.IndexKeys) == 0 {
		it.IndexKeys = nil
	} else {
		it.IndexKeys = maps.Clone(it.IndexKeys)
	}
	if !it.ExpiresAt.IsZero() {
		it.ExpiresAt = time.Unix(it.ExpiresAt.Unix(), 0).UTC()
	}
	return it
}

// Get returns a copy of the item at key.
func (s *Store) Get(ctx context.Context, key store.Key) (store.Item, error) {
	if err := store.CheckKey(key); err != nil {
		return store.Item{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.ready(ctx); err != nil {
		return store.Item{}, fmt.Errorf("get %s: %w", key, err)
	}
	it, ok := s.items[key]
	if !ok {
		return store.Item{}, fmt.Errorf("get %s: %w", key, store.ErrNotFound)
	}
	return clone(it), nil
}

// GetMany returns copies of the items at keys that exist, in the keys'
// order, read under one lock: a consistent view, as one bbolt read
// transaction is.
func (s *Store) GetMany(ctx context.Context, keys []store.Key) ([]store.Item, error) {
	if err := store.CheckKeys(keys); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.ready(ctx); err != nil {
		return nil, fmt.Errorf("get %d items: %w", len(keys), err)
	}
	out := make([]store.Item, 0, len(keys))
	for _, k := range keys {
		if it, ok := s.items[k]; ok {
			out = append(out, clone(it))
		}
	}
	return out, nil
}

// Put stores a copy of item when cond holds.
func (s *Store) Put(ctx context.Context, item store.Item, cond store.Cond) error {
	if err := store.CheckItem(item); err != nil {
		return err
	}
	return s.single(ctx, store.Write{Op: store.OpPut, Item: item, Cond: cond})
}

// Delete removes the item at key when cond holds.
func (s *Store) Delete(ctx context.Context, key store.Key, cond store.Cond) error {
	if err := store.CheckKey(key); err != nil {
		return err
	}
	return s.single(ctx, store.Write{Op: store.OpDelete, Key: key, Cond: cond})
}

func (s *Store) single(ctx context.Context, w store.Write) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.ready(ctx)
	if err == nil {
		err = s.check(w)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", w.Target(), err)
	}
	s.apply(w)
	return nil
}

// Transact checks every condition, then applies every write, under the
// write lock: all or nothing. No key appears twice (store.CheckWrites), so
// checking before applying sees what each write would have seen.
func (s *Store) Transact(ctx context.Context, writes []store.Write) error {
	if err := store.CheckWrites(writes); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ready(ctx); err != nil {
		return fmt.Errorf("transaction: %w", err)
	}
	for i, w := range writes {
		if err := s.check(w); err != nil {
			return &store.TxCancelledError{Index: i, Key: w.Target(), Reason: err}
		}
	}
	for _, w := range writes {
		s.apply(w)
	}
	return nil
}

// check reports whether w's condition holds; the caller holds the lock.
func (s *Store) check(w store.Write) error {
	c := w.Cond
	cur, exists := s.items[w.Target()]
	switch {
	case c.MustNotExist && exists,
		(c.MustExist || c.Version > 0) && !exists,
		c.Version > 0 && cur.Version != c.Version:
		return store.ErrConditionFailed
	}
	return nil
}

// apply does w; the caller holds the write lock and has checked it.
func (s *Store) apply(w store.Write) {
	if w.Op == store.OpCheck {
		return
	}
	key := w.Target()
	if old, ok := s.items[key]; ok {
		s.unplace(store.Table, key, key)
		for ix, ik := range old.IndexKeys {
			s.unplace(ix, ik, key)
		}
		delete(s.items, key)
	}
	if w.Op == store.OpDelete {
		return
	}
	it := clone(w.Item)
	s.items[key] = it
	s.place(store.Table, key, key)
	for ix, ik := range it.IndexKeys {
		s.place(ix, ik, key)
	}
}

// place inserts the entry of table key tk at position pos of index ix.
func (s *Store) place(ix store.Index, pos, tk store.Key) {
	e := entry{sk: pos.SK, tk: tk}
	part := s.parts[ix][pos.PK]
	i, _ := slices.BinarySearchFunc(part, e, compareEntries)
	s.parts[ix][pos.PK] = slices.Insert(part, i, e)
}

// unplace removes what place inserted, dropping a partition left empty so
// that a store used for long does not keep every partition it ever saw.
func (s *Store) unplace(ix store.Index, pos, tk store.Key) {
	part := s.parts[ix][pos.PK]
	i, found := slices.BinarySearchFunc(part, entry{sk: pos.SK, tk: tk}, compareEntries)
	if !found {
		return
	}
	part = slices.Delete(part, i, i+1)
	if len(part) == 0 {
		delete(s.parts[ix], pos.PK)
		return
	}
	s.parts[ix][pos.PK] = part
}

// Query reads one page of a partition, on the table or an index, in
// O(log n + page): binary searches bound the sort-key condition and the
// cursor, then the page is a walk of the sorted entries.
func (s *Store) Query(ctx context.Context, q store.Query) (store.Page, error) {
	limit, err := store.CheckQuery(q)
	if err != nil {
		return store.Page{}, err
	}
	var resume *entry
	if q.Cursor != "" {
		pos, err := store.DecodeCursor(q)
		if err != nil {
			return store.Page{}, err
		}
		at := pos.Table
		if q.Index != store.Table {
			at = *pos.Index
		}
		resume = &entry{sk: at.SK, tk: pos.Table}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.ready(ctx); err != nil {
		return store.Page{}, fmt.Errorf("query %s %q: %w", q.Index, q.PK, err)
	}
	part := s.parts[q.Index][q.PK]
	lo, hi := bounds(part, q)
	if resume != nil {
		// The cursor's item may be gone: resume strictly after (or, going
		// down, before) where it was, not at an index of it.
		if q.Desc {
			hi = min(hi, sort.Search(len(part), func(i int) bool { return compareEntries(part[i], *resume) >= 0 }))
		} else {
			lo = max(lo, sort.Search(len(part), func(i int) bool { return compareEntries(part[i], *resume) > 0 }))
		}
	}
	var page store.Page
	if lo >= hi {
		return page, nil
	}
	var picked []entry
	if q.Desc {
		from := max(lo, hi-limit)
		picked = slices.Clone(part[from:hi])
		slices.Reverse(picked)
		if from > lo {
			page.Next = store.EncodeCursor(q, position(q, picked[len(picked)-1]))
		}
	} else {
		to := min(hi, lo+limit)
		picked = part[lo:to]
		if to < hi {
			page.Next = store.EncodeCursor(q, position(q, picked[len(picked)-1]))
		}
	}
	page.Items = make([]store.Item, len(picked))
	for i, e := range picked {
		page.Items[i] = clone(s.items[e.tk])
	}
	return page, nil
}

// bounds returns the half-open range of part's entries that meet q's
// sort-key condition. Items with a given prefix are contiguous in byte
// order, so the prefix's end is a binary search too.
func bounds(part []entry, q store.Query) (lo, hi int) {
	n := len(part)
	if from := q.From + q.Prefix; from != "" { // at most one of them is set
		lo = sort.Search(n, func(i int) bool { return part[i].sk >= from })
	}
	switch {
	case q.To != "":
		hi = sort.Search(n, func(i int) bool { return part[i].sk > q.To })
	case q.Prefix != "":
		hi = sort.Search(n, func(i int) bool { return part[i].sk > q.Prefix && !strings.HasPrefix(part[i].sk, q.Prefix) })
	default:
		hi = n
	}
	return lo, hi
}

// position is where a page stopped, as store.EncodeCursor records it.
func position(q store.Query, e entry) store.Position {
	pos := store.Position{Table: e.tk}
	if q.Index != store.Table {
		pos.Index = &store.Key{PK: q.PK, SK: e.sk}
	}
	return pos
}

// SweepExpired deletes the items whose TTL has passed at now, as DynamoDB's
// TTL (and the embedded engine's sweep) does in production; until it runs,
// expired items are still read, so tests can prove readers check Expired.
func (s *Store) SweepExpired(now time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, fmt.Errorf("sweep expired items: %w", errClosed)
	}
	n := 0
	for key, it := range s.items {
		if it.Expired(now) {
			s.apply(store.Write{Op: store.OpDelete, Key: key})
			n++
		}
	}
	return n, nil
}
