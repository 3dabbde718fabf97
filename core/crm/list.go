package crm

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
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

// ContactFilter selects and orders contacts. Its fields are named after the
// query parameters so that problems name the parameter at fault.
type ContactFilter struct {
	Email        string
	Tag          string
	OwnerID      string
	CompanyID    string
	Stage        core.Stage
	UpdatedSince time.Time
	Sort         string
}

// Normalize validates and normalises a filter, reporting every parameter at
// fault.
func (f *ContactFilter) Normalize() error {
	var p core.Problems
	if f.Email != "" {
		e, err := core.NormalizeEmail(f.Email)
		if err != nil {
			p = append(p, core.FieldError{Path: "email", Message: err.Error(), Value: f.Email})
		}
		f.Email = e
	}
	if f.Tag != "" {
		t, ok := core.NormalizeTag(f.Tag)
		if !ok {
			p = append(p, core.FieldError{Path: "tag", Message: "must be 1-64 characters, without # or control characters", Value: f.Tag})
		}
		f.Tag = t
	}
	f.OwnerID = strings.TrimSpace(f.OwnerID)
	if len(f.OwnerID) > 128 || strings.ContainsAny(f.OwnerID, "\x00\n\r") {
		p.Add("owner_id", "must be an owner id of up to 128 characters")
	}
	if f.CompanyID != "" && !core.ValidID(f.CompanyID) {
		p.Add("company_id", "must be a company id")
	}
	if f.Stage != "" && !slices.Contains(core.Stages, f.Stage) {
		p.Add("lifecycle_stage", "must be one of %v", core.Stages)
	}
	if f.Sort == "" {
		f.Sort = "-created"
	}
	if !slices.Contains(Sorts, f.Sort) {
		p.Add("sort", "must be one of %v", Sorts)
	}
	return p.Err()
}

func (f ContactFilter) match(c *core.Contact) bool {
	switch {
	case f.Email != "" && !slices.ContainsFunc(c.Emails, func(e core.Email) bool { return e.Address == f.Email }),
		f.Tag != "" && !slices.Contains(c.Tags, f.Tag),
		f.OwnerID != "" && c.OwnerID != f.OwnerID,
		f.CompanyID != "" && c.CompanyID != f.CompanyID,
		f.Stage != "" && c.LifecycleStage != f.Stage,
		!f.UpdatedSince.IsZero() && c.UpdatedAt.Before(f.UpdatedSince):
		return false
	}
	return true
}

// List returns one page of a tenant's contacts matching f, and the cursor of
// the next page ("" at the end). The cursor is bound to the tenant and the
// filter: used with another, it is refused as invalid.
func (cs *Contacts) List(ctx context.Context, tenant string, f ContactFilter, limit int, cursor string) ([]core.Contact, string, error) {
	if err := f.Normalize(); err != nil {
		return nil, "", err
	}
	if err := checkLimit(limit); err != nil {
		return nil, "", err
	}
	if f.Email != "" { // unique: at most one match, no paging
		if cursor != "" {
			return nil, "", badCursor()
		}
		c, err := cs.ByEmail(ctx, tenant, f.Email)
		if core.ErrorCode(err) == core.CodeNotFound || err == nil && !f.match(&c) {
			return []core.Contact{}, "", nil
		}
		if err != nil {
			return nil, "", err
		}
		return []core.Contact{c}, "", nil
	}
	pk := contactsPK(tenant)
	plan := listPlan{q: store.Query{PK: pk, Desc: strings.HasPrefix(f.Sort, "-")}}
	switch {
	case strings.HasSuffix(f.Sort, "updated"):
		plan.q.Index = store.GSI1
		if !f.UpdatedSince.IsZero() {
			plan.q.From = sortTime(f.UpdatedSince)
		}
	// Every index below sorts by contact id, which is creation order; the
	// most selective filter drives, the others are checked on what it reads.
	case f.CompanyID != "":
		plan.q.Index, plan.q.PK = store.GSI3, contactCompanyPK(tenant, f.CompanyID)
	case f.OwnerID != "":
		plan.q.Index, plan.q.PK = store.GSI2, contactOwnerPK(tenant, f.OwnerID)
	case f.Tag != "":
		plan.q.PK, plan.deref = contactTagPK(tenant, f.Tag), true
	case f.Stage != "":
		plan.q.Index, plan.q.PK = store.GSI4, contactStagePK(tenant, string(f.Stage))
	}
	// Filters the driving query does not answer are checked on what it reads.
	set := 0
	for _, v := range []string{f.Tag, f.OwnerID, f.CompanyID, string(f.Stage)} {
		if v != "" {
			set++
		}
	}
	driven := min(set, 1) // company, owner, tag or stage drives a sort by creation
	if plan.q.Index == store.GSI1 {
		driven = 0 // the update index answers only updated_since
	}
	if !f.UpdatedSince.IsZero() {
		set++
		if plan.q.Index == store.GSI1 {
			driven = 1
		}
	}
	plan.postFilter = set > driven
	fp := filterKey("contact", f.Tag, f.OwnerID, f.CompanyID, string(f.Stage), f.UpdatedSince.UTC().Format(time.RFC3339Nano), f.Sort)
	return scan(ctx, cs.store, tenant, contactKind, plan, fp, limit, cursor, f.match)
}

