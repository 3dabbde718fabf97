package embedded_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/core/store/storetest"
	"github.com/fedele-crm/fedele/infra/embedded"
)

func open(t testing.TB, path string) *embedded.Store {
	t.Helper()
	s, err := embedded.Open(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "fedele.db"))
	})
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fedele.db")
	s := open(t, path)
	it := store.Item{Key: store.Key{PK: "T#a", SK: "1"}, IndexKeys: map[store.Index]store.Key{store.GSI2: {PK: "T#a#o", SK: "1"}}, Version: 3, Data: []byte("x")}
	if err := s.Put(context.Background(), it, store.Cond{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	s = open(t, path)
	page, err := s.Query(context.Background(), store.Query{Index: store.GSI2, PK: "T#a#o"})
	if err != nil || len(page.Items) != 1 || page.Items[0].Version != 3 || string(page.Items[0].Data) != "x" {
		t.Fatalf("after reopen: %+v, %v", page.Items, err)
	}
}

func TestSecondOpenFailsClearly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fedele.db")
	open(t, path)
	_, err := embedded.Open(path)
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second open: %v, want an in-use error", err)
	}
}

func TestSweepExpired(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "fedele.db"))
	ctx := context.Background()
	now := time.Unix(2_000_000_000, 0)
	put := func(sk string, exp time.Time) {
		it := store.Item{Key: store.Key{PK: "T#a", SK: sk}, ExpiresAt: exp, IndexKeys: map[store.Index]store.Key{store.GSI1: {PK: "T#a#i", SK: sk}}}
		if err := s.Put(ctx, it, store.Cond{}); err != nil {
			t.Fatal(err)
		}
	}
	put("past", now.Add(-time.Hour))
	put("now", now)
	put("future", now.Add(time.Hour))
	put("never", time.Time{})
	n, err := s.SweepExpired(now)
	if err != nil || n != 2 {
		t.Fatalf("swept %d, %v; want 2", n, err)
	}
	page, _ := s.Query(ctx, store.Query{Index: store.GSI1, PK: "T#a#i"})
	var left []string
	for _, it := range page.Items {
		left = append(left, it.SK)
	}
	if strings.Join(left, ",") != "future,never" {
		t.Errorf("left after sweep: %v", left)
	}
}

// BenchmarkTransact runs transactions shaped like a contact create (the
// contact with three index entries, an e-mail marker, a tag entry, the
// event with two) from 1, 8 and 64 writers: the store alone, without the
// HTTP stack, and how many creates share a commit (commits/op).
//
//	go test ./infra/embedded -run '^$' -bench Transact
func BenchmarkTransact(b *testing.B) {
	for _, writers := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			s := open(b, filepath.Join(b.TempDir(), "fedele.db"))
			ctx := context.Background()
			doc := []byte(strings.Repeat("x", 600))
			var seq atomic.Int64
			var wg sync.WaitGroup
			before := s.Commits()
			b.ResetTimer()
			for range writers {
				wg.Go(func() {
					for {
						i := seq.Add(1)
						if i > int64(b.N) {
							return
						}
						id := fmt.Sprintf("%016d", i)
						sh := fmt.Sprint(i % 8)
						ws := []store.Write{
							{Op: store.OpPut, Cond: store.Cond{MustNotExist: true}, Item: store.Item{Key: store.Key{PK: "T#a#contact#" + sh, SK: id}, Version: 1, Data: doc,
								IndexKeys: map[store.Index]store.Key{store.GSI1: {PK: "T#a#contact#" + sh, SK: "t#" + id}, store.GSI4: {PK: "T#a#contact-stage#lead#" + sh, SK: id}}}},
							{Op: store.OpPut, Cond: store.Cond{MustNotExist: true}, Item: store.Item{Key: store.Key{PK: "T#a#contact-email#" + id, SK: "#"}, Version: 1}},
							{Op: store.OpPut, Item: store.Item{Key: store.Key{PK: "T#a#contact-tag#bench", SK: id}, Version: 1}},
							{Op: store.OpPut, Cond: store.Cond{MustNotExist: true}, Item: store.Item{Key: store.Key{PK: "T#a#event#" + fmt.Sprint((i/3)%8), SK: id}, Version: 1, Data: doc,
								IndexKeys: map[store.Index]store.Key{store.GSI1: {PK: "OUTBOX#pending#" + fmt.Sprint((i/5)%8), SK: id}, store.GSI2: {PK: "T#a#timeline#contact#" + id, SK: id}}}},
						}
						if err := s.Transact(ctx, ws); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
			b.ReportMetric(float64(s.Commits()-before)/float64(b.N), "commits/op")
		})
	}
}
