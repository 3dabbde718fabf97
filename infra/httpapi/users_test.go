package httpapi_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/events"
)

type usersPage struct {
	Items      []core.User `json:"items"`
	NextCursor string      `json:"next_cursor"`
}

// The team: users with role, skills, territory, capacity and availability,
// unique by e-mail within a tenant, one schema-valid event per change.
func TestUsers(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		var ada core.User
		r := e.a.do("POST", "/v1/users", map[string]any{"name": " Ada Lovelace ", "email": "ADA@Example.com",
			"skills": []string{"Italian", " italian", "Enterprise"}, "territory": "south", "capacity": 10}).want(t, 201, &ada)
		if r.Header.Get("Location") != "/v1/users/"+ada.ID || r.Header.Get("ETag") != `"1"` {
			t.Errorf("headers %v", r.Header)
		}
		want := core.UserFields{Name: "Ada Lovelace", Email: "ada@example.com", Role: "sales_rep", Skills: []string{"italian", "enterprise"},
			Territory: "south", Capacity: 10, Status: "available"}
		if ada.UserFields.Name != want.Name || ada.Email != want.Email || ada.Role != want.Role || !slices.Equal(ada.Skills, want.Skills) || ada.Status != want.Status || ada.Capacity != 10 {
			t.Fatalf("created %+v, want %+v", ada.UserFields, want)
		}
		p := e.a.do("POST", "/v1/users", map[string]any{"name": "Other", "email": "ada@example.com"}).want(t, 409, nil).problem(t)
		if fmt.Sprint(p.locations()) != "[body.email]" {
			t.Errorf("duplicate e-mail at %v", p.locations())
		}
		// Another tenant may have the same e-mail in its own team.
		e.b.do("POST", "/v1/users", map[string]any{"name": "Ada at Globex", "email": "ada@example.com"}).want(t, 201, nil)

		for i, u := range []map[string]any{
			{"name": "Bo", "email": "bo@example.com", "role": "agent", "skills": []string{"english"}, "status": "away"},
			{"name": "Cy", "email": "cy@example.com", "role": "manager", "territory": "north"},
		} {
			if r := e.a.do("POST", "/v1/users", u); r.Status != 201 {
				t.Fatalf("user %d: %d %s", i, r.Status, r.Body)
			}
		}
		for _, tc := range []struct {
			query string
			names []string
		}{
			{"", []string{"Ada Lovelace", "Bo", "Cy"}},
			{"?status=available", []string{"Ada Lovelace", "Cy"}},
			{"?skill=Italian", []string{"Ada Lovelace"}},
			{"?role=agent", []string{"Bo"}},
			{"?territory=north", []string{"Cy"}},
		} {
			var page usersPage
			e.a.do("GET", "/v1/users"+tc.query, nil).want(t, 200, &page)
			var names []string
			for _, u := range page.Items {
				names = append(names, u.Name)
			}
			if !slices.Equal(names, tc.names) {
				t.Errorf("GET /v1/users%s = %v, want %v", tc.query, names, tc.names)
			}
		}
		var first usersPage
		e.a.do("GET", "/v1/users?limit=2", nil).want(t, 200, &first)
		var second usersPage
		e.a.do("GET", "/v1/users?limit=2&cursor="+first.NextCursor, nil).want(t, 200, &second)
		if len(first.Items) != 2 || len(second.Items) != 1 || second.Items[0].Name != "Cy" {
			t.Errorf("pages %d then %d", len(first.Items), len(second.Items))
		}

		var away core.User
		e.a.do("PATCH", "/v1/users/"+ada.ID, `{"status":"away","capacity":null}`, "Content-Type", "application/merge-patch+json", "If-Match", `"1"`).want(t, 200, &away)
		if away.Status != "away" || away.Capacity != 0 || away.Version != 2 || away.Territory != "south" {
			t.Errorf("patched %+v", away)
		}
		e.a.do("PATCH", "/v1/users/"+ada.ID, `{"status":"busy"}`, "Content-Type", "application/merge-patch+json").want(t, 422, nil)
		e.a.do("PATCH", "/v1/users/"+ada.ID, `{"name":"x"}`, "Content-Type", "application/merge-patch+json", "If-Match", `"1"`).want(t, 412, nil)

		// Another tenant can neither see nor change nor remove it.
		e.b.do("GET", "/v1/users/"+ada.ID, nil).want(t, 404, nil)
		e.b.do("PATCH", "/v1/users/"+ada.ID, `{"name":"x"}`, "Content-Type", "application/merge-patch+json").want(t, 404, nil)
		e.b.do("DELETE", "/v1/users/"+ada.ID, nil).want(t, 404, nil)
		var theirs usersPage
		e.b.do("GET", "/v1/users", nil).want(t, 200, &theirs)
		if len(theirs.Items) != 1 || theirs.Items[0].Name != "Ada at Globex" {
			t.Errorf("globex sees %+v", theirs.Items)
		}

		e.a.do("DELETE", "/v1/users/"+ada.ID, nil).want(t, 204, nil)
		e.a.do("GET", "/v1/users/"+ada.ID, nil).want(t, 404, nil)
		// Its e-mail is free again.
		e.a.do("POST", "/v1/users", map[string]any{"name": "Ada again", "email": "ada@example.com"}).want(t, 201, nil)

		kinds := map[events.Type]int{}
		for _, ev := range outbox(t, e.store, "acme") {
			kinds[ev.DetailType]++
		}
		if kinds[events.UserCreated] != 4 || kinds[events.UserUpdated] != 1 || kinds[events.UserDeleted] != 1 {
			t.Errorf("events %v", kinds)
		}

		// Only admins manage the team; readers list it.
		reader := e.key(t, "acme", core.ScopeRead, core.ScopeWrite)
		reader.do("GET", "/v1/users", nil).want(t, 200, nil)
		reader.do("POST", "/v1/users", map[string]any{"name": "Eve", "email": "eve@example.com"}).want(t, 403, nil)
	})
}

func TestUserBadInput(t *testing.T) {
	e := newEnv(t, engines["embedded"](t))
	for _, tc := range []struct {
		body string
		at   []string
	}{
		{`{"email":"a@example.com"}`, []string{"body.name"}},
		{`{"name":"A","email":"not an e-mail"}`, []string{"body.email"}},
		{`{"name":"A","email":"a@example.com","role":"king","status":"asleep","capacity":-1}`, []string{"body.capacity", "body.role", "body.status"}},
		{`{"name":"A","email":"a@example.com","skills":["ok","#bad"]}`, []string{"body.skills[1]"}},
		{`{"name":"A","email":"a@example.com","capacity":"ten"}`, []string{"body.capacity"}},
	} {
		p := e.a.do("POST", "/v1/users", tc.body).want(t, 422, nil).problem(t)
		for _, w := range tc.at {
			if !slices.Contains(p.locations(), w) {
				t.Errorf("%s: problems at %v, missing %s", tc.body, p.locations(), w)
			}
		}
	}
	e.a.do("POST", "/v1/users", `{"name":`).want(t, 400, nil)
}
