package httpapi_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/events"
)

// listNames reads every page of path (with a small limit, so that cursors
// are used) and returns the items' names.
func listNames[T any](t *testing.T, c *client, path string, name func(T) string) []string {
	t.Helper()
	var out []string
	cursor := ""
	for range 50 {
		var page struct {
			Items      []T    `json:"items"`
			NextCursor string `json:"next_cursor"`
		}
		p := path + "&limit=2"
		if cursor != "" {
			p += "&cursor=" + url.QueryEscape(cursor)
		}
		c.do("GET", p, nil).want(t, 200, &page)
		for _, it := range page.Items {
			out = append(out, name(it))
		}
		if cursor = page.NextCursor; cursor == "" {
			return out
		}
	}
	t.Fatalf("%s does not end", path)
	return nil
}

func contactName(c core.Contact) string { return strings.TrimSpace(c.FirstName + " " + c.LastName) }
func companyName(c core.Company) string { return c.Name }

// Contacts and companies are found by a prefix of their name, e-mail or
// phone, whatever the case and accents, each once, and only in their own
// tenant; lists sort by name both ways.
func TestSearchAndSortByName(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		for _, f := range []map[string]any{
			{"first_name": "Ada", "last_name": "Lovelace", "emails": []map[string]any{{"address": "ada@example.com"}}, "phones": []map[string]any{{"number": "(415) 555-2671"}}},
			{"first_name": "Éloïse", "last_name": "Durand", "tags": []string{"vip"}},
			{"first_name": "adam", "last_name": "Smith"},
			{"first_name": "Zoë", "last_name": "Adler"},
		} {
			e.a.do("POST", "/v1/contacts", f).want(t, 201, nil)
		}
		e.b.do("POST", "/v1/contacts", map[string]any{"first_name": "Ada", "last_name": "Globex", "emails": []map[string]any{{"address": "ada@globex.example"}}}).want(t, 201, nil)
		for _, n := range []string{"Initech", "Société Générale", "Initial"} {
			e.a.do("POST", "/v1/companies", map[string]any{"name": n}).want(t, 201, nil)
		}
		e.b.do("POST", "/v1/companies", map[string]any{"name": "Initech Globex"}).want(t, 201, nil)

		for _, tt := range []struct {
			query string
			want  []string
		}{
			{"q=ADA", []string{"Ada Lovelace", "adam Smith"}}, // Ada by her name and her e-mail, once
			{"q=adl", []string{"Zoë Adler"}},
			{"q=ada+lov", []string{"Ada Lovelace"}},
			{"q=eloise", []string{"Éloïse Durand"}},
			{"q=%C3%89LO&tag=vip", []string{"Éloïse Durand"}},
			{"q=%2B1+415+555", []string{"Ada Lovelace"}},
			{"q=ada%40ex", []string{"Ada Lovelace"}},
			{"q=nobody", nil},
			{"sort=name", []string{"Ada Lovelace", "adam Smith", "Éloïse Durand", "Zoë Adler"}},
			{"sort=-name", []string{"Zoë Adler", "Éloïse Durand", "adam Smith", "Ada Lovelace"}},
		} {
			if diff := cmp.Diff(tt.want, listNames(t, e.a, "/v1/contacts?"+tt.query, contactName)); diff != "" {
				t.Errorf("contacts?%s (-want +got):\n%s", tt.query, diff)
			}
		}
		if diff := cmp.Diff([]string{"Ada Globex"}, listNames(t, e.b, "/v1/contacts?q=ada", contactName)); diff != "" {
			t.Errorf("globex's search (-want +got):\n%s", diff)
		}
		for _, tt := range []struct {
			query string
			want  []string
		}{
			{"q=init", []string{"Initech", "Initial"}},
			{"q=SOCIETE+g", []string{"Société Générale"}},
			{"sort=name", []string{"Initech", "Initial", "Société Générale"}},
			{"sort=-name", []string{"Société Générale", "Initial", "Initech"}},
		} {
			if diff := cmp.Diff(tt.want, listNames(t, e.a, "/v1/companies?"+tt.query, companyName)); diff != "" {
				t.Errorf("companies?%s (-want +got):\n%s", tt.query, diff)
			}
		}

		for _, path := range []string{"/v1/contacts?q=a", "/v1/contacts?q=ada&sort=name", "/v1/companies?q=%21%21"} {
			p := e.a.do("GET", path, nil).want(t, 422, nil).problem(t)
			if len(p.Errors) == 0 || !strings.HasPrefix(p.Errors[0].Location, "query.") {
				t.Errorf("%s: %+v, want the query parameter named", path, p)
			}
		}
	})
}

