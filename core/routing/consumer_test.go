package routing_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/contacts"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/routing"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/core/store/memstore"
	"github.com/fedele-crm/fedele/core/team"
	"github.com/fedele-crm/fedele/core/tenancy"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// world is a tenant on the in-memory store with a team of three: Anna in
// Italy, Bert anywhere, Carl away.
type world struct {
	st               *memstore.Store
	contacts         *contacts.Contacts
	router           *routing.Router
	anna, bert, carl core.User
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	st := memstore.New()
	t.Cleanup(func() { st.Close() })
	clock := func() time.Time { return now }
	tenants := tenancy.NewTenants(st, clock)
	users := team.NewUsers(st, clock)
	w := &world{st: st, contacts: contacts.NewContacts(st, tenants, clock)}
	w.router = routing.NewRouter(st, w.contacts, users, nil, clock)
	if _, err := tenants.Create(ctx, "acme", "Acme", "IT"); err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct {
		to *core.User
		f  core.UserFields
	}{
		{&w.anna, core.UserFields{Name: "Anna", Email: "anna@example.com", Territory: "IT"}},
		{&w.bert, core.UserFields{Name: "Bert", Email: "bert@example.com"}},
		{&w.carl, core.UserFields{Name: "Carl", Email: "carl@example.com", Status: "away"}},
	} {
		var err error
		if *u.to, err = users.Create(ctx, "acme", u.f); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// create stores a contact and returns the contact.created it wrote.
func (w *world) create(t *testing.T, f core.ContactFields) (core.Contact, events.Envelope) {
	t.Helper()
	c, err := w.contacts.Create(context.Background(), "acme", f)
	if err != nil {
		t.Fatal(err)
	}
	return c, w.lastEvent(t, c.ID)
}

// lastEvent is the newest event in the outbox about contact id.
func (w *world) lastEvent(t *testing.T, id string) events.Envelope {
	t.Helper()
	page, err := w.st.Query(context.Background(), store.Query{Index: events.TimelineIndex, PK: events.TimelinePK("acme", "contact", id), Desc: true, Limit: 1})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("timeline of %s: %d items, %v", id, len(page.Items), err)
	}
	ev, err := events.Decode(page.Items[0])
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func (w *world) owner(t *testing.T, id string) string {
	t.Helper()
	c, err := w.contacts.Get(context.Background(), "acme", id)
	if err != nil {
		t.Fatal(err)
	}
	return c.OwnerID
}

// assignments are the contact.assigned events among writes.
func assignments(t *testing.T, writes []store.Write) []routing.Assignment {
	t.Helper()
	var out []routing.Assignment
	for _, wr := range writes {
		if wr.Op != store.OpPut || !events.IsOutboxItem(wr.Item.Key) {
			continue
		}
		ev, err := events.Decode(wr.Item)
		if err != nil {
			t.Fatal(err)
		}
		if ev.DetailType == events.ContactUpdated {
			continue // the owner's change, in the same transaction
		}
		if ev.DetailType != events.ContactAssigned {
			t.Errorf("the router wrote %s", ev.DetailType)
			continue
		}
		var a routing.Assignment
		if err := json.Unmarshal(ev.Detail.Entity.Data, &a); err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

// The routing consumer on the in-memory store: an event in, the owner set
// and the writes that record the decision out; nothing for contacts that
// are not to be routed.
func TestConsumer(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	h := w.router.Consumer()
	deliver := func(ev events.Envelope) []routing.Assignment {
		t.Helper()
		writes, err := h.Handle(ctx, ev)
		if err != nil {
			t.Fatalf("handle %s: %v", ev.DetailType, err)
		}
		if len(writes) > 0 {
			if err := w.st.Transact(ctx, writes); err != nil {
				t.Fatalf("commit the writes of %s: %v", ev.DetailType, err)
			}
		}
		return assignments(t, writes)
	}

	// An Italian lead: the tenant's default strategy, territory, gives it
	// to Anna; Carl is away.
	l1, ev := w.create(t, core.ContactFields{FirstName: "L1", Address: &core.Address{Country: "IT"}})
	want := []routing.Assignment{{ContactID: l1.ID, OwnerID: w.anna.ID, Reason: "territory IT, least loaded", Strategy: "territory", At: now}}
	if diff := cmp.Diff(want, deliver(ev)); diff != "" {
		t.Errorf("the Italian lead (-want +got):\n%s", diff)
	}
	if got := w.owner(t, l1.ID); got != w.anna.ID {
		t.Errorf("the Italian lead is owned by %q, want Anna", got)
	}

	// A lead from nowhere in particular: Bert, who has none yet.
	l2, ev := w.create(t, core.ContactFields{FirstName: "L2"})
	want = []routing.Assignment{{ContactID: l2.ID, OwnerID: w.bert.ID, Reason: "least loaded", Strategy: "territory", At: now}}
	if diff := cmp.Diff(want, deliver(ev)); diff != "" {
		t.Errorf("the second lead (-want +got):\n%s", diff)
	}

	// Not routed: a customer, a lead with an owner, an update that is
	// not a move to MQL.
	for _, f := range []core.ContactFields{
		{FirstName: "C", LifecycleStage: core.StageCustomer},
		{FirstName: "O", OwnerID: w.carl.ID},
	} {
		c, ev := w.create(t, f)
		if writes, err := h.Handle(ctx, ev); err != nil || len(writes) != 0 {
			t.Errorf("%s: %d writes, %v; want none", f.FirstName, len(writes), err)
		}
		if got := w.owner(t, c.ID); got != f.OwnerID {
			t.Errorf("%s is owned by %q, want %q", f.FirstName, got, f.OwnerID)
		}
	}

	// A subscriber is not routed when created, but is once marketing
	// qualified: to the next in turn among the equally loaded (Anna and
	// Bert hold one each; Bert took the last lead).
	s, ev := w.create(t, core.ContactFields{FirstName: "S", LifecycleStage: core.StageSubscriber})
	if got := deliver(ev); got != nil {
		t.Errorf("a new subscriber was routed: %+v", got)
	}
	if _, err := w.contacts.Update(ctx, "acme", s.ID, 0, func(f *core.ContactFields) error { f.FirstName = "Sam"; return nil }); err != nil {
		t.Fatal(err)
	}
	if got := deliver(w.lastEvent(t, s.ID)); got != nil {
		t.Errorf("a renamed subscriber was routed: %+v", got)
	}
	if _, err := w.contacts.Update(ctx, "acme", s.ID, 0, func(f *core.ContactFields) error { f.LifecycleStage = core.StageMQL; return nil }); err != nil {
		t.Fatal(err)
	}
	want = []routing.Assignment{{ContactID: s.ID, OwnerID: w.anna.ID, Reason: "least loaded", Strategy: "territory", At: now}}
	if diff := cmp.Diff(want, deliver(w.lastEvent(t, s.ID))); diff != "" {
		t.Errorf("the new MQL (-want +got):\n%s", diff)
	}
}
