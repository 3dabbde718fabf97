package storetest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/fedele-crm/fedele/core/store"
)

// Merged queries (store.QueryMerged) run above the port, but every engine
// must give them what they rely on: exclusive store cursors that survive
// range changes, inclusive bounds, and the same order on ties.

// countingStore counts the queries a merged page costs and the largest
// limit any of them asked for.
type countingStore struct {
	store.Store
	mu       sync.Mutex
	queries  int
	maxLimit int
}

func (c *countingStore) Query(ctx context.Context, q store.Query) (store.Page, error) {
	c.mu.Lock()
	c.queries++
	c.maxLimit = max(c.maxLimit, q.Limit)
	c.mu.Unlock()
	return c.Store.Query(ctx, q)
}

// mergedItem is what the model knows of a stored item: its sort key on the
// queried index, its partition's position in pks, and its table key.
type mergedItem struct {
	sk    string
	shard int
	key   store.Key
}

// mergedSet is one sharded collection on the table and on gsi1.
type mergedSet struct {
	n          int
	pks, ipks  []string
	table, ix  []mergedItem
	nextSerial int
}

// seedMerged stores a collection over n partitions: sort keys in three
// prefix groups, some table sort keys repeated in another partition, index
// sort keys shared by four items (ties within and across partitions), and,
// with n = 8, a last partition left empty.
func seedMerged(t *testing.T, s store.Store, name string, n, items int) *mergedSet {
	set := &mergedSet{n: n, pks: store.ShardPKs("T#a#"+name, n), ipks: store.ShardPKs("T#a#"+name+"-ix", n)}
	used := n
	if n == 8 {
		used = 7
	}
	for i := range items {
		shard := i * 5 % used
		set.put(t, s, shard, fmt.Sprintf("%c#%03d", 'a'+i%3, i), fmt.Sprintf("%c#%02d", 'a'+i%3, i/4))
		if i%10 == 0 && n > 1 { // the same table sort key in the next partition
			set.put(t, s, (shard+1)%used, fmt.Sprintf("%c#%03d", 'a'+i%3, i), fmt.Sprintf("%c#%02d", 'a'+i%3, i/4))
		}
	}
	// Neighbours that a merged query must not read: another tenant, and a
	// partition whose key extends a shard's.
	mustPut(t, s, item(store.ShardPKs("T#b#"+name, n)[0], "a#000", 1))
	mustPut(t, s, item(set.pks[0]+"0", "a#000", 1))
	return set
}

func (set *mergedSet) put(t *testing.T, s store.Store, shard int, sk, isk string) {
	t.Helper()
	set.nextSerial++
	it := item(set.pks[shard], sk, int64(set.nextSerial))
	it.IndexKeys = map[store.Index]store.Key{store.GSI1: {PK: set.ipks[shard], SK: isk}}
	mustPut(t, s, it)
	set.table = append(set.table, mergedItem{sk: sk, shard: shard, key: it.Key})
	set.ix = append(set.ix, mergedItem{sk: isk, shard: shard, key: it.Key})
}

func (set *mergedSet) model(ix store.Index) ([]string, []mergedItem) {
	if ix == store.Table {
		return set.pks, set.table
	}
	return set.ipks, set.ix
}

// compareMerged is the merged order: sort key, then partition.
func compareMerged(desc bool) func(a, b mergedItem) int {
	return func(a, b mergedItem) int {
		c := cmp.Or(strings.Compare(a.sk, b.sk), cmp.Compare(a.shard, b.shard))
		if desc {
			return -c
		}
		return c
	}
}

func matches(q store.Query, sk string) bool {
	return (q.Prefix == "" || strings.HasPrefix(sk, q.Prefix)) && (q.From == "" || sk >= q.From) && (q.To == "" || sk <= q.To)
}

// expectMerged is what a merged query of q must return from items, in order.
func expectMerged(q store.Query, items []mergedItem) []mergedItem {
	var want []mergedItem
	for _, it := range items {
		if matches(q, it.sk) {
			want = append(want, it)
		}
	}
	slices.SortStableFunc(want, compareMerged(q.Desc))
	return want
}