// CompanyFilter selects and orders companies.
type CompanyFilter struct {
	Domain       string
	UpdatedSince time.Time
	Sort         string
}

// Normalize validates and normalises a filter.
func (f *CompanyFilter) Normalize() error {
	var p core.Problems
	if f.Domain != "" {
		d, ok := core.NormalizeDomain(f.Domain)
		if !ok {
			p = append(p, core.FieldError{Path: "domain", Message: "must be a domain such as example.com", Value: f.Domain})
		}
		f.Domain = d
	}
	if f.Sort == "" {
		f.Sort = "-created"
	}
	if !slices.Contains(Sorts, f.Sort) {
		p.Add("sort", "must be one of %v", Sorts)
	}
	return p.Err()
}

// List returns one page of a tenant's companies matching f.
func (cs *Companies) List(ctx context.Context, tenant string, f CompanyFilter, limit int, cursor string) ([]core.Company, string, error) {
	if err := f.Normalize(); err != nil {
		return nil, "", err
	}
	if err := checkLimit(limit); err != nil {
		return nil, "", err
	}
	plan := listPlan{q: store.Query{PK: companiesPK(tenant), Desc: strings.HasPrefix(f.Sort, "-")}}
	if f.Domain != "" {
		// The domain marker is the company's only secondary item; reading it
		// is a one-item "page".
		plan.q.PK, plan.q.Prefix, plan.deref = companyDomainKey(tenant, f.Domain).PK, markerSK, true
	} else if strings.HasSuffix(f.Sort, "updated") {
		plan.q.Index = store.GSI1
		if !f.UpdatedSince.IsZero() {
			plan.q.From = sortTime(f.UpdatedSince)
		}
	}
	plan.postFilter = !f.UpdatedSince.IsZero() && plan.q.Index != store.GSI1
	match := func(c *core.Company) bool {
		return (f.Domain == "" || c.Domain == f.Domain) && (f.UpdatedSince.IsZero() || !c.UpdatedAt.Before(f.UpdatedSince))
	}
	fp := filterKey("company", f.Domain, f.UpdatedSince.UTC().Format(time.RFC3339Nano), f.Sort)
	return scan(ctx, cs.store, tenant, companyKind, plan, fp, limit, cursor, match)
}

// filterKey encodes a filter's values unambiguously (a tag may hold any
// separator we could pick), for the cursor's fingerprint.
func filterKey(values ...string) string {
	b, _ := json.Marshal(values)
	return string(b)
}

func checkLimit(limit int) error {
	if limit < MinLimit || limit > MaxLimit {
		return &core.Error{Code: core.CodeInvalid, Message: "validation failed",
			Fields: []core.FieldError{{Path: "limit", Message: fmt.Sprintf("must be between %d and %d", MinLimit, MaxLimit), Value: limit}}}
	}
	return nil
}

