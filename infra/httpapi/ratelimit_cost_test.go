package httpapi_test

import (
	"testing"
	"time"

	"github.com/fedele-crm/fedele/app"
	"github.com/fedele-crm/fedele/core/ratelimit"
	"github.com/fedele-crm/fedele/internal/testsupport/dynamotest"
)

// BenchmarkRateLimitCost is what the shared buckets add to each request on
// the real DynamoDB Local: the requests and capacity units of the leases,
// per API request, at the default limits (a lease of 5 key tokens, 10
// tenant tokens) — beside the same GET without limits.
//
//	go test ./infra/httpapi -run '^$' -bench RateLimitCost -benchtime 400x
func BenchmarkRateLimitCost(b *testing.B) {
	for _, shared := range []bool{false, true} {
		name := map[bool]string{false: "unlimited", true: "shared"}[shared]
		b.Run(name, func(b *testing.B) {
			st, _ := dynamotest.OpenTable(b)
			e := newEnvWith(b, st, func(e *env, p *app.Ports) {
				if shared {
					p.Limiter = ratelimit.NewShared(e.store, e.now)
				}
			})
			e.a.do("GET", "/v1/contacts/01ARZ3NDEKTSV4RRFFQ69G5FAV", nil).want(b, 404, nil) // warm the key and limits caches
			before := st.Usage()
			for b.Loop() {
				// 40 requests a second, under the default key rate of 50: every one is allowed.
				e.advance(25 * time.Millisecond)
				e.a.do("GET", "/v1/contacts/01ARZ3NDEKTSV4RRFFQ69G5FAV", nil).want(b, 404, nil)
			}
			d := st.Usage().Sub(before)
			n := float64(b.N)
			b.ReportMetric(float64(d.TotalRequests())/n, "requests/op")
			b.ReportMetric(d.ReadUnits/n, "RCU/op")
			b.ReportMetric(d.WriteUnits/n, "WCU/op")
		})
	}
}