// A pipeline is renamed, its stages added, reordered and removed with
// If-Match; a stage with an open deal is not removed (409 naming it), and
// the pipeline is deleted only without deals. Each change writes its event.
func TestEditPipelines(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		var p core.Pipeline
		e.a.do("POST", "/v1/pipelines", salesPipeline).want(t, 201, &p)
		var d core.Deal
		e.a.do("POST", "/v1/deals", map[string]any{"name": "D", "pipeline_id": p.ID, "stage": "qualified", "currency": "EUR", "amount_minor": 5}).want(t, 201, &d)
		patch := func(body, ifMatch string, status int) response {
			t.Helper()
			return e.a.do("PATCH", "/v1/pipelines/"+p.ID, body, "Content-Type", "application/merge-patch+json", "If-Match", ifMatch).want(t, status, nil)
		}
		var got core.Pipeline
		r := patch(`{"name":"Renewals"}`, `"1"`, 200)
		if r.Header.Get("ETag") != `"2"` {
			t.Errorf("ETag after the rename %q, want \"2\"", r.Header.Get("ETag"))
		}
		patch(`{"name":"Stale"}`, `"1"`, 412)
		reordered := `{"stages":[{"id":"qualified","name":"Qualified","probability":30},{"id":"lead","name":"Lead","probability":10},` +
			`{"id":"demo","name":"Demo","probability":40},{"id":"won","name":"Won","probability":100,"kind":"won"},{"id":"lost","name":"Lost","probability":0,"kind":"lost"}]}`
		patch(reordered, `"2"`, 200).want(t, 200, &got)
		var ids []string
		for _, s := range got.Stages {
			ids = append(ids, s.ID)
		}
		if diff := cmp.Diff([]string{"qualified", "lead", "demo", "won", "lost"}, ids); diff != "" {
			t.Errorf("stages (-want +got):\n%s", diff)
		}
		withoutQualified := `{"stages":[{"id":"lead","name":"Lead","probability":10},{"id":"won","name":"Won","probability":100,"kind":"won"},{"id":"lost","name":"Lost","probability":0,"kind":"lost"}]}`
		pr := patch(withoutQualified, `"3"`, 409).problem(t)
		if !strings.Contains(pr.Detail, "stage qualified") {
			t.Errorf("409 %+v does not name the stage", pr)
		}
		e.a.do("DELETE", "/v1/pipelines/"+p.ID, nil).want(t, 409, nil).problem(t)
		e.b.do("DELETE", "/v1/pipelines/"+p.ID, nil).want(t, 404, nil) // another tenant's pipeline is not found
		e.a.do("PATCH", "/v1/deals/"+d.ID, `{"stage":"lead"}`, "Content-Type", "application/merge-patch+json").want(t, 200, nil)
		patch(withoutQualified, `"3"`, 200) // now empty, qualified goes (and demo)
		e.a.do("DELETE", "/v1/deals/"+d.ID, nil).want(t, 204, nil)
		e.a.do("DELETE", "/v1/pipelines/"+p.ID, nil, "If-Match", `"3"`).want(t, 412, nil)
		e.a.do("DELETE", "/v1/pipelines/"+p.ID, nil, "If-Match", `"4"`).want(t, 204, nil)
		e.a.do("GET", "/v1/pipelines/"+p.ID, nil).want(t, 404, nil)

		var kinds []string
		for _, ev := range outbox(t, e.store, "acme") {
			if ev.Detail.Entity.Type == "pipeline" {
				kinds = append(kinds, string(ev.DetailType)+" "+strings.Join(ev.Detail.Changed, ","))
			}
		}
		want := []string{string(events.PipelineCreated) + " ", string(events.PipelineUpdated) + " name", string(events.PipelineUpdated) + " stages",
			string(events.PipelineUpdated) + " stages", string(events.PipelineDeleted) + " "}
		if diff := cmp.Diff(want, kinds); diff != "" {
			t.Errorf("pipeline events (-want +got):\n%s", diff)
		}
	})
}
