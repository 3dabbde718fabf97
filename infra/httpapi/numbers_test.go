package httpapi_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/infra/httpapi"
)

// goTypeName matches what only Go would call a type, which a problem must
// never show a client.
var goTypeName = regexp.MustCompile(`\b(u?int(8|16|32|64)?|float(32|64))\b|map\[|json\.RawMessage|Go (value|struct)`)

// TestNumbersBeyondTheirField sends, on every operation whose body has a
// number, numbers its field cannot hold: each is a 422 naming the field, in
// the API's words, and nothing is written. TestNumberCasesCoverTheDocument
// holds this table to every numeric field of the OpenAPI document.
func TestNumbersBeyondTheirField(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		var u core.User
		e.a.do("POST", "/v1/users", map[string]any{"name": "U", "email": "u@example.com"}).want(t, 201, &u)
		var c core.Contact
		e.a.do("POST", "/v1/contacts", map[string]any{"first_name": "C"}).want(t, 201, &c)
		var co core.Company
		e.a.do("POST", "/v1/companies", map[string]any{"name": "Co"}).want(t, 201, &co)
		var p core.Pipeline
		e.a.do("POST", "/v1/pipelines", map[string]any{"name": "P", "stages": []map[string]any{
			{"id": "a", "name": "A", "probability": 10},
			{"id": "w", "name": "W", "probability": 100, "kind": "won"},
			{"id": "l", "name": "L", "probability": 0, "kind": "lost"}}}).want(t, 201, &p)
		var d core.Deal
		e.a.do("POST", "/v1/deals", map[string]any{"name": "D", "pipeline_id": p.ID, "stage": "a", "currency": "EUR", "amount_minor": 5}).want(t, 201, &d)
		var a core.Activity
		e.a.do("POST", "/v1/activities", map[string]any{"type": "call", "contact_id": c.ID}).want(t, 201, &a)
		for _, entity := range []string{"contact", "company"} {
			e.a.do("PUT", "/v1/custom-fields/"+entity+"/size", map[string]any{"label": "Size", "type": "number"}).want(t, 200, nil)
		}

		deal := `{"name":"D","pipeline_id":"` + p.ID + `","stage":"a","currency":"EUR",`
		line := func(field string) string {
			l := map[string]string{"product": `"p"`, "quantity": "1", "unit_price_minor": "1", "currency": `"EUR"`}
			l[field] = "N"
			var parts []string
			for _, k := range slices.Sorted(maps.Keys(l)) {
				parts = append(parts, `"`+k+`":`+l[k])
			}
			return `"line_items":[{` + strings.Join(parts, ",") + `}]`
		}
		for _, tc := range numberCases(c.ID, co.ID, u.ID, d.ID, a.ID, p.ID, deal, line) {
			values := []string{"1e400", "1" + strings.Repeat("0", 400), "-1e400"}
			if tc.integer {
				values = append(values, "9223372036854775808", "-9223372036854775809", "1e19")
			}
			for _, n := range values {
				t.Run(tc.op+" "+tc.location+"="+n[:min(len(n), 12)], func(t *testing.T) {
					ct := "application/json"
					if tc.method() == http.MethodPatch && tc.path != "/v1/tenant" {
						ct = "application/merge-patch+json"
					}
					res := e.a.do(tc.method(), tc.path, strings.ReplaceAll(tc.body, "N", n), "Content-Type", ct)
					if res.Status != http.StatusUnprocessableEntity {
						t.Fatalf("status %d, want 422; body %.300s", res.Status, res.Body)
					}
					pr := res.problem(t)
					if !slices.Contains(pr.locations(), tc.location) {
						t.Errorf("problem names %v, want %s; body %.300s", pr.locations(), tc.location, res.Body)
					}
					if m := goTypeName.FindString(string(res.Body)); m != "" {
						t.Errorf("problem speaks Go (%q): %.300s", m, res.Body)
					}
					if len(res.Body) > 2048 {
						t.Errorf("a refusal of one field is %d bytes", len(res.Body))
					}
				})
			}
		}

		// Nothing above was written.
		var got core.Deal
		e.a.do("GET", "/v1/deals/"+d.ID, nil).want(t, 200, &got)
		if got.Version != 1 {
			t.Errorf("deal at version %d after refused writes", got.Version)
		}
	})
}

