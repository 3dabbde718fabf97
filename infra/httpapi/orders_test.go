package httpapi_test

import (
	"fmt"
	"net/url"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/commerce"
	"github.com/fedele-crm/fedele/core/events"
)

type orderPage struct {
	Items      []commerce.Order `json:"items"`
	NextCursor string           `json:"next_cursor"`
}

type orderBatch struct {
	Results []struct {
		Index  int             `json:"index"`
		Status int             `json:"status"`
		Record *commerce.Order `json:"record"`
		Error  *problem        `json:"error"`
	} `json:"results"`
}

func shopOrder(ext string, extra map[string]any) map[string]any {
	o := map[string]any{"external_id": ext, "email": "buyer@shop.example", "currency": "EUR", "placed_at": "2026-11-01T10:00:00+01:00",
		"channel": "web", "lines": []map[string]any{{"sku": "RB-3025", "quantity": 2, "unit_price": 15000, "discount": 1000, "tax": 2000}}}
	for k, v := range extra {
		o[k] = v
	}
	return o
}

// Orders end to end: ingest by external id (idempotent), create (409 with
// the order), the buyer found by e-mail or created, lines completed from
// the catalogue, status changes, refunds by line, and one schema-valid
// event per change.
func TestOrdersHTTP(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		a := e.a
		a.do("PUT", "/v1/products-by-sku/RB-3025", map[string]any{"name": "Aviator", "category": "Eyewear/Sunglasses",
			"prices": []map[string]any{{"currency": "EUR", "amount": 15000, "cost": 6000}}}).want(t, 201, nil)

		var o commerce.Order
		r := a.do("PUT", "/v1/orders-by-external-id/shop-1", shopOrder("shop-1", nil)).want(t, 201, &o)
		if r.Header.Get("Location") != "/v1/orders/"+o.ID || r.Header.Get("ETag") != `"1"` {
			t.Errorf("headers %v", r.Header)
		}
		if o.Total != 31000 || o.Status != commerce.OrderPlaced || o.Lines[0].Category != "eyewear/sunglasses" || *o.Lines[0].UnitCost != 6000 ||
			o.PlacedAt.Format("2006-01-02T15:04:05Z07:00") != "2026-11-01T09:00:00Z" {
			t.Errorf("order %+v", o)
		}
		var buyer core.Contact
		a.do("GET", "/v1/contacts-by-email/buyer@shop.example", nil).want(t, 200, &buyer)
		if buyer.ID != o.ContactID {
			t.Errorf("buyer %s, order's %s", buyer.ID, o.ContactID)
		}
		// The same order again: 200, same version, nothing written.
		var again commerce.Order
		a.do("PUT", "/v1/orders-by-external-id/shop-1", shopOrder("shop-1", nil)).want(t, 200, &again)
		if again.ID != o.ID || again.Version != 1 {
			t.Errorf("re-ingest: %+v", again.Meta)
		}
		// The path's external id wins; the body may leave it out.
		body := shopOrder("", map[string]any{"status": "paid"})
		delete(body, "external_id")
		a.do("PUT", "/v1/orders-by-external-id/shop-1", body).want(t, 200, &again)
		if again.Version != 2 || again.Status != commerce.OrderPaid {
			t.Errorf("paid by re-ingest: %+v", again)
		}
		p := a.do("POST", "/v1/orders", shopOrder("shop-1", nil)).want(t, 409, nil).problem(t)
		if cmp.Diff([]string{"body.external_id"}, p.locations()) != "" || !slices.ContainsFunc(p.Errors, func(e struct {
			Message  string `json:"message"`
			Location string `json:"location"`
		}) bool {
			return e.Message == "is already used by order "+o.ID+"; PUT /v1/orders-by-external-id/{external_id} updates it"
		}) {
			t.Errorf("409: %+v", p)
		}
		var o2 commerce.Order
		a.do("POST", "/v1/orders", shopOrder("shop-2", map[string]any{"email": "", "contact_id": buyer.ID, "lines": []map[string]any{
			{"description": "Lens cloth", "quantity": 1, "unit_price": 500}, {"description": "Case", "quantity": 2, "unit_price": 1000, "tax": 200}}})).want(t, 201, &o2)
		if o2.Lines[0].Category != commerce.Uncategorized || o2.Total != 2700 {
			t.Errorf("free-text order %+v", o2)
		}
		a.do("GET", "/v1/orders/"+o2.ID, nil).want(t, 200, nil)
		a.do("GET", "/v1/orders-by-external-id/"+url.PathEscape("shop-2"), nil).want(t, 200, nil)

		// Refunds by line; over what is left is refused, naming the line.
		refund := func(status int, lines ...map[string]any) (commerce.Order, response) {
			t.Helper()
			var out commerce.Order
			r := a.do("POST", "/v1/orders/"+o2.ID+"/refunds", map[string]any{"lines": lines})
			if status == 200 {
				r.want(t, 200, &out)
			} else {
				r.want(t, status, nil)
			}
			return out, r
		}
		if got, _ := refund(200, map[string]any{"line": 1, "amount": 700}); got.Refunded != 700 || got.Status != commerce.OrderPlaced {
			t.Errorf("partial refund: %+v", got)
		}
		if _, r := refund(422, map[string]any{"line": 1, "amount": 1501}); cmp.Diff([]string{"body.lines[0].amount"}, r.problem(t).locations()) != "" {
			t.Errorf("refund over the line: %s", r.Body)
		}
		if _, r := refund(422, map[string]any{"line": 5, "amount": 1}); cmp.Diff([]string{"body.lines[0].line"}, r.problem(t).locations()) != "" {
			t.Errorf("refund of no line: %s", r.Body)
		}
		if got, _ := refund(200, map[string]any{"line": 0, "amount": 500}, map[string]any{"line": 1, "amount": 1500}); got.Status != commerce.OrderRefunded || got.Net() != 0 {
			t.Errorf("full refund: %+v", got)
		}
		// Status: a cancelled order cannot be paid; If-Match is honoured.
		a.do("PATCH", "/v1/orders/"+o.ID, `{"status":"cancelled"}`, "If-Match", `"1"`).want(t, 412, nil)
		a.do("PATCH", "/v1/orders/"+o.ID, `{"status":"cancelled"}`, "If-Match", `"2"`).want(t, 200, nil)
		p = a.do("PATCH", "/v1/orders/"+o.ID, `{"status":"paid"}`).want(t, 409, nil).problem(t)
		if cmp.Diff([]string{"body.status"}, p.locations()) != "" {
			t.Errorf("paying a cancelled order: %+v", p)
		}
		a.do("PATCH", "/v1/orders/"+o.ID, `{"status":"shipped"}`).want(t, 422, nil)
		a.do("PATCH", "/v1/orders/"+o.ID, `{"lines":[]}`).want(t, 422, nil)

		// Bad bodies name their fields; an overflow names the line.
		p = a.do("POST", "/v1/orders", shopOrder("shop-3", map[string]any{"currency": "XYZ", "placed_at": "2099-01-01T00:00:00Z",
			"lines": []map[string]any{{"description": "x", "quantity": 2, "unit_price": 9223372036854775807}}})).want(t, 422, nil).problem(t)
		if diff := cmp.Diff([]string{"body.currency", "body.lines[0].unit_price", "body.placed_at"}, sorted(p.locations())); diff != "" {
			t.Errorf("bad order (-want +got):\n%s", diff)
		}
		p = a.do("POST", "/v1/orders", shopOrder("shop-3", map[string]any{"lines": []map[string]any{{"description": "x", "quantity": 0, "unit_price": 1}}})).want(t, 422, nil).problem(t)
		if diff := cmp.Diff([]string{"body.lines[0].quantity"}, p.locations()); diff != "" {
			t.Errorf("quantity 0 (-want +got):\n%s", diff)
		}

		var page orderPage
		a.do("GET", "/v1/orders?contact_id="+buyer.ID+"&status=refunded", nil).want(t, 200, &page)
		if len(page.Items) != 1 || page.Items[0].ID != o2.ID {
			t.Errorf("refunded orders of the buyer: %+v", page.Items)
		}
		a.do("GET", "/v1/orders?from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z&sort=placed_at", nil).want(t, 200, &page)
		if len(page.Items) != 2 {
			t.Errorf("orders of 1 November: %d", len(page.Items))
		}
		a.do("GET", "/v1/orders?from=nope", nil).want(t, 422, nil)

		want := []string{"order.placed ", "order.updated status", "order.placed ", "order.updated lines,refunded", "order.refunded lines,refunded",
			"order.updated lines,refunded,status", "order.refunded lines,refunded,status", "order.updated status", "order.cancelled status"}
		var got []string
		for _, ev := range outbox(t, e.store, "acme") {
			if ev.Detail.Entity.Type == "order" {
				got = append(got, describe([]events.Envelope{ev})...)
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("order events (-want +got):\n%s", diff)
		}
	})
}

