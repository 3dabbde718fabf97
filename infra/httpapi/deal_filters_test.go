package httpapi_test

import (
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/money"
	"github.com/fedele-crm/fedele/core/sales"
)

// Deals are listed by contact and by company, and never by another
// tenant's ids; the forecast is narrowed to an expected-close range, whose
// bounds are validated.
func TestDealFiltersAndForecastRange(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		var p, theirPipeline core.Pipeline
		e.a.do("POST", "/v1/pipelines", salesPipeline).want(t, 201, &p)
		e.b.do("POST", "/v1/pipelines", salesPipeline).want(t, 201, &theirPipeline)
		var co core.Company
		e.a.do("POST", "/v1/companies", map[string]any{"name": "Initech"}).want(t, 201, &co)
		var ada, bob, eve core.Contact
		e.a.do("POST", "/v1/contacts", map[string]any{"first_name": "Ada", "emails": []map[string]any{{"address": "ada@example.com"}}}).want(t, 201, &ada)
		e.a.do("POST", "/v1/contacts", map[string]any{"first_name": "Bob", "emails": []map[string]any{{"address": "bob@example.com"}}}).want(t, 201, &bob)
		e.b.do("POST", "/v1/contacts", map[string]any{"first_name": "Eve", "emails": []map[string]any{{"address": "eve@example.com"}}}).want(t, 201, &eve)
		deal := func(c *client, pipeline string, fields map[string]any) {
			t.Helper()
			fields["pipeline_id"], fields["stage"], fields["currency"] = pipeline, "lead", "EUR"
			c.do("POST", "/v1/deals", fields).want(t, 201, nil)
		}
		deal(e.a, p.ID, map[string]any{"name": "A1", "contact_id": ada.ID, "company_id": co.ID, "amount_minor": 1000, "expected_close": "2026-12-01"})
		deal(e.a, p.ID, map[string]any{"name": "B1", "contact_id": bob.ID, "amount_minor": 2000, "expected_close": "2026-12-31"})
		deal(e.a, p.ID, map[string]any{"name": "C1", "company_id": co.ID, "amount_minor": 4000, "expected_close": "2027-01-01"})
		deal(e.a, p.ID, map[string]any{"name": "A2", "contact_id": ada.ID, "amount_minor": 8000})
		deal(e.b, theirPipeline.ID, map[string]any{"name": "E1", "contact_id": eve.ID, "amount_minor": 16000})

		for _, c := range []struct {
			name  string
			as    *client
			query string
			want  []string
		}{
			{"ada's", e.a, "contact_id=" + ada.ID, []string{"A1", "A2"}},
			{"bob's", e.a, "contact_id=" + bob.ID, []string{"B1"}},
			{"Initech's", e.a, "company_id=" + co.ID, []string{"A1", "C1"}},
			{"ada's at Initech", e.a, "contact_id=" + ada.ID + "&company_id=" + co.ID, []string{"A1"}},
			{"ada's open ones in the pipeline", e.a, "contact_id=" + ada.ID + "&status=open&pipeline_id=" + p.ID, []string{"A1", "A2"}},
			{"globex's contact, asked by acme", e.a, "contact_id=" + eve.ID, []string{}},
			{"acme's contact, asked by globex", e.b, "contact_id=" + ada.ID, []string{}},
			{"acme's company, asked by globex", e.b, "company_id=" + co.ID, []string{}},
			{"globex's own", e.b, "contact_id=" + eve.ID, []string{"E1"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				var page struct{ Items []core.Deal }
				c.as.do("GET", "/v1/deals?"+c.query, nil).want(t, 200, &page)
				names := []string{}
				for _, d := range page.Items {
					names = append(names, d.Name)
				}
				if diff := cmp.Diff(c.want, names); diff != "" {
					t.Errorf("deals (-want +got):\n%s", diff)
				}
			})
		}

		// Weighted at the lead stage's 10 %: A1 100, B1 200, C1 400, A2
		// (no date) 800.
		for _, c := range []struct {
			query string
			total int64
			deals int
		}{
			{"", 1500, 4},
			{"from=2026-12-01&to=2026-12-31", 300, 2},
			{"from=2026-12-02", 600, 2},
			{"to=2026-12-01", 100, 1},
		} {
			var fc struct{ Currencies []sales.Forecast }
			e.a.do("GET", "/v1/reports/forecast?"+c.query, nil).want(t, 200, &fc)
			var total money.Total
			deals := 0
			for _, f := range fc.Currencies {
				total, deals = total.Plus(f.Total), deals+f.Deals
			}
			if !total.Equal(money.TotalOf(c.total)) || deals != c.deals {
				t.Errorf("forecast ?%s: %d over %d deals, want %d over %d", c.query, total, deals, c.total, c.deals)
			}
		}
		for _, c := range []struct {
			query string
			want  []string
		}{
			{"from=2027-01-01&to=2026-12-31", []string{"query.from"}},
			{"from=2026-13-01", []string{"query.from"}},
			{"to=" + url.QueryEscape("31/12/2026"), []string{"query.to"}},
			{"from=2026-12&to=tomorrow", []string{"query.from", "query.to"}},
		} {
			res := e.a.do("GET", "/v1/reports/forecast?"+c.query, nil).want(t, 422, nil)
			got := res.problem(t).locations()
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("forecast ?%s: locations (-want +got):\n%s", c.query, diff)
			}
		}
	})
}
