package dynamo_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/internal/testsupport/dynamotest"
)

// readCounter counts the items the store queries of a merged page read.
type readCounter struct {
	store.Store
	mu    sync.Mutex
	items int
}

func (r *readCounter) Query(ctx context.Context, q store.Query) (store.Page, error) {
	p, err := r.Store.Query(ctx, q)
	r.mu.Lock()
	r.items += len(p.Items)
	r.mu.Unlock()
	return p, err
}

// BenchmarkShardedCollection prices a sharded collection on DynamoDB Local
// at N = 1, 8 and 32 partitions holding the same 3 000 contact-sized items
// (about 700 bytes, with a gsi1 entry sharded like the table): a list page
// of 50, newest first, paging on through the collection and starting over
// at its end (store queries,
// items read, read units, cursor size, time), and a create (one put,
// whatever N). Each N reports its figures also as ratios to N = 1
// ("x1-..."), which the N = 1 run of the same invocation measures first:
//
//	go test ./infra/dynamo -run '^$' -bench ShardedCollection -benchtime 200x
func BenchmarkShardedCollection(b *testing.B) {
	s, _ := dynamotest.OpenTable(b)
	ctx := context.Background()
	const items, limit = 3000, 50
	doc := []byte(`{"first_name":"Ada","last_name":"Lovelace","emails":[{"address":"ada@example.com","primary":true}],"tags":["vip","imported"],"lifecycle_stage":"lead","custom":{"note":"` + strings.Repeat("x", 420) + `"}}`)
	entropy := ulid.Monotonic(rand.NewChaCha8([32]byte{7}), 0)
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	newItem := func(base string, n int) store.Item {
		at = at.Add(time.Millisecond)
		id := ulid.MustNew(ulid.Timestamp(at), entropy).String()
		pk := store.ShardPK(base, id, n)
		return store.Item{
			Key:       store.Key{PK: pk, SK: id},
			IndexKeys: map[store.Index]store.Key{store.GSI1: {PK: pk, SK: at.Format(time.RFC3339Nano) + "#" + id}},
			Version:   1,
			Data:      doc,
		}
	}
	ns := []int{1, 8, 32}
	for _, n := range ns {
		base := fmt.Sprintf("T#bench#contact%d", n)
		var batch []store.Write
		for i := range items {
			batch = append(batch, store.Write{Op: store.OpPut, Item: newItem(base, n)})
			if len(batch) == store.MaxTxItems || i == items-1 {
				if err := s.Transact(ctx, batch); err != nil {
					b.Fatalf("seed: %v", err)
				}
				batch = batch[:0]
			}
		}
	}
	type figures struct{ ns, queries, read, rcu, wcu float64 }
	baseline := map[string]figures{}
	report := func(b *testing.B, kind string, f figures, n int) {
		b.ReportMetric(f.queries, "queries/op")
		b.ReportMetric(f.read, "items-read/op")
		b.ReportMetric(f.rcu, "RCU/op")
		b.ReportMetric(f.wcu, "WCU/op")
		if n == 1 {
			baseline[kind] = f
			return
		}
		one, ok := baseline[kind]
		if !ok {
			return
		}
		ratio := func(a, b float64) float64 {
			if b == 0 {
				return 0
			}
			return a / b
		}
		b.ReportMetric(ratio(f.ns, one.ns), "x1-time")
		b.ReportMetric(ratio(f.queries, one.queries), "x1-queries")
		b.ReportMetric(ratio(f.rcu, one.rcu), "x1-RCU")
		b.ReportMetric(ratio(f.wcu, one.wcu), "x1-WCU")
	}
	for _, n := range ns {
		base := fmt.Sprintf("T#bench#contact%d", n)
		pks := store.ShardPKs(base, n)
		b.Run(fmt.Sprintf("N=%d/list%d", n, limit), func(b *testing.B) {
			rc := &readCounter{Store: s}
			queries, cursorBytes, cursors := 0, 0, 0
			before := s.Usage()
			cursor := ""
			b.ResetTimer()
			for b.Loop() {
				page, err := store.QueryMerged(ctx, rc, store.Query{Desc: true}, pks, limit, cursor)
				if err != nil {
					b.Fatal(err)
				}
				if len(page.Items) == 0 && page.Next != "" {
					b.Fatal("empty page with a cursor")
				}
				queries += page.Queries
				if cursor = page.Next; cursor != "" {
					cursorBytes += len(cursor)
					cursors++
				}
			}
			b.StopTimer()
			u := s.Usage().Sub(before)
			ops := float64(b.N)
			report(b, "list", figures{
				ns:      float64(b.Elapsed().Nanoseconds()) / ops,
				queries: float64(queries) / ops,
				read:    float64(rc.items) / ops,
				rcu:     u.ReadUnits / ops,
			}, n)
			if cursors > 0 {
				b.ReportMetric(float64(cursorBytes)/float64(cursors), "cursor-bytes")
			}
		})
		b.Run(fmt.Sprintf("N=%d/create", n), func(b *testing.B) {
			before := s.Usage()
			b.ResetTimer()
			for b.Loop() {
				if err := s.Put(ctx, newItem(base, n), store.Cond{MustNotExist: true}); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			u := s.Usage().Sub(before)
			ops := float64(b.N)
			report(b, "create", figures{
				ns:      float64(b.Elapsed().Nanoseconds()) / ops,
				queries: float64(u.Requests["query"]) / ops,
				wcu:     u.WriteUnits / ops,
			}, n)
			b.ReportMetric(float64(u.Requests["write"])/ops, "puts/op")
		})
	}
}
