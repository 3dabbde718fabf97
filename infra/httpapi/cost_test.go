package httpapi_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/contacts"
	"github.com/fedele-crm/fedele/infra/dynamo"
	"github.com/fedele-crm/fedele/internal/testsupport/dynamotest"
)

// costEnv is the API of the cost report and of its budgets, on a table of
// the real DynamoDB Local: tenant acme holds 61 contacts tagged t, of which
// seed has an e-mail and scored has a score.
type costEnv struct {
	st           *dynamo.Store
	c            *client
	seed, scored core.Contact
}

func newCostEnv(tb testing.TB) *costEnv {
	st, _ := dynamotest.OpenTable(tb)
	e := newEnv(tb, st)
	ce := &costEnv{st: st, c: e.a}
	ce.c.do("POST", "/v1/contacts", map[string]any{"first_name": "Cost", "emails": []map[string]any{{"address": "cost@example.com"}}, "tags": []string{"t"}}).want(tb, 201, &ce.seed)
	for i := range 60 {
		ce.c.do("POST", "/v1/contacts", map[string]any{"first_name": fmt.Sprint("f", i), "tags": []string{"t"}}).want(tb, 201, &ce.scored)
	}
	// The score item beside the contact, as the scoring consumer writes it.
	ctx := context.Background()
	writes, err := e.app.Scorer.Rescore(ctx, "acme", ce.scored.ID)
	if err != nil || len(writes) == 0 {
		tb.Fatalf("score contact %s: %d writes, %v", ce.scored.ID, len(writes), err)
	}
	if err := st.Transact(ctx, writes); err != nil {
		tb.Fatalf("store the score of %s: %v", ce.scored.ID, err)
	}
	ce.c.do("PUT", "/v1/products-by-sku/COST-1", map[string]any{"name": "Cost", "category": "cost",
		"prices": []map[string]any{{"currency": "EUR", "amount": 1000, "cost": 400}}}).want(tb, 201, nil)
	ce.c.do("PUT", "/v1/orders-by-external-id/cost-same", costOrder(ce.seed.ID, "")).want(tb, 201, nil)
	// Warm the API-key cache, as any running server is.
	ce.c.do("GET", "/v1/contacts/"+ce.seed.ID, nil).want(tb, 200, nil)
	return ce
}

// costOp is one API operation of the report. budget, when set, is what it
// may ask of DynamoDB: per kind of request (as dynamo.Usage names them),
// the least and the most; a kind it does not name must not be asked at all.
type costOp struct {
	name   string
	do     func(tb testing.TB)
	budget map[string][2]int
}

func (ce *costEnv) ops() []costOp {
	c := ce.c
	seq := 0
	batch := make([]map[string]any, 100)
	getContact := func(tb testing.TB, id string, scored bool) {
		var got core.Contact
		c.do("GET", "/v1/contacts/"+id, nil).want(tb, 200, &got)
		if (got.Score != nil) != scored {
			tb.Fatalf("contact %s shows score %+v, want one: %v", id, got.Score, scored)
		}
	}
	read := map[string][2]int{"batchget": {1, 1}} // the contact with its score item
	return []costOp{
		{"get", func(tb testing.TB) { getContact(tb, ce.seed.ID, false) }, read},
		{"get-scored", func(tb testing.TB) { getContact(tb, ce.scored.ID, true) }, read},
		{"create", func(tb testing.TB) {
			seq++
			c.do("POST", "/v1/contacts", map[string]any{"emails": []map[string]any{{"address": fmt.Sprintf("c%d@example.com", seq)}}}).want(tb, 201, nil)
		}, map[string][2]int{"transact": {1, 1}, "get": {0, 1}}}, // the contact and its marker; the tenant's settings
		{"update", func(tb testing.TB) {
			seq++
			c.do("PATCH", "/v1/contacts/"+ce.seed.ID, fmt.Sprintf(`{"last_name":"L%d"}`, seq)).want(tb, 200, nil)
		}, map[string][2]int{"get": {1, 2}, "transact": {1, 1}}}, // the contact, and the tenant's settings
		// A list reads each of the tenant's contact shards once.
		{"list-page-50", func(tb testing.TB) { c.do("GET", "/v1/contacts?limit=50", nil).want(tb, 200, nil) },
			map[string][2]int{"query": {contacts.ContactShards, contacts.ContactShards}}},
		{"list-page-50-by-tag", func(tb testing.TB) {
			var page contactPage
			c.do("GET", "/v1/contacts?limit=50&tag=t", nil).want(tb, 200, &page)
			if len(page.Items) != 50 {
				tb.Fatalf("page of %d contacts by tag, want 50", len(page.Items))
			}
		}, map[string][2]int{"query": {1, 1}, "batchget": {1, 1}}}, // the tag's one partition of entries, then their contacts
		{"upsert-existing", func(tb testing.TB) {
			seq++
			c.do("PUT", "/v1/contacts-by-email/cost@example.com", map[string]any{"first_name": fmt.Sprint("U", seq)}).want(tb, 200, nil)
		}, nil},
		{"batch-100", func(tb testing.TB) {
			for i := range batch {
				seq++
				batch[i] = map[string]any{"emails": []map[string]any{{"address": fmt.Sprintf("b%d@example.com", seq)}}}
			}
			c.do("POST", "/v1/contacts/batch", map[string]any{"items": batch}).want(tb, http.StatusOK, nil)
		}, nil},
		// Commerce: an order ingested by external id for a known contact,
		// its lines naming a SKU of the catalogue. One batch read of the
		// external-id marker, two of the SKU's marker and product, one
		// transaction (order, marker, contact check, event).
		{"order-upsert", func(tb testing.TB) {
			seq++
			c.do("PUT", fmt.Sprintf("/v1/orders-by-external-id/cost-%d", seq), costOrder(ce.seed.ID, "")).want(tb, http.StatusCreated, nil)
		}, map[string][2]int{"batchget": {3, 3}, "transact": {1, 1}}},
		// The same order again: the marker, the product and the order are
		// read, nothing is written.
		{"order-reingest", func(tb testing.TB) {
			c.do("PUT", "/v1/orders-by-external-id/cost-same", costOrder(ce.seed.ID, "")).want(tb, http.StatusOK, nil)
		}, map[string][2]int{"batchget": {3, 3}, "get": {1, 1}}},
		// A batch of 100 new orders: the batch's markers and products in
		// three batch reads, then one transaction per order.
		{"order-batch-100", func(tb testing.TB) {
			items := make([]map[string]any, 100)
			for i := range items {
				seq++
				items[i] = costOrder(ce.seed.ID, fmt.Sprintf("cost-b-%d", seq))
			}
			c.do("POST", "/v1/orders/batch", map[string]any{"items": items}).want(tb, http.StatusOK, nil)
		}, map[string][2]int{"batchget": {3, 3}, "transact": {100, 100}}},
	}
}

