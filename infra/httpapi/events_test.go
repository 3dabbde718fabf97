package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/contacts"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/core/tenancy"
	"github.com/fedele-crm/fedele/core/timeline"
	"github.com/fedele-crm/fedele/infra/eventbridge"
	"github.com/fedele-crm/fedele/internal/testsupport/fakebus"
	"github.com/fedele-crm/fedele/schemas"
)

// outbox returns every event of tenant in the store, oldest first, each
// checked against its JSON Schema.
func outbox(t *testing.T, st store.Store, tenant string) []events.Envelope {
	t.Helper()
	var out []events.Envelope
	q, cursor := store.Query{Consistent: true}, ""
	for {
		page, err := store.QueryMerged(context.Background(), st, q, events.EventsPKs(tenant), store.MaxPageItems, cursor)
		if err != nil {
			t.Fatal(err)
		}
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
		if page.Next == "" {
			return out
		}
		cursor = page.Next
	}
}

func describe(evs []events.Envelope) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, string(ev.DetailType)+" "+strings.Join(ev.Detail.Changed, ","))
	}
	return out
}

// TestEveryWriteHasExactlyOneEvent: each change through the API leaves one
// schema-valid event in the outbox, committed with it; refused and no-op
// writes leave none.
func TestEveryWriteHasExactlyOneEvent(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		var co core.Company
		e.a.do("POST", "/v1/companies", map[string]any{"name": "Evt", "domain": "evt.example"}).want(t, 201, &co)
		var c core.Contact
		e.a.do("POST", "/v1/contacts", map[string]any{"first_name": "E", "emails": []map[string]any{{"address": "e@evt.example"}}}, "X-Request-Id", "req-1").want(t, 201, &c)
		e.a.do("POST", "/v1/contacts", map[string]any{"emails": []map[string]any{{"address": "e@evt.example"}}}).want(t, 409, nil) // refused
		e.a.do("PATCH", "/v1/contacts/"+c.ID, `{"first_name":"E"}`).want(t, 200, nil)                                              // no-op
		e.a.do("PATCH", "/v1/contacts/"+c.ID, `{"first_name":"Ev","company_id":"`+co.ID+`"}`).want(t, 200, nil)                    // update
		e.a.do("PATCH", "/v1/contacts/"+c.ID, `{"first_name":"Ev2"}`, "If-Match", `"1"`).want(t, 412, nil)                         // stale
		e.a.do("PUT", "/v1/contacts-by-email/new@evt.example", map[string]any{"first_name": "N"}).want(t, 201, nil)                // upsert create
		e.a.do("POST", "/v1/contacts/batch", map[string]any{"items": []map[string]any{{"first_name": "b1"}, {"phones": []map[string]any{{"number": "1"}}}}}).want(t, 200, nil)
		e.a.do("PATCH", "/v1/contacts/"+c.ID, `{"company_id":null}`).want(t, 200, nil)
		e.a.do("DELETE", "/v1/contacts/"+c.ID, nil).want(t, 204, nil)
		e.a.do("PATCH", "/v1/companies/"+co.ID, `{"industry":"Software"}`).want(t, 200, nil)
		e.a.do("DELETE", "/v1/companies/"+co.ID, nil).want(t, 204, nil)

		evs := outbox(t, e.store, "acme")
		want := []string{
			"company.created ", "contact.created ", "contact.updated company_id,first_name", "contact.created ", "contact.created ",
			"contact.updated company_id", "contact.deleted ", "company.updated industry", "company.deleted ",
		}
		if diff := cmp.Diff(want, describe(evs)); diff != "" {
			t.Fatalf("events (-want +got):\n%s", diff)
		}
		created := evs[1].Detail
		if created.Tenant != "acme" || created.Actor.Type != "api_key" || created.CorrelationID != "req-1" || created.Entity.ID != c.ID || created.Depth != 0 {
			t.Errorf("contact.created detail: %+v", created)
		}
		var data core.Contact
		if err := json.Unmarshal(evs[6].Detail.Entity.Data, &data); err != nil || data.ID != c.ID || data.FirstName != "Ev" {
			t.Errorf("contact.deleted carries %s (%v)", evs[6].Detail.Entity.Data, err)
		}
		if others := outbox(t, e.store, "globex"); len(others) != 0 {
			t.Errorf("tenant B has %d events", len(others))
		}
	})
}

