package record

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/store"
)

// Page sizes of list endpoints.
const (
	MinLimit     = 1
	MaxLimit     = 200
	DefaultLimit = 50
	// maxScanPages bounds the store pages one list call reads when filters
	// are applied after the read: past it the call answers what it found with
	// a cursor, as DynamoDB does with a FilterExpression, so a rare filter
	// cannot make one request read a whole tenant.
	maxScanPages = 10
)

// Sorts of list endpoints: by creation or last update, "-" for newest first.
var Sorts = []string{"created", "-created", "updated", "-updated"}

// SortTime renders t so that byte order is time order: fixed width, UTC.
func SortTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

// BatchResult is the outcome of one element of a batch.
type BatchResult[T any] struct {
	Record T
	Err    error
}

// filterKey encodes a filter's values unambiguously (a tag may hold any
// separator we could pick), for the cursor's fingerprint.
func FilterKey(values ...string) string {
	b, _ := json.Marshal(values)
	return string(b)
}

func CheckLimit(limit int) error {
	if limit < MinLimit || limit > MaxLimit {
		return &core.Error{Code: core.CodeInvalid, Message: "validation failed",
			Fields: []core.FieldError{{Path: "limit", Message: fmt.Sprintf("must be between %d and %d", MinLimit, MaxLimit), Value: limit}}}
	}
	return nil
}

// Plan is the store query that drives a list.
type Plan struct {
	Query store.Query
	// Shards, when set, are the partitions of a sharded collection the
	// query reads instead of Query.PK, merged in sort order behind one
	// cursor (store.QueryMerged).
	Shards     []string
	Deref      bool // the query reads pointer items (tag entries, markers), not records
	PostFilter bool // some filters are checked after the read, so read ahead
}

// listCursor is what a list's opaque cursor holds: the store's cursor and a
// fingerprint of the tenant and filter it was made for.
type listCursor struct {
	F string `json:"f"`
	C string `json:"c"`
}

func BadCursor() error {
	return &core.Error{Code: core.CodeInvalid, Message: "validation failed",
		Fields: []core.FieldError{{Path: "cursor", Message: "is not a cursor of this list; start again without one"}}}
}

func fingerprint(tenant, filter string) string {
	// The tenant's length goes first: with a bare separator, a tenant and a
	// filter holding it ("a\x00b", "c" and "a", "b\x00c") would hash alike.
	sum := sha256.Sum256(fmt.Appendf(nil, "%d:%s\x00%s", len(tenant), tenant, filter))
	return hex.EncodeToString(sum[:12])
}

// DecodeListCursor reads a list cursor made for tenant and filter, returning
// the store cursor inside.
func DecodeListCursor(s, tenant, filter string) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return "", BadCursor()
	}
	var c listCursor
	if json.Unmarshal(raw, &c) != nil || c.C == "" || c.F != fingerprint(tenant, filter) {
		return "", BadCursor()
	}
	return c.C, nil
}

// EncodeListCursor wraps a store cursor for tenant and filter.
func EncodeListCursor(storeCursor, tenant, filter string) string {
	b, _ := json.Marshal(listCursor{F: fingerprint(tenant, filter), C: storeCursor})
	return base64.RawURLEncoding.EncodeToString(b)
}

// List reads pages of plan's query until limit records match, and returns
// them with the cursor of where it stopped. The cursor is bound to tenant
// and filter (FilterKey of the list's parameters).
func List[T any](ctx context.Context, s store.Store, tenant string, k Type[T], plan Plan, filter string,
	limit int, cursor string, match func(*T) bool) ([]T, string, error) {
	return ListItems(ctx, s, tenant, k, plan, filter, limit, cursor, func(_ store.Item, rec *T) bool { return match(rec) })
}

