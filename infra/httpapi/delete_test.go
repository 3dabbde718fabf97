package httpapi_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/events"
)

// Every resource with a DELETE: it answers 204, the record is gone (404 on
// GET and on a second DELETE), what made it unique is free again (its
// markers and entries went with it), lists no longer show it, and the
// change left its deleted event in the outbox. A DELETE of a deal answered
// 500 once because nothing deleted one; this is that test for every record.
func TestDeleteEveryResource(t *testing.T) {
	type resource struct {
		path string // of the record, as GET and DELETE take it
		// gone checks what the record held is free or unlisted again.
		gone func(t *testing.T, e *env)
	}
	listsNone := func(t *testing.T, e *env, path string) {
		t.Helper()
		var page struct{ Items []json.RawMessage }
		e.a.do("GET", path, nil).want(t, 200, &page)
		if len(page.Items) != 0 {
			t.Errorf("GET %s after the delete lists %d items", path, len(page.Items))
		}
	}
	for _, tc := range []struct {
		name    string
		deleted events.Type
		create  func(t *testing.T, e *env) resource
	}{
		{"contact", events.ContactDeleted, func(t *testing.T, e *env) resource {
			var c core.Contact
			e.a.do("POST", "/v1/contacts", map[string]any{"first_name": "Ada", "emails": []map[string]any{{"address": "ada@example.com"}},
				"tags": []string{"vip"}}).want(t, 201, &c)
			return resource{"/v1/contacts/" + c.ID, func(t *testing.T, e *env) {
				listsNone(t, e, "/v1/contacts?tag=vip")
				listsNone(t, e, "/v1/contacts?email=ada@example.com")
				e.a.do("POST", "/v1/contacts", map[string]any{"first_name": "Ada", "emails": []map[string]any{{"address": "ada@example.com"}}}).want(t, 201, nil)
			}}
		}},
		{"company", events.CompanyDeleted, func(t *testing.T, e *env) resource {
			var co core.Company
			e.a.do("POST", "/v1/companies", map[string]any{"name": "Initech", "domain": "initech.example"}).want(t, 201, &co)
			return resource{"/v1/companies/" + co.ID, func(t *testing.T, e *env) {
				listsNone(t, e, "/v1/companies")
				e.a.do("POST", "/v1/companies", map[string]any{"name": "Initech again", "domain": "initech.example"}).want(t, 201, nil)
			}}
		}},
		{"user", events.UserDeleted, func(t *testing.T, e *env) resource {
			var u core.User
			e.a.do("POST", "/v1/users", map[string]any{"name": "Rep", "email": "rep@example.com"}).want(t, 201, &u)
			return resource{"/v1/users/" + u.ID, func(t *testing.T, e *env) {
				listsNone(t, e, "/v1/users")
				e.a.do("POST", "/v1/users", map[string]any{"name": "Rep again", "email": "rep@example.com"}).want(t, 201, nil)
			}}
		}},
		{"activity", events.ActivityDeleted, func(t *testing.T, e *env) resource {
			var c core.Contact
			e.a.do("POST", "/v1/contacts", map[string]any{"first_name": "Ada"}).want(t, 201, &c)
			var a core.Activity
			e.a.do("POST", "/v1/activities", map[string]any{"type": "note", "body": "likes engines", "contact_id": c.ID}).want(t, 201, &a)
			return resource{"/v1/activities/" + a.ID, func(t *testing.T, e *env) {
				listsNone(t, e, "/v1/activities?contact_id="+c.ID)
			}}
		}},
		{"deal", events.DealDeleted, func(t *testing.T, e *env) resource {
			var p core.Pipeline
			e.a.do("POST", "/v1/pipelines", salesPipeline).want(t, 201, &p)
			var u core.User
			e.a.do("POST", "/v1/users", map[string]any{"name": "Rep", "email": "rep@example.com"}).want(t, 201, &u)
			var c core.Contact
			e.a.do("POST", "/v1/contacts", map[string]any{"first_name": "Ada"}).want(t, 201, &c)
			var d core.Deal
			e.a.do("POST", "/v1/deals", map[string]any{"name": "D", "pipeline_id": p.ID, "stage": "lead", "amount_minor": 100, "currency": "EUR",
				"owner_id": u.ID, "contact_id": c.ID}).want(t, 201, &d)
			return resource{"/v1/deals/" + d.ID, func(t *testing.T, e *env) {
				listsNone(t, e, "/v1/deals")
				listsNone(t, e, "/v1/deals?pipeline_id="+p.ID)
				var f struct{ Currencies []json.RawMessage }
				e.a.do("GET", "/v1/reports/forecast", nil).want(t, 200, &f)
				if len(f.Currencies) != 0 {
					t.Errorf("the forecast still counts the deleted deal: %d currencies", len(f.Currencies))
				}
			}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEachEngine(t, func(t *testing.T, e *env) {
				r := tc.create(t, e)
				e.b.do("DELETE", r.path, nil).want(t, 404, nil).problem(t) // another tenant's is not found
				e.a.do("GET", r.path, nil).want(t, 200, nil)
				e.a.do("DELETE", r.path, nil, "If-Match", `"7"`).want(t, 412, nil).problem(t)
				res := e.a.do("DELETE", r.path, nil, "If-Match", `"1"`).want(t, 204, nil)
				if len(res.Body) != 0 {
					t.Errorf("204 with a body: %s", res.Body)
				}
				e.a.do("GET", r.path, nil).want(t, 404, nil).problem(t)
				e.a.do("DELETE", r.path, nil).want(t, 404, nil).problem(t)
				r.gone(t, e)

				var deleted []events.Envelope
				for _, ev := range outbox(t, e.store, "acme") {
					if ev.DetailType == tc.deleted {
						deleted = append(deleted, ev)
					}
				}
				if len(deleted) != 1 {
					t.Fatalf("%d %s events, want 1", len(deleted), tc.deleted)
				}
				if got := deleted[0].Detail.Entity.Type; got != tc.name {
					t.Errorf("%s is about a %s", tc.deleted, got)
				}
				if want := r.path[len(r.path)-26:]; deleted[0].Detail.Entity.ID != want {
					t.Errorf("%s names %s, want %s", tc.deleted, deleted[0].Detail.Entity.ID, want)
				}
			})
		})
	}
}

// A custom field's definition is part of the tenant's settings: its DELETE
// answers the settings without it (200, as PUT does), and a second DELETE
// is 404. Nothing else names a definition, so nothing else must go.
func TestDeleteCustomField(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		e.a.do("PUT", "/v1/custom-fields/contact/plan", map[string]any{"label": "Plan", "type": "text"}).want(t, 200, nil)
		e.a.do("PUT", "/v1/custom-fields/contact/seats", map[string]any{"label": "Seats", "type": "number"}).want(t, 200, nil)
		e.b.do("DELETE", "/v1/custom-fields/contact/plan", nil).want(t, 404, nil).problem(t)
		var after core.Tenant
		e.a.do("DELETE", "/v1/custom-fields/contact/plan", nil).want(t, 200, &after)
		var keys []string
		for _, f := range after.CustomFields {
			keys = append(keys, f.Key)
		}
		if diff := cmp.Diff([]string{"seats"}, keys); diff != "" {
			t.Errorf("custom fields after the delete (-want +got):\n%s", diff)
		}
		var got core.Tenant
		e.a.do("GET", "/v1/tenant", nil).want(t, 200, &got)
		if slices.ContainsFunc(got.CustomFields, func(f core.FieldDef) bool { return f.Key == "plan" }) {
			t.Errorf("GET /v1/tenant still has plan: %+v", got.CustomFields)
		}
		e.a.do("DELETE", "/v1/custom-fields/contact/plan", nil).want(t, 404, nil).problem(t)
		e.a.do("POST", "/v1/contacts", map[string]any{"first_name": "Ada", "custom": map[string]any{"plan": "pro"}}).want(t, 422, nil).problem(t)
		// The key can be defined again, with another type.
		e.a.do("PUT", "/v1/custom-fields/contact/plan", map[string]any{"label": "Plan", "type": "number"}).want(t, 200, nil)
	})
}
