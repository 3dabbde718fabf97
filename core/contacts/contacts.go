package contacts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/core/team"
	"github.com/fedele-crm/fedele/core/tenancy"
)

// Contacts is the repository and use cases of contacts.
type Contacts struct {
	store   store.Store
	tenants *tenancy.Tenants
	now     func() time.Time
}

// NewContacts returns the contacts of every tenant in s.
func NewContacts(s store.Store, tenants *tenancy.Tenants, now func() time.Time) *Contacts {
	return &Contacts{store: s, tenants: tenants, now: now}
}

var contactKind = record.Type[core.Contact]{
	Name: "contact",
	Key:  ContactKey,
	Meta: func(c *core.Contact) *core.Meta { return &c.Meta },
	Index: func(tenant string, c *core.Contact) map[store.Index]store.Key {
		ix := map[store.Index]store.Key{
			store.GSI1: {PK: contactShards.PK(tenant, c.ID), SK: record.SortTime(c.UpdatedAt) + "#" + c.ID},
			store.GSI4: {PK: contactStageShards.PK(tenant, c.ID, string(c.LifecycleStage)), SK: c.ID},
		}
		if c.OwnerID != "" {
			ix[store.GSI2] = store.Key{PK: contactOwnerPK(tenant, c.OwnerID), SK: c.ID}
		}
		if c.CompanyID != "" {
			ix[store.GSI3] = store.Key{PK: contactCompanyPK(tenant, c.CompanyID), SK: c.ID}
		}
		return ix
	},
	Unique: func(tenant string, c *core.Contact) []record.Unique {
		var ms []record.Unique
		for i, e := range c.Emails {
			// The marker is also the address's search entry: it costs the
			// transaction no item of its own.
			search := contactSearchKey(tenant, c.ID, core.Fold(e.Address))
			ms = append(ms, record.Unique{Key: contactEmailKey(tenant, e.Address), Path: fmt.Sprintf("emails[%d].address", i), Value: e.Address,
				Index: map[store.Index]store.Key{store.GSI1: search}})
		}
		if c.ExternalID != "" {
			ms = append(ms, record.Unique{Key: contactExternalKey(tenant, c.ExternalID), Path: "external_id", Value: c.ExternalID})
		}
		return ms
	},
	Entries: func(tenant string, c *core.Contact) []store.Key {
		var ks []store.Key
		for _, t := range c.Tags {
			ks = append(ks, store.Key{PK: contactTagPK(tenant, t), SK: c.ID})
		}
		return ks
	},
	Slots: contactSlots,
	Refs: func(tenant string, c *core.Contact) []record.Ref {
		var refs []record.Ref
		if c.CompanyID != "" {
			refs = append(refs, record.Ref{Key: CompanyKey(tenant, c.CompanyID), Path: "company_id", What: "company"})
		}
		if c.OwnerID != "" {
			refs = append(refs, record.Ref{Key: team.UserKey(tenant, c.OwnerID), Path: "owner_id", What: "user"})
		}
		return refs
	},
}

// Get returns one contact; another tenant's id is simply not found.
func (cs *Contacts) Get(ctx context.Context, tenant, id string) (core.Contact, error) {
	return contactKind.Get(ctx, cs.store, tenant, id)
}

// GetWith returns one contact and, read in the same request, the items at
// also that exist, in their order: what other packages keep beside a
// contact (its score) and show with it costs no second round trip.
func (cs *Contacts) GetWith(ctx context.Context, tenant, id string, also ...store.Key) (core.Contact, []store.Item, error) {
	var c core.Contact
	if !core.ValidID(id) {
		return c, nil, core.Errorf(core.CodeNotFound, "contact %s not found", id)
	}
	key := ContactKey(tenant, id)
	items, err := cs.store.GetMany(ctx, append([]store.Key{key}, also...))
	if err != nil {
		return c, nil, fmt.Errorf("load contact %s: %w", id, record.StoreError(err))
	}
	if len(items) == 0 || items[0].Key != key { // found items keep the keys' order
		return c, nil, core.Errorf(core.CodeNotFound, "contact %s not found", id)
	}
	if err := json.Unmarshal(items[0].Data, &c); err != nil {
		return c, nil, fmt.Errorf("decode contact %s: %w", id, err)
	}
	return c, items[1:], nil
}