// ListItems is List whose match also sees the item the query read (with
// Deref, the entry that led to the record): a search reads one entry per
// matching token and keeps the record at one of them only.
func ListItems[T any](ctx context.Context, s store.Store, tenant string, k Type[T], plan Plan, filter string,
	limit int, cursor string, match func(it store.Item, rec *T) bool) ([]T, string, error) {
	q := plan.Query
	if cursor != "" {
		c, err := DecodeListCursor(cursor, tenant, filter)
		if err != nil {
			return nil, "", err
		}
		q.Cursor = c
	}
	// A list right after a create must show it: table reads can be strongly
	// consistent (index reads cannot; DynamoDB keeps those eventual).
	q.Consistent = q.Index == store.Table
	q.Limit = limit
	if plan.PostFilter {
		q.Limit = max(limit, 100) // reading ahead pays for the records the filters drop
	}
	// read is one page of the plan's query from cursor c; at is the cursor
	// that resumes just after an item it returned.
	read := func(c string) (store.Page, error) {
		q.Cursor = c
		return s.Query(ctx, q)
	}
	at := func(it store.Item) string {
		pos := store.Position{Table: it.Key}
		if q.Index != store.Table {
			ik := it.IndexKeys[q.Index]
			pos.Index = &ik
		}
		return store.EncodeCursor(q, pos)
	}
	if len(plan.Shards) > 0 {
		mq := q
		mq.PK, mq.Limit, mq.Cursor = "", 0, ""
		read = func(c string) (store.Page, error) {
			mp, err := store.QueryMerged(ctx, s, mq, plan.Shards, q.Limit, c)
			return store.Page{Items: mp.Items, Next: mp.Next}, err
		}
		at = func(it store.Item) string { return store.MergedCursorAt(mq, plan.Shards, it) }
	}
	next := q.Cursor
	out := make([]T, 0, limit)
	for range maxScanPages {
		page, err := read(next)
		if errors.Is(err, store.ErrBadCursor) {
			return nil, "", BadCursor()
		}
		if err != nil {
			return nil, "", fmt.Errorf("list %ss: %w", k.Name, StoreError(err))
		}
		// Pointers are resolved a chunk at a time with one GetMany: the chunk
		// is what the page still needs (no record is read past the page it
		// answers), or, when filters drop records, as much as one batch reads
		// ahead. A page by tag costs one query and one batch read.
		var derefed map[store.Key]T
		fetched := 0 // page.Items[:fetched] are resolved into derefed
		for i, it := range page.Items {
			if plan.Deref && i == fetched {
				chunk := limit - len(out)
				if plan.PostFilter {
					chunk = store.MaxBatchGetKeys
				}
				fetched = min(len(page.Items), i+min(chunk, store.MaxBatchGetKeys))
				if derefed, err = k.getMany(ctx, s, tenant, page.Items[i:fetched]); err != nil {
					return nil, "", err
				}
			}
			rec, ok, err := load(tenant, k, plan.Deref, derefed, it)
			if err != nil {
				return nil, "", err
			}
			if ok && match(it, &rec) {
				out = append(out, rec)
			}
			if len(out) < limit {
				continue
			}
			if i == len(page.Items)-1 && page.Next == "" {
				return out, "", nil
			}
			return out, EncodeListCursor(at(it), tenant, filter), nil
		}
		if page.Next == "" {
			return out, "", nil
		}
		next = page.Next
	}
	return out, EncodeListCursor(next, tenant, filter), nil
}

// load decodes a record item, or finds in derefed the record a pointer
// item points at; a record deleted between the two reads is not ok.
func load[T any](tenant string, k Type[T], deref bool, derefed map[store.Key]T, it store.Item) (T, bool, error) {
	var rec T
	if deref {
		id, err := PointerID(it)
		if err != nil {
			return rec, false, err
		}
		rec, ok := derefed[k.Key(tenant, id)]
		return rec, ok, nil
	}
	if err := json.Unmarshal(it.Data, &rec); err != nil {
		return rec, false, fmt.Errorf("decode %s %s: %w", k.Name, it.Key, err)
	}
	return rec, true, nil
}

// getMany reads the records pointers point at (at most MaxBatchGetKeys)
// with one GetMany; ids that are not ids, or deleted records, are absent.
func (k Type[T]) getMany(ctx context.Context, s store.Store, tenant string, pointers []store.Item) (map[store.Key]T, error) {
	keys := make([]store.Key, 0, len(pointers))
	for _, p := range pointers {
		id, err := PointerID(p)
		if err != nil {
			return nil, err
		}
		if key := k.Key(tenant, id); core.ValidID(id) && !slices.Contains(keys, key) {
			keys = append(keys, key)
		}
	}
	items, err := s.GetMany(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("load %ss: %w", k.Name, StoreError(err))
	}
	out := make(map[store.Key]T, len(items))
	for _, it := range items {
		var rec T
		if err := json.Unmarshal(it.Data, &rec); err != nil {
			return nil, fmt.Errorf("decode %s %s: %w", k.Name, it.Key, err)
		}
		out[it.Key] = rec
	}
	return out, nil
}
