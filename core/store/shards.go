package store

// Sharded collections: one logical partition spread over N partition keys,
// so that a tenant's writes are not capped by what one DynamoDB partition
// takes (1 000 write units a second). An item's shard comes from its id, so
// a Get by id still costs one read; a list reads every shard and merges.
// Sharding lives here, above the port, so that both engines run the same
// code and the conformance suite proves it on each.

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// MaxMergedPartitions bounds the partitions one merged query reads: each
// costs a store query per page.
const MaxMergedPartitions = 64

// maxParallel bounds the shard queries of one page that are in flight at once.
const maxParallel = 16

// ShardOf is the shard, in [0, n), of the item with this id: the 32-bit
// FNV-1a hash of the id's bytes, finished with murmur3's 32-bit finaliser
// (fmix32), scaled to n by its high bits (hash*n >> 32). It must never change: stored items would be looked for in
// the wrong partition. Scaling by the high bits (rather than hash % n) makes
// doubling n split each shard s into exactly 2s and 2s+1, so that a
// collection can be re-sharded by moving each shard's items into two
// partitions. n < 2 means unsharded: 0.
func ShardOf(id string, n int) int {
	if n < 2 {
		return 0
	}
	h := uint32(2166136261) // FNV-1a offset basis
	for i := 0; i < len(id); i++ {
		h ^= uint32(id[i])
		h *= 16777619 // FNV-1a prime
	}
	// FNV-1a's last byte moves the hash by multiples of its prime, about
	// 2^24, so ids that differ only at the end (monotonic ULIDs of one
	// millisecond) would share high bits: murmur3's finaliser mixes them.
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return int(uint64(h) * uint64(n) >> 32)
}

// ShardPKs spells the n partition keys of a collection whose unsharded
// partition key is base: "<base>#0" .. "<base>#<n-1>" (decimal, unpadded).
// With n < 2 it is exactly [base], so an unsharded collection keeps its keys.
// The order is the shards' order, which QueryMerged uses to break ties.
func ShardPKs(base string, n int) []string {
	if n < 2 {
		return []string{base}
	}
	pks := make([]string, n)
	for i := range pks {
		pks[i] = base + "#" + strconv.Itoa(i)
	}
	return pks
}

// ShardPK is the partition key of the item with this id: ShardPKs(base, n)[ShardOf(id, n)].
func ShardPK(base, id string, n int) string {
	if n < 2 {
		return base
	}
	return base + "#" + strconv.Itoa(ShardOf(id, n))
}

// MergedPage is one page of a merged query.
type MergedPage struct {
	Items []Item
	// Next continues the merged query; empty when every partition is read.
	Next string
	// Queries is how many store queries the page cost: one per partition,
	// plus one for each partition that ran out of read-ahead (rare, see
	// firstBatch) or that a store page cut short.
	Queries int
}

