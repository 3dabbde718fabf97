// Package storetest is the conformance suite of the storage port: every
// engine (embedded on bbolt, DynamoDB on DynamoDB Local) must pass Run
// unchanged. It tests only what core/store promises, nothing an engine does
// on its own, and must never import an engine.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/fedele-crm/fedele/core/store"
)

// Run runs the suite; open returns a fresh, empty store and registers its
// own cleanup.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		test func(*testing.T, store.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"Conditions", testConditions},
		{"Transactions", testTransactions},
		{"Limits", testLimits},
		{"GetMany", testGetMany},
		{"GetManyBigItems", testGetManyBigItems},
		{"QueryOrderAndRanges", testQueryOrderAndRanges},
		{"Paging", testPaging},
		{"Indexes", testIndexes},
		{"Cursors", testCursors},
		{"ConcurrentVersionedWrites", testConcurrentVersionedWrites},
		{"ConcurrentUniqueMarkers", testConcurrentUniqueMarkers},
		{"MergedOrderAndPaging", testMergedOrderAndPaging},
		{"MergedEmpty", testMergedEmpty},
		{"MergedInserts", testMergedInserts},
		{"MergedCursors", testMergedCursors},
		{"MergedLimits", testMergedLimits},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.test(t, open(t))
		})
	}
}

var ctx = context.Background()

// itemOpts compares items as the port promises them: TTL to the second,
// empty and nil maps and slices alike.
var itemOpts = cmp.Options{
	cmpopts.EquateEmpty(),
	cmp.Transformer("unixSeconds", func(t time.Time) int64 {
		if t.IsZero() {
			return 0
		}
		return t.Unix()
	}),
}

func mustPut(t *testing.T, s store.Store, it store.Item) {
	t.Helper()
	if err := s.Put(ctx, it, store.Cond{}); err != nil {
		t.Fatalf("put %s: %v", it.Key, err)
	}
}

func item(pk, sk string, version int64) store.Item {
	return store.Item{Key: store.Key{PK: pk, SK: sk}, Version: version, Data: []byte(`{"sk":"` + sk + `"}`)}
}

func get(t *testing.T, s store.Store, k store.Key) (store.Item, bool) {
	t.Helper()
	it, err := s.Get(ctx, k)
	if errors.Is(err, store.ErrNotFound) {
		return it, false
	}
	if err != nil {
		t.Fatalf("get %s: %v", k, err)
	}
	return it, true
}

