package httpapi_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/internal/testsupport/dynamotest"
)

// BenchmarkDynamoCost is the cost report of issue #3: for each API
// operation, the DynamoDB requests it makes and the read and write capacity
// units DynamoDB reports for them, on the real DynamoDB Local.
//
//	go test ./infra/httpapi -run '^$' -bench DynamoCost -benchtime 20x
//
// Targets: a GET is one read request; a create with its e-mail marker is one
// transaction (beside one read of the tenant's settings).
func BenchmarkDynamoCost(b *testing.B) {
	st, _ := dynamotest.OpenTable(b)
	e := newEnv(b, st)
	c := e.a
	var seed core.Contact
	c.do("POST", "/v1/contacts", map[string]any{"first_name": "Cost", "emails": []map[string]any{{"address": "cost@example.com"}}, "tags": []string{"t"}}).want(b, 201, &seed)
	for i := range 60 {
		c.do("POST", "/v1/contacts", map[string]any{"first_name": fmt.Sprint("f", i), "tags": []string{"t"}}).want(b, 201, nil)
	}
	// Warm the API-key cache, as any running server is.
	c.do("GET", "/v1/contacts/"+seed.ID, nil).want(b, 200, nil)

	seq := 0
	batch := make([]map[string]any, 100)
	ops := []struct {
		name string
		do   func(b *testing.B)
	}{
		{"get", func(b *testing.B) { c.do("GET", "/v1/contacts/"+seed.ID, nil).want(b, 200, nil) }},
		{"create", func(b *testing.B) {
			seq++
			c.do("POST", "/v1/contacts", map[string]any{"emails": []map[string]any{{"address": fmt.Sprintf("c%d@example.com", seq)}}}).want(b, 201, nil)
		}},
		{"update", func(b *testing.B) {
			seq++
			c.do("PATCH", "/v1/contacts/"+seed.ID, fmt.Sprintf(`{"last_name":"L%d"}`, seq)).want(b, 200, nil)
		}},
		{"list-page-50", func(b *testing.B) { c.do("GET", "/v1/contacts?limit=50", nil).want(b, 200, nil) }},
		{"list-page-50-by-tag", func(b *testing.B) { c.do("GET", "/v1/contacts?limit=50&tag=t", nil).want(b, 200, nil) }},
		{"upsert-existing", func(b *testing.B) {
			seq++
			c.do("PUT", "/v1/contacts/by-email/cost@example.com", map[string]any{"first_name": fmt.Sprint("U", seq)}).want(b, 200, nil)
		}},
		{"batch-100", func(b *testing.B) {
			for i := range batch {
				seq++
				batch[i] = map[string]any{"emails": []map[string]any{{"address": fmt.Sprintf("b%d@example.com", seq)}}}
			}
			c.do("POST", "/v1/contacts/batch", map[string]any{"items": batch}).want(b, http.StatusOK, nil)
		}},
	}
	for _, op := range ops {
		b.Run(op.name, func(b *testing.B) {
			before := st.Usage()
			for b.Loop() {
				op.do(b)
			}
			d := st.Usage().Sub(before)
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
