package httpapi_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/events"
)

type activitiesPage struct {
	Items      []core.Activity `json:"items"`
	NextCursor string          `json:"next_cursor"`
}

// Calls, e-mails, meetings, notes and tasks on contacts and companies:
// logged with activity.logged on the contact's timeline, listed per contact
// and company, and a user's overdue tasks.
func TestActivities(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		var co core.Company
		e.a.do("POST", "/v1/companies", map[string]any{"name": "Analytical Engines"}).want(t, 201, &co)
		var c core.Contact
		e.a.do("POST", "/v1/contacts", map[string]any{"first_name": "Ada", "company_id": co.ID}).want(t, 201, &c)
		var u core.User
		e.a.do("POST", "/v1/users", map[string]any{"name": "Rep", "email": "rep@example.com"}).want(t, 201, &u)

		now := e.now().UTC()
		var call core.Activity
		e.a.do("POST", "/v1/activities", map[string]any{"type": "call", "channel": "phone", "subject": " Intro ", "contact_id": c.ID,
			"company_id": co.ID, "owner_id": u.ID, "duration_minutes": 20, "at": now.Add(-2 * time.Hour)}).want(t, 201, &call)
		if call.Subject != "Intro" || !call.At.Equal(now.Add(-2*time.Hour)) {
			t.Errorf("logged %+v", call.ActivityFields)
		}
		var meeting, note core.Activity
		e.a.do("POST", "/v1/activities", map[string]any{"type": "meeting", "channel": "in_person", "company_id": co.ID}).want(t, 201, &meeting)
		e.a.do("POST", "/v1/activities", map[string]any{"type": "note", "body": "likes engines", "contact_id": c.ID}).want(t, 201, &note)

		var late, later core.Activity
		e.a.do("POST", "/v1/activities", map[string]any{"type": "task", "subject": "send the offer", "contact_id": c.ID, "owner_id": u.ID,
			"due_at": now.Add(-time.Hour)}).want(t, 201, &late)
		e.a.do("POST", "/v1/activities", map[string]any{"type": "task", "subject": "follow up", "contact_id": c.ID, "owner_id": u.ID,
			"due_at": now.Add(24 * time.Hour)}).want(t, 201, &later)

		ids := func(p activitiesPage) []string {
			var out []string
			for _, a := range p.Items {
				out = append(out, a.ID)
			}
			return out
		}
		var page activitiesPage
		e.a.do("GET", "/v1/activities?contact_id="+c.ID, nil).want(t, 200, &page)
		// By when they happened, newest first: the tasks and the note were
		// set now, the call two hours ago.
		if got := ids(page); len(got) != 4 || got[3] != call.ID {
			t.Errorf("the contact's activities %v, the call last", got)
		}
		e.a.do("GET", "/v1/activities?company_id="+co.ID, nil).want(t, 200, &page)
		if got := ids(page); !slices.Equal(got, []string{meeting.ID, call.ID}) {
			t.Errorf("the company's activities %v, want the meeting then the call", got)
		}
		e.a.do("GET", "/v1/activities?contact_id="+c.ID+"&type=task", nil).want(t, 200, &page)
		if len(page.Items) != 2 {
			t.Errorf("the contact's tasks %v", ids(page))
		}

		e.a.do("GET", "/v1/users/"+u.ID+"/overdue-tasks", nil).want(t, 200, &page)
		if got := ids(page); !slices.Equal(got, []string{late.ID}) {
			t.Errorf("overdue %v, want only %s", got, late.ID)
		}
		// A day and a half later the second is overdue too; done, the first is not.
		e.advance(36 * time.Hour)
		e.a.do("PATCH", "/v1/activities/"+late.ID, `{"done":true}`, "Content-Type", "application/merge-patch+json").want(t, 200, nil)
		e.a.do("GET", "/v1/users/"+u.ID+"/overdue-tasks", nil).want(t, 200, &page)
		if got := ids(page); !slices.Equal(got, []string{later.ID}) {
			t.Errorf("overdue after a day and a half %v, want only %s", got, later.ID)
		}

		// activity.logged is on the contact's timeline.
		var tl struct{ Items []events.Envelope }
		e.a.do("GET", "/v1/contacts/"+c.ID+"/timeline?limit=200", nil).want(t, 200, &tl)
		logged := 0
		for _, ev := range tl.Items {
			if ev.DetailType == events.ActivityLogged {
				logged++
			}
		}
		if logged != 4 {
			t.Errorf("%d activity.logged on the contact's timeline, want 4", logged)
		}
		kinds := map[events.Type]int{}
		for _, ev := range outbox(t, e.store, "acme") {
			kinds[ev.DetailType]++
		}
		if kinds[events.ActivityLogged] != 5 || kinds[events.ActivityUpdated] != 1 {
			t.Errorf("events %v", kinds)
		}

		// Another tenant reaches none of it.
		e.b.do("GET", "/v1/activities/"+call.ID, nil).want(t, 404, nil)
		e.b.do("PATCH", "/v1/activities/"+call.ID, `{"subject":"x"}`, "Content-Type", "application/merge-patch+json").want(t, 404, nil)
		e.b.do("DELETE", "/v1/activities/"+call.ID, nil).want(t, 404, nil)
		e.b.do("GET", "/v1/users/"+u.ID+"/overdue-tasks", nil).want(t, 404, nil)
		e.b.do("GET", "/v1/activities?contact_id="+c.ID, nil).want(t, 200, &page)
		if len(page.Items) != 0 {
			t.Errorf("globex lists acme's activities: %v", ids(page))
		}
		p := e.b.do("POST", "/v1/activities", map[string]any{"type": "note", "contact_id": c.ID}).want(t, 422, nil).problem(t)
		if fmt.Sprint(p.locations()) != "[body.contact_id]" {
			t.Errorf("a note on another tenant's contact: problems at %v", p.locations())
		}

		e.a.do("DELETE", "/v1/activities/"+note.ID, nil).want(t, 204, nil)
		e.a.do("GET", "/v1/activities/"+note.ID, nil).want(t, 404, nil)
	})
}

func TestActivityBadInput(t *testing.T) {
	e := newEnv(t, engines["embedded"](t))
	var c core.Contact
	e.a.do("POST", "/v1/contacts", map[string]any{"first_name": "Ada"}).want(t, 201, &c)
	for _, tc := range []struct {
		body string
		at   string
	}{
		{`{"type":"fax","contact_id":"` + c.ID + `"}`, "body.type"},
		{`{"type":"note"}`, "body.contact_id"},
		{`{"type":"call","contact_id":"` + c.ID + `","due_at":"2026-12-01T00:00:00Z"}`, "body.due_at"},
		{`{"type":"call","contact_id":"` + c.ID + `","done":true}`, "body.done"},
		{`{"type":"call","contact_id":"` + c.ID + `","channel":"pigeon"}`, "body.channel"},
		{`{"type":"call","contact_id":"` + c.ID + `","owner_id":"01JNOSUCHUSER0000000000000"}`, "body.owner_id"},
		{`{"type":"call","contact_id":"01JNOSUCHCONTACT0000000000"}`, "body.contact_id"},
		{`{"type":"call","contact_id":"` + c.ID + `","duration_minutes":-5}`, "body.duration_minutes"},
		{`{"type":"call","contact_id":"` + c.ID + `","at":"yesterday"}`, "body.at"},
	} {
		p := e.a.do("POST", "/v1/activities", tc.body).want(t, 422, nil).problem(t)
		if !slices.Contains(p.locations(), tc.at) {
			t.Errorf("%s: problems at %v, missing %s", tc.body, p.locations(), tc.at)
		}
	}
}
