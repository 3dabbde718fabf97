package commerce

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/contacts"
	"github.com/fedele-crm/fedele/core/money"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
)

// Orders is the repository and use cases of customers' orders.
type Orders struct {
	store    store.Store
	contacts *contacts.Contacts
	products *Products
	now      func() time.Time
}

// NewOrders returns the orders of every tenant in s; buyers are found (or
// created) in cs, lines completed from ps.
func NewOrders(s store.Store, cs *contacts.Contacts, ps *Products, now func() time.Time) *Orders {
	return &Orders{store: s, contacts: cs, products: ps, now: now}
}

var orderKind = record.Type[Order]{
	Name: "order",
	Key:  OrderKey,
	Meta: func(o *Order) *core.Meta { return &o.Meta },
	Index: func(tenant string, o *Order) map[store.Index]store.Key {
		return map[store.Index]store.Key{
			store.GSI1: {PK: orderPlacedShards.PK(tenant, o.ID), SK: orderPlacedSK(o)},
			store.GSI2: {PK: orderContactPK(tenant, o.ContactID), SK: orderPlacedSK(o)},
		}
	},
	Unique: func(tenant string, o *Order) []record.Unique {
		return []record.Unique{{Key: orderExternalKey(tenant, o.ExternalID), Path: "external_id", Value: o.ExternalID}}
	},
	// The buyer must exist when the order is stored or moves to another:
	// another tenant's contact id is simply not found (422 at contact_id).
	Refs: func(tenant string, o *Order) []record.Ref {
		return []record.Ref{{Key: contacts.ContactKey(tenant, o.ContactID), Path: "contact_id", What: "contact"}}
	},
	Verbs:    map[record.Verb]string{record.VerbCreated: "placed"},
	Timeline: func(o *Order) (string, string) { return "contact", o.ContactID },
	// Beside order.placed or order.updated: order.cancelled when the
	// status becomes cancelled, order.refunded when the refunds grow.
	Also: func(prev, next *Order) []string {
		var out []string
		if next.Status == OrderCancelled && (prev == nil || prev.Status != OrderCancelled) {
			out = append(out, "cancelled")
		}
		if prev == nil && next.Refunded > 0 || prev != nil && next.Refunded > prev.Refunded {
			out = append(out, "refunded")
		}
		return out
	},
}

// Get returns one order; another tenant's id is simply not found.
func (svc *Orders) Get(ctx context.Context, tenant, id string) (Order, error) {
	return orderKind.Get(ctx, svc.store, tenant, id)
}

// ByExternalID returns the order with the tenant's external id.
func (svc *Orders) ByExternalID(ctx context.Context, tenant, externalID string) (Order, error) {
	if externalID == "" || strings.ContainsFunc(externalID, unicode.IsControl) {
		// Ingest refuses such an id, so no order has it; and a NUL is no
		// key the store takes (the contract test's %00 was a 500).
		return Order{}, core.Errorf(core.CodeNotFound, "no order has external id %q", externalID)
	}
	id, err := svc.externalID(ctx, tenant, externalID)
	if err != nil {
		return Order{}, err
	}
	if id == "" {
		return Order{}, core.Errorf(core.CodeNotFound, "no order has external id %q", externalID)
	}
	return svc.Get(ctx, tenant, id)
}

// externalID is the id of the order with externalID, "" when none has it.
func (svc *Orders) externalID(ctx context.Context, tenant, externalID string) (string, error) {
	it, err := svc.store.Get(ctx, orderExternalKey(tenant, externalID))
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("load external id marker %q: %w", externalID, record.StoreError(err))
	}
	return record.PointerID(it)
}

// Ingest modes: Upsert updates the order whose external id the body
// carries; Create refuses it (409 naming the order that has it).
type ingestMode int

const (
	modeUpsert ingestMode = iota
	modeCreate
)

// Upsert stores the order of the tenant's external id: created when no
// order has it, else replaced by what the body says (ingesting the same
// order twice is an update, never a second order; the same content
// writes nothing). externalID, when set, is the path's and wins over the
// body's. An absent status keeps the stored one; refunds are never undone
// by an ingest (a line keeps the larger of its stored and given refund).
func (svc *Orders) Upsert(ctx context.Context, tenant, externalID string, f OrderFields) (Order, bool, error) {
	if externalID != "" {
		f.ExternalID = externalID
	}
	in, err := svc.prepare(ctx, tenant, []OrderFields{f})
	if err != nil {
		return Order{}, false, err
	}
	return svc.ingest(ctx, tenant, in[0], modeUpsert)
}

