package httpapi_test

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core"
)

// Money through the API, on both engines: a deal whose lines sum beyond
// int64 is a 422 naming the line (it was stored with a negative amount), a
// code outside ISO 4217 is a 422 naming the currency, a currency changes
// only with its amount, and the forecast of two deals of the largest amount
// at 60 % is an exact JSON integer beyond int64 (it was negative) with its
// decimal at the currency's exponent.
func TestDealMoneyThroughTheAPI(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		var p core.Pipeline
		e.a.do("POST", "/v1/pipelines", salesPipeline).want(t, 201, &p)
		line := func(price int64, currency string) map[string]any {
			return map[string]any{"product": "Engine", "quantity": 1, "unit_price_minor": price, "currency": currency}
		}
		for _, tc := range []struct {
			name string
			body map[string]any
			at   []string
		}{
			{"two lines of 5e18", map[string]any{"currency": "EUR", "line_items": []any{line(5e18, "EUR"), line(5e18, "EUR")}},
				[]string{"body.line_items[1].unit_price_minor"}},
			{"quantity × price beyond int64", map[string]any{"currency": "EUR", "line_items": []any{
				map[string]any{"product": "Engine", "quantity": 1_000_000, "unit_price_minor": int64(1e13), "currency": "EUR"}}},
				[]string{"body.line_items[0].unit_price_minor"}},
			{"XYZ", map[string]any{"currency": "XYZ", "amount_minor": 100}, []string{"body.currency"}},
			{"XYZ with its lines", map[string]any{"currency": "XYZ", "line_items": []any{line(5, "XYZ")}}, []string{"body.currency"}},
		} {
			tc.body["name"], tc.body["pipeline_id"], tc.body["stage"] = "D", p.ID, "lead"
			pr := e.a.do("POST", "/v1/deals", tc.body).want(t, 422, nil).problem(t)
			if diff := cmp.Diff(tc.at, pr.locations()); diff != "" {
				t.Errorf("%s: problems at (-want +got):\n%s", tc.name, diff)
			}
		}
		var list struct{ Items []core.Deal }
		e.a.do("GET", "/v1/deals", nil).want(t, 200, &list)
		if len(list.Items) != 0 {
			t.Fatalf("refused deals were stored: %+v", list.Items)
		}

		// A currency changes only with its amount.
		var d core.Deal
		e.a.do("POST", "/v1/deals", map[string]any{"name": "Small", "pipeline_id": p.ID, "stage": "lead", "amount_minor": 1000, "currency": "EUR"}).want(t, 201, &d)
		patch := func(body string, status int) response {
			t.Helper()
			return e.a.do("PATCH", "/v1/deals/"+d.ID, body, "Content-Type", "application/merge-patch+json").want(t, status, nil)
		}
		if pr := patch(`{"currency":"USD"}`, 422).problem(t); !slices.Equal(pr.locations(), []string{"body.currency"}) {
			t.Errorf("currency alone: problems at %v", pr.locations())
		}
		if pr := patch(`{"currency":"XYZ","amount_minor":5}`, 422).problem(t); !slices.Equal(pr.locations(), []string{"body.currency"}) {
			t.Errorf("to XYZ: problems at %v", pr.locations())
		}
		patch(`{"currency":"JPY","amount_minor":1600}`, 200)
		e.a.do("DELETE", "/v1/deals/"+d.ID, nil).want(t, 204, nil)

		for range 2 {
			e.a.do("POST", "/v1/deals", map[string]any{"name": "Big", "pipeline_id": p.ID, "stage": "proposal", "amount_minor": int64(math.MaxInt64),
				"currency": "EUR"}).want(t, 201, nil)
		}
		res := e.a.do("GET", "/v1/reports/forecast", nil).want(t, 200, nil)
		var raw struct {
			Currencies []struct {
				Currency string                     `json:"currency"`
				Minor    json.RawMessage            `json:"weighted_minor"`
				Weighted string                     `json:"weighted"`
				ByMonth  map[string]json.RawMessage `json:"by_month"`
			} `json:"currencies"`
		}
		if err := json.Unmarshal(res.Body, &raw); err != nil {
			t.Fatal(err)
		}
		// 2 × round(9 223 372 036 854 775 807 × 60 %) = 2 × 5 534 023 222 112 865 484
		if len(raw.Currencies) != 1 || string(raw.Currencies[0].Minor) != "11068046444225730968" ||
			raw.Currencies[0].Weighted != "110680464442257309.68" || string(raw.Currencies[0].ByMonth["none"]) != "11068046444225730968" {
			t.Errorf("forecast %s", res.Body)
		}
		if _, err := strconv.ParseUint(string(raw.Currencies[0].Minor), 10, 64); err != nil {
			t.Errorf("weighted_minor is not a JSON integer: %s", raw.Currencies[0].Minor)
		}
	})
}