func testRoundTrip(t *testing.T, s store.Store) {
	want := store.Item{
		Key:       store.Key{PK: "T#a#x", SK: "01"},
		IndexKeys: map[store.Index]store.Key{store.GSI1: {PK: "T#a#g1", SK: "2026"}, store.GSI4: {PK: "T#a#g4", SK: "z"}},
		Version:   7,
		ExpiresAt: time.Unix(1_900_000_000, 0),
		Data:      []byte("{\"ünïcode\":\"\\u0000 and bytes\"}"),
	}
	mustPut(t, s, want)
	got, ok := get(t, s, want.Key)
	if !ok {
		t.Fatal("item not found after put")
	}
	if diff := cmp.Diff(want, got, itemOpts); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if _, err := s.Get(ctx, store.Key{PK: "T#a#x", SK: "02"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("get of an absent key: %v, want ErrNotFound", err)
	}
	// Replacing drops what the new item does not have.
	repl := item("T#a#x", "01", 8)
	mustPut(t, s, repl)
	got, _ = get(t, s, repl.Key)
	if diff := cmp.Diff(repl, got, itemOpts); diff != "" {
		t.Errorf("after replace (-want +got):\n%s", diff)
	}
	if err := s.Delete(ctx, repl.Key, store.Cond{}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, ok := get(t, s, repl.Key); ok {
		t.Error("item still there after delete")
	}
	if err := s.Delete(ctx, repl.Key, store.Cond{}); err != nil {
		t.Errorf("delete of an absent key without condition: %v", err)
	}
}

func testConditions(t *testing.T, s store.Store) {
	k := store.Key{PK: "T#a#c", SK: "1"}
	mustPut(t, s, item(k.PK, k.SK, 3))
	absent := store.Key{PK: "T#a#c", SK: "2"}
	cases := []struct {
		name string
		do   func() error
		fail bool
	}{
		{"put must-not-exist on existing", func() error { return s.Put(ctx, item(k.PK, k.SK, 4), store.Cond{MustNotExist: true}) }, true},
		{"put must-exist on absent", func() error { return s.Put(ctx, item(absent.PK, absent.SK, 1), store.Cond{MustExist: true}) }, true},
		{"put wrong version", func() error { return s.Put(ctx, item(k.PK, k.SK, 4), store.Cond{Version: 2}) }, true},
		{"put version on absent", func() error { return s.Put(ctx, item(absent.PK, absent.SK, 1), store.Cond{Version: 1}) }, true},
		{"delete must-exist on absent", func() error { return s.Delete(ctx, absent, store.Cond{MustExist: true}) }, true},
		{"delete wrong version", func() error { return s.Delete(ctx, k, store.Cond{Version: 4}) }, true},
		{"put right version", func() error { return s.Put(ctx, item(k.PK, k.SK, 4), store.Cond{Version: 3}) }, false},
		{"put must-exist on existing", func() error { return s.Put(ctx, item(k.PK, k.SK, 5), store.Cond{MustExist: true, Version: 4}) }, false},
		{"put must-not-exist on absent", func() error { return s.Put(ctx, item(absent.PK, absent.SK, 1), store.Cond{MustNotExist: true}) }, false},
		{"delete right version", func() error { return s.Delete(ctx, absent, store.Cond{Version: 1}) }, false},
	}
	for _, tc := range cases {
		before, _ := get(t, s, k)
		err := tc.do()
		if tc.fail {
			if !errors.Is(err, store.ErrConditionFailed) {
				t.Errorf("%s: %v, want ErrConditionFailed", tc.name, err)
			}
			after, _ := get(t, s, k)
			if diff := cmp.Diff(before, after, itemOpts); diff != "" {
				t.Errorf("%s changed the item (-before +after):\n%s", tc.name, diff)
			}
		} else if err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if it, _ := get(t, s, k); it.Version != 5 {
		t.Errorf("version %d, want 5", it.Version)
	}
}

func testTransactions(t *testing.T, s store.Store) {
	mustPut(t, s, item("T#a#t", "keep", 1))
	mustPut(t, s, item("T#a#t", "gone", 1))
	writes := []store.Write{
		{Op: store.OpPut, Item: item("T#a#t", "new", 1), Cond: store.Cond{MustNotExist: true}},
		{Op: store.OpDelete, Key: store.Key{PK: "T#a#t", SK: "gone"}},
		{Op: store.OpPut, Item: item("T#a#t", "keep", 2), Cond: store.Cond{Version: 1}},
		{Op: store.OpCheck, Key: store.Key{PK: "T#a#t", SK: "absent"}, Cond: store.Cond{MustExist: true}},
	}
	err := s.Transact(ctx, writes)
	var tc *store.TxCancelledError
	if !errors.As(err, &tc) || tc.Index != 3 || tc.Key != (store.Key{PK: "T#a#t", SK: "absent"}) || !errors.Is(err, store.ErrConditionFailed) {
		t.Fatalf("transaction with a failing check: %v, want TxCancelledError at write 3", err)
	}
	// Nothing of it was applied.
	if _, ok := get(t, s, store.Key{PK: "T#a#t", SK: "new"}); ok {
		t.Error("a put of a cancelled transaction was applied")
	}
	if _, ok := get(t, s, store.Key{PK: "T#a#t", SK: "gone"}); !ok {
		t.Error("a delete of a cancelled transaction was applied")
	}
	if it, _ := get(t, s, store.Key{PK: "T#a#t", SK: "keep"}); it.Version != 1 {
		t.Error("a versioned put of a cancelled transaction was applied")
	}

	writes[3] = store.Write{Op: store.OpCheck, Key: store.Key{PK: "T#a#t", SK: "keep"}, Cond: store.Cond{MustExist: true}}
	writes[2].Key = store.Key{}
	writes = slices.Delete(writes, 2, 3) // checking and writing one key in one transaction is refused
	if err := s.Transact(ctx, writes); err != nil {
		t.Fatalf("transaction whose conditions hold: %v", err)
	}
	if _, ok := get(t, s, store.Key{PK: "T#a#t", SK: "new"}); !ok {
		t.Error("put not applied")
	}
	if _, ok := get(t, s, store.Key{PK: "T#a#t", SK: "gone"}); ok {
		t.Error("delete not applied")
	}

	twice := []store.Write{
		{Op: store.OpPut, Item: item("T#a#t", "x", 1)},
		{Op: store.OpCheck, Key: store.Key{PK: "T#a#t", SK: "x"}},
	}
	if err := s.Transact(ctx, twice); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("one key twice: %v, want ErrInvalid", err)
	}
	if err := s.Transact(ctx, nil); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("empty transaction: %v, want ErrInvalid", err)
	}
	var many []store.Write
	for i := range store.MaxTxItems + 1 {
		many = append(many, store.Write{Op: store.OpPut, Item: item("T#a#many", fmt.Sprintf("%03d", i), 1)})
	}
	if err := s.Transact(ctx, many); !errors.Is(err, store.ErrTxTooLarge) {
		t.Errorf("%d writes: %v, want ErrTxTooLarge", len(many), err)
	}
	if err := s.Transact(ctx, many[:store.MaxTxItems]); err != nil {
		t.Errorf("%d writes: %v", store.MaxTxItems, err)
	}
}

func testLimits(t *testing.T, s store.Store) {
	big := item("T#a#big", "1", 1)
	big.Data = make([]byte, store.MaxItemBytes)
	if err := s.Put(ctx, big, store.Cond{}); !errors.Is(err, store.ErrItemTooLarge) {
		t.Errorf("put of %d bytes: %v, want ErrItemTooLarge", big.Size(), err)
	}
	if err := s.Transact(ctx, []store.Write{{Op: store.OpPut, Item: big}}); !errors.Is(err, store.ErrItemTooLarge) {
		t.Errorf("transaction with %d bytes: %v, want ErrItemTooLarge", big.Size(), err)
	}
	if _, ok := get(t, s, big.Key); ok {
		t.Error("oversized item was stored")
	}
	fits := item("T#a#big", "2", 1)
	fits.Data = make([]byte, store.MaxItemBytes-fits.Size())
	if err := s.Put(ctx, fits, store.Cond{}); err != nil {
		t.Errorf("put of exactly %d bytes: %v", fits.Size(), err)
	}
	for _, k := range []store.Key{{PK: "", SK: "1"}, {PK: "T#a", SK: ""}, {PK: "T#a\x00b", SK: "1"}, {PK: "T#a", SK: strings.Repeat("s", 1025)}} {
		if err := s.Put(ctx, store.Item{Key: k}, store.Cond{}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("put at %q: %v, want ErrInvalid", k, err)
		}
		if _, err := s.Get(ctx, k); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("get at %q: %v, want ErrInvalid", k, err)
		}
	}
	bad := item("T#a#idx", "1", 1)
	bad.IndexKeys = map[store.Index]store.Key{"gsi9": {PK: "x", SK: "y"}}
	if err := s.Put(ctx, bad, store.Cond{}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("put with an unknown index: %v, want ErrInvalid", err)
	}
	for _, q := range []store.Query{
		{PK: ""},
		{PK: "T#a", Prefix: "a", From: "a"},
		{PK: "T#a", From: "b", To: "a"},
		{PK: "T#a", Index: store.GSI1, Consistent: true},
		{PK: "T#a", Index: "gsi9"},
		{PK: "T#a", Limit: -1},
	} {
		if _, err := s.Query(ctx, q); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("query %+v: %v, want ErrInvalid", q, err)
		}
	}
}