// Create stores a new order; an external id already used is a conflict
// that names the order that has it.
func (svc *Orders) Create(ctx context.Context, tenant string, f OrderFields) (Order, error) {
	in, err := svc.prepare(ctx, tenant, []OrderFields{f})
	if err != nil {
		return Order{}, err
	}
	o, _, err := svc.ingest(ctx, tenant, in[0], modeCreate)
	return o, err
}

// UpsertMany upserts up to 100 orders, each by its external id and on its
// own: one that fails does not stop the others. The batch's products and
// external-id markers are read together, two batch reads each.
func (svc *Orders) UpsertMany(ctx context.Context, tenant string, fs []OrderFields) []Upserted[Order] {
	out := make([]Upserted[Order], len(fs))
	in, err := svc.prepare(ctx, tenant, fs)
	if err != nil {
		for i := range out {
			out[i].Err = err
		}
		return out
	}
	// Orders go in parallel, each its own transaction: on DynamoDB a
	// batch then waits for ~13 round trips instead of 100, and on the
	// embedded engine the orders share commits (group commit). Orders of
	// one external id go in their order, in one worker, so that a batch
	// naming one twice answers as if it were sequential.
	var groups [][]int
	byExt := map[string]int{}
	for i, x := range in {
		if x.err != nil {
			out[i].Err = x.err
			continue
		}
		g, ok := byExt[x.f.ExternalID]
		if !ok {
			g = len(groups)
			byExt[x.f.ExternalID] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], i)
	}
	work := make(chan []int)
	var wg sync.WaitGroup
	for range min(BatchWorkers, len(groups)) {
		wg.Go(func() {
			for g := range work {
				for _, i := range g {
					if i != g[0] {
						in[i].known = false // the first of the group may have stored it
					}
					out[i].Record, out[i].Created, out[i].Err = svc.ingest(ctx, tenant, in[i], modeUpsert)
				}
			}
		})
	}
	for _, g := range groups {
		work <- g
	}
	close(work)
	wg.Wait()
	return out
}

// BatchWorkers is how many orders of a batch are stored at once.
const BatchWorkers = 8

// incoming is an order being ingested: normalised, its lines completed
// from the catalogue, the id of the order of its external id read ahead.
type incoming struct {
	f           OrderFields
	statusGiven bool
	existing    string // the id of the order with its external id, or ""
	known       bool   // existing was read
	err         error
}

// prepare normalises each order and reads, for all of them at once, the
// products their lines name and the markers of their external ids. An
// error returned is the store's; an order's own fault is in its err.
func (svc *Orders) prepare(ctx context.Context, tenant string, fs []OrderFields) ([]incoming, error) {
	now := svc.now()
	in := make([]incoming, len(fs))
	var skus []string
	var markers []store.Key
	for i, f := range fs {
		in[i] = incoming{f: f, statusGiven: f.Status != ""}
		if in[i].err = in[i].f.Normalize(now); in[i].err != nil {
			continue
		}
		for _, l := range in[i].f.Lines {
			skus = append(skus, l.SKU)
		}
		if k := orderExternalKey(tenant, in[i].f.ExternalID); !slices.Contains(markers, k) {
			markers = append(markers, k)
		}
	}
	catalogue, err := svc.products.BySKUs(ctx, tenant, skus)
	if err != nil {
		return nil, err
	}
	ids := map[string]string{}
	for chunk := range slices.Chunk(markers, store.MaxBatchGetKeys) {
		items, err := svc.store.GetMany(ctx, chunk)
		if err != nil {
			return nil, fmt.Errorf("load external id markers: %w", record.StoreError(err))
		}
		for _, it := range items {
			if ids[it.Key.PK], err = record.PointerID(it); err != nil {
				return nil, err
			}
		}
	}
	for i := range in {
		if in[i].err != nil {
			continue
		}
		in[i].err = complete(&in[i].f, catalogue)
		in[i].existing, in[i].known = ids[orderExternalKey(tenant, in[i].f.ExternalID).PK], true
	}
	return in, nil
}