// asMerged reads back what a merged query returned, in the model's terms.
func asMerged(t *testing.T, ix store.Index, pks []string, items []store.Item) []mergedItem {
	t.Helper()
	var out []mergedItem
	for _, it := range items {
		pk, sk := it.PK, it.SK
		if ix != store.Table {
			pk, sk = it.IndexKeys[ix].PK, it.IndexKeys[ix].SK
		}
		shard := slices.Index(pks, pk)
		if shard < 0 {
			t.Fatalf("item %s from partition %q, not one of %v", it.Key, pk, pks)
		}
		out = append(out, mergedItem{sk: sk, shard: shard, key: it.Key})
	}
	return out
}

// checkMergedOrder compares got with want: the same (sort key, partition)
// sequence and the same items, each once. Within one partition items with
// equal sort keys come in the engine's order, which the port leaves open.
func checkMergedOrder(t *testing.T, what string, want, got []mergedItem) {
	t.Helper()
	seq := func(items []mergedItem) []string {
		var out []string
		for _, it := range items {
			out = append(out, fmt.Sprintf("%s@%d", it.sk, it.shard))
		}
		return out
	}
	if diff := gocmp.Diff(seq(want), seq(got), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("%s: order (-want +got):\n%s", what, diff)
		return
	}
	keys := func(items []mergedItem) []string {
		var out []string
		for _, it := range items {
			out = append(out, it.key.String())
		}
		slices.Sort(out)
		return out
	}
	if diff := gocmp.Diff(keys(want), keys(got), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("%s: items (-want +got):\n%s", what, diff)
	}
}

// readMerged pages through a merged query, checking every page's size and
// query count; after is called after each page with its last item.
func readMerged(t *testing.T, s store.Store, q store.Query, pks []string, limit int, after func(page int, last store.Item)) []store.Item {
	t.Helper()
	var all []store.Item
	cursor := ""
	for page := 0; ; page++ {
		if page > 500 {
			t.Fatal("more than 500 pages")
		}
		cs := &countingStore{Store: s}
		p, err := store.QueryMerged(ctx, cs, q, pks, limit, cursor)
		if err != nil {
			t.Fatalf("page %d of %+v over %d partitions, limit %d: %v", page, q, len(pks), limit, err)
		}
		if len(p.Items) > limit {
			t.Fatalf("page of %d items with limit %d", len(p.Items), limit)
		}
		if p.Queries != cs.queries || p.Queries < len(pks) {
			t.Fatalf("page reports %d queries, made %d over %d partitions", p.Queries, cs.queries, len(pks))
		}
		if cs.maxLimit > limit+1 {
			t.Fatalf("a partition query asked for %d items on a page of %d", cs.maxLimit, limit)
		}
		all = append(all, p.Items...)
		if p.Next == "" {
			return all
		}
		if len(p.Items) == 0 {
			t.Fatalf("empty page %d with a cursor", page)
		}
		if after != nil {
			after(page, p.Items[len(p.Items)-1])
		}
		cursor = p.Next
	}
}

func testMergedOrderAndPaging(t *testing.T, s store.Store) {
	for _, n := range []int{1, 3, 8} {
		set := seedMerged(t, s, fmt.Sprintf("m%d", n), n, 30)
		for _, ix := range []store.Index{store.Table, store.GSI1} {
			pks, items := set.model(ix)
			from, to := "a#010", "b#019"
			if ix != store.Table {
				from, to = "a#03", "b#05"
			}
			for _, cond := range []store.Query{{}, {Prefix: "b#"}, {From: from, To: to}, {From: from}, {To: to}} {
				for _, desc := range []bool{false, true} {
					for _, limit := range []int{1, 7, 50} {
						q := cond
						q.Index, q.Desc = ix, desc
						what := fmt.Sprintf("%d partitions, %+v, limit %d", n, q, limit)
						got := asMerged(t, ix, pks, readMerged(t, s, q, pks, limit, nil))
						checkMergedOrder(t, what, expectMerged(q, items), got)
					}
				}
			}
		}
	}
	// A consistent read of the table merges the same way.
	set := seedMerged(t, s, "consistent", 3, 0)
	set.put(t, s, 2, "x", "x")
	got := readMerged(t, s, store.Query{Consistent: true}, set.pks, 5, nil)
	if len(got) != 1 || got[0].SK != "x" {
		t.Errorf("consistent merged read: %v", sortKeysOf(got))
	}
}

