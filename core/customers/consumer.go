package customers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/jobs"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/core/tenancy"
	"github.com/fedele-crm/fedele/core/timers"
)

// Customers keeps the purchase summary and the lifecycle state of a
// tenant's contacts.
type Customers struct {
	store   store.Store
	tenants *tenancy.Tenants
	timers  *timers.Service
	jobs    *jobs.Service
	now     func() time.Time
	// page is how many profiles a lifecycle job step takes.
	page int
}

// New returns the service. Register its timer kinds on tm and its job
// kind on js (Register does both) before anything is scheduled.
func New(s store.Store, tenants *tenancy.Tenants, tm *timers.Service, js *jobs.Service, now func() time.Time) *Customers {
	return &Customers{store: s, tenants: tenants, timers: tm, jobs: js, now: func() time.Time { return now().UTC() }, page: 100}
}

// Register adds the lifecycle timers' handlers and the lifecycle job's kind.
func (c *Customers) Register() {
	c.timers.Register(timers.Handler{Kind: LifecycleTimerKind, Handle: c.lifecycleDue})
	c.timers.Register(timers.Handler{Kind: TypicalGapTimerKind, Handle: c.typicalGapDue})
	c.jobs.Register(jobs.Kind{Name: LifecycleJobKind, Step: c.lifecycleStep})
}

// ConsumerName names the purchases consumer's processed markers.
const ConsumerName = "purchases"

// Consumer keeps each contact's purchase summary and lifecycle state from
// order events, and drops a deleted contact's profile.
func (c *Customers) Consumer() events.Handler {
	return events.Handler{
		Name:  ConsumerName,
		Types: []events.Type{events.OrderPlaced, events.OrderUpdated, events.OrderCancelled, events.OrderRefunded, events.ContactDeleted},
		Handle: func(ctx context.Context, ev events.Envelope) ([]store.Write, error) {
			if ev.DetailType == events.ContactDeleted {
				return c.contactDeleted(ctx, ev.Detail.Tenant, ev.Detail.Entity.ID)
			}
			return c.orderChanged(ctx, ev)
		},
	}
}

// orderChanged applies an order event: the difference between what the
// order adds now and what its contribution says it added.
func (c *Customers) orderChanged(ctx context.Context, ev events.Envelope) ([]store.Write, error) {
	o, ok := orderEvent(ev)
	if !ok {
		return nil, nil // names no order or no buyer: nothing to count
	}
	tenant := ev.Detail.Tenant
	ck := contributionKey(tenant, o.ID)
	old, cv, err := contributionDoc.Get(ctx, c.store, ck)
	if err != nil && core.ErrorCode(err) != core.CodeNotFound {
		return nil, err
	}
	if cv > 0 && o.Version <= old.Version {
		return nil, nil // a duplicate, or older than what is applied
	}
	deleted, err := c.isDeleted(ctx, tenant, o.ContactID)
	if err != nil {
		return nil, err
	}
	loc, err := c.location(ctx, tenant)
	if err != nil {
		return nil, err
	}
	next := contribution{OrderID: o.ID, ContactID: o.ContactID, Version: o.Version}
	if !deleted {
		next.Entry = entryOf(o, loc)
	}
	cw, err := contributionDoc.Put(ck, cv, &next)
	if err != nil {
		return nil, err
	}
	writes := []store.Write{cw}

	// One or two profiles: the order's contact, and the one it left.
	changes := map[string]*change{}
	order := []string{}
	at := func(contact string) *change {
		if changes[contact] == nil {
			changes[contact] = &change{}
			order = append(order, contact)
		}
		return changes[contact]
	}
	if old.Entry != nil {
		at(old.ContactID).removed = old.Entry
		if next.Entry == nil || next.ContactID != old.ContactID || entrySK(*next.Entry) != entrySK(*old.Entry) {
			writes = append(writes, store.Write{Op: store.OpDelete, Key: store.Key{PK: purchasesPK(tenant, old.ContactID), SK: entrySK(*old.Entry)}})
		}
	}
	if next.Entry != nil {
		at(next.ContactID).added = next.Entry
		ew, err := entryDoc.Put(store.Key{PK: purchasesPK(tenant, next.ContactID), SK: entrySK(*next.Entry)}, 0, next.Entry)
		if err != nil {
			return nil, err
		}
		ew.Cond = store.Cond{} // the same order's entry at the same key is replaced
		writes = append(writes, ew)
	}
	if len(order) == 0 {
		return writes, nil // it did not count, and still does not
	}
	rules, err := c.Rules(ctx, tenant)
	if err != nil {
		return nil, err
	}
	for _, contact := range order {
		gone, err := c.isDeleted(ctx, tenant, contact)
		if err != nil {
			return nil, err
		}
		if gone {
			continue // a deleted contact's profile is not brought back
		}
		p, v, err := GetProfile(ctx, c.store, tenant, contact)
		if err != nil {
			return nil, err
		}
		if err := apply(ctx, &p.Purchases, contact, *changes[contact], c.dayEntries(tenant), c.end(tenant)); err != nil {
			return nil, fmt.Errorf("purchases of contact %s: %w", contact, err)
		}
		lw, err := c.evaluate(ctx, tenant, &p, rules, "")
		if err != nil {
			return nil, err
		}
		pw, err := ProfileDoc.Put(ProfileKey(tenant, contact), v, &p)
		if err != nil {
			return nil, err
		}
		writes = append(append(writes, pw), lw...)
	}
	return writes, nil
}

