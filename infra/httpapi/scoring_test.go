package httpapi_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/scoring"
)

type scoreView struct {
	Current scoring.Scored   `json:"current"`
	History []scoring.Scored `json:"history"`
}

// relayOf delivers the outbox to handlers, as the local server's relay does
// (EventBridge and the worker in AWS).
func relayOf(e *env, handlers ...events.Handler) *events.Relay {
	cons := events.NewConsumers(e.store, slog.New(slog.DiscardHandler), e.now)
	for _, h := range handlers {
		cons.Register(h)
	}
	return &events.Relay{Store: e.store, Publisher: cons, Log: slog.New(slog.DiscardHandler), Interval: time.Millisecond}
}

// scoringRelay delivers the outbox to the app's scoring consumers.
func scoringRelay(e *env) *events.Relay { return relayOf(e, consumers(e, "scoring", "rescore")...) }

// consumers are the app's consumers of those names, in that order.
func consumers(e *env, names ...string) []events.Handler {
	var hs []events.Handler
	for _, name := range names {
		i := slices.IndexFunc(e.app.Consumers(), func(h events.Handler) bool { return h.Name == name })
		if i < 0 {
			panic(fmt.Sprintf("no consumer %q in %v", name, e.app.ConsumerNames()))
		}
		hs = append(hs, e.app.Consumers()[i])
	}
	return hs
}

// Contacts are scored on the events that can change a score — created,
// updated, an activity logged — with the history kept and contact.scored
// written, which scoring never reacts to.
func TestScoringOnEvents(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		relay := scoringRelay(e)
		var c core.Contact
		e.a.do("POST", "/v1/contacts", map[string]any{"first_name": "Ada", "emails": []map[string]any{{"address": "ada@example.com"}}}).want(t, 201, &c)
		e.a.do("GET", "/v1/contacts/"+c.ID+"/score", nil).want(t, 404, nil) // not yet delivered
		drain(t, relay)
		var v scoreView
		e.a.do("GET", "/v1/contacts/"+c.ID+"/score", nil).want(t, 200, &v)
		if v.Current.Score != 15 || v.Current.DecidedBy != "builtin" || len(v.History) != 1 {
			t.Fatalf("after creation: %+v", v)
		}
		// A meeting now (10) and a call a month ago (6 × 30/60 = 3, a hair
		// less by the time it is scored): 15 + 12. Both are in the store when
		// the first event is delivered, so the second finds the score as is.
		e.a.do("POST", "/v1/activities", map[string]any{"type": "meeting", "contact_id": c.ID}).want(t, 201, nil)
		e.a.do("POST", "/v1/activities", map[string]any{"type": "call", "contact_id": c.ID, "at": e.now().Add(-30 * 24 * time.Hour)}).want(t, 201, nil)
		drain(t, relay)
		e.a.do("GET", "/v1/contacts/"+c.ID+"/score", nil).want(t, 200, &v)
		if v.Current.Score != 27 || len(v.History) != 2 || v.History[0].Score != 27 || v.History[1].Score != 15 {
			t.Fatalf("after two activities: %+v", v)
		}
		if v.Current.Reasons == nil || v.Current.Reasons[len(v.Current.Reasons)-1] != "engaged" {
			t.Errorf("reasons %v", v.Current.Reasons)
		}
		// The contact shows its score when read, and keeps its version.
		var shown core.Contact
		e.a.do("GET", "/v1/contacts/"+c.ID, nil).want(t, 200, &shown)
		if shown.Score == nil || shown.Score.Score != 27 || shown.Version != c.Version {
			t.Errorf("the contact shows %+v at version %d", shown.Score, shown.Version)
		}
		// A change that does not move the score leaves no new history.
		e.a.do("PATCH", "/v1/contacts/"+c.ID, `{"last_name":"Lovelace"}`).want(t, 200, nil)
		drain(t, relay)
		e.a.do("GET", "/v1/contacts/"+c.ID+"/score", nil).want(t, 200, &v)
		if len(v.History) != 2 {
			t.Errorf("an unchanged score was recorded again: %d", len(v.History))
		}
		scored := 0
		for _, ev := range outbox(t, e.store, "acme") {
			if ev.DetailType == events.ContactScored {
				scored++
				if ev.Detail.Actor.ID != "scoring" || ev.Detail.CausationID == "" {
					t.Errorf("contact.scored by %+v caused by %q", ev.Detail.Actor, ev.Detail.CausationID)
				}
			}
		}
		if scored != 2 {
			t.Errorf("%d contact.scored events, want 2", scored)
		}
		if n, err := relay.Drain(context.Background()); n != 0 || err != nil {
			t.Errorf("contact.scored set off more: %d, %v", n, err)
		}
		e.b.do("GET", "/v1/contacts/"+c.ID+"/score", nil).want(t, 404, nil)
	})
}

