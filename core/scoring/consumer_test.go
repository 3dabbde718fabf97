package scoring_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/contacts"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/scoring"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/core/store/memstore"
	"github.com/fedele-crm/fedele/core/tenancy"
	"github.com/fedele-crm/fedele/core/timeline"
)

// lastEvent is the tenant's newest event of detailType in the outbox.
func lastEvent(t *testing.T, st store.Store, tenant string, detailType events.Type) events.Envelope {
	t.Helper()
	page, err := store.QueryMerged(context.Background(), st, store.Query{Desc: true}, events.EventsPKs(tenant), store.MaxPageItems, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range page.Items {
		ev, err := events.Decode(it)
		if err != nil {
			t.Fatal(err)
		}
		if ev.DetailType == detailType {
			return ev
		}
	}
	t.Fatalf("no %s event in the outbox of %s", detailType, tenant)
	return events.Envelope{}
}

// The scoring consumer on the in-memory store: an event in, the writes
// that keep the new score out; no writes when the score has not changed.
func TestConsumer(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	t.Cleanup(func() { st.Close() })
	clock := func() time.Time { return now }
	tenants := tenancy.NewTenants(st, clock)
	people := contacts.NewContacts(st, tenants, clock)
	activities := timeline.NewActivities(st, clock)
	scorer := scoring.NewScorer(st, people, contacts.NewCompanies(st, tenants, clock), activities, nil, clock)
	h := scorer.Consumer()
	if slices.Contains(h.Types, events.ContactScored) {
		t.Fatalf("the consumer handles %s: a score would re-score itself", events.ContactScored)
	}
	if _, err := tenants.Create(ctx, "acme", "Acme", "IT"); err != nil {
		t.Fatal(err)
	}
	c, err := people.Create(ctx, "acme", core.ContactFields{FirstName: "Ada", Emails: []core.Email{{Address: "ada@example.com"}}})
	if err != nil {
		t.Fatal(err)
	}

	// handle delivers ev and commits its writes as the consumer framework
	// does, answering the contact.scored events they hold.
	handle := func(ev events.Envelope) []scoring.Scored {
		t.Helper()
		writes, err := h.Handle(ctx, ev)
		if err != nil {
			t.Fatalf("handle %s: %v", ev.DetailType, err)
		}
		if len(writes) == 0 {
			return nil
		}
		if err := st.Transact(ctx, writes); err != nil {
			t.Fatalf("commit the writes of %s: %v", ev.DetailType, err)
		}
		var out []scoring.Scored
		for _, w := range writes {
			if !events.IsOutboxItem(w.Item.Key) {
				continue
			}
			got, err := events.Decode(w.Item)
			if err != nil {
				t.Fatal(err)
			}
			if got.DetailType != events.ContactScored || got.Detail.Entity.ID != c.ID {
				t.Errorf("event %s about %s, want %s about %s", got.DetailType, got.Detail.Entity.ID, events.ContactScored, c.ID)
			}
			var sc scoring.Scored
			if err := json.Unmarshal(got.Detail.Entity.Data, &sc); err != nil {
				t.Fatal(err)
			}
			out = append(out, sc)
		}
		return out
	}
	opts := cmpopts.EquateEmpty()

	// Created with an e-mail address: 15.
	created := lastEvent(t, st, "acme", events.ContactCreated)
	want := []scoring.Scored{{ContactID: c.ID, Result: scoring.Result{Score: 15}, DecidedBy: "builtin", At: now}}
	if diff := cmp.Diff(want, handle(created), opts); diff != "" {
		t.Errorf("contact.scored on creation (-want +got):\n%s", diff)
	}
	if cur, version, err := scorer.Current(ctx, "acme", c.ID); err != nil || cur.Score != 15 || version != 1 {
		t.Errorf("current score after creation: %+v, version %d, %v", cur, version, err)
	}
	// The same event again, or any with the same score: nothing to write.
	if got := handle(created); got != nil {
		t.Errorf("re-scoring an unchanged contact wrote %+v", got)
	}

	// A meeting now: 15 + 10, engaged.
	if _, err := activities.Log(ctx, "acme", core.ActivityFields{Type: "meeting", ContactID: c.ID, At: now}); err != nil {
		t.Fatal(err)
	}
	want = []scoring.Scored{{ContactID: c.ID, Result: scoring.Result{Score: 25, Reasons: []string{"engaged"}}, DecidedBy: "builtin", At: now}}
	if diff := cmp.Diff(want, handle(lastEvent(t, st, "acme", "activity.logged")), opts); diff != "" {
		t.Errorf("contact.scored on a meeting (-want +got):\n%s", diff)
	}
	if cur, version, err := scorer.Current(ctx, "acme", c.ID); err != nil || cur.Score != 25 || version != 2 {
		t.Errorf("current score after the meeting: %+v, version %d, %v", cur, version, err)
	}
	hist, err := scorer.History(ctx, "acme", c.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	var scores []int
	for _, sc := range hist {
		scores = append(scores, sc.Score)
	}
	if diff := cmp.Diff([]int{25, 15}, scores); diff != "" {
		t.Errorf("history, newest first (-want +got):\n%s", diff)
	}

	// A company's activity scores no contact.
	co, err := contacts.NewCompanies(st, tenants, clock).Create(ctx, "acme", core.CompanyFields{Name: "Initech"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := activities.Log(ctx, "acme", core.ActivityFields{Type: "call", CompanyID: co.ID, At: now}); err != nil {
		t.Fatal(err)
	}
	if got := handle(lastEvent(t, st, "acme", "activity.logged")); got != nil {
		t.Errorf("a company's activity scored %+v", got)
	}
}
