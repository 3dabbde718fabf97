package reports_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/core/customers"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/core/store/memstore"
)

// counted counts a store's requests and the bytes transactions write.
type counted struct {
	store.Store
	queries, gets, txs, written atomic.Int64
}

func (c *counted) Query(ctx context.Context, q store.Query) (store.Page, error) {
	c.queries.Add(1)
	return c.Store.Query(ctx, q)
}

func (c *counted) GetMany(ctx context.Context, keys []store.Key) ([]store.Item, error) {
	c.gets.Add(1)
	return c.Store.GetMany(ctx, keys)
}

func (c *counted) Transact(ctx context.Context, ws []store.Write) error {
	c.txs.Add(1)
	for _, w := range ws {
		if w.Op == store.OpPut {
			c.written.Add(int64(w.Item.Size()))
		}
	}
	return c.Store.Transact(ctx, ws)
}

// benchProfiles are n customers acquired over two years, each with up to
// six transaction days in EUR, a fifth of them with a USD day too.
func benchProfiles(n int) []customers.Profile {
	start := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	ps := make([]customers.Profile, n)
	for i := range ps {
		p := customers.Profile{ContactID: fmt.Sprintf("c%07d", i)}
		first := start.AddDate(0, 0, (i*37)%700)
		for k := range 1 + i%6 {
			d := first.AddDate(0, 0, k*(20+i%40))
			am := []customers.Amount{{Currency: "EUR", Net: int64(1000 + i%9000), Costed: int64(500 + i%500), Cost: 300}}
			if i%5 == 0 && k == 1 {
				am = append(am, customers.Amount{Currency: "USD", Net: 2500})
			}
			p.Purchases.Days = append(p.Purchases.Days, customers.Day{Date: d.Format(time.DateOnly), Orders: 1 + k%2, Amounts: am})
		}
		ps[i] = p
	}
	return ps
}

// BenchmarkRefresh builds a snapshot of 5 000 profiles in steps, beside
// its floor: reading and decoding the same profiles page by page and
// nothing else. The ratio of their times is what the rollups cost on top
// of the read every refresh must make; requests and bytes written are
// per refresh.
func BenchmarkRefresh(b *testing.B) {
	const n = 5000
	ctx := context.Background()
	setup := func(b *testing.B) (*world, *counted) {
		c := &counted{Store: memstore.New()}
		w := newWorldOn(b, c)
		w.put(b, "acme", benchProfiles(n)...)
		return w, c
	}
	b.Run("read-only", func(b *testing.B) {
		w, c := setup(b)
		b.ResetTimer()
		for range b.N {
			cursor := ""
			for {
				page, err := store.QueryMerged(ctx, w.st, store.Query{}, customers.ProfilePKs("acme"), 500, cursor)
				if err != nil {
					b.Fatal(err)
				}
				for _, it := range page.Items {
					if _, err := customers.ProfileDoc.Decode(it); err != nil {
						b.Fatal(err)
					}
				}
				if cursor = page.Next; cursor == "" {
					break
				}
			}
		}
		b.ReportMetric(float64(c.queries.Load())/float64(b.N), "queries/op")
	})
	b.Run("refresh", func(b *testing.B) {
		w, c := setup(b)
		c.queries.Store(0)
		b.ResetTimer()
		for range b.N {
			w.refresh(b, "acme")
		}
		b.StopTimer()
		b.ReportMetric(float64(c.queries.Load())/float64(b.N), "queries/op")
		b.ReportMetric(float64(c.gets.Load())/float64(b.N), "batchgets/op")
		b.ReportMetric(float64(c.txs.Load())/float64(b.N), "transactions/op")
		b.ReportMetric(float64(c.written.Load())/float64(b.N)/1024, "KB-written/op")
		b.ReportMetric(float64(w.last.Steps), "steps")
	})
}