// With an active score plugin the plugin decides; when it fails, the
// built-in does and the write that set it off is kept.
func TestScoringWithAPlugin(t *testing.T) {
	pe := newPluginEnv(t, "embedded")
	relay := scoringRelay(pe.env)
	upload(pe.a, "leads", "score", module(t, "plugins", "leadscore.wasm"), "").want(t, 201, nil)
	pe.a.do("POST", "/v1/plugins/leads/versions/1/activate", nil).want(t, 200, nil)
	var c core.Contact
	pe.a.do("POST", "/v1/contacts", map[string]any{"first_name": "Ada", "emails": []map[string]any{{"address": "ada@example.com"}},
		"tags": []string{"decision-maker"}}).want(t, 201, &c)
	drain(t, relay)
	var v scoreView
	pe.a.do("GET", "/v1/contacts/"+c.ID+"/score", nil).want(t, 200, &v)
	if v.Current.DecidedBy != "plugin" || v.Current.Score != 30 || v.Current.Plugin == nil {
		t.Fatalf("leadscore's score: %+v", v.Current)
	}
	// A new version decides from its activation on.
	upload(pe.a, "leads", "score", module(t, "plugins", "flatscore.wasm"), "").want(t, 201, nil)
	pe.a.do("POST", "/v1/plugins/leads/versions/2/activate", nil).want(t, 200, nil)
	pe.a.do("PATCH", "/v1/contacts/"+c.ID, `{"phones":[{"number":"+390212345678"}]}`).want(t, 200, nil)
	drain(t, relay)
	pe.a.do("GET", "/v1/contacts/"+c.ID+"/score", nil).want(t, 200, &v)
	if v.Current.DecidedBy != "plugin" || v.Current.Score != 60 || v.Current.Plugin.Version != 2 {
		t.Fatalf("flatscore's score: %+v", v.Current)
	}
}

// A tenant's weights tune the built-in scorer; other tenants keep theirs.
func TestScoringWeights(t *testing.T) {
	e := newEnv(t, engines["embedded"](t))
	relay := scoringRelay(e)
	w := map[string]any{"email": 50, "phone": 10, "mql": 20, "sql": 30, "customer": 25, "enterprise": 30, "mid_size": 15,
		"meeting": 10, "call": 6, "email_activity": 3, "other_activity": 2, "engagement_cap": 30, "half_life_days": 7}
	e.a.do("PATCH", "/v1/tenant", map[string]any{"scoring_weights": w}).want(t, 200, nil)
	for _, cl := range []*client{e.a, e.b} {
		var c core.Contact
		cl.do("POST", "/v1/contacts", map[string]any{"first_name": "Ada", "emails": []map[string]any{{"address": "ada@example.com"}}}).want(t, 201, &c)
		drain(t, relay)
		var v scoreView
		cl.do("GET", "/v1/contacts/"+c.ID+"/score", nil).want(t, 200, &v)
		want := 50
		if cl == e.b {
			want = 15 // the default
		}
		if v.Current.Score != want {
			t.Errorf("score %d, want %d", v.Current.Score, want)
		}
	}
	w["email"] = 500
	p := e.a.do("PATCH", "/v1/tenant", map[string]any{"scoring_weights": w}).want(t, 422, nil).problem(t)
	if len(p.locations()) == 0 || p.locations()[0] != "body.scoring_weights.email" {
		t.Errorf("bad weight at %v", p.locations())
	}
}