// QueryMerged reads one page of q over every partition in pks, in global
// sort-key order (the index's sort key when q.Index is set). Ties between
// partitions go by the partition's position in pks (the later one last when
// ascending, first when descending); ties within a partition keep the
// engine's order. q is a Query without PK, Limit or Cursor: those are pks,
// limit (1..MaxPageItems) and cursor (a MergedPage.Next of the same q and
// pks, or "").
//
// Usage, for a tenant's contacts spread over 8 partitions:
//
//	const contactShards = 8
//	base := store.Tenant(tenant).PK("contact")
//	key := store.Key{PK: store.ShardPK(base, id, contactShards), SK: id} // Get, Put, Delete
//	page, err := store.QueryMerged(ctx, s, store.Query{Desc: true},
//		store.ShardPKs(base, contactShards), 50, cursor)
//	// page.Items: the 50 newest contacts of every shard, newest first;
//	// page.Next: the cursor of the next 50, "" at the end.
//
// An index is sharded the same way: give the item's index key the same
// shard suffix (IndexKeys[GSI1].PK = ShardPK(base, id, n)) and merge the
// index partitions with Query{Index: GSI1}.
//
// The cursor holds only where the page stopped: the last item's sort key,
// its partition and its key. The next page reads each partition from that
// sort key on (inclusive, dropping the keys equal to it that came before it
// in the tie order) and the last item's own partition from just after it,
// as a store cursor does. So no item is returned twice or lost between
// pages, and an item inserted meanwhile is returned when it sorts after the
// cursor — at the end for ascending ULIDs — and never when it sorts before:
// the same promise as one partition's Query, at the cost of one query per
// partition and page. The cursor is bound to q's index, direction and
// sort-key condition and to pks (so to the tenant) by a hash, and a cursor
// of any other merged query is refused with ErrBadCursor.
//
// The partitions' first queries of a page run concurrently, at most 16
// (maxParallel) at once (Store is safe for concurrent use; each goroutine
// writes only its own shard's state), and each asks for firstBatch items
// rather than limit, since a partition holds about limit/len(pks) of them.
func QueryMerged(ctx context.Context, s Store, q Query, pks []string, limit int, cursor string) (MergedPage, error) {
	if err := checkMerged(q, pks, limit); err != nil {
		return MergedPage{}, err
	}
	m := merger{s: s, index: q.Index, desc: q.Desc, shards: make([]*shard, len(pks))}
	batch := firstBatch(limit, len(pks))
	var at *mergedAt
	if cursor != "" {
		a, err := decodeMergedCursor(q, pks, cursor)
		if err != nil {
			return MergedPage{}, err
		}
		at = &a
	}
	for j, pk := range pks {
		sh := &shard{pk: pk, order: j, more: true, batch: batch}
		sh.q = q
		sh.q.PK = pk
		if at != nil {
			sh.resumeAt(q, at)
		}
		m.shards[j] = sh
	}
	out := make([]Item, 0, limit)
	var last *shard
	for len(out) < limit {
		var need []*shard
		for _, sh := range m.shards {
			if len(sh.buf) == 0 && sh.more {
				need = append(need, sh)
			}
		}
		if len(need) > 0 {
			if err := m.fetch(ctx, need, limit-len(out)); err != nil {
				return MergedPage{}, err
			}
			continue // a fetch may bring an empty page that still has more
		}
		var best *shard
		for _, sh := range m.shards {
			if len(sh.buf) > 0 && (best == nil || m.before(sh, best)) {
				best = sh
			}
		}
		if best == nil {
			break // every partition is read to its end
		}
		out = append(out, best.buf[0].it)
		best.last = best.buf[0]
		best.buf = best.buf[1:]
		last = best
	}
	page := MergedPage{Items: out, Queries: m.queries}
	if len(out) == limit {
		for _, sh := range m.shards {
			if len(sh.buf) > 0 || sh.more {
				page.Next = encodeMergedCursor(q, pks, last.order, last.last)
				break
			}
		}
	}
	return page, nil
}

// firstBatch is how many items each partition's first query of a page asks
// for. Items are spread evenly by ShardOf, so a partition holds about
// limit/n of a page: twice that plus two runs out (and costs one more query
// of that partition) on a few percent of pages at n = 32, limit = 50, and
// reads a fraction of the items that asking each partition for limit would.
func firstBatch(limit, n int) int {
	per := (limit + n - 1) / n
	return min(limit, 2*per+2)
}

func checkMerged(q Query, pks []string, limit int) error {
	switch {
	case len(pks) == 0 || len(pks) > MaxMergedPartitions:
		return fmt.Errorf("%w: merged query over %d partitions (1..%d)", ErrInvalid, len(pks), MaxMergedPartitions)
	case q.PK != "" || q.Cursor != "" || q.Limit != 0:
		return fmt.Errorf("%w: a merged query takes its partitions, limit and cursor as arguments, not in the query", ErrInvalid)
	case limit < 1 || limit > MaxPageItems:
		return fmt.Errorf("%w: merged query limit %d (1..%d)", ErrInvalid, limit, MaxPageItems)
	}
	seen := make(map[string]bool, len(pks))
	for _, pk := range pks {
		if seen[pk] {
			return fmt.Errorf("%w: partition %q twice in a merged query", ErrInvalid, pk)
		}
		seen[pk] = true
		sq := q
		sq.PK = pk
		if _, err := CheckQuery(sq); err != nil {
			return err
		}
	}
	return nil
}

