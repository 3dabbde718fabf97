package httpapi_test

import (
	"strings"
	"testing"

	"github.com/fedele-crm/fedele/core"
)

func TestTenantSettingsAndCustomFields(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		var tenant core.Tenant
		e.a.do("PATCH", "/v1/tenant", map[string]any{"default_region": "gb"}).want(t, 200, &tenant)
		if tenant.DefaultRegion != "GB" {
			t.Fatalf("region %q", tenant.DefaultRegion)
		}
		// One setting changes; the others stay.
		e.a.do("PATCH", "/v1/tenant", map[string]any{"plugin_failure_limit": 3}).want(t, 200, &tenant)
		if tenant.DefaultRegion != "GB" || tenant.PluginFailureLimit != 3 || tenant.FailureLimit() != 3 {
			t.Fatalf("after setting the plugin failure limit: %+v", tenant)
		}
		var c core.Contact
		e.a.do("POST", "/v1/contacts", map[string]any{"phones": []map[string]any{{"number": "020 7946 0958"}}}).want(t, 201, &c)
		if c.Phones[0].Number != "+442079460958" {
			t.Errorf("national GB number stored as %q", c.Phones[0].Number)
		}

		e.a.do("PUT", "/v1/custom-fields/contact/plan", map[string]any{"label": "Plan", "type": "enum", "options": []string{"free", "pro"}}).want(t, 200, nil)
		e.a.do("PUT", "/v1/custom-fields/contact/Plan", map[string]any{"label": "Bad key", "type": "text"}).want(t, 422, nil).problem(t)
		e.a.do("PUT", "/v1/custom-fields/company/tier", map[string]any{"label": "Tier", "type": "enum"}).want(t, 422, nil).problem(t)
		e.a.do("PATCH", "/v1/contacts/"+c.ID, `{"custom":{"plan":"enterprise"}}`).want(t, 422, nil).problem(t)
		e.a.do("PATCH", "/v1/contacts/"+c.ID, `{"custom":{"plan":"pro"}}`).want(t, 200, &c)
		// Tenant B does not see A's definitions.
		e.b.do("POST", "/v1/contacts", map[string]any{"custom": map[string]any{"plan": "pro"}}).want(t, 422, nil)

		// A deleted definition does not block later changes of old records.
		e.a.do("DELETE", "/v1/custom-fields/contact/plan", nil).want(t, 200, nil)
		e.a.do("DELETE", "/v1/custom-fields/contact/plan", nil).want(t, 404, nil).problem(t)
		var edited core.Contact // a fresh value: Unmarshal merges into existing maps
		e.a.do("PATCH", "/v1/contacts/"+c.ID, `{"first_name":"Still editable"}`).want(t, 200, &edited)
		if _, ok := edited.Custom["plan"]; ok {
			t.Errorf("value of a deleted field kept: %v", edited.Custom)
		}

		// Only admins change settings.
		reader := e.key(t, "acme", core.ScopeRead, core.ScopeWrite)
		reader.do("PATCH", "/v1/tenant", map[string]any{"default_region": "US"}).want(t, 403, nil).problem(t)
		reader.do("GET", "/v1/tenant", nil).want(t, 200, nil)
	})
}

func TestAPIKeysCreatedThroughTheAPI(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		var out struct {
			Secret string `json:"secret"`
			ID     string `json:"id"`
		}
		r1 := e.a.do("POST", "/v1/api-keys", map[string]any{"name": "reporting", "scopes": []string{"crm:read"}}, "Idempotency-Key", "key-1").want(t, 201, &out)
		if !strings.HasPrefix(out.Secret, "fdl_") {
			t.Fatalf("secret %q", out.Secret)
		}
		// A key's secret is never stored, so it is never replayed either.
		var again struct{ Secret string }
		e.a.do("POST", "/v1/api-keys", map[string]any{"name": "reporting", "scopes": []string{"crm:read"}}, "Idempotency-Key", "key-1").want(t, 201, &again)
		if again.Secret == out.Secret || r1.Header.Get("Idempotent-Replayed") != "" {
			t.Error("an API key's secret was replayed")
		}
		reader := &client{t: t, url: e.url, auth: "Bearer " + out.Secret}
		reader.do("GET", "/v1/contacts", nil).want(t, 200, nil)
		reader.do("POST", "/v1/contacts", map[string]any{"first_name": "x"}).want(t, 403, nil).problem(t)
		reader.do("POST", "/v1/api-keys", map[string]any{"name": "escalate", "scopes": []string{"admin"}}).want(t, 403, nil)
		e.a.do("POST", "/v1/api-keys", map[string]any{"name": "bad", "scopes": []string{"root"}}).want(t, 422, nil).problem(t)
		// The new key belongs to the caller's tenant only.
		var page contactPage
		e.b.do("POST", "/v1/contacts", map[string]any{"first_name": "b"}).want(t, 201, nil)
		reader.do("GET", "/v1/contacts", nil).want(t, 200, &page)
		if len(page.Items) != 0 {
			t.Errorf("tenant A's new key lists %d contacts of B", len(page.Items))
		}
	})
}
