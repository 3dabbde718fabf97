package httpapi_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core/commerce"
)

type productPage struct {
	Items      []commerce.Product `json:"items"`
	NextCursor string             `json:"next_cursor"`
}

// The catalogue end to end: create, upsert by SKU, merge patch with
// If-Match, search, category, active, batch, delete; one schema-valid
// event per change.
func TestProductsHTTP(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		a := e.a
		var p commerce.Product
		r := a.do("POST", "/v1/products", map[string]any{"sku": "RB-3025", "name": "Aviator Classic", "category": "Eyewear / Sunglasses", "brand": "Ray-Ban",
			"prices":    []map[string]any{{"currency": "EUR", "amount": 15000, "cost": 6000}, {"currency": "USD", "amount": 16000}},
			"relations": []map[string]any{{"kind": "upgrade_of", "sku": "RB-3025-BASIC"}}, "tags": []string{"Summer"}}).want(t, 201, &p)
		if r.Header.Get("Location") != "/v1/products/"+p.ID || p.Category != "eyewear/sunglasses" || !p.IsActive() {
			t.Errorf("created %+v, headers %v", p, r.Header)
		}
		a.do("POST", "/v1/products", map[string]any{"sku": "RB-3025", "name": "Again"}).want(t, 409, nil)
		pr := a.do("POST", "/v1/products", map[string]any{"sku": "bad sku", "name": "", "prices": []map[string]any{{"currency": "EUR", "amount": -1}}}).want(t, 422, nil).problem(t)
		if diff := cmp.Diff([]string{"body.name", "body.prices[0].amount", "body.sku"}, sorted(pr.locations())); diff != "" {
			t.Errorf("bad product (-want +got):\n%s", diff)
		}
		a.do("PATCH", "/v1/products/"+p.ID, `{"active":false}`, "If-Match", `"7"`).want(t, 412, nil)
		p = commerce.Product{}
		a.do("PATCH", "/v1/products/"+r.Header.Get("Location")[len("/v1/products/"):], `{"active":false,"brand":null}`, "If-Match", `"1"`).want(t, 200, &p)
		if p.IsActive() || p.Brand != "" || p.Version != 2 {
			t.Errorf("patched %+v", p)
		}
		var up commerce.Product
		a.do("PUT", "/v1/products-by-sku/RB-3025", map[string]any{"name": "Aviator Large", "category": "eyewear/sunglasses"}).want(t, 200, &up)
		if up.ID != p.ID || up.Version != 3 || up.Active != nil {
			t.Errorf("upsert existing: %+v", up)
		}
		a.do("PUT", "/v1/products-by-sku/OX-1", map[string]any{"name": "Optical frame", "category": "eyewear"}).want(t, 201, nil)
		a.do("GET", "/v1/products-by-sku/OX-1", nil).want(t, 200, nil)
		a.do("GET", "/v1/products-by-sku/OX-2", nil).want(t, 404, nil)

		var res struct {
			Results []struct {
				Status int `json:"status"`
			} `json:"results"`
		}
		a.do("POST", "/v1/products/batch", map[string]any{"items": []map[string]any{{"sku": "CASE-1", "name": "Case", "category": "accessories"},
			{"sku": "OX-1", "name": "Optical frame", "category": "eyewear", "active": false}, {"sku": "X", "name": "X", "prices": "none"}}}).want(t, 200, &res)
		var statuses []int
		for _, r := range res.Results {
			statuses = append(statuses, r.Status)
		}
		if diff := cmp.Diff([]int{201, 200, 422}, statuses); diff != "" {
			t.Errorf("batch statuses (-want +got):\n%s", diff)
		}

		skus := func(q string) []string {
			t.Helper()
			var out []string
			cursor := ""
			for {
				var page productPage
				a.do("GET", "/v1/products?limit=1&"+q+cursor, nil).want(t, 200, &page)
				for _, p := range page.Items {
					out = append(out, p.SKU)
				}
				if page.NextCursor == "" {
					return out
				}
				cursor = "&cursor=" + page.NextCursor
			}
		}
		for q, want := range map[string][]string{
			"":                             {"RB-3025", "OX-1", "CASE-1"},
			"q=avi":                        {"RB-3025"},
			"q=rb-30":                      {"RB-3025"},
			"q=frame&active=false":         {"OX-1"},
			"category=eyewear":             {"OX-1", "RB-3025"},
			"category=eyewear&active=true": {"RB-3025"},
		} {
			if diff := cmp.Diff(want, skus(q)); diff != "" {
				t.Errorf("%q (-want +got):\n%s", q, diff)
			}
		}
		a.do("GET", "/v1/products?q=a", nil).want(t, 422, nil)
		a.do("GET", "/v1/products?active=maybe", nil).want(t, 422, nil)
		a.do("DELETE", "/v1/products/"+p.ID, nil).want(t, 204, nil)
		a.do("GET", "/v1/products/"+p.ID, nil).want(t, 404, nil)

		var got []string
		for _, ev := range outbox(t, e.store, "acme") {
			got = append(got, string(ev.DetailType))
		}
		want := []string{"product.created", "product.updated", "product.updated", "product.created", "product.created", "product.updated", "product.deleted"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
	})
}