func (c *Customers) dayEntries(tenant string) dayEntries {
	return func(ctx context.Context, contactID, date string) ([]entry, error) {
		var out []entry
		q := store.Query{PK: purchasesPK(tenant, contactID), Prefix: date + "#", Consistent: true}
		for {
			page, err := c.store.Query(ctx, q)
			if err != nil {
				return nil, fmt.Errorf("orders of contact %s on %s: %w", contactID, date, record.StoreError(err))
			}
			for _, it := range page.Items {
				e, err := entryDoc.Decode(it)
				if err != nil {
					return nil, err
				}
				out = append(out, e)
			}
			if q.Cursor = page.Next; q.Cursor == "" {
				return out, nil
			}
		}
	}
}

func (c *Customers) end(tenant string) ends {
	return func(ctx context.Context, contactID string, desc bool, skip string) (*entry, error) {
		page, err := c.store.Query(ctx, store.Query{PK: purchasesPK(tenant, contactID), Desc: desc, Limit: 2, Consistent: true})
		if err != nil {
			return nil, fmt.Errorf("orders of contact %s: %w", contactID, record.StoreError(err))
		}
		for _, it := range page.Items {
			if it.SK == skip {
				continue
			}
			e, err := entryDoc.Decode(it)
			return &e, err
		}
		return nil, nil
	}
}

func (c *Customers) isDeleted(ctx context.Context, tenant, contactID string) (bool, error) {
	_, err := c.store.Get(ctx, tombstoneKey(tenant, contactID))
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("is contact %s deleted: %w", contactID, record.StoreError(err))
	}
	return true, nil
}

// location is the tenant's time zone; an event of a tenant that does not
// exist (forged, or deleted meanwhile) counts in UTC, in its own key space.
func (c *Customers) location(ctx context.Context, tenant string) (*time.Location, error) {
	t, err := c.tenants.Get(ctx, tenant)
	if core.ErrorCode(err) == core.CodeNotFound {
		return time.UTC, nil
	}
	if err != nil {
		return nil, err
	}
	return t.Location(), nil
}

// contactDeleted removes a deleted contact's profile and cancels its
// lifecycle timer, and leaves a tombstone so that a later order event does
// not bring back half a profile. Its purchase entries and the orders'
// contributions stay: they are reachable only through the contact, and
// the contributions keep later events of those orders idempotent.
func (c *Customers) contactDeleted(ctx context.Context, tenant, contactID string) ([]store.Write, error) {
	if !core.ValidID(contactID) {
		return nil, nil
	}
	tw, err := tombstoneDoc.Put(tombstoneKey(tenant, contactID), 0, &tombstone{ContactID: contactID, At: c.now()})
	if err != nil {
		return nil, err
	}
	tw.Cond = store.Cond{}
	writes := []store.Write{tw}
	p, v, err := GetProfile(ctx, c.store, tenant, contactID)
	if err != nil || v == 0 {
		return writes, err
	}
	writes = append(writes, ProfileDoc.DeleteWrite(ProfileKey(tenant, contactID), v))
	if l := p.Lifecycle; l != nil && l.TimerID != "" {
		w, ok, err := c.timers.CancelWrite(ctx, tenant, l.TimerID)
		if err != nil {
			return nil, err
		}
		if ok {
			writes = append(writes, w)
		}
	}
	return writes, nil
}

// mainCurrency is the currency of most of a contact's counted orders (on a
// tie, the larger revenue, then the first code).
func mainCurrency(p Purchases) (Revenue, bool) {
	var best Revenue
	for _, r := range p.Revenue {
		if best.Currency == "" || r.Orders > best.Orders || r.Orders == best.Orders && (r.Amount > best.Amount ||
			r.Amount == best.Amount && strings.Compare(r.Currency, best.Currency) < 0) {
			best = r
		}
	}
	return best, best.Currency != ""
}
