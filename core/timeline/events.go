package timeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/contacts"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
)

// EventSettle is how old an event must be before GET /v1/events lists it.
// Event ids are taken before their transaction commits, so a slow commit
// can land behind ids already listed; waiting this long lets it land first,
// so that a poller advancing its cursor does not step over it.
const EventSettle = 5 * time.Second

// Events reads the outbox: the timeline of a record and a tenant's event
// stream.
type Events struct {
	store store.Store
	now   func() time.Time
}

// NewEvents returns the events in s.
func NewEvents(s store.Store, now func() time.Time) *Events { return &Events{store: s, now: now} }

func decodeAll(items []store.Item) ([]events.Envelope, error) {
	out := make([]events.Envelope, 0, len(items))
	for _, it := range items {
		ev, err := events.Decode(it)
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, nil
}

// page reads one page of q from an API cursor made for tenant and filter.
func (es *Events) page(ctx context.Context, q store.Query, tenant, filter, cursor string) (store.Page, error) {
	if cursor != "" {
		c, err := record.DecodeListCursor(cursor, tenant, filter)
		if err != nil {
			return store.Page{}, err
		}
		q.Cursor = c
	}
	page, err := es.store.Query(ctx, q)
	if errors.Is(err, store.ErrBadCursor) {
		return page, record.BadCursor()
	}
	if err != nil {
		return page, fmt.Errorf("read events %s: %w", q.PK, record.StoreError(err))
	}
	return page, nil
}

// Timeline returns what happened to a contact, newest first. A contact that
// never existed in the tenant (or exists in another) is not found.
func (es *Events) Timeline(ctx context.Context, tenant, contactID string, limit int, cursor string) ([]events.Envelope, string, error) {
	if err := record.CheckLimit(limit); err != nil {
		return nil, "", err
	}
	if !core.ValidID(contactID) {
		return nil, "", core.Errorf(core.CodeNotFound, "contact %s not found", contactID)
	}
	q := store.Query{Index: events.TimelineIndex, PK: events.TimelinePK(tenant, "contact", contactID), Desc: true, Limit: limit}
	filter := record.FilterKey("timeline", contactID)
	page, err := es.page(ctx, q, tenant, filter, cursor)
	if err != nil {
		return nil, "", err
	}
	if len(page.Items) == 0 && cursor == "" {
		// No event at all: a contact that never existed here is not found,
		// rather than an empty timeline that would confirm nothing.
		if _, err := es.store.Get(ctx, contacts.ContactKey(tenant, contactID)); errors.Is(err, store.ErrNotFound) {
			return nil, "", core.Errorf(core.CodeNotFound, "contact %s not found", contactID)
		} else if err != nil {
			return nil, "", fmt.Errorf("load contact %s: %w", contactID, record.StoreError(err))
		}
	}
	evs, err := decodeAll(page.Items)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if page.Next != "" {
		next = record.EncodeListCursor(page.Next, tenant, filter)
	}
	return evs, next, nil
}

// Since returns a tenant's events in order after cursor ("" for the oldest
// kept), and the cursor to poll from next — always one, even when nothing
// new has settled, so that an integrator can poll as EventBridge would push.
func (es *Events) Since(ctx context.Context, tenant string, limit int, cursor string) ([]events.Envelope, string, error) {
	if err := record.CheckLimit(limit); err != nil {
		return nil, "", err
	}
	// The cursor is the last event id handed out: ids are ULIDs, so one
	// order across the tenant's event shards, and unlike a merged store
	// cursor it outlives the settle bound, which moves with every poll.
	filter := record.FilterKey("events")
	var after string
	if cursor != "" {
		var err error
		if after, err = record.DecodeListCursor(cursor, tenant, filter); err != nil {
			return nil, "", err
		}
		if !core.ValidID(after) {
			return nil, "", record.BadCursor()
		}
	}
	q := store.Query{From: after, To: core.FirstIDAt(es.now().Add(-EventSettle)), Consistent: true}
	if after != "" && after >= q.To {
		return []events.Envelope{}, cursor, nil // nothing has settled since
	}
	mp, err := store.QueryMerged(ctx, es.store, q, events.EventsPKs(tenant), limit+1, "")
	if err != nil {
		return nil, "", fmt.Errorf("read events: %w", record.StoreError(err))
	}
	items := mp.Items
	if len(items) > 0 && items[0].SK == after {
		items = items[1:] // From is inclusive: the cursor's own event came last time
	}
	items = items[:min(len(items), limit)]
	evs, err := decodeAll(items)
	if err != nil {
		return nil, "", err
	}
	next := cursor
	if n := len(items); n > 0 {
		next = record.EncodeListCursor(items[n-1].SK, tenant, filter)
	}
	return evs, next, nil
}
