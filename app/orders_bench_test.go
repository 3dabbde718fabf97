package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/fedele-crm/fedele/app"
	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/commerce"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/infra/embedded"
)

// ingestClients is how many callers ingest at once, each a batch of 100
// at a time, as an import job or a shop sync with a few connections would.
const ingestClients = 16

// benchOrder is order i of a shop's history: one of 1 000 buyers, two
// lines, one of them a SKU of the catalogue.
func benchOrder(i int, buyers []string) commerce.OrderFields {
	return commerce.OrderFields{ExternalID: fmt.Sprintf("shop-%08d", i), ContactID: buyers[i%len(buyers)], Currency: "EUR", Channel: "web",
		PlacedAt: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute),
		Lines: []commerce.Line{{SKU: fmt.Sprintf("SKU-%d", i%50), Quantity: 1 + int64(i%3), UnitPrice: 2500, Tax: 500},
			{Description: "Shipping", Category: "shipping", Quantity: 1, UnitPrice: 490}}}
}

// ingestFixture is an app on a fresh embedded file with a catalogue of 50
// products and 1 000 buyers.
func ingestFixture(tb testing.TB) (*app.App, *embedded.Store, []string) {
	tb.Helper()
	st, err := embedded.Open(filepath.Join(tb.TempDir(), "fedele.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	a, err := app.New(app.Ports{Store: st, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	if _, err := a.Tenants.Create(ctx, "acme", "Acme", "US"); err != nil {
		tb.Fatal(err)
	}
	var products []commerce.ProductFields
	cost := int64(1000)
	for i := range 50 {
		products = append(products, commerce.ProductFields{SKU: fmt.Sprintf("SKU-%d", i), Name: fmt.Sprint("Product ", i), Category: "eyewear",
			Prices: []commerce.Price{{Currency: "EUR", Amount: 2500, Cost: &cost}}})
	}
	for _, r := range a.Products.UpsertMany(ctx, "acme", products) {
		if r.Err != nil {
			tb.Fatal(r.Err)
		}
	}
	// Ten callers at once, so that their creates share commits.
	buyers := make([]string, 1000)
	var wg sync.WaitGroup
	for c := range 10 {
		wg.Go(func() {
			for j := range 100 {
				i := c*100 + j
				ct, err := a.Contacts.Create(ctx, "acme", core.ContactFields{FirstName: fmt.Sprint("Buyer ", i)})
				if err != nil {
					tb.Error(err)
					return
				}
				buyers[i] = ct.ID
			}
		})
	}
	wg.Wait()
	if tb.Failed() {
		tb.FailNow()
	}
	return a, st, buyers
}

// ingest stores orders [0, n) through Orders.UpsertMany, ingestClients
// batches of 100 at a time, and returns how many were created.
func ingest(tb testing.TB, a *app.App, buyers []string, n int) int64 {
	tb.Helper()
	var next, created atomic.Int64
	var wg sync.WaitGroup
	for range ingestClients {
		wg.Go(func() {
			for {
				from := int(next.Add(100)) - 100
				if from >= n {
					return
				}
				batch := make([]commerce.OrderFields, 0, 100)
				for i := from; i < min(from+100, n); i++ {
					batch = append(batch, benchOrder(i, buyers))
				}
				for _, r := range a.Orders.UpsertMany(context.Background(), "acme", batch) {
					if r.Err != nil {
						tb.Error(r.Err)
						return
					}
					if r.Created {
						created.Add(1)
					}
				}
			}
		})
	}
	wg.Wait()
	return created.Load()
}

// Ingest on the embedded engine, concurrent batches: every order stored
// once, listed once; ingesting them all again creates nothing and writes
// no event (the benchmark's correctness, at a small N).
func TestOrdersIngestConcurrently(t *testing.T) {
	t.Parallel()
	const n = 1_000
	a, st, buyers := ingestFixture(t)
	if got := ingest(t, a, buyers, n); got != n {
		t.Fatalf("%d orders created, want %d", got, n)
	}
	count := func() int {
		seen, cursor := 0, ""
		for {
			page, next, err := a.Orders.List(context.Background(), "acme", commerce.OrderFilter{}, 200, cursor)
			if err != nil {
				t.Fatal(err)
			}
			seen += len(page)
			if next == "" {
				return seen
			}
			cursor = next
		}
	}
	if got := count(); got != n {
		t.Errorf("%d orders listed, want %d", got, n)
	}
	before := eventCount(t, st)
	if got := ingest(t, a, buyers, n); got != 0 {
		t.Errorf("ingesting again created %d", got)
	}
	if after := eventCount(t, st); after != before {
		t.Errorf("ingesting again wrote %d events", after-before)
	}
}

func eventCount(t *testing.T, st store.Store) int {
	t.Helper()
	n, cursor := 0, ""
	for {
		page, err := store.QueryMerged(context.Background(), st, store.Query{}, events.EventsPKs("acme"), store.MaxPageItems, cursor)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Items)
		if page.Next == "" {
			return n
		}
		cursor = page.Next
	}
}

// BenchmarkOrdersIngest is one run, side by side, of 1 000 000 orders on
// the embedded engine and of a floor: bare bbolt puts of the same order
// documents on another file, committed with bbolt's own batching from the
// same number of callers.
//
//	go test ./app -run '^$' -bench OrdersIngest -benchtime 1x -timeout 60m
//
// It reports orders/s and the peak heap of each, and their ratio.
func BenchmarkOrdersIngest(b *testing.B) {
	const n = 1_000_000
	for range b.N {
		a, _, buyers := ingestFixture(b)
		runtime.GC()
		peak := watchHeap()
		start := time.Now()
		if got := ingest(b, a, buyers, n); got != n {
			b.Fatalf("%d orders created, want %d", got, n)
		}
		rate, heap := float64(n)/time.Since(start).Seconds(), peak()

		// The floor: the documents the ingest stored, put as they are.
		docs := make([][]byte, 0, 1000)
		for i := range cap(docs) {
			o := commerce.Order{OrderFields: benchOrder(i, buyers)}
			doc, err := json.Marshal(o)
			if err != nil {
				b.Fatal(err)
			}
			docs = append(docs, doc)
		}
		db, err := bolt.Open(filepath.Join(b.TempDir(), "floor.db"), 0o600, nil)
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		peak = watchHeap()
		start = time.Now()
		var next atomic.Int64
		var wg sync.WaitGroup
		for range ingestClients * commerce.BatchWorkers {
			wg.Go(func() {
				for {
					i := int(next.Add(1)) - 1
					if i >= n {
						return
					}
					err := db.Batch(func(tx *bolt.Tx) error {
						bk, err := tx.CreateBucketIfNotExists([]byte("orders"))
						if err != nil {
							return err
						}
						return bk.Put(fmt.Appendf(nil, "shop-%08d", i), docs[i%len(docs)])
					})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		floorRate, floorHeap := float64(n)/time.Since(start).Seconds(), peak()
		db.Close()

		b.ReportMetric(rate, "orders/s")
		b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MB")
		b.ReportMetric(floorRate, "floor-puts/s")
		b.ReportMetric(float64(floorHeap)/(1<<20), "floor-peak-heap-MB")
		b.ReportMetric(rate/floorRate, "ratio-of-floor")
	}
}

// watchHeap samples the heap in use until the returned function is
// called, which answers the largest sample.
func watchHeap() func() uint64 {
	var peak atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	sample := func() {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		if m.HeapInuse > peak.Load() {
			peak.Store(m.HeapInuse)
		}
	}
	go func() {
		defer close(stopped)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				sample()
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-stopped
		sample()
		return peak.Load()
	}
}