func testGetMany(t *testing.T, s store.Store) {
	a := item("T#a#m", "a", 1)
	a.IndexKeys = map[store.Index]store.Key{store.GSI2: {PK: "T#a#m-ix", SK: "a"}}
	b := item("T#a#m", "b", 3)
	other := item("T#a#m2", "a", 1) // same sort key, another partition
	expired := item("T#a#m", "expired", 1)
	expired.ExpiresAt = time.Now().Add(-time.Hour)
	for _, it := range []store.Item{a, b, other, expired} {
		mustPut(t, s, it)
	}
	missing := store.Key{PK: "T#a#m", SK: "missing"}
	cases := []struct {
		name string
		keys []store.Key
		want []store.Item
	}{
		{"in the order asked", []store.Key{other.Key, b.Key, a.Key}, []store.Item{other, b, a}},
		{"missing keys left out", []store.Key{missing, a.Key, {PK: "T#a#absent", SK: "a"}, b.Key, {PK: "T#a#m", SK: "c"}}, []store.Item{a, b}},
		{"only missing keys", []store.Key{missing}, nil},
		{"expired like Get", []store.Key{expired.Key, a.Key}, []store.Item{expired, a}},
		{"no keys", nil, nil},
	}
	for _, tc := range cases {
		got, err := s.GetMany(ctx, tc.keys)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got, itemOpts); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
		// Every key answers what Get answers for it.
		for _, k := range tc.keys {
			one, found := get(t, s, k)
			i := slices.IndexFunc(got, func(it store.Item) bool { return it.Key == k })
			if found != (i >= 0) {
				t.Errorf("%s: Get of %s found %v, GetMany %v", tc.name, k, found, i >= 0)
			} else if found {
				if diff := cmp.Diff(one, got[i], itemOpts); diff != "" {
					t.Errorf("%s: %s differs from Get (-get +getmany):\n%s", tc.name, k, diff)
				}
			}
		}
	}

	// The limit counts keys asked, found or not.
	var keys []store.Key
	for i := range store.MaxBatchGetKeys + 1 {
		keys = append(keys, store.Key{PK: "T#a#m", SK: fmt.Sprintf("k%03d", i)})
	}
	keys[7] = a.Key
	if _, err := s.GetMany(ctx, keys); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("%d keys: %v, want ErrInvalid", len(keys), err)
	}
	if got, err := s.GetMany(ctx, keys[:store.MaxBatchGetKeys]); err != nil || len(got) != 1 || got[0].Key != a.Key {
		t.Errorf("%d keys, one stored: %d items, %v", store.MaxBatchGetKeys, len(got), err)
	}
	for _, bad := range []struct {
		name string
		keys []store.Key
	}{
		{"one key twice", []store.Key{a.Key, b.Key, a.Key}},
		{"a missing key twice", []store.Key{missing, missing}},
		{"empty sort key", []store.Key{a.Key, {PK: "T#a#m", SK: ""}}},
		{"NUL in a key", []store.Key{{PK: "T#a\x00m", SK: "a"}}},
	} {
		if _, err := s.GetMany(ctx, bad.keys); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", bad.name, err)
		}
	}
}