// numberCase is one numeric field of one operation's body; N in body is
// the number sent.
type numberCase struct {
	op       string // "METHOD /route/{param}", as the document names it
	path     string // the route with its parameters
	body     string
	location string
	integer  bool // an integer field; otherwise any number (a custom field's)
}

func (c numberCase) method() string { m, _, _ := strings.Cut(c.op, " "); return m }

func numberCases(contact, company, user, dealID, activity, pipeline, deal string, line func(string) string) []numberCase {
	cases := []numberCase{
		{"POST /v1/activities", "/v1/activities", `{"type":"call","contact_id":"` + contact + `","duration_minutes":N}`, "body.duration_minutes", true},
		{"PATCH /v1/activities/{id}", "/v1/activities/" + activity, `{"duration_minutes":N}`, "body.duration_minutes", true},
		{"POST /v1/deals", "/v1/deals", deal + `"amount_minor":N}`, "body.amount_minor", true},
		{"POST /v1/deals", "/v1/deals", deal + `"probability":N}`, "body.probability", true},
		{"PATCH /v1/deals/{id}", "/v1/deals/" + dealID, `{"amount_minor":N}`, "body.amount_minor", true},
		{"PATCH /v1/deals/{id}", "/v1/deals/" + dealID, `{"probability":N}`, "body.probability", true},
		{"POST /v1/pipelines", "/v1/pipelines", `{"name":"P","stages":[{"id":"a","name":"A","probability":N},{"id":"w","name":"W","probability":100,"kind":"won"}]}`,
			"body.stages[0].probability", true},
		{"PATCH /v1/pipelines/{id}", "/v1/pipelines/" + pipeline, `{"stages":[{"id":"a","name":"A","probability":N},{"id":"w","name":"W","probability":100,"kind":"won"}]}`,
			"body.stages[0].probability", true},
		{"POST /v1/users", "/v1/users", `{"name":"V","email":"v@example.com","capacity":N}`, "body.capacity", true},
		{"PATCH /v1/users/{id}", "/v1/users/" + user, `{"capacity":N}`, "body.capacity", true},
		{"PATCH /v1/tenant", "/v1/tenant", `{"plugin_failure_limit":N}`, "body.plugin_failure_limit", true},

		// Custom fields hold any number a float64 can.
		{"POST /v1/contacts", "/v1/contacts", `{"first_name":"x","custom":{"size":N}}`, "body.custom.size", false},
		{"PATCH /v1/contacts/{id}", "/v1/contacts/" + contact, `{"custom":{"size":N}}`, "body.custom.size", false},
		{"PUT /v1/contacts/by-email/{email}", "/v1/contacts/by-email/n@example.com", `{"custom":{"size":N}}`, "body.custom.size", false},
		{"POST /v1/contacts/batch", "/v1/contacts/batch", `{"items":[{"first_name":"ok"},{"first_name":"x","custom":{"size":N}}]}`, "body.items[1].custom.size", false},
		{"POST /v1/companies", "/v1/companies", `{"name":"x","custom":{"size":N}}`, "body.custom.size", false},
		{"PATCH /v1/companies/{id}", "/v1/companies/" + company, `{"custom":{"size":N}}`, "body.custom.size", false},
		// A member the schema does not know is still a number: it names
		// the member, not the whole body.
		{"POST /v1/contacts", "/v1/contacts", `{"first_name":"x","nickname":[N]}`, "body.nickname[0]", false},
		{"POST /v1/segments/preview", "/v1/segments/preview", `{"expression":"true","sample":N}`, "body.sample", true},

		// Commerce, customers, analytics, messaging, backtests: each number
		// alone in a body (the range check comes before any lookup).
		{"POST /v1/orders/{id}/refunds", "/v1/orders/01J0000000000000000000000Z/refunds", `{"lines":[{"amount":N}]}`, "body.lines[0].amount", true},
		{"POST /v1/orders/{id}/refunds", "/v1/orders/01J0000000000000000000000Z/refunds", `{"lines":[{"line":N}]}`, "body.lines[0].line", true},
		{"PUT /v1/customers/lifecycle-rules", "/v1/customers/lifecycle-rules", `{"dormant_after_days":N}`, "body.dormant_after_days", true},
		{"PUT /v1/customers/lifecycle-rules", "/v1/customers/lifecycle-rules", `{"lost_after":N}`, "body.lost_after", false},
		{"PUT /v1/customers/lifecycle-rules", "/v1/customers/lifecycle-rules", `{"lost_after_days":N}`, "body.lost_after_days", true},
		{"PUT /v1/customers/lifecycle-rules", "/v1/customers/lifecycle-rules", `{"new_days":N}`, "body.new_days", true},
		{"PUT /v1/customers/lifecycle-rules", "/v1/customers/lifecycle-rules", `{"repeat_buyers":N}`, "body.repeat_buyers", true},
		{"PUT /v1/customers/lifecycle-rules", "/v1/customers/lifecycle-rules", `{"version":N}`, "body.version", true},
		{"PUT /v1/customers/lifecycle-rules", "/v1/customers/lifecycle-rules", `{"dormant_after":N}`, "body.dormant_after", false},
		{"PUT /v1/customers/lifecycle-rules", "/v1/customers/lifecycle-rules", `{"inactive_after":N}`, "body.inactive_after", false},
		{"PUT /v1/customers/lifecycle-rules", "/v1/customers/lifecycle-rules", `{"inactive_after_days":N}`, "body.inactive_after_days", true},
		{"PUT /v1/customers/lifecycle-rules", "/v1/customers/lifecycle-rules", `{"typical_gap_days":N}`, "body.typical_gap_days", false},
		{"PUT /v1/orders-by-external-id/{external_id}", "/v1/orders-by-external-id/ext-n", `{"lines":[{"unit_cost":N}]}`, "body.lines[0].unit_cost", true},
		{"PUT /v1/orders-by-external-id/{external_id}", "/v1/orders-by-external-id/ext-n", `{"lines":[{"unit_price":N}]}`, "body.lines[0].unit_price", true},
		{"PUT /v1/orders-by-external-id/{external_id}", "/v1/orders-by-external-id/ext-n", `{"lines":[{"discount":N}]}`, "body.lines[0].discount", true},
		{"PUT /v1/orders-by-external-id/{external_id}", "/v1/orders-by-external-id/ext-n", `{"lines":[{"refunded":N}]}`, "body.lines[0].refunded", true},
		{"PUT /v1/orders-by-external-id/{external_id}", "/v1/orders-by-external-id/ext-n", `{"lines":[{"quantity":N}]}`, "body.lines[0].quantity", true},
		{"PUT /v1/orders-by-external-id/{external_id}", "/v1/orders-by-external-id/ext-n", `{"lines":[{"tax":N}]}`, "body.lines[0].tax", true},
		{"PUT /v1/products-by-sku/{sku}", "/v1/products-by-sku/SKU-N", `{"prices":[{"cost":N}]}`, "body.prices[0].cost", true},
		{"PUT /v1/products-by-sku/{sku}", "/v1/products-by-sku/SKU-N", `{"prices":[{"amount":N}]}`, "body.prices[0].amount", true},
		{"POST /v1/clv/fits", "/v1/clv/fits", `{"discount_rate":N}`, "body.discount_rate", false},
		{"POST /v1/clv/fits", "/v1/clv/fits", `{"horizon_days":N}`, "body.horizon_days", true},
		{"PUT /v1/rfm/segments", "/v1/rfm/segments", `{"rules":[{"fm":{"max":N}}]}`, "body.rules[0].fm.max", true},
		{"PUT /v1/rfm/segments", "/v1/rfm/segments", `{"rules":[{"fm":{"min":N}}]}`, "body.rules[0].fm.min", true},
		{"PUT /v1/rfm/segments", "/v1/rfm/segments", `{"rules":[{"r":{"max":N}}]}`, "body.rules[0].r.max", true},
		{"PUT /v1/rfm/segments", "/v1/rfm/segments", `{"rules":[{"r":{"min":N}}]}`, "body.rules[0].r.min", true},
		{"POST /v1/orders", "/v1/orders", `{"lines":[{"refunded":N}]}`, "body.lines[0].refunded", true},
		{"POST /v1/orders", "/v1/orders", `{"lines":[{"quantity":N}]}`, "body.lines[0].quantity", true},
		{"POST /v1/orders", "/v1/orders", `{"lines":[{"tax":N}]}`, "body.lines[0].tax", true},
		{"POST /v1/orders", "/v1/orders", `{"lines":[{"unit_cost":N}]}`, "body.lines[0].unit_cost", true},
		{"POST /v1/orders", "/v1/orders", `{"lines":[{"unit_price":N}]}`, "body.lines[0].unit_price", true},
		{"POST /v1/orders", "/v1/orders", `{"lines":[{"discount":N}]}`, "body.lines[0].discount", true},
		{"POST /v1/products", "/v1/products", `{"prices":[{"amount":N}]}`, "body.prices[0].amount", true},
		{"POST /v1/products", "/v1/products", `{"prices":[{"cost":N}]}`, "body.prices[0].cost", true},
		{"POST /v1/orders/batch", "/v1/orders/batch", `{"items":[{"lines":[{"quantity":N}]}]}`, "body.items[0].lines[0].quantity", true},
		{"POST /v1/orders/batch", "/v1/orders/batch", `{"items":[{"lines":[{"tax":N}]}]}`, "body.items[0].lines[0].tax", true},
		{"POST /v1/orders/batch", "/v1/orders/batch", `{"items":[{"lines":[{"unit_cost":N}]}]}`, "body.items[0].lines[0].unit_cost", true},
		{"POST /v1/orders/batch", "/v1/orders/batch", `{"items":[{"lines":[{"unit_price":N}]}]}`, "body.items[0].lines[0].unit_price", true},
		{"POST /v1/orders/batch", "/v1/orders/batch", `{"items":[{"lines":[{"discount":N}]}]}`, "body.items[0].lines[0].discount", true},
		{"POST /v1/orders/batch", "/v1/orders/batch", `{"items":[{"lines":[{"refunded":N}]}]}`, "body.items[0].lines[0].refunded", true},
		{"POST /v1/plugins/{name}/versions/{version}/backtest", "/v1/plugins/score/versions/v1/backtest", `{"window_days":N}`, "body.window_days", true},
		{"PATCH /v1/products/{id}", "/v1/products/01J0000000000000000000000Z", `{"prices":[{"amount":N}]}`, "body.prices[0].amount", true},
		{"PATCH /v1/products/{id}", "/v1/products/01J0000000000000000000000Z", `{"prices":[{"cost":N}]}`, "body.prices[0].cost", true},
		{"PATCH /v1/products/{id}", "/v1/products/01J0000000000000000000000Z", `{"prices":[{"amount":N}]}`, "body.prices[0].amount", true},
		{"PATCH /v1/products/{id}", "/v1/products/01J0000000000000000000000Z", `{"prices":[{"cost":N}]}`, "body.prices[0].cost", true},
		{"PUT /v1/messaging/policy", "/v1/messaging/policy", `{"caps":[{"max":N}]}`, "body.caps[0].max", true},
		{"PUT /v1/messaging/policy", "/v1/messaging/policy", `{"caps":[{"reserved":N}]}`, "body.caps[0].reserved", true},
		{"PUT /v1/messaging/policy", "/v1/messaging/policy", `{"version":N}`, "body.version", true},
		{"POST /v1/products/batch", "/v1/products/batch", `{"items":[{"prices":[{"amount":N}]}]}`, "body.items[0].prices[0].amount", true},
		{"POST /v1/products/batch", "/v1/products/batch", `{"items":[{"prices":[{"cost":N}]}]}`, "body.items[0].prices[0].cost", true},
		// Journeys.
		{"POST /v1/journeys/{id}/versions", "/v1/journeys/01J0000000000000000000000Z/versions",
			`{"trigger":{"kind":"api"},"steps":[{"id":"x","type":"exit"}],"holdout_percent":N}`, "body.holdout_percent", true},
		{"POST /v1/journeys/{id}/versions", "/v1/journeys/01J0000000000000000000000Z/versions",
			`{"trigger":{"kind":"api"},"steps":[{"id":"x","type":"exit"}],"migrate":{"from_version":N,"steps":{}}}`, "body.migrate.from_version", true},

		// Campaigns.
		{"POST /v1/campaigns", "/v1/campaigns", `{"holdout_percent":N}`, "body.holdout_percent", true},
		{"POST /v1/campaigns", "/v1/campaigns", `{"variants":[{"share":N}]}`, "body.variants[0].share", true},
		{"PUT /v1/campaigns/{id}", "/v1/campaigns/01J0000000000000000000000Z", `{"holdout_percent":N}`, "body.holdout_percent", true},
		{"PUT /v1/campaigns/{id}", "/v1/campaigns/01J0000000000000000000000Z", `{"variants":[{"share":N}]}`, "body.variants[0].share", true},
		{"PUT /v1/campaign-settings", "/v1/campaign-settings", `{"version":N}`, "body.version", true},
	}
	for _, f := range []string{"quantity", "unit_price_minor", "discount_minor"} {
		cases = append(cases,
			numberCase{"POST /v1/deals", "/v1/deals", deal + line(f) + `}`, "body.line_items[0]." + f, true},
			numberCase{"PATCH /v1/deals/{id}", "/v1/deals/" + dealID, `{` + line(f) + `}`, "body.line_items[0]." + f, true})
	}
	for _, w := range []string{"call", "customer", "email", "email_activity", "engagement_cap", "enterprise", "half_life_days",
		"meeting", "mid_size", "mql", "other_activity", "phone", "sql"} {
		cases = append(cases, numberCase{"PATCH /v1/tenant", "/v1/tenant", `{"scoring_weights":{"` + w + `":N}}`, "body.scoring_weights." + w, true})
	}
	for _, bucket := range []string{"tenant", "api_key"} {
		for _, f := range []string{"rate", "burst"} {
			cases = append(cases, numberCase{"PATCH /v1/tenant", "/v1/tenant", `{"rate_limits":{"` + bucket + `":{"` + f + `":N}}}`,
				"body.rate_limits." + bucket + "." + f, true})
		}
	}
	return cases
}

