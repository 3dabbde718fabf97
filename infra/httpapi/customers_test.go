package httpapi_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/commerce"
	"github.com/fedele-crm/fedele/core/events"
)

// TestCustomerAPI: a contact shows its customer part once it has ordered
// (days since the last order computed at read time, the ETag still the
// contact's), its purchases with their days, and the lifecycle rules are
// read, refused field by field, replaced under If-Match; another tenant
// sees none of it. On both engines.
func TestCustomerAPI(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		var c core.Contact
		e.a.do("POST", "/v1/contacts", map[string]any{"first_name": "Ada", "last_name": "Lovelace"}).want(t, 201, &c)
		res := e.a.do("GET", "/v1/contacts/"+c.ID, nil)
		var plain map[string]any
		res.want(t, 200, &plain)
		if _, ok := plain["customer"]; ok {
			t.Errorf("a contact that never ordered shows a customer: %s", res.Body)
		}
		etagBefore := res.Header.Get("ETag")

		placed := e.now().Add(-50 * time.Hour).UTC().Truncate(time.Second)
		o := commerce.Order{Meta: core.Meta{ID: core.NewID(placed), Version: 1}, Total: 2599}
		o.ContactID, o.Currency, o.PlacedAt, o.ExternalID = c.ID, "EUR", placed, "shop-1"
		o.Lines = []commerce.Line{{Category: "books", Quantity: 1, UnitPrice: 2599}}
		data, _ := json.Marshal(o)
		ev := events.New(context.Background(), "acme", events.OrderPlaced, placed, events.Entity{Type: "order", ID: o.ID, Data: data})
		for _, err := range e.app.Delivery().Publish(context.Background(), []events.Envelope{ev}) {
			if err != nil {
				t.Fatal(err)
			}
		}

		var got struct {
			core.Contact
			Customer struct {
				Purchases struct {
					Orders             int      `json:"orders"`
					DaysSinceLastOrder *int     `json:"days_since_last_order"`
					Categories         []string `json:"categories"`
					Revenue            []struct {
						Currency string `json:"currency"`
						Amount   int64  `json:"amount"`
						Average  int64  `json:"average_order_value"`
					} `json:"revenue"`
					Days []any `json:"days"`
				} `json:"purchases"`
				Lifecycle struct {
					State string `json:"state"`
				} `json:"lifecycle"`
			} `json:"customer"`
		}
		res = e.a.do("GET", "/v1/contacts/"+c.ID, nil).want(t, 200, &got)
		pu := got.Customer.Purchases
		if pu.Orders != 1 || pu.DaysSinceLastOrder == nil || *pu.DaysSinceLastOrder != 2 || len(pu.Revenue) != 1 ||
			pu.Revenue[0].Average != 2599 || len(pu.Categories) != 1 || pu.Days != nil || got.Customer.Lifecycle.State != "new" {
			t.Errorf("customer: %s", res.Body)
		}
		// The answer changed, so its ETag did: a copy cached before the
		// order is not current (no 304), while If-Match still guards the
		// contact's own version, which the order did not move.
		etagAfter := res.Header.Get("ETag")
		if etagAfter == etagBefore || !strings.HasPrefix(etagAfter, `"1+`) {
			t.Errorf("the order left the contact's ETag at %s (before %s), want a new one of version 1", etagAfter, etagBefore)
		}
		e.a.do("GET", "/v1/contacts/"+c.ID, nil, "If-None-Match", etagBefore).want(t, 200, nil)
		e.a.do("GET", "/v1/contacts/"+c.ID, nil, "If-None-Match", etagAfter).want(t, 304, nil)
		e.a.do("PATCH", "/v1/contacts/"+c.ID, map[string]any{"last_name": "Byron"}, "If-Match", etagAfter).want(t, 200, nil)
		e.a.do("PATCH", "/v1/contacts/"+c.ID, map[string]any{"last_name": "King"}, "If-Match", etagAfter).want(t, 412, nil)

		var purchases struct {
			Purchases struct {
				Days []struct {
					Date   string `json:"date"`
					Orders int    `json:"orders"`
				} `json:"days"`
			} `json:"purchases"`
		}
		e.a.do("GET", "/v1/contacts/"+c.ID+"/purchases", nil).want(t, 200, &purchases)
		if d := purchases.Purchases.Days; len(d) != 1 || d[0].Date != placed.Format(time.DateOnly) || d[0].Orders != 1 {
			t.Errorf("days: %+v", d)
		}
		if res := e.b.do("GET", "/v1/contacts/"+c.ID+"/purchases", nil); res.Status != 404 {
			t.Errorf("another tenant's purchases: %d %s", res.Status, res.Body)
		}

		var rules map[string]any
		res = e.a.do("GET", "/v1/customers/lifecycle-rules", nil).want(t, 200, &rules)
		if rules["dormant_after_days"] != 90.0 || rules["basis"] != "days" {
			t.Errorf("default rules: %s", res.Body)
		}
		rules["inactive_after_days"] = 60
		delete(rules, "version")
		p := e.a.do("PUT", "/v1/customers/lifecycle-rules", rules).want(t, 422, nil).problem(t)
		if locs := p.locations(); len(locs) != 1 || locs[0] != "body.inactive_after_days" {
			t.Errorf("refused at %v, want body.inactive_after_days", locs)
		}
		rules["inactive_after_days"] = 120
		if res := e.a.do("PUT", "/v1/customers/lifecycle-rules", rules, "If-Match", `"7"`); res.Status != 412 {
			t.Errorf("stale If-Match: %d %s", res.Status, res.Body)
		}
		var put struct {
			Rules struct {
				InactiveAfterDays int   `json:"inactive_after_days"`
				Version           int64 `json:"version"`
			} `json:"rules"`
			JobID string `json:"job_id"`
		}
		res = e.a.do("PUT", "/v1/customers/lifecycle-rules", rules).want(t, 200, &put)
		if put.Rules.InactiveAfterDays != 120 || put.Rules.Version != 1 || put.JobID == "" || res.Header.Get("ETag") != `"1"` {
			t.Errorf("put: %s", res.Body)
		}
		var other map[string]any
		e.b.do("GET", "/v1/customers/lifecycle-rules", nil).want(t, 200, &other)
		if other["inactive_after_days"] != 180.0 {
			t.Errorf("acme's rules changed globex's: %v", other)
		}
	})
}