// testGetManyBigItems reads more than DynamoDB's 16 MB response limit in
// one GetMany: the engine must hand back every item all the same.
func testGetManyBigItems(t *testing.T, s store.Store) {
	const n = 50 // × ~400 KB ≈ 20 MB
	var keys []store.Key
	want := map[store.Key]byte{}
	for i := range n {
		it := item("T#a#bigmany", fmt.Sprintf("%02d", i), 1)
		it.Data = make([]byte, store.MaxItemBytes-it.Size()-16)
		for j := range it.Data {
			it.Data[j] = byte(i)
		}
		mustPut(t, s, it)
		keys = append(keys, it.Key)
		want[it.Key] = byte(i)
	}
	slices.Reverse(keys) // not the order they were stored in
	keys = append(keys[:10], append([]store.Key{{PK: "T#a#bigmany", SK: "missing"}}, keys[10:]...)...)
	got, err := s.GetMany(ctx, keys)
	if err != nil {
		t.Fatalf("GetMany of %d big items: %v", n, err)
	}
	var wantKeys, gotKeys []store.Key
	for _, k := range keys {
		if _, ok := want[k]; ok {
			wantKeys = append(wantKeys, k)
		}
	}
	for _, it := range got {
		gotKeys = append(gotKeys, it.Key)
		b, ok := want[it.Key]
		if !ok || len(it.Data) < 1000 || it.Data[0] != b || it.Data[len(it.Data)-1] != b {
			t.Errorf("item %s: %d bytes, not what was stored", it.Key, len(it.Data))
		}
	}
	if diff := cmp.Diff(wantKeys, gotKeys); diff != "" {
		t.Errorf("keys of the big items (-want +got):\n%s", diff)
	}
}