func TestTimelineAndEventStream(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		var c core.Contact
		e.a.do("POST", "/v1/contacts", map[string]any{"first_name": "T"}).want(t, 201, &c)
		for i := range 4 {
			e.a.do("PATCH", "/v1/contacts/"+c.ID, fmt.Sprintf(`{"last_name":"L%d"}`, i)).want(t, 200, nil)
		}
		var other core.Contact
		e.a.do("POST", "/v1/contacts", map[string]any{"first_name": "Other"}).want(t, 201, &other)

		var versions []float64
		cursor := ""
		for {
			var page struct {
				Items      []events.Envelope `json:"items"`
				NextCursor string            `json:"next_cursor"`
			}
			e.a.do("GET", "/v1/contacts/"+c.ID+"/timeline?limit=2&cursor="+cursor, nil).want(t, 200, &page)
			for _, ev := range page.Items {
				var d map[string]any
				_ = json.Unmarshal(ev.Detail.Entity.Data, &d)
				versions = append(versions, d["version"].(float64))
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		if diff := cmp.Diff([]float64{5, 4, 3, 2, 1}, versions); diff != "" {
			t.Errorf("timeline newest first (-want +got):\n%s", diff)
		}
		e.b.do("GET", "/v1/contacts/"+c.ID+"/timeline", nil).want(t, 404, nil).problem(t)
		e.a.do("GET", "/v1/contacts/"+core.NewID(time.Now())+"/timeline", nil).want(t, 404, nil)

		// The stream lists settled events only: nothing is older than 5 s yet.
		var stream struct {
			Items      []events.Envelope `json:"items"`
			NextCursor string            `json:"next_cursor"`
		}
		e.a.do("GET", "/v1/events", nil).want(t, 200, &stream)
		if len(stream.Items) != 0 {
			t.Fatalf("%d unsettled events listed", len(stream.Items))
		}
		e.advance(timeline.EventSettle + time.Second)
		var all []events.Type
		after := ""
		for range 10 {
			stream.Items = nil
			e.a.do("GET", "/v1/events?limit=4&after="+after, nil).want(t, 200, &stream)
			for _, ev := range stream.Items {
				all = append(all, ev.DetailType)
			}
			if len(stream.Items) == 0 {
				break
			}
			after = stream.NextCursor
		}
		want := []events.Type{events.ContactCreated, events.ContactUpdated, events.ContactUpdated, events.ContactUpdated, events.ContactUpdated, events.ContactCreated}
		if diff := cmp.Diff(want, all); diff != "" {
			t.Errorf("event stream (-want +got):\n%s", diff)
		}
		// Polling from the last cursor sees only what comes after it.
		e.a.do("PATCH", "/v1/contacts/"+other.ID, `{"last_name":"later"}`).want(t, 200, nil)
		e.advance(timeline.EventSettle + time.Second)
		stream.Items = nil
		e.a.do("GET", "/v1/events?after="+after, nil).want(t, 200, &stream)
		if len(stream.Items) != 1 || stream.Items[0].Detail.Entity.ID != other.ID {
			t.Errorf("poll after the cursor: %+v", describe(stream.Items))
		}
		// The stream is the tenant's own; another's cursor is no cursor.
		e.b.do("GET", "/v1/events?after="+after, nil).want(t, 422, nil).problem(t)
		reader := e.key(t, "acme", core.ScopeRead)
		reader.do("GET", "/v1/events", nil).want(t, 403, nil)
	})
}

// TestRelayDeliversOnceAndConsumersDoNotLoop runs the local relay into the
// consumers: every event reaches its handler once, a redelivery has no
// second effect, and a consumer that updates the contact whose update
// triggered it runs once per original change.
func TestRelayDeliversOnceAndConsumersDoNotLoop(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		log := slog.New(slog.DiscardHandler)
		cons := events.NewConsumers(e.store, log, time.Now)
		tenants := tenancy.NewTenants(e.store, time.Now)
		contacts := contacts.NewContacts(e.store, tenants, time.Now)
		var runs []string
		cons.Register(events.Handler{Name: "count", Types: []events.Type{events.ContactCreated, events.ContactUpdated},
			Handle: func(ctx context.Context, ev events.Envelope) ([]store.Write, error) {
				// The effect: one item per event, written with the marker.
				return []store.Write{{Op: store.OpPut, Cond: store.Cond{MustNotExist: true},
					Item: store.Item{Key: store.Key{PK: "T#acme#effect", SK: ev.Detail.EventID}, Version: 1}}}, nil
			}})
		cons.Register(events.Handler{Name: "stamp", Types: []events.Type{events.ContactUpdated},
			Handle: func(ctx context.Context, ev events.Envelope) ([]store.Write, error) {
				runs = append(runs, ev.Detail.EventID)
				// Updates the very contact whose update triggered it.
				stamp := func(f *core.ContactFields) error { f.Tags = []string{fmt.Sprintf("stamped-%d", len(runs))}; return nil }
				_, err := contacts.Update(ctx, ev.Detail.Tenant, ev.Detail.Entity.ID, 0, stamp)
				return nil, err
			}})
		var bus recorder
		relay := &events.Relay{Store: e.store, Publisher: events.Fanout{cons, &bus}, Log: log, Interval: time.Millisecond}

		var c core.Contact
		e.a.do("POST", "/v1/contacts", map[string]any{"first_name": "R"}).want(t, 201, &c)
		e.a.do("PATCH", "/v1/contacts/"+c.ID, `{"first_name":"R2"}`).want(t, 200, nil)
		drain(t, relay)

		if len(runs) != 1 {
			t.Errorf("stamp ran %d times for one update", len(runs))
		}
		evs := outbox(t, e.store, "acme")
		// created, updated by the API, updated by stamp (depth 1, caused by the API's update)
		if len(evs) != 3 || evs[2].Detail.Actor != (events.Actor{Type: "automation", ID: "stamp"}) ||
			evs[2].Detail.CausationID != evs[1].Detail.EventID || evs[2].Detail.Depth != 1 || evs[2].Detail.CorrelationID != evs[1].Detail.CorrelationID {
			t.Fatalf("events: %+v", evs)
		}
		effects, _ := e.store.Query(ctx, store.Query{PK: "T#acme#effect", Consistent: true})
		if len(effects.Items) != 3 {
			t.Errorf("count consumer has %d effects for 3 events", len(effects.Items))
		}
		if got := bus.ids(); len(got) != 3 {
			t.Errorf("bus got %d events, want 3", len(got))
		}
		// Redelivering everything (a relay that died before marking) adds no effect.
		if errs := cons.Publish(ctx, evs); slices.ContainsFunc(errs, func(err error) bool { return err != nil }) {
			t.Fatalf("redelivery: %v", errs)
		}
		effects, _ = e.store.Query(ctx, store.Query{PK: "T#acme#effect", Consistent: true})
		if len(effects.Items) != 3 || len(runs) != 1 {
			t.Errorf("after redelivery: %d effects, stamp ran %d times", len(effects.Items), len(runs))
		}
		if n, err := relay.Drain(ctx); n != 0 || err != nil {
			t.Errorf("second drain delivered %d (%v)", n, err)
		}
	})
}