// complete fills each line's category and unit cost from the product of
// its SKU when the line has none: consumers never read the catalogue. A
// SKU the catalogue lacks is kept (shops sell what was never synced, and
// history must not be refused); its line is then uncategorized unless it
// says otherwise.
func complete(f *OrderFields, catalogue map[string]Product) error {
	var p core.Problems
	for i := range f.Lines {
		l := &f.Lines[i]
		if prod, ok := catalogue[l.SKU]; ok && l.SKU != "" {
			if l.Category == "" {
				l.Category = prod.Category
			}
			if l.Description == "" {
				l.Description = prod.Name
			}
			if pr, ok := prod.PriceIn(f.Currency); ok && l.UnitCost == nil && pr.Cost != nil {
				cost := *pr.Cost
				if _, ok := money.Mul(l.Quantity, cost); !ok {
					p = append(p, core.FieldError{Path: fmt.Sprintf("lines[%d].quantity", i), Message: "quantity × the product's unit cost is more than " + beyondMax, Value: l.Quantity})
				}
				l.UnitCost = &cost
			}
		}
		if l.Category == "" {
			l.Category = Uncategorized
		}
	}
	return p.Err()
}

// ingest stores one prepared order: its buyer found or created, then
// created, or merged into the order of its external id.
func (svc *Orders) ingest(ctx context.Context, tenant string, in incoming, mode ingestMode) (Order, bool, error) {
	if in.err != nil {
		return Order{}, false, in.err
	}
	f := in.f
	var err error
	if f.ContactID, err = svc.buyer(ctx, tenant, f); err != nil {
		return Order{}, false, err
	}
	existing := in.existing
	for attempt := 0; ; attempt++ {
		if !in.known || attempt > 0 {
			if existing, err = svc.externalID(ctx, tenant, f.ExternalID); err != nil {
				return Order{}, false, err
			}
		}
		if existing == "" {
			o := Order{OrderFields: f}
			o.settle()
			err := orderKind.Create(ctx, svc.store, tenant, svc.now(), &o)
			if isTaken(err) && attempt < record.MaxRetries {
				continue // another ingest stored it first: this one updates it
			}
			return o, err == nil, err
		}
		if mode == modeCreate {
			return Order{}, false, &core.Error{Code: core.CodeConflict, Message: fmt.Sprintf("order %s already has external id %s: /v1/orders/%s", existing, f.ExternalID, existing),
				Fields: []core.FieldError{{Path: "external_id", Message: "is already used by order " + existing + "; PUT /v1/orders-by-external-id/{external_id} updates it", Value: f.ExternalID}}}
		}
		o, err := orderKind.Update(ctx, svc.store, tenant, existing, 0, svc.now, func(cur Order) (Order, error) {
			return merge(cur, f, in.statusGiven)
		})
		if core.ErrorCode(err) == core.CodeNotFound && attempt < record.MaxRetries {
			continue // the marker's order is gone: look again
		}
		return o, false, err
	}
}

// isTaken reports whether err is the external id's marker already existing.
func isTaken(err error) bool {
	var ce *core.Error
	return errors.As(err, &ce) && ce.Code == core.CodeConflict && len(ce.Fields) == 1 && ce.Fields[0].Path == "external_id"
}

// merge is what an ingest makes of the stored order cur: the shop's fields,
// the stored status when the body gives none, refunds never smaller than
// those stored.
func merge(cur Order, f OrderFields, statusGiven bool) (Order, error) {
	next := Order{Meta: cur.Meta, OrderFields: f}
	if !statusGiven {
		next.Status = cur.Status
	}
	if err := transition(cur.Status, next.Status); err != nil {
		return cur, err
	}
	var p core.Problems
	for i := range next.Lines {
		l := &next.Lines[i]
		if i < len(cur.Lines) && cur.Lines[i].Refunded > l.Refunded {
			l.Refunded = cur.Lines[i].Refunded
		}
		if next.Status == OrderRefunded {
			l.Refunded = l.Gross()
		}
		if l.Refunded > l.Gross() {
			p = append(p, core.FieldError{Path: fmt.Sprintf("lines[%d]", i),
				Message: fmt.Sprintf("%d was refunded of this line already, more than its new gross %d", l.Refunded, l.Gross())})
		}
	}
	if err := p.Err(); err != nil {
		return cur, err
	}
	next.settle()
	return next, nil
}

