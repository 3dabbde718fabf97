package app_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/fedele-crm/fedele/core/messaging"
	"github.com/fedele-crm/fedele/core/messaging/messagingtest"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/internal/testsupport/enginetest"
)

// BenchmarkDeliveryRequest: Request throughput with every policy check on
// (consent, address, suppression, a cross-channel cap, quiet hours) over
// FEDELE_BENCH_CONTACTS contacts (default 100 000) on the embedded engine,
// beside the bare transactional write of the same message item and its
// event. Run: go test ./app -run XXX -bench DeliveryRequest -benchtime 20000x
// Setup (the contacts) runs only under -bench.
func BenchmarkDeliveryRequest(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("FEDELE_BENCH_CONTACTS")); err == nil && v > 0 {
		n = v
	}
	st := enginetest.Engines["embedded"](b)
	r := messagingtest.NewRig(b, st)
	r.SetPolicy(b, "acme", messaging.Policy{Caps: []messaging.Cap{{Channel: "*", Max: 100, Window: "168h"}},
		QuietHours: map[string]messaging.QuietHours{"*": {Start: "22:00", End: "06:00"}}})
	ids := make([]string, n)
	for i := range ids {
		ids[i] = r.Contact(b, "acme", fmt.Sprintf("c%d@example.com", i), "").ID
	}
	ctx := context.Background()
	b.Run("policy", func(b *testing.B) {
		i := 0
		for b.Loop() {
			out, err := r.Delivery.Request(ctx, "acme", messaging.Request{ContactID: ids[i%n], Channel: messaging.Email, Template: "t",
				CampaignID: "bench", Step: strconv.Itoa(i / n)})
			if err != nil || out.Message.Status != messaging.StatusRequested {
				b.Fatal(err, out.Message.Status)
			}
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "messages/s")
	})
	b.Run("bare-write", func(b *testing.B) {
		i := 0
		for b.Loop() {
			id := fmt.Sprintf("01KBARE%019d", i)
			data := []byte(`{"id":"` + id + `","contact_id":"` + ids[i%n] + `","channel":"email","template":"t","status":"requested"}`)
			err := st.Transact(ctx, []store.Write{
				{Op: store.OpPut, Cond: store.Cond{MustNotExist: true}, Item: store.Item{Key: messaging.MessageKey("acme", id), Version: 1, Data: data}},
				{Op: store.OpPut, Cond: store.Cond{MustNotExist: true}, Item: store.Item{Key: store.Tenant("acme").Key(id, "bare-event"), Version: 1, Data: data}},
			})
			if err != nil {
				b.Fatal(err)
			}
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "messages/s")
	})
}
