package memstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/core/store/memstore"
	"github.com/fedele-crm/fedele/core/store/storetest"
)

var ctx = context.Background()

func open(t testing.TB) *memstore.Store {
	s := memstore.New()
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t) })
}

// Neither side of a call can change the other's bytes or index map: a
// domain test that mutates what it read must not corrupt the store, which
// would hide bugs an engine's serialisation would show.
func TestCopiesNotAliases(t *testing.T) {
	s := open(t)
	k := store.Key{PK: "T#a#x", SK: "1"}
	in := store.Item{Key: k, Version: 1, Data: []byte("abc"), IndexKeys: map[store.Index]store.Key{store.GSI1: {PK: "T#a#g", SK: "1"}}}
	if err := s.Put(ctx, in, store.Cond{}); err != nil {
		t.Fatal(err)
	}
	in.Data[0] = 'X'
	in.IndexKeys[store.GSI2] = store.Key{PK: "T#a#g2", SK: "1"}

	got, err := s.Get(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	got.Data[1] = 'Y'
	got.IndexKeys[store.GSI3] = store.Key{PK: "T#a#g3", SK: "1"}

	page, err := s.Query(ctx, store.Query{Index: store.GSI1, PK: "T#a#g"})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("query: %+v, %v", page.Items, err)
	}
	page.Items[0].Data[2] = 'Z'

	again, _ := s.Get(ctx, k)
	want := store.Item{Key: k, Version: 1, Data: []byte("abc"), IndexKeys: map[store.Index]store.Key{store.GSI1: {PK: "T#a#g", SK: "1"}}}
	if diff := cmp.Diff(want, again); diff != "" {
		t.Errorf("stored item changed through an alias (-want +got):\n%s", diff)
	}
	for _, ix := range []store.Index{store.GSI2, store.GSI3} {
		if page, _ := s.Query(ctx, store.Query{Index: ix, PK: "T#a#" + string(ix)}); len(page.Items) != 0 {
			t.Errorf("%s holds %d items added through an alias", ix, len(page.Items))
		}
	}
}

// TTL as the engines keep it: whole seconds, expired items still read until
// a sweep deletes them (from the indexes too), renewed items kept.
func TestTTL(t *testing.T) {
	s := open(t)
	now := time.Unix(2_000_000_000, 0)
	put := func(sk string, exp time.Time) {
		it := store.Item{Key: store.Key{PK: "T#a", SK: sk}, ExpiresAt: exp, IndexKeys: map[store.Index]store.Key{store.GSI1: {PK: "T#a#i", SK: sk}}}
		if err := s.Put(ctx, it, store.Cond{}); err != nil {
			t.Fatal(err)
		}
	}
	put("past", now.Add(-time.Hour))
	put("now", now.Add(400*time.Millisecond)) // kept as now: the sub-second part is dropped
	put("future", now.Add(time.Hour))
	put("never", time.Time{})

	got, err := s.Get(ctx, store.Key{PK: "T#a", SK: "now"})
	if err != nil {
		t.Fatal(err)
	}
	if !got.ExpiresAt.Equal(now) || got.ExpiresAt.Location() != time.UTC {
		t.Errorf("expires at %v, want %v in UTC", got.ExpiresAt, now.UTC())
	}
	if _, err := s.Get(ctx, store.Key{PK: "T#a", SK: "past"}); err != nil {
		t.Errorf("an expired item before the sweep: %v, want it still read", err)
	}

	n, err := s.SweepExpired(now)
	if err != nil || n != 2 {
		t.Fatalf("swept %d, %v; want 2", n, err)
	}
	for _, ix := range []store.Index{store.Table, store.GSI1} {
		pk := "T#a"
		if ix != store.Table {
			pk = "T#a#i"
		}
		page, err := s.Query(ctx, store.Query{Index: ix, PK: pk})
		if err != nil {
			t.Fatal(err)
		}
		var left []string
		for _, it := range page.Items {
			left = append(left, it.SK)
		}
		if diff := cmp.Diff([]string{"future", "never"}, left); diff != "" {
			t.Errorf("%q after the sweep (-want +got):\n%s", ix, diff)
		}
	}
}

func TestClosedAndCancelled(t *testing.T) {
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	s := open(t)
	k := store.Key{PK: "T#a", SK: "1"}
	if err := s.Put(cancelled, store.Item{Key: k}, store.Cond{}); !errors.Is(err, context.Canceled) {
		t.Errorf("put with a cancelled context: %v, want context.Canceled", err)
	}
	if _, err := s.Get(ctx, k); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after a cancelled put: %v, want ErrNotFound", err)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	calls := map[string]func() error{
		"get":      func() error { _, err := s.Get(ctx, k); return err },
		"put":      func() error { return s.Put(ctx, store.Item{Key: k}, store.Cond{}) },
		"delete":   func() error { return s.Delete(ctx, k, store.Cond{}) },
		"transact": func() error { return s.Transact(ctx, []store.Write{{Op: store.OpCheck, Key: k}}) },
		"query":    func() error { _, err := s.Query(ctx, store.Query{PK: "T#a"}); return err },
		"sweep":    func() error { _, err := s.SweepExpired(time.Now()); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s after close: %v, want ErrUnavailable", name, err)
		}
	}
}

// BenchmarkQueryPage reads a 20-item page from the middle of partitions of
// growing size: with binary search the time per page stays flat instead of
// growing with the partition. (Keys go in ascending so that the set-up,
// which costs a memmove per insert into a sorted slice, stays short.)
func BenchmarkQueryPage(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s := open(b)
			for i := range n {
				it := store.Item{Key: store.Key{PK: "T#a#p", SK: fmt.Sprintf("%06d", i)}, Version: 1, Data: []byte("{}"),
					IndexKeys: map[store.Index]store.Key{store.GSI1: {PK: "T#a#ix", SK: fmt.Sprintf("%06d", i)}}}
				if err := s.Put(ctx, it, store.Cond{}); err != nil {
					b.Fatal(err)
				}
			}
			from := fmt.Sprintf("%06d", n/2)
			for b.Loop() {
				for _, q := range []store.Query{
					{PK: "T#a#p", From: from, Limit: 20},
					{Index: store.GSI1, PK: "T#a#ix", To: from, Desc: true, Limit: 20},
				} {
					page, err := s.Query(ctx, q)
					if err != nil || len(page.Items) != 20 || page.Next == "" {
						b.Fatalf("page: %d items, next %q, %v", len(page.Items), page.Next, err)
					}
				}
			}
		})
	}
}