// sortKeys are stored in a scrambled order; byte order is what queries return.
var sortKeys = []string{"b", "a", "ab", "b#2", "b#10", "c", "Z", "é", "a#1"}

func sortKeysOf(items []store.Item) []string {
	var sks []string
	for _, it := range items {
		sks = append(sks, it.SK)
	}
	return sks
}

func testQueryOrderAndRanges(t *testing.T, s store.Store) {
	for _, sk := range sortKeys {
		mustPut(t, s, item("T#a#q", sk, 1))
	}
	mustPut(t, s, item("T#a#q2", "a", 1)) // a neighbouring partition
	mustPut(t, s, item("T#a#", "a", 1))   // a partition that is a prefix of it
	sorted := slices.Sorted(slices.Values(sortKeys))
	reversed := slices.Clone(sorted)
	slices.Reverse(reversed)
	cases := []struct {
		name string
		q    store.Query
		want []string
	}{
		{"all ascending", store.Query{}, sorted},
		{"all descending", store.Query{Desc: true}, reversed},
		{"prefix", store.Query{Prefix: "b"}, []string{"b", "b#10", "b#2"}},
		{"prefix descending", store.Query{Prefix: "a", Desc: true}, []string{"ab", "a#1", "a"}},
		{"prefix matching nothing", store.Query{Prefix: "q"}, nil},
		{"from", store.Query{From: "b#2"}, []string{"b#2", "c", "é"}},
		{"to", store.Query{To: "a#1"}, []string{"Z", "a", "a#1"}},
		{"between", store.Query{From: "a", To: "b"}, []string{"a", "a#1", "ab", "b"}},
		{"between descending", store.Query{From: "a", To: "b", Desc: true}, []string{"b", "ab", "a#1", "a"}},
		{"from descending", store.Query{From: "c", Desc: true}, []string{"é", "c"}},
		{"limit", store.Query{Limit: 2}, sorted[:2]},
		{"limit descending", store.Query{Limit: 3, Desc: true}, reversed[:3]},
		{"consistent", store.Query{Consistent: true, Prefix: "c"}, []string{"c"}},
	}
	for _, tc := range cases {
		q := tc.q
		q.PK = "T#a#q"
		page, err := s.Query(ctx, q)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if diff := cmp.Diff(tc.want, sortKeysOf(page.Items), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
		for _, it := range page.Items {
			if it.PK != "T#a#q" {
				t.Errorf("%s returned %s of another partition", tc.name, it.Key)
			}
		}
	}
}

// readAll pages through q, failing on a page larger than the limit.
func readAll(t *testing.T, s store.Store, q store.Query) []store.Item {
	t.Helper()
	var all []store.Item
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("more than 1000 pages")
		}
		page, err := s.Query(ctx, q)
		if err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		if q.Limit > 0 && len(page.Items) > q.Limit {
			t.Fatalf("page of %d items with limit %d", len(page.Items), q.Limit)
		}
		all = append(all, page.Items...)
		if page.Next == "" {
			return all
		}
		q.Cursor = page.Next
	}
}

