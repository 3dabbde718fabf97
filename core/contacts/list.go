package contacts

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
)

// ContactFilter selects and orders contacts. Its fields are named after the
// query parameters so that problems name the parameter at fault.
type ContactFilter struct {
	Email        string
	Tag          string
	OwnerID      string
	CompanyID    string
	Stage        core.Stage
	UpdatedSince time.Time
	// Q finds contacts by a prefix of their name, e-mail or phone
	// (core.ParseSearch); its results come in the order of the token they
	// match, so it takes no Sort.
	Q    string
	Sort string
}

// Normalize validates and normalises a filter, reporting every parameter at
// fault.
func (f *ContactFilter) Normalize() error {
	var p core.Problems
	_, f.Sort, p = parseQ(f.Q, f.Sort)
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
	if !slices.Contains(Sorts, f.Sort) && f.Q == "" {
		p.Add("sort", "must be one of %v", Sorts)
	}
	return p.Err()
}

// parseQ reads a search; sort, which a search does not take, defaults to
// -created without one.
func parseQ(raw, sort string) (core.SearchQuery, string, core.Problems) {
	var p core.Problems
	if raw == "" {
		if sort == "" {
			sort = "-created"
		}
		return core.SearchQuery{}, sort, nil
	}
	q, err := core.ParseSearch(raw)
	if ce, ok := err.(*core.Error); ok {
		p = append(p, ce.Fields...)
	}
	if sort != "" {
		p = append(p, core.FieldError{Path: "sort", Message: "does not apply to a search (q): results come in the order of the name, e-mail or phone they match", Value: sort})
	}
	return q, "", p
}

func (f ContactFilter) match(q core.SearchQuery, c *core.Contact) bool {
	if f.Q != "" {
		if _, all := contactTokens(c); !q.Match(all) {
			return false
		}
	}
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
	q, _ := core.ParseSearch(f.Q) // valid when f.Q is set: Normalize checked it
	if err := record.CheckLimit(limit); err != nil {
		return nil, "", err
	}
	if f.Email != "" { // unique: at most one match, no paging
		if cursor != "" {
			return nil, "", record.BadCursor()
		}
		c, err := cs.ByEmail(ctx, tenant, f.Email)
		if core.ErrorCode(err) == core.CodeNotFound || err == nil && !f.match(q, &c) {
			return []core.Contact{}, "", nil
		}
		if err != nil {
			return nil, "", err
		}
		return []core.Contact{c}, "", nil
	}
	if f.Q != "" || strings.HasSuffix(f.Sort, "name") {
		return cs.listByEntry(ctx, tenant, f, q, limit, cursor)
	}
	plan := record.Plan{Query: store.Query{Desc: strings.HasPrefix(f.Sort, "-")}, Shards: contactShards.PKs(tenant)}
	switch {
	case strings.HasSuffix(f.Sort, "updated"):
		plan.Query.Index = store.GSI1
		if !f.UpdatedSince.IsZero() {
			plan.Query.From = record.SortTime(f.UpdatedSince)
		}
	// Every index below sorts by contact id, which is creation order; the
	// most selective filter drives, the others are checked on what it reads.
	case f.CompanyID != "":
		plan.Query.Index, plan.Query.PK, plan.Shards = store.GSI3, contactCompanyPK(tenant, f.CompanyID), nil
	case f.OwnerID != "":
		plan.Query.Index, plan.Query.PK, plan.Shards = store.GSI2, contactOwnerPK(tenant, f.OwnerID), nil
	case f.Tag != "":
		plan.Query.PK, plan.Shards, plan.Deref = contactTagPK(tenant, f.Tag), nil, true
	case f.Stage != "":
		plan.Query.Index, plan.Shards = store.GSI4, contactStageShards.PKs(tenant, string(f.Stage))
	}
	// Filters the driving query does not answer are checked on what it reads.
	set := 0
	for _, v := range []string{f.Tag, f.OwnerID, f.CompanyID, string(f.Stage)} {
		if v != "" {
			set++
		}
	}
	driven := min(set, 1) // company, owner, tag or stage drives a sort by creation
	if plan.Query.Index == store.GSI1 {
		driven = 0 // the update index answers only updated_since
	}
	if !f.UpdatedSince.IsZero() {
		set++
		if plan.Query.Index == store.GSI1 {
			driven = 1
		}
	}
	plan.PostFilter = set > driven
	fp := record.FilterKey("contact", f.Tag, f.OwnerID, f.CompanyID, string(f.Stage), f.UpdatedSince.UTC().Format(time.RFC3339Nano), f.Sort)
	return record.List(ctx, cs.store, tenant, contactKind, plan, fp, limit, cursor, func(c *core.Contact) bool { return f.match(q, c) })
}

