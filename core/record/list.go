package record

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
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
	Query      store.Query
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
	out := make([]T, 0, limit)
	for range maxScanPages {
		page, err := s.Query(ctx, q)
		if errors.Is(err, store.ErrBadCursor) {
			return nil, "", BadCursor()
		}
		if err != nil {
			return nil, "", fmt.Errorf("list %ss: %w", k.Name, StoreError(err))
		}
		for i, it := range page.Items {
			rec, ok, err := load(ctx, s, tenant, k, plan.Deref, it)
			if err != nil {
				return nil, "", err
			}
			if ok && match(&rec) {
				out = append(out, rec)
			}
			if len(out) < limit {
				continue
			}
			if i == len(page.Items)-1 && page.Next == "" {
				return out, "", nil
			}
			pos := store.Position{Table: it.Key}
			if q.Index != store.Table {
				ik := it.IndexKeys[q.Index]
				pos.Index = &ik
			}
			return out, EncodeListCursor(store.EncodeCursor(q, pos), tenant, filter), nil
		}
		if page.Next == "" {
			return out, "", nil
		}
		q.Cursor = page.Next
	}
	return out, EncodeListCursor(q.Cursor, tenant, filter), nil
}

func load[T any](ctx context.Context, s store.Store, tenant string, k Type[T], deref bool, it store.Item) (T, bool, error) {
	var rec T
	if deref {
		id, err := PointerID(it)
		if err != nil {
			return rec, false, err
		}
		rec, err = k.Get(ctx, s, tenant, id)
		if core.ErrorCode(err) == core.CodeNotFound {
			return rec, false, nil // deleted between the two reads
		}
		return rec, err == nil, err
	}
	if err := json.Unmarshal(it.Data, &rec); err != nil {
		return rec, false, fmt.Errorf("decode %s %s: %w", k.Name, it.Key, err)
	}
	return rec, true, nil
}