// transition refuses what an order's status may not become: a cancelled
// order stays cancelled (it cannot be paid), a refunded one refunded.
// Between placed, paid and fulfilled any move is the shop's to make.
func transition(from, to OrderStatus) error {
	switch {
	case from == to:
		return nil
	case from == OrderCancelled:
		return &core.Error{Code: core.CodeConflict, Message: "a cancelled order cannot become " + string(to),
			Fields: []core.FieldError{{Path: "status", Message: "a cancelled order stays cancelled", Value: to}}}
	case from == OrderRefunded:
		return &core.Error{Code: core.CodeConflict, Message: "a refunded order cannot become " + string(to),
			Fields: []core.FieldError{{Path: "status", Message: "a refunded order stays refunded", Value: to}}}
	}
	return nil
}

// buyer is the contact an order is for: contact_id as given (the
// transaction checks it exists in the tenant), else the contact with the
// e-mail, else the contact with the external id; one is created with the
// e-mail or the external id when none has it.
func (svc *Orders) buyer(ctx context.Context, tenant string, f OrderFields) (string, error) {
	if f.ContactID != "" {
		return f.ContactID, nil
	}
	for attempt := 0; ; attempt++ {
		var c core.Contact
		var err error
		var create core.ContactFields
		if f.Email != "" {
			c, err = svc.contacts.ByEmail(ctx, tenant, f.Email)
			create = core.ContactFields{Emails: []core.Email{{Address: f.Email}}, ExternalID: f.ContactExternalID, Source: "api"}
		} else {
			c, err = svc.contacts.ByExternalID(ctx, tenant, f.ContactExternalID)
			create = core.ContactFields{ExternalID: f.ContactExternalID, Source: "api"}
		}
		if err == nil {
			return c.ID, nil
		}
		if core.ErrorCode(err) != core.CodeNotFound {
			return "", err
		}
		c, err = svc.contacts.Create(ctx, tenant, create)
		if err == nil {
			return c.ID, nil
		}
		if core.ErrorCode(err) == core.CodeConflict && attempt < record.MaxRetries {
			// Another ingest created the buyer first; or, with an e-mail
			// new to the tenant, the external id is another contact's:
			// the e-mail's contact is created without it.
			if f.Email != "" && attempt > 0 {
				f.ContactExternalID = ""
			}
			continue
		}
		return "", err
	}
}

// OrderChange is what PATCH /v1/orders/{id} may change: the status (a
// cancelled order cannot be paid; refunded refunds every line in full),
// the channel and the location.
type OrderChange struct {
	Status   OrderStatus `json:"status,omitempty" enum:"placed,paid,fulfilled,cancelled,refunded"` // OrderStatuses
	Channel  Channel     `json:"channel,omitempty" enum:"web,store,phone,app,marketplace"`         // Channels
	Location string      `json:"location,omitempty" maxLength:"200"`
}

// Change applies change to an order's status, channel and location;
// ifVersion > 0 is the If-Match.
func (svc *Orders) Change(ctx context.Context, tenant, id string, ifVersion int64, change func(*OrderChange) error) (Order, error) {
	return orderKind.Update(ctx, svc.store, tenant, id, ifVersion, svc.now, func(cur Order) (Order, error) {
		c := OrderChange{Status: cur.Status, Channel: cur.Channel, Location: cur.Location}
		if err := change(&c); err != nil {
			return cur, err
		}
		var p core.Problems
		c.Status, c.Location = checkWhere(&p, c.Status, cur.Status, c.Channel, c.Location)
		if err := p.Err(); err != nil {
			return cur, err
		}
		if err := transition(cur.Status, c.Status); err != nil {
			return cur, err
		}
		next := cur
		next.Lines = slices.Clone(cur.Lines)
		next.Status, next.Channel, next.Location = c.Status, c.Channel, c.Location
		if next.Status == OrderRefunded {
			for i := range next.Lines {
				next.Lines[i].Refunded = next.Lines[i].Gross()
			}
		}
		next.settle()
		return next, nil
	})
}

// LineRefund gives back amount of one line.
type LineRefund struct {
	Line   int   `json:"line" minimum:"0" doc:"The line's index in the order's lines, from 0."`
	Amount int64 `json:"amount" minimum:"1" doc:"Minor units of the order's currency; at most what is left of the line's gross."`
}