func testMergedEmpty(t *testing.T, s store.Store) {
	for _, n := range []int{1, 8} {
		pks := store.ShardPKs(fmt.Sprintf("T#a#none%d", n), n)
		for _, ix := range []store.Index{store.Table, store.GSI2} {
			p, err := store.QueryMerged(ctx, s, store.Query{Index: ix, Desc: true}, pks, 10, "")
			if err != nil || len(p.Items) != 0 || p.Next != "" || p.Queries != n {
				t.Errorf("%d empty partitions on %q: %+v, %v; want no items, no cursor, %d queries", n, ix, p, err, n)
			}
		}
	}
}

// testMergedInserts inserts items between pages: those that sort after the
// cursor must come, in order; those before it must not (nor twice).
func testMergedInserts(t *testing.T, s store.Store) {
	for _, n := range []int{3, 8} {
		for _, ix := range []store.Index{store.Table, store.GSI1} {
			for _, desc := range []bool{false, true} {
				set := seedMerged(t, s, fmt.Sprintf("ins-%d-%s-%v", n, ix, desc), n, 20)
				pks, _ := set.model(ix)
				q := store.Query{Index: ix, Desc: desc}
				var inserted []mergedItem // the model's items added between pages
				after := func(page int, last store.Item) {
					if page != 0 {
						return
					}
					lk := asMerged(t, ix, pks, []store.Item{last})[0]
					before := len(set.table)
					for shard := range n {
						set.put(t, s, shard, fmt.Sprintf("z#%d", shard), fmt.Sprintf("z#%d", shard)) // newest: at the end ascending
						set.put(t, s, shard, "0#"+fmt.Sprint(shard), "0#"+fmt.Sprint(shard))         // oldest: at the end descending
						set.put(t, s, shard, lk.sk+"~", lk.sk+"~")                                   // just after the cursor's item ascending
					}
					if ix == store.Table {
						inserted = append(inserted, set.table[before:]...)
					} else {
						inserted = append(inserted, set.ix[before:]...)
					}
				}
				got := asMerged(t, ix, pks, readMerged(t, s, q, pks, 4, after))
				if len(got) < 4 {
					t.Fatalf("%d items", len(got))
				}
				first := got[3] // the cursor's item after page 0
				_, all := set.model(ix)
				var want []mergedItem
				for _, it := range expectMerged(q, all) {
					isNew := slices.ContainsFunc(inserted, func(n mergedItem) bool { return n.key == it.key })
					if !isNew || compareMerged(desc)(it, first) > 0 {
						want = append(want, it)
					}
				}
				checkMergedOrder(t, fmt.Sprintf("%d partitions on %q desc %v, with inserts", n, ix, desc), want, got)
			}
		}
	}
}