// buffered is a read item with its sort key on the queried index.
type buffered struct {
	it Item
	sk string
}

// shard is one partition's state during a page.
type shard struct {
	pk    string
	order int   // position in pks: breaks ties
	q     Query // the next query of this partition; Cursor is the store's
	batch int
	// fetched: the partition was read once this page, so it asks for what
	// the page still lacks rather than its share.
	fetched bool
	buf     []buffered
	last    buffered // the last item returned from this partition
	more    bool     // q has more to read
	// skipEq drops items whose sort key is skipKey: they sort before the
	// cursor's item, whose partition comes later in the tie order.
	skipEq  bool
	skipKey string
	// prefix is checked here when the resumed query had to trade it for a
	// From bound (the port takes a prefix or a range, not both): the first
	// key without it ends the partition. The price is reading, at the end of
	// the prefix, up to one query's worth of items past it.
	prefix string
}

// resumeAt bounds sh's query to the items that sort after the cursor's.
func (sh *shard) resumeAt(q Query, at *mergedAt) {
	sk := at.sortKey(q.Index)
	switch {
	case !q.Desc && q.Prefix != "":
		sh.q.Prefix, sh.q.From, sh.prefix = "", sk, q.Prefix
	case !q.Desc:
		sh.q.From = sk
	case q.Prefix != "":
		// Every key from the prefix up to sk, which has it, has it too.
		sh.q.Prefix, sh.q.From, sh.q.To = "", q.Prefix, sk
	default:
		sh.q.To = sk
	}
	switch {
	case sh.order == at.shard:
		sh.q.Cursor = EncodeCursor(sh.q, at.pos) // just after the item, ties included
	case sh.order < at.shard != q.Desc:
		sh.skipEq, sh.skipKey = true, sk
	}
}

type merger struct {
	s       Store
	index   Index
	desc    bool
	shards  []*shard
	queries int
}

// before reports whether a's next item comes before b's.
func (m *merger) before(a, b *shard) bool {
	ak, bk := a.buf[0].sk, b.buf[0].sk
	if ak != bk {
		return ak < bk != m.desc
	}
	return a.order < b.order != m.desc
}

// fetch reads the next page of each shard in need, concurrently. remaining
// is how many items the merged page still lacks: a partition read again has
// run out of its first batch, so it is likely to hold many of them.
func (m *merger) fetch(ctx context.Context, need []*shard, remaining int) error {
	m.queries += len(need)
	for _, sh := range need {
		if sh.fetched {
			sh.batch = max(sh.batch, remaining)
		}
		sh.fetched = true
		sh.q.Limit = sh.batch
		if sh.skipEq {
			sh.q.Limit++
		}
	}
	if len(need) == 1 {
		return m.fetchOne(ctx, need[0])
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(need))
	sem := make(chan struct{}, maxParallel)
	var wg sync.WaitGroup
	for k, sh := range need {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if errs[k] = m.fetchOne(ctx, sh); errs[k] != nil {
				cancel()
			}
		})
	}
	wg.Wait()
	// The first error that is not the cancellation it caused in the others.
	var first error
	for _, err := range errs {
		if err != nil && (first == nil || errors.Is(first, context.Canceled) && !errors.Is(err, context.Canceled)) {
			first = err
		}
	}
	return first
}

