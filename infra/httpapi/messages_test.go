package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/messaging"
)

type outcomeBody struct {
	Message   messaging.Message `json:"message"`
	Duplicate bool              `json:"duplicate"`
}

// The delivery contract through HTTP on both engines: a message asked for
// twice is one; receipts need the provider's scope and stay in their
// tenant; a hard bounce suppresses, a person lifts it; the public
// one-click unsubscribe withdraws consent and refuses forged tokens.
func TestMessagesHTTP(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		var c core.Contact
		e.a.do(http.MethodPost, "/v1/contacts", map[string]any{"first_name": "Ada", "emails": []map[string]any{{"address": "ada@example.com"}},
			"time_zone": "Europe/Rome", "consent": map[string]any{"email": map[string]any{"status": "granted", "source": "signup form"}}}).
			want(t, http.StatusCreated, &c)
		e.a.do(http.MethodPost, "/v1/contacts", map[string]any{"first_name": "Bo", "time_zone": "Mars/Olympus"}).
			want(t, http.StatusUnprocessableEntity, nil)

		var pol messaging.Policy
		e.a.do(http.MethodPut, "/v1/messaging/policy", map[string]any{"caps": []map[string]any{{"channel": "*", "max": 5, "window": "168h"}}}).
			want(t, http.StatusOK, &pol)
		if pol.Version != 1 || len(pol.Caps) != 1 {
			t.Fatalf("policy: %+v", pol)
		}
		for body, at := range map[string]map[string]any{
			"body.caps[0].channel":     {"caps": []map[string]any{{"channel": "fax", "max": 1, "window": "24h"}}},
			"body.caps[0].window":      {"caps": []map[string]any{{"channel": "sms", "max": 1, "window": "soon"}}},
			"body.quiet_hours.sms.end": {"quiet_hours": map[string]any{"sms": map[string]any{"start": "08:00", "end": "08:00"}}},
		} {
			p := e.a.do(http.MethodPut, "/v1/messaging/policy", at).want(t, http.StatusUnprocessableEntity, nil).problem(t)
			if got := strings.Join(p.locations(), " "); got != body {
				t.Fatalf("bad policy: %v, want %s", got, body)
			}
		}
		e.a.do(http.MethodPut, "/v1/messaging/policy", map[string]any{}, "If-Match", `"7"`).want(t, http.StatusPreconditionFailed, nil)

		req := map[string]any{"contact_id": c.ID, "channel": "email", "template": "welcome", "campaign_id": "onboarding", "step": "1",
			"merge": map[string]any{"first_name": "Ada"}}
		var first, again outcomeBody
		r := e.a.do(http.MethodPost, "/v1/messages", req).want(t, http.StatusCreated, &first)
		if first.Message.Status != messaging.StatusRequested || r.Header.Get("Location") != "/v1/messages/"+first.Message.ID {
			t.Fatalf("requested: %+v (%s)", first, r.Header.Get("Location"))
		}
		e.a.do(http.MethodPost, "/v1/messages", req).want(t, http.StatusOK, &again)
		if !again.Duplicate || again.Message.ID != first.Message.ID {
			t.Fatalf("asked again: %+v", again)
		}
		bad := e.a.do(http.MethodPost, "/v1/messages", map[string]any{"contact_id": c.ID, "channel": "fax", "template": "t", "key": "k"}).
			want(t, http.StatusUnprocessableEntity, nil).problem(t)
		if !strings.Contains(strings.Join(bad.locations(), " "), "body.channel") {
			t.Fatalf("bad channel: %v", bad.locations())
		}
		e.a.do(http.MethodPost, "/v1/messages", map[string]any{"contact_id": c.ID, "channel": "email", "template": "t"}).
			want(t, http.StatusUnprocessableEntity, nil)

		id := first.Message.ID
		provider := e.key(t, "acme", core.ScopeMessageReceipts)
		reader := e.key(t, "acme", core.ScopeRead)
		otherProvider := e.key(t, "globex", core.ScopeMessageReceipts)
		events := "/v1/messages/" + id + "/events"
		reader.do(http.MethodPost, events, map[string]any{"type": "delivered"}).want(t, http.StatusForbidden, nil)
		otherProvider.do(http.MethodPost, events, map[string]any{"type": "delivered"}).want(t, http.StatusNotFound, nil)
		e.b.do(http.MethodGet, "/v1/messages/"+id, nil).want(t, http.StatusNotFound, nil)
		provider.do(http.MethodGet, "/v1/messages/"+id, nil).want(t, http.StatusForbidden, nil)
		provider.do(http.MethodPost, events, map[string]any{"type": "read"}).want(t, http.StatusUnprocessableEntity, nil)
		provider.do(http.MethodPost, events, map[string]any{"type": "clicked"}).want(t, http.StatusUnprocessableEntity, nil)
		var m messaging.Message
		provider.do(http.MethodPost, events, map[string]any{"type": "delivered", "provider_event_id": "p1"}).want(t, http.StatusOK, &m)
		provider.do(http.MethodPost, events, map[string]any{"type": "clicked", "url": "https://example.com/x", "provider_event_id": "p2"}).want(t, http.StatusOK, &m)
		if m.Status != messaging.StatusClicked || len(m.Receipts) != 2 {
			t.Fatalf("after receipts: %+v", m)
		}

		// Unsubscribe, publicly.
		u, err := url.Parse(first.Message.Unsubscribe.URL)
		if err != nil || !strings.HasPrefix(u.Path, "/u/") {
			t.Fatalf("unsubscribe link %q", first.Message.Unsubscribe.URL)
		}
		public := &client{t: t, url: e.url}
		pg := public.do(http.MethodGet, u.Path, nil).want(t, http.StatusOK, nil)
		if !strings.HasPrefix(pg.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(pg.Body), "a••@example.com") {
			t.Fatalf("page %s: %s", pg.Header.Get("Content-Type"), pg.Body)
		}
		tok := strings.TrimPrefix(u.Path, "/u/")
		forged := tok[:len(tok)-2] + "AA"
		if forged == tok {
			forged = tok[:len(tok)-2] + "BB"
		}
		form := []string{"Content-Type", "application/x-www-form-urlencoded"}
		public.do(http.MethodPost, "/u/"+forged, "List-Unsubscribe=One-Click", form...).want(t, http.StatusNotFound, nil)
		public.do(http.MethodGet, "/u/not-a-token", nil).want(t, http.StatusNotFound, nil)
		public.do(http.MethodPost, u.Path, "nothing", form...).want(t, http.StatusUnprocessableEntity, nil)
		public.do(http.MethodPost, u.Path, "List-Unsubscribe=One-Click", form...).want(t, http.StatusOK, nil)
		public.do(http.MethodPost, u.Path, "List-Unsubscribe=One-Click", form...).want(t, http.StatusOK, nil)
		var after core.Contact
		e.a.do(http.MethodGet, "/v1/contacts/"+c.ID, nil).want(t, http.StatusOK, &after)
		if after.Consent.Email.Status != core.ConsentDenied || after.Consent.Email.Source != "one-click unsubscribe" {
			t.Fatalf("consent after unsubscribing: %+v", after.Consent.Email)
		}

		// Suppressions: listed, read, lifted; another tenant sees none.
		var sp messaging.Suppression
		e.a.do(http.MethodGet, "/v1/suppressions/ada@example.com", nil).want(t, http.StatusOK, &sp)
		if sp.Reason != messaging.SuppressUnsubscribed {
			t.Fatalf("suppression: %+v", sp)
		}
		e.b.do(http.MethodGet, "/v1/suppressions/ada@example.com", nil).want(t, http.StatusNotFound, nil)
		var list struct {
			Items []messaging.Suppression `json:"items"`
		}
		e.b.do(http.MethodGet, "/v1/suppressions", nil).want(t, http.StatusOK, &list)
		if len(list.Items) != 0 {
			t.Fatalf("another tenant's suppressions: %+v", list.Items)
		}
		e.a.do(http.MethodDelete, "/v1/suppressions/ada@example.com", nil).want(t, http.StatusNoContent, nil)
		e.a.do(http.MethodGet, "/v1/suppressions/ada@example.com", nil).want(t, http.StatusNotFound, nil)
		e.a.do(http.MethodPost, "/v1/messaging/signing-keys", nil).want(t, http.StatusNoContent, nil)
		public.do(http.MethodGet, u.Path, nil).want(t, http.StatusOK, nil) // the previous key still verifies
	})
}
