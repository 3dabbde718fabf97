package record

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/store"
)

// Doc is how a document without an id of its own is stored — a tenant's
// settings, a plugin's active pointer, a contact's current score, a job's
// progress, a day's counters — at a key its owner computes. Its version is
// the item's, so that it guards writes the way a Type's record does, and
// its writes can join a consumer's or a use case's transaction.
type Doc[T any] struct {
	Name string // in messages: "tenant", "score"
	// TTL, when set, is when a document expires (the store's TTL).
	TTL func(v *T) time.Time
	// Version, when set, is the document's own copy of its version (the
	// ETag a client sees), kept equal to the item's.
	Version func(v *T) *int64
	// Index, when set, places the document in secondary indexes (a timer
	// in the due index while it is pending, and out of it once fired).
	Index func(v *T) map[store.Index]store.Key
}

// Get returns the document at k and its version, or a not-found *core.Error.
func (d Doc[T]) Get(ctx context.Context, s store.Store, k store.Key) (T, int64, error) {
	var v T
	it, err := s.Get(ctx, k)
	if errors.Is(err, store.ErrNotFound) {
		return v, 0, core.Errorf(core.CodeNotFound, "%s %s not found", d.Name, k)
	}
	if err != nil {
		return v, 0, fmt.Errorf("load %s %s: %w", d.Name, k, StoreError(err))
	}
	if err := json.Unmarshal(it.Data, &v); err != nil {
		return v, 0, fmt.Errorf("decode %s %s: %w", d.Name, k, err)
	}
	return v, it.Version, nil
}

// Decode reads the document an item holds (one a query returned).
func (d Doc[T]) Decode(it store.Item) (T, error) {
	var v T
	if err := json.Unmarshal(it.Data, &v); err != nil {
		return v, fmt.Errorf("decode %s %s: %w", d.Name, it.Key, err)
	}
	return v, nil
}

// Put is the write that stores v at k over version prev (0: must not exist
// yet), for a transaction; the document's new version is prev+1.
func (d Doc[T]) Put(k store.Key, prev int64, v *T) (store.Write, error) {
	if d.Version != nil {
		*d.Version(v) = prev + 1
	}
	data, err := json.Marshal(v)
	if err != nil {
		return store.Write{}, fmt.Errorf("encode %s %s: %w", d.Name, k, err)
	}
	cond := store.Cond{Version: prev}
	if prev == 0 {
		cond = store.Cond{MustNotExist: true}
	}
	it := store.Item{Key: k, Version: prev + 1, Data: data}
	if d.TTL != nil {
		it.ExpiresAt = d.TTL(v)
	}
	if d.Index != nil {
		it.IndexKeys = d.Index(v)
	}
	return store.Write{Op: store.OpPut, Item: it, Cond: cond}, nil
}

// Create stores v at k when nothing is there; something there is a
// conflict.
func (d Doc[T]) Create(ctx context.Context, s store.Store, k store.Key, v *T) error {
	w, err := d.Put(k, 0, v)
	if err != nil {
		return err
	}
	if err := s.Put(ctx, w.Item, w.Cond); errors.Is(err, store.ErrConditionFailed) {
		return core.Errorf(core.CodeConflict, "%s %s already exists", d.Name, k)
	} else if err != nil {
		return fmt.Errorf("create %s %s: %w", d.Name, k, StoreError(err))
	}
	return nil
}

// Delete removes the document at k if it is still at version; a document
// that moved on answers an error IsRace recognises.
func (d Doc[T]) Delete(ctx context.Context, s store.Store, k store.Key, version int64) error {
	err := s.Delete(ctx, k, store.Cond{Version: version})
	if err != nil && !errors.Is(err, store.ErrConditionFailed) {
		err = StoreError(err)
	}
	if err != nil {
		return fmt.Errorf("delete %s %s: %w", d.Name, k, err)
	}
	return nil
}

// DeleteWrite is Delete as a write for the caller's own transaction, beside
// the event that says the document went.
func (d Doc[T]) DeleteWrite(k store.Key, version int64) store.Write {
	return store.Write{Op: store.OpDelete, Key: k, Cond: store.Cond{Version: version}}
}

// Update reads the document at k, applies change and writes it back under
// the version it read, re-reading up to MaxRetries times when another
// writer got there first. exists says whether there was a document; with
// create false a missing one is not found.
func (d Doc[T]) Update(ctx context.Context, s store.Store, k store.Key, create bool, change func(v *T, exists bool) error) (T, error) {
	for attempt := 0; ; attempt++ {
		v, version, err := d.Get(ctx, s, k)
		exists := err == nil
		if err != nil && (!create || core.ErrorCode(err) != core.CodeNotFound) {
			return v, err
		}
		if err := change(&v, exists); err != nil {
			return v, err
		}
		w, err := d.Put(k, version, &v)
		if err != nil {
			return v, err
		}
		err = s.Put(ctx, w.Item, w.Cond)
		if err == nil {
			return v, nil
		}
		if !errors.Is(err, store.ErrConditionFailed) {
			return v, fmt.Errorf("write %s %s: %w", d.Name, k, StoreError(err))
		}
		if attempt == MaxRetries {
			return v, Stale(d.Name, k.String(), 0, -1)
		}
	}
}