func testPaging(t *testing.T, s store.Store) {
	var want []string
	for i := range 53 {
		sk := fmt.Sprintf("%03d", i)
		want = append(want, sk)
		mustPut(t, s, item("T#a#p", sk, 1))
	}
	for _, limit := range []int{1, 7, 53, 100} {
		for _, desc := range []bool{false, true} {
			exp := slices.Clone(want)
			if desc {
				slices.Reverse(exp)
			}
			got := sortKeysOf(readAll(t, s, store.Query{PK: "T#a#p", Limit: limit, Desc: desc}))
			if diff := cmp.Diff(exp, got); diff != "" {
				t.Errorf("limit %d desc %v (-want +got):\n%s", limit, desc, diff)
			}
		}
	}
	got := sortKeysOf(readAll(t, s, store.Query{PK: "T#a#p", Limit: 4, From: "010", To: "020"}))
	if diff := cmp.Diff(want[10:21], got); diff != "" {
		t.Errorf("paged range (-want +got):\n%s", diff)
	}
}

func testIndexes(t *testing.T, s store.Store) {
	for _, ix := range store.Indexes {
		t.Run(string(ix), func(t *testing.T) {
			pk := "T#a#" + string(ix)
			put := func(sk, isk string) {
				it := item(pk, sk, 1)
				if isk != "" {
					it.IndexKeys = map[store.Index]store.Key{ix: {PK: "T#a#by-" + string(ix), SK: isk}}
				}
				mustPut(t, s, it)
			}
			put("1", "c")
			put("2", "a")
			put("3", "b")
			put("4", "")  // not in the index (sparse)
			put("5", "b") // same index key as 3
			q := store.Query{Index: ix, PK: "T#a#by-" + string(ix)}
			indexKeys := func(items []store.Item) []string {
				var out []string
				for _, it := range items {
					out = append(out, it.IndexKeys[ix].SK+"="+it.SK)
				}
				return out
			}
			got := indexKeys(readAll(t, s, q))
			if len(got) != 4 || got[0] != "a=2" || got[3] != "c=1" || !slices.Contains(got, "b=3") || !slices.Contains(got, "b=5") {
				t.Errorf("index ascending: %v, want a=2, b=3 and b=5 in any order, c=1", got)
			}
			q.Desc = true
			if got := indexKeys(readAll(t, s, store.Query{Index: ix, PK: q.PK, Desc: true, Limit: 1})); len(got) != 4 || got[0] != "c=1" || got[3] != "a=2" {
				t.Errorf("index descending, one per page: %v", got)
			}
			if got := indexKeys(readAll(t, s, store.Query{Index: ix, PK: q.PK, Prefix: "b"})); len(got) != 2 {
				t.Errorf("index prefix b: %v", got)
			}
			// Items from the index are whole items.
			page, _ := s.Query(ctx, store.Query{Index: ix, PK: q.PK, Limit: 1})
			if len(page.Items) != 1 || string(page.Items[0].Data) != `{"sk":"2"}` || page.Items[0].Version != 1 {
				t.Errorf("index item: %+v", page.Items)
			}
			// Re-putting with another index key moves the item; deleting removes it.
			put("2", "d")
			if err := s.Delete(ctx, store.Key{PK: pk, SK: "1"}, store.Cond{}); err != nil {
				t.Fatal(err)
			}
			put("3", "") // leaves the index
			got = indexKeys(readAll(t, s, store.Query{Index: ix, PK: q.PK}))
			if diff := cmp.Diff([]string{"b=5", "d=2"}, got); diff != "" {
				t.Errorf("after moves (-want +got):\n%s", diff)
			}
		})
	}
}

