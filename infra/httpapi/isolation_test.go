package httpapi_test

import (
	"net/url"
	"testing"

	"github.com/fedele-crm/fedele/core"
)

// TestTenantIsolation has tenant B try every door onto tenant A's data. Each
// must behave as if A's data did not exist: 404 or empty, never 403, and A's
// data unchanged afterwards.
func TestTenantIsolation(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		var co core.Company
		e.a.do("POST", "/v1/companies", map[string]any{"name": "A Corp", "domain": "a-corp.example"}).want(t, 201, &co)
		var rep core.User
		e.a.do("POST", "/v1/users", map[string]any{"name": "Rep A", "email": "rep@a-corp.example"}).want(t, 201, &rep)
		var c core.Contact
		e.a.do("POST", "/v1/contacts", map[string]any{
			"first_name": "Secret", "emails": []map[string]any{{"address": "secret@a-corp.example"}},
			"company_id": co.ID, "owner_id": rep.ID, "tags": []string{"a-only"},
		}).want(t, 201, &c)
		for range 3 {
			e.a.do("POST", "/v1/contacts", map[string]any{"first_name": "more", "tags": []string{"a-only"}}).want(t, 201, nil)
		}
		var aPage contactPage
		e.a.do("GET", "/v1/contacts?limit=1&sort=created", nil).want(t, 200, &aPage)

		b := e.b
		b.do("GET", "/v1/contacts/"+c.ID, nil).want(t, 404, nil).problem(t)
		b.do("PATCH", "/v1/contacts/"+c.ID, `{"first_name":"Pwned"}`).want(t, 404, nil).problem(t)
		b.do("PATCH", "/v1/contacts/"+c.ID, `{"first_name":"Pwned"}`, "If-Match", `"1"`).want(t, 404, nil)
		b.do("DELETE", "/v1/contacts/"+c.ID, nil).want(t, 404, nil).problem(t)
		b.do("GET", "/v1/companies/"+co.ID, nil).want(t, 404, nil)
		b.do("PATCH", "/v1/companies/"+co.ID, `{"name":"Pwned"}`).want(t, 404, nil)
		b.do("DELETE", "/v1/companies/"+co.ID, nil).want(t, 404, nil)

		for _, q := range []string{"email=secret@a-corp.example", "tag=a-only", "owner_id=" + rep.ID, "company_id=" + co.ID, "sort=updated", ""} {
			var page contactPage
			b.do("GET", "/v1/contacts?"+q, nil).want(t, 200, &page)
			if len(page.Items) != 0 {
				t.Errorf("tenant B lists %d contacts with %q", len(page.Items), q)
			}
		}
		var companies struct {
			Items []core.Company `json:"items"`
		}
		b.do("GET", "/v1/companies?domain=a-corp.example", nil).want(t, 200, &companies)
		if len(companies.Items) != 0 {
			t.Errorf("tenant B lists A's company by domain")
		}
		// A's cursor, with or without the same filters, is no cursor for B.
		b.do("GET", "/v1/contacts?limit=1&sort=created&cursor="+url.QueryEscape(aPage.NextCursor), nil).want(t, 422, nil).problem(t)
		// A's company cannot be linked from B.
		b.do("POST", "/v1/contacts", map[string]any{"company_id": co.ID}).want(t, 422, nil).problem(t)
		// A's e-mail and domain are free in B, and creating them there touches nothing of A's.
		var bc core.Contact
		b.do("POST", "/v1/contacts", map[string]any{"emails": []map[string]any{{"address": "secret@a-corp.example"}}}).want(t, 201, &bc)
		b.do("PUT", "/v1/contacts-by-email/secret@a-corp.example", map[string]any{"first_name": "B's own"}).want(t, 200, nil)
		b.do("POST", "/v1/companies", map[string]any{"name": "B Corp", "domain": "a-corp.example"}).want(t, 201, nil)
		// Batches and idempotency keys are per tenant too.
		b.do("POST", "/v1/contacts/batch", map[string]any{"items": []map[string]any{{"company_id": co.ID}}}).want(t, 200, nil)

		var after core.Contact
		e.a.do("GET", "/v1/contacts/"+c.ID, nil).want(t, 200, &after)
		if after.Version != 1 || after.FirstName != "Secret" {
			t.Errorf("A's contact changed: %+v", after)
		}
		var byEmail contactPage
		e.a.do("GET", "/v1/contacts?email=secret@a-corp.example", nil).want(t, 200, &byEmail)
		if len(byEmail.Items) != 1 || byEmail.Items[0].ID != c.ID {
			t.Errorf("A's e-mail lookup returns %+v", byEmail.Items)
		}
	})
}