// A batch upserts each order on its own: a bad one (for the schema or
// for the rules) fails alone, with paths into its element.
func TestOrdersBatchHTTP(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		items := []map[string]any{shopOrder("b-1", nil), shopOrder("b-2", map[string]any{"currency": "eur"}), shopOrder("b-3", map[string]any{"channel": "fax"}),
			shopOrder("b-1", nil)}
		var res orderBatch
		e.a.do("POST", "/v1/orders/batch", map[string]any{"items": items}).want(t, 200, &res)
		statuses := []int{}
		for _, r := range res.Results {
			statuses = append(statuses, r.Status)
		}
		if diff := cmp.Diff([]int{201, 422, 422, 200}, statuses); diff != "" {
			t.Fatalf("statuses (-want +got):\n%s", diff)
		}
		if res.Results[1].Error == nil || !slices.Contains(res.Results[1].Error.locations(), "body.items[1].currency") {
			t.Errorf("item 1: %+v", res.Results[1].Error)
		}
		if res.Results[3].Record.ID != res.Results[0].Record.ID {
			t.Errorf("b-1 twice is two orders")
		}
		var many []map[string]any
		for i := range 101 {
			many = append(many, shopOrder(fmt.Sprint("m-", i), nil))
		}
		e.a.do("POST", "/v1/orders/batch", map[string]any{"items": many}).want(t, 422, nil)
		e.a.do("POST", "/v1/orders/batch", map[string]any{"items": []any{}}).want(t, 422, nil)
		e.a.do("POST", "/v1/orders/batch", `{"orders":[]}`).want(t, 422, nil)
	})
}