// drain runs the relay until the outbox is empty.
func drain(t *testing.T, r *events.Relay) {
	t.Helper()
	for range 100 {
		n, err := r.Drain(context.Background())
		if err != nil {
			t.Fatalf("drain: %v", err)
		}
		if n == 0 {
			return
		}
	}
	t.Fatal("outbox never drained")
}

// recorder is a bus that keeps what it is given.
type recorder struct {
	evs []events.Envelope
}

func (r *recorder) Publish(_ context.Context, evs []events.Envelope) []error {
	r.evs = append(r.evs, evs...)
	return make([]error, len(evs))
}

func (r *recorder) ids() []string {
	var out []string
	for _, ev := range r.evs {
		out = append(out, ev.Detail.EventID)
	}
	return out
}

// TestEventsReachEventBridgeThroughTheRealClient: writes through the API,
// relayed to the in-process consumers and, through the real SDK client, to
// a local PutEvents endpoint that fails entries and throttles calls for a
// while. Once it recovers every event has been accepted once, and the
// consumer's effect happened once per event, retries notwithstanding.
func TestEventsReachEventBridgeThroughTheRealClient(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		bus := fakebus.New()
		defer bus.Close()
		outage := true
		bus.ThrottleCall = func(call int) bool { return outage && call%3 == 0 }
		bus.FailEntry = func(call, i int, _ fakebus.Entry) bool { return outage && i%4 == 1 }
		client, err := eventbridge.Connect(ctx, bus.URL)
		if err != nil {
			t.Fatal(err)
		}
		log := slog.New(slog.DiscardHandler)
		cons := events.NewConsumers(e.store, log, time.Now)
		effects := 0
		cons.Register(events.Handler{Name: "count", Types: []events.Type{events.ContactCreated},
			Handle: func(context.Context, events.Envelope) ([]store.Write, error) { effects++; return nil, nil }})
		relay := &events.Relay{Store: e.store, Log: log, Batch: 7,
			Publisher: events.Fanout{cons, eventbridge.New(client, "fedele", eventbridge.WithRetries(1, time.Millisecond))}}

		for i := range 30 {
			e.a.do("POST", "/v1/contacts", map[string]any{"first_name": fmt.Sprint("eb", i)}).want(t, 201, nil)
		}
		// While the endpoint misbehaves, some events stay pending.
		if _, err := relay.Drain(ctx); err == nil {
			t.Fatal("no event failed while the endpoint was failing")
		}
		outage = false
		drain(t, relay)

		want := ids(outbox(t, e.store, "acme"))
		got := bus.EventIDs()
		slices.Sort(want)
		slices.Sort(got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("events accepted by the bus, each once (-want +got):\n%s", diff)
		}
		if effects != 30 {
			t.Errorf("consumer ran %d times for 30 events", effects)
		}
		for _, a := range bus.Accepted() {
			if err := schemas.ValidateEventDetail(a.DetailType, []byte(a.Detail)); err != nil {
				t.Errorf("on the wire: %v", err)
			}
		}
	})
}

func ids(evs []events.Envelope) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, ev.Detail.EventID)
	}
	return out
}