// TestNumberCasesCoverTheDocument fails when an operation's body gains a
// numeric field that TestNumbersBeyondTheirField does not try.
func TestNumberCasesCoverTheDocument(t *testing.T) {
	spec, err := json.Marshal(httpapi.New(httpapi.Config{}).OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths      map[string]map[string]json.RawMessage
		Components struct{ Schemas map[string]any }
	}
	if err := json.Unmarshal(spec, &doc); err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, c := range numberCases("c", "co", "u", "d", "a", "p", "{", func(string) string { return "" }) {
		covered[c.op+" "+c.location] = true
	}
	var walk func(s any, loc string, seen map[string]bool, found func(string))
	walk = func(s any, loc string, seen map[string]bool, found func(string)) {
		m, _ := s.(map[string]any)
		if ref, ok := m["$ref"].(string); ok {
			name := strings.TrimPrefix(ref, "#/components/schemas/")
			if seen[name] {
				return
			}
			seen = maps.Clone(seen)
			seen[name] = true
			m, _ = doc.Components.Schemas[name].(map[string]any)
		}
		types := fmt.Sprint(m["type"])
		if strings.Contains(types, "integer") || strings.Contains(types, "number") {
			found(loc)
		}
		props, _ := m["properties"].(map[string]any)
		for k, v := range props {
			walk(v, loc+"."+k, seen, found)
		}
		if items, ok := m["items"]; ok {
			walk(items, loc+"[0]", seen, found)
		}
	}
	n := 0
	for route, ops := range doc.Paths {
		for method, raw := range ops {
			var op struct {
				RequestBody struct {
					Content map[string]struct{ Schema any }
				}
			}
			if json.Unmarshal(raw, &op) != nil {
				continue // not an operation (parameters shared by the path)
			}
			for ct, c := range op.RequestBody.Content {
				if !strings.Contains(ct, "json") {
					continue
				}
				walk(c.Schema, "body", map[string]bool{}, func(loc string) {
					n++
					key := strings.ToUpper(method) + " " + route + " " + loc
					if !covered[key] {
						t.Errorf("%s is a number that TestNumbersBeyondTheirField never tries", key)
					}
				})
			}
		}
	}
	if n == 0 {
		t.Fatal("found no numeric field in the document: the walk is broken")
	}
}