// listPlan is the store query that drives a list.
type listPlan struct {
	q          store.Query
	deref      bool // the query reads pointer items (tag entries, markers), not records
	postFilter bool // some filters are checked after the read, so read ahead
}

// listCursor is what a list's opaque cursor holds: the store's cursor and a
// fingerprint of the tenant and filter it was made for.
type listCursor struct {
	F string `json:"f"`
	C string `json:"c"`
}

func badCursor() error {
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
		return "", badCursor()
	}
	var c listCursor
	if json.Unmarshal(raw, &c) != nil || c.C == "" || c.F != fingerprint(tenant, filter) {
		return "", badCursor()
	}
	return c.C, nil
}

// EncodeListCursor wraps a store cursor for tenant and filter.
func EncodeListCursor(storeCursor, tenant, filter string) string {
	b, _ := json.Marshal(listCursor{F: fingerprint(tenant, filter), C: storeCursor})
	return base64.RawURLEncoding.EncodeToString(b)
}

// scan reads pages of plan.q until limit records match, and returns them with
// the cursor of where it stopped.
func scan[T any](ctx context.Context, s store.Store, tenant string, k kind[T], plan listPlan, filter string,
	limit int, cursor string, match func(*T) bool) ([]T, string, error) {
	q := plan.q
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
	if plan.postFilter {
		q.Limit = max(limit, 100) // reading ahead pays for the records the filters drop
	}
	out := make([]T, 0, limit)
	for range maxScanPages {
		page, err := s.Query(ctx, q)
		if errors.Is(err, store.ErrBadCursor) {
			return nil, "", badCursor()
		}
		if err != nil {
			return nil, "", fmt.Errorf("list %ss: %w", k.name, storeErr(err))
		}
		// Pointers are resolved a chunk at a time with one GetMany: the chunk
		// is what the page still needs (no record is read past the page it
		// answers), or, when filters drop records, as much as one batch reads
		// ahead. A page by tag costs one query and one batch read.
		var derefed map[store.Key]T
		fetched := 0 // page.Items[:fetched] are resolved into derefed
		for i, it := range page.Items {
			if plan.deref && i == fetched {
				chunk := limit - len(out)
				if plan.postFilter {
					chunk = store.MaxBatchGetKeys
				}
				fetched = min(len(page.Items), i+min(chunk, store.MaxBatchGetKeys))
				if derefed, err = k.getMany(ctx, s, tenant, page.Items[i:fetched]); err != nil {
					return nil, "", err
				}
			}
			rec, ok, err := load(tenant, k, plan.deref, derefed, it)
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

// load decodes a record item, or finds in derefed the record a pointer
// item points at; a record deleted between the two reads is not ok.
func load[T any](tenant string, k kind[T], deref bool, derefed map[store.Key]T, it store.Item) (T, bool, error) {
	var rec T
	if deref {
		id, err := pointerID(it)
		if err != nil {
			return rec, false, err
		}
		rec, ok := derefed[k.key(tenant, id)]
		return rec, ok, nil
	}
	if err := json.Unmarshal(it.Data, &rec); err != nil {
		return rec, false, fmt.Errorf("decode %s %s: %w", k.name, it.Key, err)
	}
	return rec, true, nil
}

// getMany reads the records pointers point at (at most MaxBatchGetKeys)
// with one GetMany; ids that are not ids, or deleted records, are absent.
func (k kind[T]) getMany(ctx context.Context, s store.Store, tenant string, pointers []store.Item) (map[store.Key]T, error) {
	keys := make([]store.Key, 0, len(pointers))
	for _, p := range pointers {
		id, err := pointerID(p)
		if err != nil {
			return nil, err
		}
		if key := k.key(tenant, id); core.ValidID(id) && !slices.Contains(keys, key) {
			keys = append(keys, key)
		}
	}
	items, err := s.GetMany(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("load %ss: %w", k.name, storeErr(err))
	}
	out := make(map[store.Key]T, len(items))
	for _, it := range items {
		var rec T
		if err := json.Unmarshal(it.Data, &rec); err != nil {
			return nil, fmt.Errorf("decode %s %s: %w", k.name, it.Key, err)
		}
		out[it.Key] = rec
	}
	return out, nil
}
