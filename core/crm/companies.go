package crm

import (
	"context"
	"fmt"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/store"
)

// Companies is the repository and use cases of companies.
type Companies struct {
	store   store.Store
	tenants *Tenants
	now     func() time.Time
}

// NewCompanies returns the companies of every tenant in s.
func NewCompanies(s store.Store, tenants *Tenants, now func() time.Time) *Companies {
	return &Companies{store: s, tenants: tenants, now: now}
}

var companyKind = kind[core.Company]{
	name: "company",
	key:  companyKey,
	meta: func(c *core.Company) *core.Meta { return &c.Meta },
	indexKeys: func(tenant string, c *core.Company) map[store.Index]store.Key {
		return map[store.Index]store.Key{store.GSI1: {PK: companiesPK(tenant), SK: sortTime(c.UpdatedAt) + "#" + c.ID}}
	},
	markers: func(tenant string, c *core.Company) []marker {
		if c.Domain == "" {
			return nil
		}
		return []marker{{key: companyDomainKey(tenant, c.Domain), path: "domain", value: c.Domain}}
	},
	entries: func(string, *core.Company) []store.Key { return nil },
	refs:    func(string, *core.Company) []ref { return nil },
}

// Get returns one company; another tenant's id is simply not found.
func (cs *Companies) Get(ctx context.Context, tenant, id string) (core.Company, error) {
	return companyKind.get(ctx, cs.store, tenant, id)
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
	if err := companyKind.create(ctx, cs.store, tenant, now, &c); err != nil {
		return core.Company{}, err
	}
	return c, nil
}

// Patch applies a JSON merge patch (RFC 7396) to a company; check, when not
// nil, validates the patched document.
func (cs *Companies) Patch(ctx context.Context, tenant, id string, ifVersion int64, patch []byte, check core.DocumentCheck) (core.Company, error) {
	t, err := cs.tenants.Get(ctx, tenant)
	if err != nil {
		return core.Company{}, err
	}
	return companyKind.update(ctx, cs.store, tenant, id, ifVersion, cs.now, func(cur core.Company) (core.Company, error) {
		var f core.CompanyFields
		if err := core.PatchFields(&cur.CompanyFields, patch, &f, check); err != nil {
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
		return core.Company{}, fmt.Errorf("look for contacts of company %s: %w", id, storeErr(err))
	}
	if len(page.Items) > 0 {
		return core.Company{}, core.Errorf(core.CodeConflict, "company %s still has contacts; move or delete them first", id)
	}
	return companyKind.remove(ctx, cs.store, tenant, id, ifVersion, cs.now)
}