// TestDynamoBudgets holds the API's hot paths to the DynamoDB requests
// they may make, so that a change adding a round trip fails here and not
// on the bill.
func TestDynamoBudgets(t *testing.T) {
	ce := newCostEnv(t)

	// A page by tag is the page by creation, as long as every contact has
	// the tag: the batch read keeps the tag entries' order.
	ids := func(query string) []string {
		var page contactPage
		ce.c.do("GET", "/v1/contacts?limit=50&"+query, nil).want(t, 200, &page)
		var out []string
		for _, c := range page.Items {
			out = append(out, c.ID)
		}
		return out
	}
	for _, sort := range []string{"sort=-created", "sort=created"} {
		if diff := cmp.Diff(ids(sort), ids(sort+"&tag=t")); diff != "" {
			t.Errorf("%s: page by tag differs from the page of every contact (-all +by tag):\n%s", sort, diff)
		}
	}

	for _, op := range ce.ops() {
		if op.budget == nil {
			continue
		}
		t.Run(op.name, func(t *testing.T) {
			for run := range 3 {
				before := ce.st.Usage()
				op.do(t)
				d := ce.st.Usage().Sub(before)
				for _, kind := range slices.Sorted(maps.Keys(d.Requests)) {
					if _, ok := op.budget[kind]; !ok {
						t.Errorf("run %d: %d %s requests, want none (%v)", run, d.Requests[kind], kind, d.Requests)
					}
				}
				for kind, b := range op.budget {
					if n := d.Requests[kind]; n < b[0] || n > b[1] {
						t.Errorf("run %d: %d %s requests, want %d to %d (%v)", run, n, kind, b[0], b[1], d.Requests)
					}
				}
			}
		})
	}
}

// BenchmarkDynamoCost is the cost report of issue #3: for each API
// operation, the DynamoDB requests it makes and the read and write capacity
// units DynamoDB reports for them, on the real DynamoDB Local.
//
//	go test ./infra/httpapi -run '^$' -bench DynamoCost -benchtime 20x
//
// TestDynamoBudgets asserts the budgets of the operations that have one.
func BenchmarkDynamoCost(b *testing.B) {
	ce := newCostEnv(b)
	for _, op := range ce.ops() {
		b.Run(op.name, func(b *testing.B) {
			before := ce.st.Usage()
			for b.Loop() {
				op.do(b)
			}
			d := ce.st.Usage().Sub(before)
			n := float64(b.N)
			b.ReportMetric(float64(d.TotalRequests())/n, "requests/op")
			b.ReportMetric(d.ReadUnits/n, "RCU/op")
			b.ReportMetric(d.WriteUnits/n, "WCU/op")
			for kind, count := range d.Requests {
				b.ReportMetric(float64(count)/n, kind+"/op")
			}
		})
	}
}

// costOrder is an order of contact with one line of the catalogue's COST-1.
func costOrder(contact, externalID string) map[string]any {
	o := map[string]any{"contact_id": contact, "currency": "EUR", "placed_at": "2026-11-01T10:00:00Z",
		"lines": []map[string]any{{"sku": "COST-1", "quantity": 2, "unit_price": 1000, "tax": 200}}}
	if externalID != "" {
		o["external_id"] = externalID
	}
	return o
}
