package httpapi_test

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/fedele-crm/fedele/core"
)

// TestBadInputs sends every kind of bad request and checks that each gets a
// 4xx problem naming what is at fault, and that nothing was stored.
func TestBadInputs(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		var existing core.Contact
		e.a.do("POST", "/v1/contacts", map[string]any{"emails": []map[string]any{{"address": "taken@example.com"}}}).want(t, 201, &existing)
		e.a.do("POST", "/v1/contacts", map[string]any{"first_name": "second"}).want(t, 201, nil)
		var co core.Company
		e.a.do("POST", "/v1/companies", map[string]any{"name": "Co"}).want(t, 201, &co)
		var page contactPage
		e.a.do("GET", "/v1/contacts?limit=1", nil).want(t, 200, &page)
		if page.NextCursor == "" {
			t.Fatal("tenant A has no second page")
		}
		var foreign contactPage
		e.b.do("POST", "/v1/contacts", map[string]any{"first_name": "b1"}).want(t, 201, nil)
		e.b.do("POST", "/v1/contacts", map[string]any{"first_name": "b2"}).want(t, 201, nil)
		e.b.do("GET", "/v1/contacts?limit=1", nil).want(t, 200, &foreign)
		if foreign.NextCursor == "" {
			t.Fatal("tenant B has no second page")
		}
		readOnly := e.key(t, "acme", core.ScopeRead)
		anonymous := &client{t: t, url: e.url}
		forged := &client{t: t, url: e.url, auth: "Bearer fdl_" + strings.Repeat("a", 52)}
		notBearer := &client{t: t, url: e.url, auth: "Basic YWRtaW46YWRtaW4="}

		huge := `{"first_name":"` + strings.Repeat("x", 1<<20) + `"}`
		cases := []struct {
			name     string
			c        *client
			method   string
			path     string
			body     any
			status   int
			location string // a location the problem must name; "" when none
		}{
			{"malformed JSON", e.a, "POST", "/v1/contacts", `{"first_name": "x"`, 400, ""},
			{"not an object", e.a, "POST", "/v1/contacts", `[1,2]`, 422, "body"},
			{"wrong type", e.a, "POST", "/v1/contacts", `{"first_name": 5}`, 422, "body.first_name"},
			{"unknown field", e.a, "POST", "/v1/contacts", `{"nickname": "x"}`, 422, "body.nickname"},
			{"read-only field", e.a, "POST", "/v1/contacts", `{"id": "01J0000000000000000000000A"}`, 422, "body.id"},
			{"unknown lifecycle stage", e.a, "POST", "/v1/contacts", `{"lifecycle_stage": "whale"}`, 422, "body.lifecycle_stage"},
			{"invalid e-mail", e.a, "POST", "/v1/contacts", `{"emails": [{"address": "ada@"}]}`, 422, "body.emails[0].address"},
			{"invalid phone", e.a, "POST", "/v1/contacts", `{"phones": [{"number": "12"}]}`, 422, "body.phones[0].number"},
			{"duplicate e-mail", e.a, "POST", "/v1/contacts", `{"emails": [{"address": "TAKEN@example.com"}]}`, 409, "body.emails[0].address"},
			{"same e-mail twice", e.a, "POST", "/v1/contacts", `{"emails": [{"address": "x@example.com"}, {"address": "X@example.com"}]}`, 422, "body.emails[1].address"},
			{"unknown company", e.a, "POST", "/v1/contacts", `{"first_name": "x", "company_id": "01J00000000000000000000000"}`, 422, "body.company_id"},
			{"undefined custom field", e.a, "POST", "/v1/contacts", `{"custom": {"shoe_size": 42}}`, 422, "body.custom.shoe_size"},
			{"oversized body", e.a, "POST", "/v1/contacts", huge, 413, ""},
			{"oversized patch", e.a, "PATCH", "/v1/contacts/" + existing.ID, huge, 413, ""},
			{"malformed patch", e.a, "PATCH", "/v1/contacts/" + existing.ID, `{"tags":`, 400, ""},
			{"patch of a read-only field", e.a, "PATCH", "/v1/contacts/" + existing.ID, `{"version": 9}`, 422, "body.version"},
			{"patch with a bad e-mail", e.a, "PATCH", "/v1/contacts/" + existing.ID, `{"emails": [{"address": "no"}]}`, 422, "body.emails[0].address"},
			{"patch key in the wrong case", e.a, "PATCH", "/v1/contacts/" + existing.ID, `{"First_Name": "Bo"}`, 422, "body.First_Name"},
			{"patch of an unknown nested field", e.a, "PATCH", "/v1/contacts/" + existing.ID, `{"address": {"town": "Rome"}}`, 422, "body.address.town"},
			{"patch with a wrong type in a list", e.a, "PATCH", "/v1/contacts/" + existing.ID, `{"emails": [{"address": 5}]}`, 422, "body.emails[0].address"},
			{"patch with a bad time", e.a, "PATCH", "/v1/contacts/" + existing.ID, `{"consent": {"email": {"status": "granted", "source": "x", "at": "yesterday"}}}`, 422, "body.consent.email.at"},
			{"patch of a company with a bad size", e.a, "PATCH", "/v1/companies/" + co.ID, `{"size": "huge"}`, 422, "body.size"},
			{"bad If-Match", e.a, "PATCH", "/v1/contacts/" + existing.ID, `{}`, 412, ""},
			{"limit zero", e.a, "GET", "/v1/contacts?limit=0", nil, 422, "query.limit"},
			{"limit too large", e.a, "GET", "/v1/contacts?limit=201", nil, 422, "query.limit"},
			{"limit not a number", e.a, "GET", "/v1/contacts?limit=ten", nil, 422, "query.limit"},
			{"unknown sort", e.a, "GET", "/v1/contacts?sort=size", nil, 422, "query.sort"},
			{"bad filter e-mail", e.a, "GET", "/v1/contacts?email=nope", nil, 422, "query.email"},
			{"bad filter company", e.a, "GET", "/v1/contacts?company_id=x", nil, 422, "query.company_id"},
			{"bad updated_since", e.a, "GET", "/v1/contacts?updated_since=yesterday", nil, 422, "query.updated_since"},
			{"forged cursor", e.a, "GET", "/v1/contacts?cursor=" + base64.RawURLEncoding.EncodeToString([]byte(`{"f":"x","c":"y"}`)), nil, 422, "query.cursor"},
			{"garbage cursor", e.a, "GET", "/v1/contacts?cursor=%25%25%25", nil, 422, "query.cursor"},
			{"foreign cursor", e.a, "GET", "/v1/contacts?limit=1&cursor=" + foreign.NextCursor, nil, 422, "query.cursor"},
			{"cursor of another filter", e.a, "GET", "/v1/contacts?limit=1&sort=updated&cursor=" + page.NextCursor, nil, 422, "query.cursor"},
			{"missing API key", anonymous, "GET", "/v1/contacts", nil, 401, ""},
			{"missing API key on a write", anonymous, "POST", "/v1/contacts", `{"first_name": 5}`, 401, ""},
			{"forged API key", forged, "GET", "/v1/contacts", nil, 401, ""},
			{"not a bearer token", notBearer, "GET", "/v1/contacts", nil, 401, ""},
			{"missing scope", readOnly, "POST", "/v1/contacts", `{"first_name": "x"}`, 403, ""},
			{"bad idempotency key", e.a, "POST", "/v1/contacts", `{"first_name": "x"}`, 422, "header.Idempotency-Key"},
			{"bad tenant region", e.a, "PATCH", "/v1/tenant", `{"default_region": "XX"}`, 422, "body.default_region"},
			{"plugin failure limit of zero", e.a, "PATCH", "/v1/tenant", `{"plugin_failure_limit": 0}`, 422, "body.plugin_failure_limit"},
			{"plugin failure limit not a number", e.a, "PATCH", "/v1/tenant", `{"plugin_failure_limit": "many"}`, 422, "body.plugin_failure_limit"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				var headers []string
				switch tc.name {
				case "bad If-Match":
					headers = []string{"If-Match", "yesterday"}
				case "bad idempotency key":
					headers = []string{"Idempotency-Key", strings.Repeat("k", 256)}
				}
				res := tc.c.do(tc.method, tc.path, tc.body, headers...)
				if res.Status != tc.status {
					t.Fatalf("status %d, want %d; body %s", res.Status, tc.status, res.Body)
				}
				p := res.problem(t)
				if tc.location != "" && !slices.Contains(p.locations(), tc.location) {
					t.Errorf("problem names %v, want %q; body %s", p.locations(), tc.location, res.Body)
				}
				if tc.status == http.StatusUnauthorized && res.Header.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
			})
		}

		// Nothing above stored anything: tenant A still has its two contacts, unchanged.
		var all contactPage
		e.a.do("GET", "/v1/contacts?limit=200", nil).want(t, 200, &all)
		if len(all.Items) != 2 {
			t.Fatalf("after bad inputs tenant A has %d contacts, want 2", len(all.Items))
		}
		for _, c := range all.Items {
			if c.Version != 1 {
				t.Errorf("contact %s moved to version %d", c.ID, c.Version)
			}
		}
	})
}

