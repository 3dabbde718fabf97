package httpapi_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/routing"
)

// routingRelay delivers the outbox to the app's routing consumer.
func routingRelay(e *env) *events.Relay { return relayOf(e, consumers(e, "routing")...) }

func assignments(t *testing.T, e *env) []routing.Assignment {
	t.Helper()
	var out []routing.Assignment
	for _, ev := range outbox(t, e.store, "acme") {
		if ev.DetailType == events.ContactAssigned {
			var a routing.Assignment
			if err := json.Unmarshal(ev.Detail.Entity.Data, &a); err != nil {
				t.Fatal(err)
			}
			out = append(out, a)
		}
	}
	return out
}

// New leads get an owner — the least loaded available member, those of the
// lead's country first, equals in turn — and so does a contact that becomes
// marketing-qualified without one; every decision says why.
func TestRoutingBuiltin(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		relay := routingRelay(e)
		var anna, bert, carl core.User
		e.a.do("POST", "/v1/users", map[string]any{"name": "Anna", "email": "anna@example.com", "territory": "IT"}).want(t, 201, &anna)
		e.a.do("POST", "/v1/users", map[string]any{"name": "Bert", "email": "bert@example.com"}).want(t, 201, &bert)
		e.a.do("POST", "/v1/users", map[string]any{"name": "Carl", "email": "carl@example.com", "status": "away"}).want(t, 201, &carl)
		owner := func(id string) string {
			var c core.Contact
			e.a.do("GET", "/v1/contacts/"+id, nil).want(t, 200, &c)
			return c.OwnerID
		}
		lead := func(fields map[string]any) string {
			var c core.Contact
			e.a.do("POST", "/v1/contacts", fields).want(t, 201, &c)
			drain(t, relay)
			return c.ID
		}
		// Both free: the first in turn, then the other; Carl is away.
		l1 := lead(map[string]any{"first_name": "L1"})
		l2 := lead(map[string]any{"first_name": "L2"})
		if o1, o2 := owner(l1), owner(l2); o1 == o2 || o1 == carl.ID || o2 == carl.ID || o1 == "" || o2 == "" {
			t.Fatalf("two leads went to %s and %s", o1, o2)
		}
		// An Italian lead goes to Anna, Italy's, though she is as loaded.
		l3 := lead(map[string]any{"first_name": "L3", "address": map[string]any{"country": "IT"}})
		if owner(l3) != anna.ID {
			t.Errorf("the Italian lead went to %s, not Anna", owner(l3))
		}
		// Now Anna holds 2, Bert 1: the next lead without a country is Bert's.
		l4 := lead(map[string]any{"first_name": "L4"})
		if owner(l4) != bert.ID {
			t.Errorf("the fourth lead went to %s, not the less loaded Bert", owner(l4))
		}
		// A customer is not routed; becoming MQL without an owner it is.
		c5 := lead(map[string]any{"first_name": "C5", "lifecycle_stage": "customer"})
		if owner(c5) != "" {
			t.Errorf("a customer was routed to %s", owner(c5))
		}
		e.a.do("PATCH", "/v1/contacts/"+c5, `{"lifecycle_stage":"mql"}`).want(t, 200, nil)
		drain(t, relay)
		if owner(c5) == "" {
			t.Error("a contact that became MQL was not routed")
		}
		// A lead created with an owner keeps it.
		l6 := lead(map[string]any{"first_name": "L6", "owner_id": carl.ID})
		if owner(l6) != carl.ID {
			t.Errorf("an owned lead was re-routed to %s", owner(l6))
		}
		as := assignments(t, e)
		if len(as) != 5 {
			t.Fatalf("%d contact.assigned events, want 5", len(as))
		}
		if as[2].OwnerID != anna.ID || as[2].Strategy != "territory" || as[2].Reason != "territory IT, least loaded" {
			t.Errorf("the Italian lead's decision: %+v", as[2])
		}
	})
}

// Round robin takes members in turn, whatever their load.
func TestRoutingRoundRobin(t *testing.T) {
	e := newEnv(t, engines["embedded"](t))
	relay := routingRelay(e)
	e.a.do("PATCH", "/v1/tenant", map[string]any{"routing_strategy": "round_robin"}).want(t, 200, nil)
	e.a.do("PATCH", "/v1/tenant", map[string]any{"routing_strategy": "random"}).want(t, 422, nil)
	var users [3]core.User
	for i := range users {
		e.a.do("POST", "/v1/users", map[string]any{"name": fmt.Sprint("U", i), "email": fmt.Sprintf("u%d@example.com", i)}).want(t, 201, &users[i])
	}
	// One member already holds a lead: round robin does not care.
	e.a.do("POST", "/v1/contacts", map[string]any{"first_name": "Held", "owner_id": users[0].ID}).want(t, 201, nil)
	drain(t, relay)
	var owners []string
	for i := range 6 {
		var c core.Contact
		e.a.do("POST", "/v1/contacts", map[string]any{"first_name": fmt.Sprint("L", i)}).want(t, 201, &c)
		drain(t, relay)
		e.a.do("GET", "/v1/contacts/"+c.ID, nil).want(t, 200, &c)
		owners = append(owners, c.OwnerID)
	}
	ids := []string{users[0].ID, users[1].ID, users[2].ID}
	slices.Sort(ids)
	if want := append(append([]string{}, ids...), ids...); !slices.Equal(owners, want) {
		t.Errorf("owners in order %v, want each in turn %v", owners, want)
	}
	for _, a := range assignments(t, e) {
		if a.Strategy != "round_robin" || a.Reason != "round robin" {
			t.Errorf("decision %+v", a)
		}
	}
}

// With the example route plugin active, the plugin decides.
func TestRoutingWithAPlugin(t *testing.T) {
	pe := newPluginEnv(t, "embedded")
	relay := routingRelay(pe.env)
	var u core.User
	pe.a.do("POST", "/v1/users", map[string]any{"name": "Anna", "email": "anna@example.com", "skills": []string{"italian"}}).want(t, 201, &u)
	upload(pe.a, "rr", "route", module(t, "plugins", "roundrobin.wasm"), "").want(t, 201, nil)
	pe.a.do("POST", "/v1/plugins/rr/versions/1/activate", nil).want(t, 200, nil)
	var c core.Contact
	pe.a.do("POST", "/v1/contacts", map[string]any{"first_name": "L"}).want(t, 201, &c)
	drain(t, relay)
	as := assignments(t, pe.env)
	if len(as) != 1 || as[0].OwnerID != u.ID || as[0].Strategy != "plugin" || as[0].Plugin == nil || as[0].Reason != "least loaded" {
		t.Fatalf("assignments %+v", as)
	}
}