// Tenant B sees nothing of A's orders and products through any door, and
// ingesting A's external id makes B's own order.
func TestCommerceTenantIsolation(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		var pa commerce.Product
		e.a.do("POST", "/v1/products", map[string]any{"sku": "SECRET-1", "name": "Secret frame"}).want(t, 201, &pa)
		var oa commerce.Order
		e.a.do("PUT", "/v1/orders-by-external-id/shop-1", shopOrder("shop-1", map[string]any{"email": "ada@a.example"})).want(t, 201, &oa)
		e.a.do("PUT", "/v1/orders-by-external-id/shop-2", shopOrder("shop-2", nil)).want(t, 201, nil)
		var aPage orderPage
		e.a.do("GET", "/v1/orders?limit=1", nil).want(t, 200, &aPage)
		var aProducts struct {
			NextCursor string `json:"next_cursor"`
		}
		e.a.do("POST", "/v1/products", map[string]any{"sku": "SECRET-2", "name": "Secret lens"}).want(t, 201, nil)
		e.a.do("GET", "/v1/products?limit=1", nil).want(t, 200, &aProducts)

		b := e.b
		b.do("GET", "/v1/orders/"+oa.ID, nil).want(t, 404, nil).problem(t)
		b.do("PATCH", "/v1/orders/"+oa.ID, `{"status":"cancelled"}`).want(t, 404, nil)
		b.do("POST", "/v1/orders/"+oa.ID+"/refunds", map[string]any{"lines": []map[string]any{{"line": 0, "amount": 1}}}).want(t, 404, nil)
		b.do("GET", "/v1/orders-by-external-id/shop-1", nil).want(t, 404, nil)
		b.do("GET", "/v1/products/"+pa.ID, nil).want(t, 404, nil)
		b.do("PATCH", "/v1/products/"+pa.ID, `{"name":"Pwned"}`).want(t, 404, nil)
		b.do("DELETE", "/v1/products/"+pa.ID, nil).want(t, 404, nil)
		b.do("GET", "/v1/products-by-sku/SECRET-1", nil).want(t, 404, nil)
		for _, q := range []string{"", "contact_id=" + oa.ContactID, "status=placed"} {
			var page orderPage
			b.do("GET", "/v1/orders?"+q, nil).want(t, 200, &page)
			if len(page.Items) != 0 {
				t.Errorf("B lists %d orders with %q", len(page.Items), q)
			}
		}
		var products struct{ Items []commerce.Product }
		b.do("GET", "/v1/products?q=secret", nil).want(t, 200, &products)
		if len(products.Items) != 0 {
			t.Errorf("B finds A's products: %+v", products.Items)
		}
		b.do("GET", "/v1/orders?limit=1&cursor="+aPage.NextCursor, nil).want(t, 422, nil)
		b.do("GET", "/v1/products?limit=1&cursor="+aProducts.NextCursor, nil).want(t, 422, nil)
		// A's contact id is no contact of B's: 422 naming contact_id.
		p := b.do("POST", "/v1/orders", shopOrder("b-1", map[string]any{"email": "", "contact_id": oa.ContactID})).want(t, 422, nil).problem(t)
		if cmp.Diff([]string{"body.contact_id"}, p.locations()) != "" {
			t.Errorf("A's contact in B's order: %+v", p)
		}
		var res orderBatch
		b.do("POST", "/v1/orders/batch", map[string]any{"items": []any{shopOrder("shop-1", map[string]any{"email": "ada@a.example"})}}).want(t, 200, &res)
		ob := res.Results[0].Record
		if res.Results[0].Status != 201 || ob == nil || ob.ID == oa.ID || ob.ContactID == oa.ContactID {
			t.Fatalf("B's shop-1: %+v", res.Results[0])
		}
		var still commerce.Order
		e.a.do("GET", "/v1/orders/"+oa.ID, nil).want(t, 200, &still)
		if still.Version != 1 {
			t.Errorf("A's order changed by B's ingest: %+v", still.Meta)
		}
	})
}

// A contact's external_id is set through the contacts API, unique within
// the tenant, and finds the buyer of an order.
func TestContactExternalID(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		var c core.Contact
		e.a.do("POST", "/v1/contacts", map[string]any{"first_name": "Ada", "external_id": " cust-9 "}).want(t, 201, &c)
		if c.ExternalID != "cust-9" {
			t.Errorf("external id %q", c.ExternalID)
		}
		p := e.a.do("POST", "/v1/contacts", map[string]any{"first_name": "Bob", "external_id": "cust-9"}).want(t, 409, nil).problem(t)
		if cmp.Diff([]string{"body.external_id"}, p.locations()) != "" {
			t.Errorf("taken external id: %+v", p)
		}
		e.b.do("POST", "/v1/contacts", map[string]any{"first_name": "Bob", "external_id": "cust-9"}).want(t, 201, nil)
		var o commerce.Order
		e.a.do("POST", "/v1/orders", shopOrder("x-1", map[string]any{"email": "", "contact_external_id": "cust-9"})).want(t, 201, &o)
		if o.ContactID != c.ID {
			t.Errorf("buyer %s, want %s", o.ContactID, c.ID)
		}
	})
}

func sorted(s []string) []string { slices.Sort(s); return s }