func testMergedCursors(t *testing.T, s store.Store) {
	set := seedMerged(t, s, "cur", 3, 12)
	other := seedMerged(t, s, "cur8", 8, 12)
	q := store.Query{Prefix: "a#"}
	page, err := store.QueryMerged(ctx, s, q, set.pks, 2, "")
	if err != nil || page.Next == "" {
		t.Fatalf("first page: %v, next %q", err, page.Next)
	}
	ixq := store.Query{Index: store.GSI1}
	ixPage, err := store.QueryMerged(ctx, s, ixq, set.ipks, 2, "")
	if err != nil || ixPage.Next == "" {
		t.Fatalf("first index page: %v, next %q", err, ixPage.Next)
	}
	plain, err := s.Query(ctx, store.Query{PK: set.pks[0], Limit: 1})
	if err != nil || plain.Next == "" {
		t.Fatalf("plain query: %v, next %q", err, plain.Next)
	}
	reordered := []string{set.pks[1], set.pks[0], set.pks[2]}
	bad := []struct {
		name   string
		q      store.Query
		pks    []string
		cursor string
	}{
		{"another tenant's partitions", q, store.ShardPKs("T#b#cur", 3), page.Next},
		{"partitions reordered", q, reordered, page.Next},
		{"fewer partitions", q, set.pks[:2], page.Next},
		{"more partitions", q, other.pks, page.Next},
		{"other direction", store.Query{Prefix: "a#", Desc: true}, set.pks, page.Next},
		{"other prefix", store.Query{Prefix: "b#"}, set.pks, page.Next},
		{"a range instead of the prefix", store.Query{From: "a#"}, set.pks, page.Next},
		{"table cursor on an index", store.Query{Index: store.GSI1, Prefix: "a#"}, set.pks, page.Next},
		{"index cursor on the table", store.Query{}, set.ipks, ixPage.Next},
		{"index cursor on another index", store.Query{Index: store.GSI2}, set.ipks, ixPage.Next},
		{"index cursor on the table's partitions", ixq, set.pks, ixPage.Next},
		{"a store cursor", q, set.pks, plain.Next},
		{"garbage", q, set.pks, "not a cursor"},
		{"truncated", q, set.pks, page.Next[:len(page.Next)/2]},
	}
	for _, tc := range bad {
		if _, err := store.QueryMerged(ctx, s, tc.q, tc.pks, 2, tc.cursor); !errors.Is(err, store.ErrBadCursor) {
			t.Errorf("%s: %v, want ErrBadCursor", tc.name, err)
		}
	}
	// The item a cursor points at may be deleted before the next page.
	last := page.Items[len(page.Items)-1]
	if err := s.Delete(ctx, last.Key, store.Cond{}); err != nil {
		t.Fatal(err)
	}
	p2, err := store.QueryMerged(ctx, s, q, set.pks, 50, page.Next)
	if err != nil {
		t.Fatalf("after deleting the cursor's item: %v", err)
	}
	at := asMerged(t, store.Table, set.pks, []store.Item{last})[0]
	var want []mergedItem
	for _, it := range expectMerged(q, set.table) {
		if compareMerged(false)(it, at) > 0 {
			want = append(want, it)
		}
	}
	checkMergedOrder(t, "after deleting the cursor's item", want, asMerged(t, store.Table, set.pks, p2.Items))
}

func testMergedLimits(t *testing.T, s store.Store) {
	pks := store.ShardPKs("T#a#lim", 3)
	for i := range 5 {
		mustPut(t, s, item(pks[i%3], fmt.Sprint(i), 1))
	}
	many := store.ShardPKs("T#a#lim", store.MaxMergedPartitions+1)
	cases := []struct {
		name  string
		q     store.Query
		pks   []string
		limit int
	}{
		{"limit 0", store.Query{}, pks, 0},
		{"negative limit", store.Query{}, pks, -1},
		{"limit over the page maximum", store.Query{}, pks, store.MaxPageItems + 1},
		{"no partitions", store.Query{}, nil, 5},
		{"too many partitions", store.Query{}, many, 5},
		{"a partition twice", store.Query{}, []string{pks[0], pks[1], pks[0]}, 5},
		{"an empty partition key", store.Query{}, []string{pks[0], ""}, 5},
		{"PK in the query", store.Query{PK: pks[0]}, pks, 5},
		{"Limit in the query", store.Query{Limit: 5}, pks, 5},
		{"Cursor in the query", store.Query{Cursor: "x"}, pks, 5},
		{"prefix and range", store.Query{Prefix: "1", From: "1"}, pks, 5},
		{"consistent index read", store.Query{Index: store.GSI1, Consistent: true}, pks, 5},
		{"unknown index", store.Query{Index: "gsi9"}, pks, 5},
	}
	for _, tc := range cases {
		if _, err := store.QueryMerged(ctx, s, tc.q, tc.pks, tc.limit, ""); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", tc.name, err)
		}
	}
	for _, limit := range []int{1, store.MaxPageItems} {
		p, err := store.QueryMerged(ctx, s, store.Query{}, pks, limit, "")
		if err != nil || len(p.Items) != min(limit, 5) {
			t.Errorf("limit %d: %d items, %v", limit, len(p.Items), err)
		}
	}
	all, err := store.QueryMerged(ctx, s, store.Query{}, store.ShardPKs("T#a#lim", store.MaxMergedPartitions), 10, "")
	if err != nil || len(all.Items) != 5 || all.Queries != store.MaxMergedPartitions {
		t.Errorf("%d partitions: %+v, %v", store.MaxMergedPartitions, all, err)
	}
}
