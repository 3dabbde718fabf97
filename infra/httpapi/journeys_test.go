package httpapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/journeys"
)

// Journeys through the API, on both engines: a filter that does not
// compile is a 422 at its field with its position; a journey is saved,
// versioned, published, enrolled into, and its contact's position and its
// counts are read; none of it is reachable from another tenant, through
// any of its doors.
func TestJourneysAPI(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		relay := relayOf(e, consumers(e, "journeys", "journey-stats")...)
		var j journeys.Journey
		e.a.do("POST", "/v1/journeys", map[string]any{"name": "welcome"}).want(t, 201, &j)
		if j.Status != journeys.StatusDraft {
			t.Fatalf("created %+v", j)
		}
		p := e.a.do("POST", "/v1/journeys/"+j.ID+"/versions", map[string]any{
			"trigger": map[string]any{"kind": "event", "event": "order.placed", "filter": `entity.lines.exists(l, l.category ==)`},
			"steps":   []map[string]any{{"id": "hi", "type": "send", "channel": "email", "template": "hi"}},
		}).want(t, 422, nil).problem(t)
		if len(p.Errors) != 1 || p.Errors[0].Location != "body.trigger.filter" || !strings.HasPrefix(p.Errors[0].Message, "1:") {
			t.Errorf("bad filter: %+v", p)
		}
		p = e.a.do("POST", "/v1/journeys/"+j.ID+"/versions", map[string]any{
			"trigger": map[string]any{"kind": "api"},
			"steps":   []map[string]any{{"id": "w", "type": "wait", "delay": "soon"}, {"id": "b", "type": "branch", "condition": "contact.nope"}},
		}).want(t, 422, nil).problem(t)
		if len(p.Errors) != 2 || p.Errors[0].Location != "body.steps[0].delay" || p.Errors[1].Location != "body.steps[1].condition" {
			t.Errorf("bad steps: %+v", p)
		}
		var v journeys.JourneyVersion
		e.a.do("POST", "/v1/journeys/"+j.ID+"/versions", map[string]any{
			"trigger": map[string]any{"kind": "api"},
			"steps": []map[string]any{{"id": "hi", "type": "send", "channel": "email", "template": "hi"},
				{"id": "later", "type": "wait", "delay": "3d"}, {"id": "bye", "type": "send", "channel": "email", "template": "bye"}},
		}).want(t, 201, &v)
		e.a.do("POST", "/v1/journeys/"+j.ID+"/versions/1/publish", nil).want(t, 200, &j)
		if j.Status != journeys.StatusActive || j.Published != 1 {
			t.Fatalf("published %+v", j)
		}
		var c core.Contact
		e.a.do("POST", "/v1/contacts", map[string]any{"first_name": "Ada", "emails": []map[string]any{{"address": "ada@acme.example"}},
			"consent": map[string]any{"email": map[string]any{"status": "granted", "source": "form"}}}).want(t, 201, &c)
		var en journeys.JourneyEnrolment
		e.a.do("POST", "/v1/journeys/"+j.ID+"/enrolments", map[string]any{"contact_id": c.ID}).want(t, 201, &en)
		e.a.do("POST", "/v1/journeys/"+j.ID+"/enrolments", map[string]any{"contact_id": c.ID}).want(t, 409, nil)
		if _, err := e.app.Timers.Drain(context.Background(), 0, e.app.Timers.FireAll); err != nil {
			t.Fatal(err)
		}
		drain(t, relay)
		var page struct{ Items []journeys.JourneyEnrolment }
		e.a.do("GET", "/v1/contacts/"+c.ID+"/journeys", nil).want(t, 200, &page)
		if len(page.Items) != 1 || page.Items[0].Step != "later" || !page.Items[0].Waiting || page.Items[0].NextAt.IsZero() {
			t.Fatalf("the contact's journeys: %+v", page.Items)
		}
		var st journeys.JourneyStats
		e.a.do("GET", "/v1/journeys/"+j.ID+"/stats", nil).want(t, 200, &st)
		if st.Enrolled != 1 || st.Active != 1 || len(st.Steps) != 3 || st.Steps[0].Reached != 1 || st.Steps[1].Waiting != 1 {
			t.Fatalf("stats: %+v", st)
		}
		var perf struct {
			Requested int64
			Steps     []journeys.JourneyStepStats
		}
		e.a.do("GET", "/v1/journeys/"+j.ID+"/performance", nil).want(t, 200, &perf)
		if len(perf.Steps) != 2 {
			t.Fatalf("performance: %+v", perf)
		}
		e.a.do("POST", "/v1/journeys/"+j.ID+"/pause", nil).want(t, 200, &j)
		if j.Status != journeys.StatusPaused {
			t.Fatalf("paused: %+v", j)
		}
		e.a.do("POST", "/v1/journeys/"+j.ID+"/pause", nil).want(t, 409, nil)
		e.a.do("POST", "/v1/journeys/"+j.ID+"/resume", nil).want(t, 200, &j)

		// Another tenant: none of it, through any door.
		for _, path := range []string{"/v1/journeys/" + j.ID, "/v1/journeys/" + j.ID + "/versions", "/v1/journeys/" + j.ID + "/versions/1",
			"/v1/journeys/" + j.ID + "/stats", "/v1/journeys/" + j.ID + "/performance", "/v1/contacts/" + c.ID + "/journeys"} {
			e.b.do("GET", path, nil).want(t, 404, nil)
		}
		for _, path := range []string{"/v1/journeys/" + j.ID + "/versions/1/publish", "/v1/journeys/" + j.ID + "/archive"} {
			e.b.do("POST", path, nil).want(t, 404, nil)
		}
		e.b.do("POST", "/v1/journeys/"+j.ID+"/enrolments", map[string]any{"contact_id": c.ID}).want(t, 404, nil)
		var list struct{ Items []journeys.Journey }
		e.b.do("GET", "/v1/journeys", nil).want(t, 200, &list)
		if len(list.Items) != 0 {
			t.Fatalf("another tenant lists %+v", list.Items)
		}
		e.a.do("DELETE", "/v1/journeys/"+j.ID, nil).want(t, 409, nil)
		e.a.do("POST", "/v1/journeys/"+j.ID+"/archive", nil).want(t, 200, &j)
		e.a.do("DELETE", "/v1/journeys/"+j.ID, nil).want(t, 204, nil)
	})
}