// Check validates fields as Create would, storing nothing: the API uses it to
// report the domain's problems beside the schema's.
func (cs *Contacts) Check(ctx context.Context, tenant string, f core.ContactFields) error {
	t, err := cs.tenants.Get(ctx, tenant)
	if err != nil {
		return err
	}
	return f.Normalize(t.Rules(core.EntityContact, cs.now()))
}

// Create validates and stores a new contact.
func (cs *Contacts) Create(ctx context.Context, tenant string, f core.ContactFields) (core.Contact, error) {
	t, err := cs.tenants.Get(ctx, tenant)
	if err != nil {
		return core.Contact{}, err
	}
	return cs.create(ctx, t, f)
}

func (cs *Contacts) create(ctx context.Context, t core.Tenant, f core.ContactFields) (core.Contact, error) {
	tenant, now := t.ID, cs.now()
	if err := f.Normalize(t.Rules(core.EntityContact, now)); err != nil {
		return core.Contact{}, err
	}
	c := core.Contact{ContactFields: f}
	if err := contactKind.Create(ctx, cs.store, tenant, now, &c); err != nil {
		return core.Contact{}, err
	}
	return c, nil
}

// Update applies change to a contact's writable fields and stores the
// result when it validates; ifVersion > 0 is the If-Match.
func (cs *Contacts) Update(ctx context.Context, tenant, id string, ifVersion int64, change func(*core.ContactFields) error) (core.Contact, error) {
	return cs.update(ctx, tenant, id, ifVersion, func(cur core.ContactFields) (core.ContactFields, error) {
		err := change(&cur)
		return cur, err
	})
}

// Replace sets every writable field of a contact (PUT semantics).
func (cs *Contacts) Replace(ctx context.Context, tenant, id string, ifVersion int64, f core.ContactFields) (core.Contact, error) {
	return cs.update(ctx, tenant, id, ifVersion, func(core.ContactFields) (core.ContactFields, error) { return f, nil })
}

func (cs *Contacts) update(ctx context.Context, tenant, id string, ifVersion int64, change func(core.ContactFields) (core.ContactFields, error)) (core.Contact, error) {
	t, err := cs.tenants.Get(ctx, tenant)
	if err != nil {
		return core.Contact{}, err
	}
	return contactKind.Update(ctx, cs.store, tenant, id, ifVersion, cs.now, cs.validated(t, change))
}

// Changes is Update for a consumer: the writes that apply change, to
// commit in the consumer's own transaction with its processed marker (none
// when nothing changes).
func (cs *Contacts) Changes(ctx context.Context, tenant, id string, change func(*core.ContactFields) error) (core.Contact, []store.Write, error) {
	t, err := cs.tenants.Get(ctx, tenant)
	if err != nil {
		return core.Contact{}, nil, err
	}
	return contactKind.Change(ctx, cs.store, tenant, id, cs.now, cs.validated(t, func(f core.ContactFields) (core.ContactFields, error) {
		err := change(&f)
		return f, err
	}))
}

// validated wraps a change of fields with the tenant's rules.
func (cs *Contacts) validated(t core.Tenant, change func(core.ContactFields) (core.ContactFields, error)) func(core.Contact) (core.Contact, error) {
	return func(cur core.Contact) (core.Contact, error) {
		f, err := change(cur.ContactFields)
		if err != nil {
			return cur, err
		}
		rules := t.Rules(core.EntityContact, cs.now())
		f.Custom = core.DropStaleCustom(f.Custom, cur.Custom, rules.Fields)
		if err := f.Normalize(rules); err != nil {
			return cur, err
		}
		return core.Contact{Meta: cur.Meta, ContactFields: f}, nil
	}
}

// Delete removes a contact, its e-mail markers and its tag entries.
func (cs *Contacts) Delete(ctx context.Context, tenant, id string, ifVersion int64) (core.Contact, error) {
	return contactKind.Delete(ctx, cs.store, tenant, id, ifVersion, cs.now)
}

