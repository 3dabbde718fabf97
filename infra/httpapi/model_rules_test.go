package httpapi_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/fedele-crm/fedele/core"
)

// TestContactsNeedIdentityAndATeamOwner: a contact says who it is (a name,
// an e-mail or a phone) and its owner is a member of the team, whichever
// way it is written.
func TestContactsNeedIdentityAndATeamOwner(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		var rep, foreign core.User
		e.a.do("POST", "/v1/users", map[string]any{"name": "Rep", "email": "rep@example.com"}).want(t, 201, &rep)
		e.b.do("POST", "/v1/users", map[string]any{"name": "Other", "email": "rep@example.com"}).want(t, 201, &foreign)
		var ann core.Contact
		e.a.do("POST", "/v1/contacts", map[string]any{"first_name": "Ann", "owner_id": rep.ID}).want(t, 201, &ann)
		nobody := core.NewID(e.now())

		for _, tc := range []struct {
			name, method, path, body string
			location                 string
		}{
			{"create with nothing that says who", "POST", "/v1/contacts", `{"tags":["vip"],"lifecycle_stage":"mql"}`, "body"},
			{"create with blank names", "POST", "/v1/contacts", `{"first_name":"  ","last_name":""}`, "body"},
			{"merge that removes the only name", "PATCH", "/v1/contacts/" + ann.ID, `{"first_name":null}`, "body"},
			{"batch element with nothing that says who", "POST", "/v1/contacts/batch", `{"items":[{"first_name":"ok"},{"source":"web"}]}`, "body.items[1]"},
			{"create owned by nobody on the team", "POST", "/v1/contacts", `{"first_name":"Bo","owner_id":"` + nobody + `"}`, "body.owner_id"},
			{"create owned by another tenant's user", "POST", "/v1/contacts", `{"first_name":"Bo","owner_id":"` + foreign.ID + `"}`, "body.owner_id"},
			{"create owned by free text", "POST", "/v1/contacts", `{"first_name":"Bo","owner_id":"rep-7"}`, "body.owner_id"},
			{"merge to an owner nobody is", "PATCH", "/v1/contacts/" + ann.ID, `{"owner_id":"` + nobody + `"}`, "body.owner_id"},
			{"upsert with an owner nobody is", "PUT", "/v1/contacts/by-email/new@example.com", `{"owner_id":"` + nobody + `"}`, "body.owner_id"},
			{"replace with an owner nobody is", "PUT", "/v1/contacts/by-email/new@example.com", `{"owner_id":"` + foreign.ID + `"}`, "body.owner_id"},
			{"batch element owned by nobody", "POST", "/v1/contacts/batch", `{"items":[{"first_name":"No","owner_id":"` + nobody + `"}]}`, "body.items[0].owner_id"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res := e.a.do(tc.method, tc.path, tc.body)
				if strings.HasSuffix(tc.path, "/batch") {
					var out struct {
						Results []struct {
							Status int     `json:"status"`
							Error  problem `json:"error"`
						} `json:"results"`
					}
					res.want(t, 200, &out)
					last := out.Results[len(out.Results)-1]
					if last.Status != 422 || !slices.Contains(last.Error.locations(), tc.location) {
						t.Errorf("element %+v, want 422 naming %s", last, tc.location)
					}
					return
				}
				if res.Status != 422 {
					t.Fatalf("status %d, want 422; body %s", res.Status, res.Body)
				}
				if p := res.problem(t); !slices.Contains(p.locations(), tc.location) {
					t.Errorf("problem names %v, want %s", p.locations(), tc.location)
				}
			})
		}

		// Allowed: an upsert's e-mail says who; clearing the owner.
		e.a.do("PUT", "/v1/contacts/by-email/only@example.com", `{"owner_id":"`+rep.ID+`"}`).want(t, 201, nil)
		var got core.Contact
		e.a.do("PATCH", "/v1/contacts/"+ann.ID, `{"owner_id":null}`).want(t, 200, &got)
		if got.OwnerID != "" || got.FirstName != "Ann" || got.Version != 2 {
			t.Errorf("after the refusals and the clear: %+v", got)
		}
	})
}

// TestMergePatchMustBeAnObject: a merge patch that is an array or a scalar
// would replace a whole record; every PATCH says so, in the API's words.
func TestMergePatchMustBeAnObject(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		var c core.Contact
		e.a.do("POST", "/v1/contacts", map[string]any{"first_name": "C"}).want(t, 201, &c)
		var co core.Company
		e.a.do("POST", "/v1/companies", map[string]any{"name": "Co"}).want(t, 201, &co)
		var u core.User
		e.a.do("POST", "/v1/users", map[string]any{"name": "U", "email": "u@example.com"}).want(t, 201, &u)
		var a core.Activity
		e.a.do("POST", "/v1/activities", map[string]any{"type": "note", "contact_id": c.ID}).want(t, 201, &a)
		var p core.Pipeline
		e.a.do("POST", "/v1/pipelines", map[string]any{"name": "P", "stages": []map[string]any{
			{"id": "a", "name": "A", "probability": 10},
			{"id": "w", "name": "W", "probability": 100, "kind": "won"},
			{"id": "l", "name": "L", "probability": 0, "kind": "lost"}}}).want(t, 201, &p)
		var d core.Deal
		e.a.do("POST", "/v1/deals", map[string]any{"name": "D", "pipeline_id": p.ID, "stage": "a", "currency": "EUR"}).want(t, 201, &d)

		for _, path := range []string{"/v1/contacts/" + c.ID, "/v1/companies/" + co.ID, "/v1/users/" + u.ID,
			"/v1/activities/" + a.ID, "/v1/deals/" + d.ID, "/v1/tenant"} {
			for _, body := range []string{`[{"first_name":"x"}]`, `"x"`, `3`, `true`} {
				t.Run(path+" "+body, func(t *testing.T) {
					res := e.a.do("PATCH", path, body, "Content-Type", "application/merge-patch+json")
					if path == "/v1/tenant" {
						res = e.a.do("PATCH", path, body) // a plain JSON body, decoded by huma
					}
					if res.Status != http.StatusUnprocessableEntity {
						t.Fatalf("status %d, want 422; body %s", res.Status, res.Body)
					}
					pr := res.problem(t)
					if !slices.Contains(pr.locations(), "body") {
						t.Errorf("problem names %v, want body", pr.locations())
					}
					if !strings.Contains(string(res.Body), "object") {
						t.Errorf("problem does not say the patch must be an object: %s", res.Body)
					}
					if m := goTypeName.FindString(string(res.Body)); m != "" {
						t.Errorf("problem speaks Go (%q): %s", m, res.Body)
					}
				})
			}
		}
	})
}
