package httpapi_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/segments"
)

type segmentBody struct {
	ID         string `json:"id"`
	Version    int64  `json:"version"`
	Kind       string `json:"kind"`
	Expression string `json:"expression"`
	JobID      string `json:"job_id"`
}

type membersBody struct {
	Items []segments.Member `json:"items"`
}

// Segments and lists through the API, on both engines: a faulty or costly
// expression is a 422 at body.expression with its position; a preview, a
// live segment, a list filled by e-mail, an export downloaded; and none of
// it is reachable from another tenant.
func TestSegmentsAPI(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		relay := relayOf(e, consumers(e, "jobs", "segments")...)
		var p problem
		r := e.a.do("POST", "/v1/segments", map[string]any{"name": "bad", "expression": `purchases.orders > "x"`}).want(t, 422, nil)
		p = r.problem(t)
		if len(p.Errors) != 1 || p.Errors[0].Location != "body.expression" || !strings.HasPrefix(p.Errors[0].Message, "1:18 (offset 17):") {
			t.Errorf("type error: %+v", p)
		}
		r = e.a.do("POST", "/v1/segments", map[string]any{"name": "costly",
			"expression": `purchases.categories.all(a, purchases.categories.all(b, purchases.categories.exists(c, a + b == c)))`}).want(t, 422, nil)
		if p = r.problem(t); len(p.Errors) != 1 || !strings.Contains(p.Errors[0].Message, "too expensive") {
			t.Errorf("costly expression: %+v", p)
		}

		var ada, bob, eve core.Contact
		e.a.do("POST", "/v1/contacts", map[string]any{"first_name": "Ada", "tags": []string{"vip"}, "emails": []map[string]any{{"address": "ada@acme.example"}}}).want(t, 201, &ada)
		e.a.do("POST", "/v1/contacts", map[string]any{"first_name": "Bob", "emails": []map[string]any{{"address": "bob@acme.example"}}}).want(t, 201, &bob)
		e.b.do("POST", "/v1/contacts", map[string]any{"first_name": "Eve", "tags": []string{"vip"}, "emails": []map[string]any{{"address": "eve@globex.example"}}}).want(t, 201, &eve)

		var pv segments.Preview
		e.a.do("POST", "/v1/segments/preview", map[string]any{"expression": `"vip" in contact.tags`, "sample": 10}).want(t, 200, &pv)
		if pv.Sampled != 2 || pv.Matched != 1 || !pv.Exact || len(pv.Matches) != 1 || pv.Matches[0] != ada.ID {
			t.Errorf("preview %+v", pv)
		}

		var sg segmentBody
		e.a.do("POST", "/v1/segments", map[string]any{"name": "vips", "expression": `"vip" in contact.tags`}).want(t, 201, &sg)
		if sg.Kind != "dynamic" || sg.JobID == "" {
			t.Errorf("segment %+v", sg)
		}
		drain(t, relay)
		var ms membersBody
		e.a.do("GET", "/v1/segments/"+sg.ID+"/members", nil).want(t, 200, &ms)
		if len(ms.Items) != 1 || ms.Items[0].ContactID != ada.ID {
			t.Errorf("members %+v", ms)
		}
		// Bob becomes a VIP: the consumer puts him in.
		e.a.do("PATCH", "/v1/contacts/"+bob.ID, `{"tags":["vip"]}`, "Content-Type", "application/merge-patch+json").want(t, 200, nil)
		drain(t, relay)
		var n struct{ Count int }
		e.a.do("GET", "/v1/segments/"+sg.ID+"/count", nil).want(t, 200, &n)
		if n.Count != 2 {
			t.Errorf("count %d, want 2", n.Count)
		}
		// Editing the expression re-evaluates the segment as a job.
		e.a.do("PUT", "/v1/segments/"+sg.ID, map[string]any{"name": "vips named Ada", "expression": `"vip" in contact.tags && contact.first_name == "Ada"`}).want(t, 200, &sg)
		drain(t, relay)
		e.a.do("GET", "/v1/segments/"+sg.ID+"/count", nil).want(t, 200, &n)
		if n.Count != 1 {
			t.Errorf("count after the edit %d, want 1", n.Count)
		}

		var list segmentBody
		e.a.do("POST", "/v1/lists", map[string]any{"name": "fair"}).want(t, 201, &list)
		var br struct{ Results []segments.BatchResult }
		e.a.do("POST", "/v1/lists/"+list.ID+"/members", map[string]any{"members": []map[string]any{
			{"email": "BOB@acme.example"}, {"contact_id": ada.ID}, {"email": "eve@globex.example"}, {"contact_id": ada.ID, "email": "x@y.z"}}}).want(t, 200, &br)
		var outs []string
		for _, r := range br.Results {
			outs = append(outs, r.Outcome)
		}
		if strings.Join(outs, ",") != "added,added,not_found,invalid" {
			t.Errorf("add outcomes %v", outs)
		}
		e.a.do("POST", "/v1/lists/"+list.ID+"/members/remove", map[string]any{"members": []map[string]any{{"contact_id": ada.ID}}}).want(t, 200, &br)
		if br.Results[0].Outcome != "removed" {
			t.Errorf("remove %+v", br.Results)
		}

		var job struct {
			ID     string
			Status string
			Result *segments.ExportResult
		}
		e.a.do("POST", "/v1/lists/"+list.ID+"/exports", map[string]any{"format": "ndjson", "fields": []string{"id", "email", "custom.plan"}}).want(t, 202, &job)
		drain(t, relay)
		e.a.do("GET", "/v1/exports/"+job.ID, nil).want(t, 200, &job)
		if job.Status != "done" || job.Result == nil || job.Result.Rows != 1 {
			t.Fatalf("export job %+v", job)
		}
		r = e.a.do("GET", "/v1/exports/"+job.ID+"/download", nil).want(t, 200, nil)
		var row map[string]any
		if err := json.Unmarshal(r.Body, &row); err != nil || row["id"] != bob.ID || row["email"] != "bob@acme.example" {
			t.Errorf("download %q (%s): %v", r.Body, r.Header.Get("Content-Type"), err)
		}
		e.a.do("POST", "/v1/segments/"+sg.ID+"/exports", map[string]any{"format": "xml"}).want(t, 422, nil)

		// Another tenant reaches nothing of it.
		for _, path := range []string{"/v1/segments/" + sg.ID, "/v1/segments/" + sg.ID + "/members", "/v1/segments/" + sg.ID + "/count",
			"/v1/lists/" + list.ID, "/v1/exports/" + job.ID, "/v1/exports/" + job.ID + "/download", "/v1/lists/" + sg.ID} {
			e.b.do("GET", path, nil).want(t, 404, nil)
		}
		e.b.do("POST", "/v1/lists/"+list.ID+"/members", map[string]any{"members": []map[string]any{{"contact_id": eve.ID}}}).want(t, 404, nil)
		e.b.do("DELETE", "/v1/segments/"+sg.ID, nil).want(t, 404, nil)
		e.a.do("DELETE", "/v1/segments/"+sg.ID, nil).want(t, 204, nil)
		e.a.do("GET", "/v1/segments/"+sg.ID, nil).want(t, 404, nil)
	})
}
