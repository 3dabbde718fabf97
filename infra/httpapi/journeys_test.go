package httpapi_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/journeys"
	"github.com/fedele-crm/fedele/infra/httpapi"
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

// A whole audience enrols in one call, on both engines: each item is
// answered as a single enrolment would be — enrolled, refused by the
// re-entry policy (the same contact twice, in one chunk of a transaction or
// across two), a used key, a contact that does not exist or is another
// tenant's, a time too far ahead — and what enrolled waits at its first
// step. Too many items, or another tenant's journey, refuse the call.
func TestJourneyBatchEnrolment(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		var j journeys.Journey
		e.a.do("POST", "/v1/journeys", map[string]any{"name": "audience"}).want(t, 201, &j)
		e.a.do("POST", "/v1/journeys/"+j.ID+"/versions", map[string]any{"trigger": map[string]any{"kind": "api"},
			"steps": []map[string]any{{"id": "later", "type": "wait", "delay": "1d"}, {"id": "hi", "type": "send", "channel": "email", "template": "hi"}}}).want(t, 201, nil)
		e.a.do("POST", "/v1/journeys/"+j.ID+"/versions/1/publish", nil).want(t, 200, &j)

		var created struct {
			Results []httpapi.BatchResult[core.Contact]
		}
		var people []map[string]any
		for i := range 22 {
			people = append(people, map[string]any{"first_name": fmt.Sprint("P", i)})
		}
		e.a.do("POST", "/v1/contacts/batch", map[string]any{"items": people}).want(t, 200, &created)
		var ids []string
		for _, r := range created.Results {
			ids = append(ids, r.Record.ID)
		}
		var theirs core.Contact
		e.b.do("POST", "/v1/contacts", map[string]any{"first_name": "Theirs"}).want(t, 201, &theirs)

		item := func(id string) map[string]any { return map[string]any{"contact_id": id} }
		items := []map[string]any{item(ids[0]), item(ids[0]), {"contact_id": ids[1], "key": "k1"}, item(core.NewID(time.Now())),
			item(theirs.ID), {"contact_id": ids[2], "at": time.Now().AddDate(2, 0, 0).UTC().Format(time.RFC3339)}}
		for _, id := range ids[3:20] {
			items = append(items, item(id))
		}
		items = append(items, item(ids[0])) // index 23: a later chunk
		var got struct {
			Results []httpapi.BatchResult[journeys.JourneyEnrolment]
		}
		e.a.do("POST", "/v1/journeys/"+j.ID+"/enrolments/batch", map[string]any{"items": items}).want(t, 200, &got)
		want := map[int]struct {
			status int
			at     string
		}{1: {409, ""}, 3: {422, "body.items[3].contact_id"}, 4: {422, "body.items[4].contact_id"}, 5: {422, "body.items[5].at"}, 23: {409, ""}}
		if len(got.Results) != len(items) {
			t.Fatalf("%d results for %d items", len(got.Results), len(items))
		}
		for i, r := range got.Results {
			w, refused := want[i]
			switch {
			case r.Index != i:
				t.Errorf("result %d has index %d", i, r.Index)
			case !refused && (r.Status != 201 || r.Record == nil || r.Record.ContactID != items[i]["contact_id"] || r.Record.Step != "later" || !r.Record.Waiting):
				t.Errorf("item %d: %+v, want enrolled and waiting", i, r)
			case refused && (r.Status != w.status || r.Record != nil || r.Error == nil):
				t.Errorf("item %d: %+v, want %d", i, r, w.status)
			case refused && w.at != "" && (len(r.Error.Errors) != 1 || r.Error.Errors[0].Location != w.at):
				t.Errorf("item %d: %+v, want the problem at %s", i, r.Error, w.at)
			}
		}

		// The key enrols once; without it the contact enrols.
		e.a.do("POST", "/v1/journeys/"+j.ID+"/enrolments/batch", map[string]any{"items": []any{
			map[string]any{"contact_id": ids[20], "key": "k1"}, item(ids[21])}}).want(t, 200, &got)
		if got.Results[0].Status != 409 || got.Results[1].Status != 201 {
			t.Errorf("reused key, then a new contact: %+v", got.Results)
		}
		var page struct{ Items []journeys.JourneyEnrolment }
		e.a.do("GET", "/v1/contacts/"+ids[0]+"/journeys", nil).want(t, 200, &page)
		if len(page.Items) != 1 {
			t.Errorf("the contact enrolled three times in one call has %d enrolments", len(page.Items))
		}
		drain(t, relayOf(e, consumers(e, "journeys", "journey-stats")...))
		var st journeys.JourneyStats
		e.a.do("GET", "/v1/journeys/"+j.ID+"/stats", nil).want(t, 200, &st)
		if st.Enrolled != 20 || st.Active != 20 {
			t.Errorf("stats after 20 enrolments: %+v", st)
		}

		// The call itself refused.
		many := make([]map[string]any, 501)
		for i := range many {
			many[i] = item(ids[0])
		}
		p := e.a.do("POST", "/v1/journeys/"+j.ID+"/enrolments/batch", map[string]any{"items": many}).want(t, 422, nil).problem(t)
		if !slices.Contains(p.locations(), "body.items") {
			t.Errorf("501 items: %+v", p)
		}
		e.a.do("POST", "/v1/journeys/"+j.ID+"/enrolments/batch", map[string]any{"items": []any{}}).want(t, 422, nil)
		e.b.do("POST", "/v1/journeys/"+j.ID+"/enrolments/batch", map[string]any{"items": []any{item(theirs.ID)}}).want(t, 404, nil)
		e.b.do("GET", "/v1/contacts/"+theirs.ID+"/journeys", nil).want(t, 200, &page)
		if len(page.Items) != 0 {
			t.Errorf("another tenant's contact enrolled: %+v", page.Items)
		}
	})
}