// listByEntry lists through the search entries of q's driving word, or the
// sort names of slot 0, checking every filter on what it reads. A contact
// is kept at one entry only: for a search, the smallest of its tokens the
// driving word is a prefix of; for a sort, its current sort name (an index
// a moment behind a rename can hold both).
func (cs *Contacts) listByEntry(ctx context.Context, tenant string, f ContactFilter, q core.SearchQuery, limit int, cursor string) ([]core.Contact, string, error) {
	var plan record.Plan
	var keep func(it store.Item, c *core.Contact) bool
	if f.Q != "" {
		plan = searchPlan(q, contactSearchShards.PKs(tenant, core.SearchPartition(q.Driver())))
		keep = func(it store.Item, c *core.Contact) bool {
			indexed, _ := contactTokens(c)
			return entryToken(it, c.ID) == q.First(indexed)
		}
	} else {
		plan = record.Plan{Query: store.Query{Index: store.GSI2, Desc: strings.HasPrefix(f.Sort, "-")},
			Shards: contactNameShards.PKs(tenant), Deref: true}
		plan.PostFilter = f.Tag != "" || f.OwnerID != "" || f.CompanyID != "" || f.Stage != "" || !f.UpdatedSince.IsZero()
		keep = func(it store.Item, c *core.Contact) bool { return it.IndexKeys[store.GSI2].SK == contactSortName(c) }
	}
	fp := record.FilterKey("contact", f.Tag, f.OwnerID, f.CompanyID, string(f.Stage), f.UpdatedSince.UTC().Format(time.RFC3339Nano), f.Sort,
		strings.Join(q.Words, " "))
	return record.ListItems(ctx, cs.store, tenant, contactKind, plan, fp, limit, cursor, func(it store.Item, c *core.Contact) bool {
		return keep(it, c) && f.match(q, c)
	})
}

// CompanyFilter selects and orders companies.
type CompanyFilter struct {
	Domain       string
	UpdatedSince time.Time
	// Q finds companies by a prefix of their name or domain, as
	// ContactFilter.Q finds contacts.
	Q    string
	Sort string
}

// Normalize validates and normalises a filter.
func (f *CompanyFilter) Normalize() error {
	var p core.Problems
	_, f.Sort, p = parseQ(f.Q, f.Sort)
	if f.Domain != "" {
		d, ok := core.NormalizeDomain(f.Domain)
		if !ok {
			p = append(p, core.FieldError{Path: "domain", Message: "must be a domain such as example.com", Value: f.Domain})
		}
		f.Domain = d
	}
	if !slices.Contains(Sorts, f.Sort) && f.Q == "" {
		p.Add("sort", "must be one of %v", Sorts)
	}
	return p.Err()
}

// List returns one page of a tenant's companies matching f.
func (cs *Companies) List(ctx context.Context, tenant string, f CompanyFilter, limit int, cursor string) ([]core.Company, string, error) {
	if err := f.Normalize(); err != nil {
		return nil, "", err
	}
	q, _ := core.ParseSearch(f.Q) // valid when f.Q is set: Normalize checked it
	if err := record.CheckLimit(limit); err != nil {
		return nil, "", err
	}
	plan := record.Plan{Query: store.Query{PK: companiesPK(tenant), Desc: strings.HasPrefix(f.Sort, "-")}}
	// keep says which of the entries read for a company stands for it (see
	// Contacts.listByEntry).
	keep := func(store.Item, *core.Company) bool { return true }
	if f.Domain != "" {
		// The domain marker is the company's only secondary item; reading it
		// is a one-item "page".
		plan.Query.PK, plan.Query.Prefix, plan.Deref = companyDomainKey(tenant, f.Domain).PK, store.MarkerSK, true
		plan.PostFilter = f.Q != ""
	} else if f.Q != "" {
		plan = searchPlan(q, []string{companySearchPK(tenant, core.SearchPartition(q.Driver()))})
		keep = func(it store.Item, c *core.Company) bool {
			indexed, _ := companyTokens(c)
			return entryToken(it, c.ID) == q.First(indexed)
		}
	} else if strings.HasSuffix(f.Sort, "updated") {
		plan.Query.Index = store.GSI1
		if !f.UpdatedSince.IsZero() {
			plan.Query.From = record.SortTime(f.UpdatedSince)
		}
	} else if strings.HasSuffix(f.Sort, "name") {
		// The company itself carries its sort name (gsi2): no entry to read.
		plan.Query.Index, plan.Query.PK = store.GSI2, companyNamePK(tenant)
		keep = func(it store.Item, c *core.Company) bool { return it.IndexKeys[store.GSI2].SK == companySortName(c) }
	}
	plan.PostFilter = plan.PostFilter || !f.UpdatedSince.IsZero() && plan.Query.Index != store.GSI1
	match := func(it store.Item, c *core.Company) bool {
		if f.Q != "" {
			if _, all := companyTokens(c); !q.Match(all) {
				return false
			}
		}
		return keep(it, c) && (f.Domain == "" || c.Domain == f.Domain) && (f.UpdatedSince.IsZero() || !c.UpdatedAt.Before(f.UpdatedSince))
	}
	fp := record.FilterKey("company", f.Domain, f.UpdatedSince.UTC().Format(time.RFC3339Nano), f.Sort, strings.Join(q.Words, " "))
	return record.ListItems(ctx, cs.store, tenant, companyKind, plan, fp, limit, cursor, match)
}
