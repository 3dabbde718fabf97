package commerce_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/commerce"
	"github.com/fedele-crm/fedele/core/contacts"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/core/store/memstore"
	"github.com/fedele-crm/fedele/core/tenancy"
	"github.com/fedele-crm/fedele/schemas"
)

// fixture is the commerce use cases on memstore (which enforces
// DynamoDB's limits), with tenants acme and globex.
type fixture struct {
	ctx      context.Context
	st       store.Store
	now      time.Time
	contacts *contacts.Contacts
	products *commerce.Products
	orders   *commerce.Orders
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st := memstore.New()
	t.Cleanup(func() { st.Close() })
	fx := &fixture{ctx: context.Background(), st: st, now: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)}
	clock := func() time.Time { return fx.now }
	tenants := tenancy.NewTenants(st, clock)
	for _, id := range []string{"acme", "globex"} {
		if _, err := tenants.Create(fx.ctx, id, id, "US"); err != nil {
			t.Fatal(err)
		}
	}
	fx.contacts = contacts.NewContacts(st, tenants, clock)
	fx.products = commerce.NewProducts(st, clock)
	fx.orders = commerce.NewOrders(st, fx.contacts, fx.products, clock)
	return fx
}

// events returns the tenant's events, oldest first, each checked against
// its schema.
func (fx *fixture) events(t *testing.T, tenant string) []events.Envelope {
	t.Helper()
	page, err := store.QueryMerged(fx.ctx, fx.st, store.Query{Consistent: true}, events.EventsPKs(tenant), store.MaxPageItems, "")
	if err != nil {
		t.Fatal(err)
	}
	var out []events.Envelope
	for _, it := range page.Items {
		if err := schemas.ValidateEvent(it.Data); err != nil {
			t.Errorf("event %s: %v", it.Key, err)
		}
		ev, err := events.Decode(it)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

// timeline counts the events on a contact's timeline.
func (fx *fixture) timeline(t *testing.T, tenant, contact string) int {
	t.Helper()
	page, err := fx.st.Query(fx.ctx, store.Query{Index: store.GSI2, PK: events.TimelinePK(tenant, "contact", contact)})
	if err != nil {
		t.Fatal(err)
	}
	return len(page.Items)
}

// types are the detail types of evs of entity type typ.
func types(evs []events.Envelope, typ string) []string {
	var out []string
	for _, ev := range evs {
		if ev.Detail.Entity.Type == typ {
			out = append(out, string(ev.DetailType))
		}
	}
	return out
}

// paths are the field paths of err, an invalid or conflict *core.Error.
func paths(err error) []string {
	var e *core.Error
	if !errors.As(err, &e) {
		return nil
	}
	var out []string
	for _, f := range e.Fields {
		out = append(out, f.Path)
	}
	slices.Sort(out)
	return out
}

func ptr[T any](v T) *T { return &v }