func testCursors(t *testing.T, s store.Store) {
	for i := range 6 {
		sk := fmt.Sprint(i)
		it := item("T#a#cur", sk, 1)
		it.IndexKeys = map[store.Index]store.Key{store.GSI1: {PK: "T#a#cur-ix", SK: sk}}
		mustPut(t, s, it)
		mustPut(t, s, item("T#b#cur", sk, 1))
	}
	page, err := s.Query(ctx, store.Query{PK: "T#a#cur", Limit: 2})
	if err != nil || page.Next == "" {
		t.Fatalf("first page: %v, next %q", err, page.Next)
	}
	ixPage, err := s.Query(ctx, store.Query{Index: store.GSI1, PK: "T#a#cur-ix", Limit: 2})
	if err != nil || ixPage.Next == "" {
		t.Fatalf("first index page: %v, next %q", err, ixPage.Next)
	}
	bad := []struct {
		name string
		q    store.Query
	}{
		{"other partition (tenant)", store.Query{PK: "T#b#cur", Cursor: page.Next}},
		{"other direction", store.Query{PK: "T#a#cur", Desc: true, Cursor: page.Next}},
		{"table cursor on an index", store.Query{Index: store.GSI1, PK: "T#a#cur-ix", Cursor: page.Next}},
		{"index cursor on the table", store.Query{PK: "T#a#cur", Cursor: ixPage.Next}},
		{"index cursor on another index", store.Query{Index: store.GSI2, PK: "T#a#cur-ix", Cursor: ixPage.Next}},
		{"outside the range", store.Query{PK: "T#a#cur", From: "3", Cursor: page.Next}},
		{"garbage", store.Query{PK: "T#a#cur", Cursor: "not a cursor"}},
		{"truncated", store.Query{PK: "T#a#cur", Cursor: page.Next[:len(page.Next)/2]}},
	}
	for _, tc := range bad {
		if _, err := s.Query(ctx, tc.q); !errors.Is(err, store.ErrBadCursor) {
			t.Errorf("%s: %v, want ErrBadCursor", tc.name, err)
		}
	}
	// The item a cursor points at may be deleted before the next page.
	last := page.Items[len(page.Items)-1]
	if err := s.Delete(ctx, last.Key, store.Cond{}); err != nil {
		t.Fatal(err)
	}
	rest := readAll(t, s, store.Query{PK: "T#a#cur", Limit: 2, Cursor: page.Next})
	if diff := cmp.Diff([]string{"2", "3", "4", "5"}, sortKeysOf(rest)); diff != "" {
		t.Errorf("after deleting the cursor's item (-want +got):\n%s", diff)
	}
}

func testConcurrentVersionedWrites(t *testing.T, s store.Store) {
	k := store.Key{PK: "T#a#race", SK: "1"}
	mustPut(t, s, item(k.PK, k.SK, 1))
	const writers = 20
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			it := item(k.PK, k.SK, 2)
			it.Data = fmt.Appendf(nil, `{"writer":%d}`, i)
			errs[i] = s.Put(ctx, it, store.Cond{Version: 1})
		})
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, store.ErrConditionFailed):
			t.Errorf("writer %d: %v", i, err)
		}
	}
	if won != 1 {
		t.Errorf("%d writers won, want exactly 1", won)
	}
}

func testConcurrentUniqueMarkers(t *testing.T, s store.Store) {
	const writers = 20
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			errs[i] = s.Transact(ctx, []store.Write{
				{Op: store.OpPut, Item: item("T#a#rec", fmt.Sprint(i), 1), Cond: store.Cond{MustNotExist: true}},
				{Op: store.OpPut, Item: item("T#a#email#x@example.com", "#", 1), Cond: store.Cond{MustNotExist: true}},
			})
		})
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		var tc *store.TxCancelledError
		switch {
		case err == nil:
			won++
		case !errors.As(err, &tc) || tc.Index != 1:
			t.Errorf("writer %d: %v, want a cancellation at the marker", i, err)
		}
	}
	if won != 1 {
		t.Errorf("%d writers took the marker, want exactly 1", won)
	}
	if recs := readAll(t, s, store.Query{PK: "T#a#rec"}); len(recs) != 1 {
		t.Errorf("%d records stored, want 1: the losers' records must not be", len(recs))
	}
}