func TestValidationReportsEveryField(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		p := e.a.do("POST", "/v1/contacts", map[string]any{
			"emails":   []map[string]any{{"address": "bad"}},
			"phones":   []map[string]any{{"number": "1"}},
			"birthday": "2999-01-01",
			"address":  map[string]any{"country": "QQ"},
		}).want(t, 422, nil).problem(t)
		want := []string{"body.emails[0].address", "body.phones[0].number", "body.birthday", "body.address.country"}
		for _, w := range want {
			if !slices.Contains(p.locations(), w) {
				t.Errorf("problem names %v, missing %s", p.locations(), w)
			}
		}
		// The schema's faults and the domain's come in one answer, for
		// creates, upserts and companies alike.
		for _, tc := range []struct {
			method, path, body string
			want               []string
		}{
			{"POST", "/v1/contacts", `{"emails":[{"address":"nope"}],"lifecycle_stage":"whale","nickname":"x"}`,
				[]string{"body.emails[0].address", "body.lifecycle_stage", "body.nickname"}},
			{"PUT", "/v1/contacts-by-email/a@example.com", `{"first_name":7,"phones":[{"number":"12"}]}`,
				[]string{"body.first_name", "body.phones[0].number"}},
			{"POST", "/v1/companies", `{"name":"","domain":"not a domain","size":"huge"}`,
				[]string{"body.name", "body.domain", "body.size"}},
		} {
			p := e.a.do(tc.method, tc.path, tc.body).want(t, 422, nil).problem(t)
			for _, w := range tc.want {
				if !slices.Contains(p.locations(), w) {
					t.Errorf("%s %s names %v, missing %s", tc.method, tc.path, p.locations(), w)
				}
			}
		}
	})
}