// Refund gives back amounts of an order's lines: each at most the line's
// gross less what was refunded of it already (refunds of one line in the
// same request add up). The order becomes refunded when every line is
// refunded in full; a cancelled order has nothing to refund.
func (svc *Orders) Refund(ctx context.Context, tenant, id string, ifVersion int64, refunds []LineRefund) (Order, error) {
	if len(refunds) == 0 || len(refunds) > MaxLines {
		return Order{}, core.Invalid("lines", fmt.Sprintf("a refund names 1 to %d lines", MaxLines), len(refunds))
	}
	return orderKind.Update(ctx, svc.store, tenant, id, ifVersion, svc.now, func(cur Order) (Order, error) {
		if cur.Status == OrderCancelled {
			return cur, &core.Error{Code: core.CodeConflict, Message: "a cancelled order has nothing to refund",
				Fields: []core.FieldError{{Path: "status", Message: "is cancelled", Value: cur.Status}}}
		}
		next := cur
		next.Lines = slices.Clone(cur.Lines)
		var p core.Problems
		for i, r := range refunds {
			at := fmt.Sprintf("lines[%d]", i)
			if r.Line < 0 || r.Line >= len(next.Lines) {
				p = append(p, core.FieldError{Path: at + ".line", Message: fmt.Sprintf("must be the index of one of the order's %d lines", len(next.Lines)), Value: r.Line})
				continue
			}
			l := &next.Lines[r.Line]
			left := l.Gross() - l.Refunded
			if r.Amount < 1 || r.Amount > left {
				p = append(p, core.FieldError{Path: at + ".amount", Message: fmt.Sprintf("must be between 1 and what is left of line %d, %d", r.Line, left), Value: r.Amount})
				continue
			}
			l.Refunded += r.Amount
		}
		if err := p.Err(); err != nil {
			return cur, err
		}
		next.settle()
		return next, nil
	})
}

// OrderSorts are the orders of a list: by placed_at, newest first
// ("-placed_at", the default) or oldest first.
var OrderSorts = []string{"-placed_at", "placed_at"}

// OrderFilter selects orders; its fields are named after the query
// parameters so that problems name the parameter at fault.
type OrderFilter struct {
	ContactID string
	From, To  time.Time // placed at or after From, before To
	Status    OrderStatus
	// Oldest lists oldest first; newest first by default.
	Oldest bool
}

// List returns one page of a tenant's orders by placed-at time: a
// contact's from its own index partition, else the tenant's over its 8
// shards merged; the status is checked on what is read. The cursor is
// bound to the tenant and the filter.
func (svc *Orders) List(ctx context.Context, tenant string, f OrderFilter, limit int, cursor string) ([]Order, string, error) {
	var p core.Problems
	if f.ContactID != "" && !core.ValidID(f.ContactID) {
		p = append(p, core.FieldError{Path: "contact_id", Message: "must be a contact id", Value: f.ContactID})
	}
	if f.Status != "" && !slices.Contains(OrderStatuses, f.Status) {
		p = append(p, core.FieldError{Path: "status", Message: fmt.Sprintf("must be one of %v", OrderStatuses), Value: f.Status})
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		p = append(p, core.FieldError{Path: "to", Message: "must be after from", Value: f.To})
	}
	if err := p.Err(); err != nil {
		return nil, "", err
	}
	if err := record.CheckLimit(limit); err != nil {
		return nil, "", err
	}
	q := store.Query{Index: store.GSI1, Desc: !f.Oldest}
	if !f.From.IsZero() {
		q.From = record.SortTime(f.From)
	}
	if !f.To.IsZero() {
		q.To = record.SortTime(f.To) // "<to>#<id>" sorts after it: to is excluded
	}
	plan := record.Plan{Query: q, Shards: orderPlacedShards.PKs(tenant), PostFilter: f.Status != ""}
	if f.ContactID != "" {
		plan.Query.Index, plan.Query.PK, plan.Shards = store.GSI2, orderContactPK(tenant, f.ContactID), nil
	}
	match := func(o *Order) bool { return f.Status == "" || o.Status == f.Status }
	fp := record.FilterKey("order", f.ContactID, record.SortTime(f.From), record.SortTime(f.To), string(f.Status), fmt.Sprint(f.Oldest))
	return record.List(ctx, svc.store, tenant, orderKind, plan, fp, limit, cursor, match)
}
