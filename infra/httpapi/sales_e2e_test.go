package httpapi_test

import (
	"slices"
	"testing"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/plugins"
)

// End to end, on both engines: leads are scored by an uploaded plugin and
// routed by an uploaded plugin, with the events in order; then the score
// plugin is replaced by one that fails, the built-in decides, the failure
// is recorded and the lead is kept.
func TestLeadsScoredAndRoutedByPlugins(t *testing.T) {
	for name := range engines {
		t.Run(name, func(t *testing.T) {
			pe := newPluginEnv(t, name)
			e := pe.env
			relay := relayOf(e, consumers(e, "scoring", "routing")...)

			var anna core.User
			e.a.do("POST", "/v1/users", map[string]any{"name": "Anna", "email": "anna@example.com"}).want(t, 201, &anna)
			upload(e.a, "leads", "score", module(t, "plugins", "leadscore.wasm"), "").want(t, 201, nil)
			e.a.do("POST", "/v1/plugins/leads/versions/1/activate", nil).want(t, 200, nil)
			upload(e.a, "rr", "route", module(t, "plugins", "roundrobin.wasm"), "").want(t, 201, nil)
			e.a.do("POST", "/v1/plugins/rr/versions/1/activate", nil).want(t, 200, nil)

			var lead core.Contact
			e.a.do("POST", "/v1/contacts", map[string]any{"first_name": "Ada", "emails": []map[string]any{{"address": "ada@example.com"}},
				"tags": []string{"decision-maker"}}).want(t, 201, &lead)
			drain(t, relay)
			var v scoreView
			e.a.do("GET", "/v1/contacts/"+lead.ID+"/score", nil).want(t, 200, &v)
			if v.Current.DecidedBy != "plugin" || v.Current.Score != 30 {
				t.Fatalf("score %+v", v.Current)
			}
			var got core.Contact
			e.a.do("GET", "/v1/contacts/"+lead.ID, nil).want(t, 200, &got)
			if got.OwnerID != anna.ID {
				t.Fatalf("owner %q, want Anna", got.OwnerID)
			}
			// In order: the creation, then what it set off, each caused by it.
			var seq []events.Type
			var created events.Envelope
			for _, ev := range outbox(t, e.store, "acme") {
				if ev.Detail.Entity.ID != lead.ID {
					continue
				}
				seq = append(seq, ev.DetailType)
				switch ev.DetailType {
				case events.ContactCreated:
					created = ev
				case events.ContactScored, events.ContactAssigned:
					if ev.Detail.CausationID != created.Detail.EventID || ev.Detail.Depth != 1 {
						t.Errorf("%s caused by %q at depth %d, want the creation %q", ev.DetailType, ev.Detail.CausationID, ev.Detail.Depth, created.Detail.EventID)
					}
				}
			}
			if len(seq) < 4 || seq[0] != events.ContactCreated || !slices.Contains(seq, events.ContactScored) ||
				!slices.Contains(seq, events.ContactAssigned) || !slices.Contains(seq, events.ContactUpdated) {
				t.Errorf("events of the lead %v", seq)
			}

			// The score plugin replaced by one that fails on this lead.
			upload(e.a, "leads", "score", module(t, "plugins", "failscore.wasm"), "").want(t, 201, nil)
			e.a.do("POST", "/v1/plugins/leads/versions/2/activate", nil).want(t, 200, nil)
			var boom core.Contact
			e.a.do("POST", "/v1/contacts", map[string]any{"first_name": "Bo", "tags": []string{"boom"}}).want(t, 201, &boom)
			drain(t, relay)
			e.a.do("GET", "/v1/contacts/"+boom.ID+"/score", nil).want(t, 200, &v)
			if v.Current.DecidedBy != "builtin" || v.Current.Failure == nil || v.Current.Failure.Class != "out_of_fuel" {
				t.Fatalf("with a failing plugin: %+v", v.Current)
			}
			e.a.do("GET", "/v1/contacts/"+boom.ID, nil).want(t, 200, nil) // the write is kept
			var fails struct{ Items []plugins.Failure }
			e.a.do("GET", "/v1/plugins/leads/failures", nil).want(t, 200, &fails)
			if len(fails.Items) == 0 || fails.Items[0].Class != "out_of_fuel" || fails.Items[0].Version != 2 {
				t.Errorf("failures %+v", fails.Items)
			}
		})
	}
}
