package contacts

import (
	"context"
	"fmt"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/core/tenancy"
)

// Companies is the repository and use cases of companies.
type Companies struct {
	store   store.Store
	tenants *tenancy.Tenants
	now     func() time.Time
}

// NewCompanies returns the companies of every tenant in s.
func NewCompanies(s store.Store, tenants *tenancy.Tenants, now func() time.Time) *Companies {
	return &Companies{store: s, tenants: tenants, now: now}
}

var companyKind = record.Type[core.Company]{
	Name: "company",
	Key:  CompanyKey,
	Meta: func(c *core.Company) *core.Meta { return &c.Meta },
	Index: func(tenant string, c *core.Company) map[store.Index]store.Key {
		return map[store.Index]store.Key{
			store.GSI1: {PK: companiesPK(tenant), SK: record.SortTime(c.UpdatedAt) + "#" + c.ID},
			store.GSI2: {PK: companyNamePK(tenant), SK: companySortName(c)},
		}
	},
	Slots: companySlots,
	Unique: func(tenant string, c *core.Company) []record.Unique {
		if c.Domain == "" {
			return nil
		}
		return []record.Unique{{Key: companyDomainKey(tenant, c.Domain), Path: "domain", Value: c.Domain}}
	},
}

// Get returns one company; another tenant's id is simply not found.
func (cs *Companies) Get(ctx context.Context, tenant, id string) (core.Company, error) {
	return companyKind.Get(ctx, cs.store, tenant, id)
}

// Check validates fields as Create would, storing nothing: the API uses it to
// report the domain's problems beside the schema's.
func (cs *Companies) Check(ctx context.Context, tenant string, f core.CompanyFields) error {
	t, err := cs.tenants.Get(ctx, tenant)
	if err != nil {
		return err
	}
	return f.Normalize(t.Rules(core.EntityCompany, cs.now()))
}

// Create validates and stores a new company.
func (cs *Companies) Create(ctx context.Context, tenant string, f core.CompanyFields) (core.Company, error) {
	t, err := cs.tenants.Get(ctx, tenant)
	if err != nil {
		return core.Company{}, err
	}
	now := cs.now()
	if err := f.Normalize(t.Rules(core.EntityCompany, now)); err != nil {
		return core.Company{}, err
	}
	c := core.Company{CompanyFields: f}
	if err := companyKind.Create(ctx, cs.store, tenant, now, &c); err != nil {
		return core.Company{}, err
	}
	return c, nil
}

// Update applies change to a company's writable fields and stores the
// result when it validates; ifVersion > 0 is the If-Match.
func (cs *Companies) Update(ctx context.Context, tenant, id string, ifVersion int64, change func(*core.CompanyFields) error) (core.Company, error) {
	t, err := cs.tenants.Get(ctx, tenant)
	if err != nil {
		return core.Company{}, err
	}
	return companyKind.Update(ctx, cs.store, tenant, id, ifVersion, cs.now, func(cur core.Company) (core.Company, error) {
		f := cur.CompanyFields
		if err := change(&f); err != nil {
			return cur, err
		}
		rules := t.Rules(core.EntityCompany, cs.now())
		f.Custom = core.DropStaleCustom(f.Custom, cur.Custom, rules.Fields)
		if err := f.Normalize(rules); err != nil {
			return cur, err
		}
		return core.Company{Meta: cur.Meta, CompanyFields: f}, nil
	})
}

// Delete removes a company. Its contacts keep their company_id, which then
// names nothing; a company that still has contacts is refused so that does
// not happen by accident (a contact linked in the same instant can slip by).
func (cs *Companies) Delete(ctx context.Context, tenant, id string, ifVersion int64) (core.Company, error) {
	if _, err := cs.Get(ctx, tenant, id); err != nil {
		return core.Company{}, err
	}
	page, err := cs.store.Query(ctx, store.Query{Index: store.GSI3, PK: contactCompanyPK(tenant, id), Limit: 1})
	if err != nil {
		return core.Company{}, fmt.Errorf("look for contacts of company %s: %w", id, record.StoreError(err))
	}
	if len(page.Items) > 0 {
		return core.Company{}, core.Errorf(core.CodeConflict, "company %s still has contacts; move or delete them first", id)
	}
	return companyKind.Delete(ctx, cs.store, tenant, id, ifVersion, cs.now)
}