func (m *merger) fetchOne(ctx context.Context, sh *shard) error {
	page, err := m.s.Query(ctx, sh.q)
	if err != nil {
		return fmt.Errorf("merged query, partition %q: %w", sh.pk, err)
	}
	sh.more, sh.q.Cursor = page.Next != "", page.Next
	for _, it := range page.Items {
		sk := it.SK
		if m.index != Table {
			ik, ok := it.IndexKeys[m.index]
			if !ok {
				return fmt.Errorf("merged query, partition %q: item %s has no %s key", sh.pk, it.Key, m.index)
			}
			sk = ik.SK
		}
		if sh.prefix != "" && !strings.HasPrefix(sk, sh.prefix) {
			sh.more = false
			break
		}
		if sh.skipEq {
			if sk == sh.skipKey {
				continue
			}
			sh.skipEq = false // keys only move away from it
		}
		sh.buf = append(sh.buf, buffered{it: it, sk: sk})
	}
	return nil
}

// mergedAt is where a merged page stopped: its last item's partition (an
// index into pks) and position.
type mergedAt struct {
	shard int
	pos   Position
}

func (a mergedAt) sortKey(ix Index) string {
	if ix == Table {
		return a.pos.Table.SK
	}
	return a.pos.Index.SK
}

// mergedWire is the cursor's JSON. The partition key of the last item is
// pks[I]; on an index, the item's table key is P (omitted when it is the
// index partition's, as for an index sharded like its table) and T.
type mergedWire struct {
	V int    `json:"v"`
	H string `json:"h"`
	I int    `json:"i"`
	K string `json:"k"`
	P string `json:"p,omitempty"`
	T string `json:"t,omitempty"`
}

// mergedBinding is the hash a merged cursor carries of the query it
// continues: index, direction, sort-key condition and partitions.
func mergedBinding(q Query, pks []string) string {
	b, _ := json.Marshal(append([]string{string(q.Index), strconv.FormatBool(q.Desc), q.Prefix, q.From, q.To}, pks...))
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}

func encodeMergedCursor(q Query, pks []string, shard int, last buffered) string {
	w := mergedWire{V: 1, H: mergedBinding(q, pks), I: shard, K: last.sk}
	if q.Index != Table {
		if last.it.PK != pks[shard] {
			w.P = last.it.PK
		}
		w.T = last.it.SK
	}
	b, _ := json.Marshal(w)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeMergedCursor returns where cursor says a merged query of q over pks
// stopped, or ErrBadCursor when it is malformed, was made for another query
// or partition set, or points outside q's sort-key condition.
func decodeMergedCursor(q Query, pks []string, cursor string) (mergedAt, error) {
	bad := func(why string) (mergedAt, error) {
		return mergedAt{}, fmt.Errorf("%w: %s", ErrBadCursor, why)
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || len(raw) == 0 {
		return bad("not a merged cursor")
	}
	var w mergedWire
	if err := json.Unmarshal(raw, &w); err != nil || w.V != 1 {
		return bad("not a merged cursor")
	}
	if w.H != mergedBinding(q, pks) {
		return bad("made by another query")
	}
	if w.I < 0 || w.I >= len(pks) {
		return bad("partition out of range")
	}
	at := mergedAt{shard: w.I}
	if q.Index == Table {
		if w.P != "" || w.T != "" {
			return bad("index position on a table query")
		}
		at.pos.Table = Key{PK: pks[w.I], SK: w.K}
	} else {
		tpk := w.P
		if tpk == "" {
			tpk = pks[w.I]
		}
		at.pos = Position{Table: Key{PK: tpk, SK: w.T}, Index: &Key{PK: pks[w.I], SK: w.K}}
	}
	sq := q
	sq.PK = pks[w.I]
	if err := checkPosition(sq, at.pos); err != nil {
		return mergedAt{}, err
	}
	return at, nil
}

// MergedCursorAt is the cursor that resumes q over pks just after it, an
// item a merged page returned: for a caller that stops in the middle of a
// page (a list whose filters met its limit there).
func MergedCursorAt(q Query, pks []string, it Item) string {
	pk, sk := it.PK, it.SK
	if q.Index != Table {
		ik := it.IndexKeys[q.Index]
		pk, sk = ik.PK, ik.SK
	}
	return encodeMergedCursor(q, pks, slices.Index(pks, pk), buffered{it: it, sk: sk})
}