// ByEmail returns the contact that has address among its e-mails.
func (cs *Contacts) ByEmail(ctx context.Context, tenant, address string) (core.Contact, error) {
	email, err := core.NormalizeEmail(address)
	if err != nil {
		return core.Contact{}, core.Errorf(core.CodeNotFound, "no contact has e-mail %q", address)
	}
	it, err := cs.store.Get(ctx, contactEmailKey(tenant, email))
	if errors.Is(err, store.ErrNotFound) {
		return core.Contact{}, core.Errorf(core.CodeNotFound, "no contact has e-mail %s", email)
	}
	if err != nil {
		return core.Contact{}, fmt.Errorf("load e-mail marker %s: %w", email, record.StoreError(err))
	}
	id, err := record.PointerID(it)
	if err != nil {
		return core.Contact{}, err
	}
	return cs.Get(ctx, tenant, id)
}

// ByExternalID returns the contact whose external_id is id.
func (cs *Contacts) ByExternalID(ctx context.Context, tenant, id string) (core.Contact, error) {
	it, err := cs.store.Get(ctx, contactExternalKey(tenant, id))
	if errors.Is(err, store.ErrNotFound) {
		return core.Contact{}, core.Errorf(core.CodeNotFound, "no contact has external id %q", id)
	}
	if err != nil {
		return core.Contact{}, fmt.Errorf("load external id marker %q: %w", id, record.StoreError(err))
	}
	cid, err := record.PointerID(it)
	if err != nil {
		return core.Contact{}, err
	}
	return cs.Get(ctx, tenant, cid)
}

// UpsertByEmail replaces the fields of the contact that has address, or
// creates one when none has. The address is kept among the contact's e-mails
// (primary when the body names none). Two racing upserts of a new address
// end with one contact: the loser's create fails on the marker and it updates.
func (cs *Contacts) UpsertByEmail(ctx context.Context, tenant, address string, ifVersion int64, f core.ContactFields) (c core.Contact, created bool, err error) {
	email, err := core.NormalizeEmail(address)
	if err != nil {
		return c, false, &core.Error{Code: core.CodeInvalid, Message: "validation failed",
			Fields: []core.FieldError{{Path: "email", Message: err.Error(), Value: address}}}
	}
	f.Emails = withEmail(f.Emails, email)
	for attempt := 0; ; attempt++ {
		cur, err := cs.ByEmail(ctx, tenant, email)
		switch {
		case err == nil:
			c, err = cs.Replace(ctx, tenant, cur.ID, ifVersion, f)
			if core.ErrorCode(err) == core.CodeNotFound && attempt < record.MaxRetries {
				continue // deleted meanwhile: create it instead
			}
			return c, false, err
		case core.ErrorCode(err) != core.CodeNotFound:
			return c, false, err
		case ifVersion > 0:
			return c, false, record.Stale("contact", email, ifVersion, 0)
		}
		c, err = cs.Create(ctx, tenant, f)
		var ce *core.Error
		if errors.As(err, &ce) && ce.Code == core.CodeConflict && len(ce.Fields) == 1 &&
			ce.Fields[0].Value == email && attempt < record.MaxRetries {
			continue // another upsert created it first: update that one
		}
		return c, err == nil, err
	}
}

func withEmail(emails []core.Email, email string) []core.Email {
	hasPrimary := false
	for _, e := range emails {
		if n, _ := core.NormalizeEmail(e.Address); n == email {
			return emails
		}
		hasPrimary = hasPrimary || e.Primary
	}
	return append([]core.Email{{Address: email, Primary: !hasPrimary}}, emails...)
}

// CreateMany creates each contact on its own: one failing does not stop the
// others, and each result says what happened to its element.
// The tenant's settings are read once for the whole batch.
func (cs *Contacts) CreateMany(ctx context.Context, tenant string, fs []core.ContactFields) []record.BatchResult[core.Contact] {
	out := make([]record.BatchResult[core.Contact], len(fs))
	t, err := cs.tenants.Get(ctx, tenant)
	for i, f := range fs {
		if err != nil {
			out[i].Err = err
			continue
		}
		out[i].Record, out[i].Err = cs.create(ctx, t, f)
	}
	return out
}
