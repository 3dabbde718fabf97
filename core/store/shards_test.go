package store

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/oklog/ulid/v2"
)

// ids returns n ULIDs as core.NewID makes them (monotonic within a
// millisecond), from a fixed seed so that the test is deterministic.
func ids(n, perMilli int) []string {
	entropy := ulid.Monotonic(rand.NewChaCha8([32]byte{1}), 0)
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	out := make([]string, n)
	for i := range out {
		out[i] = ulid.MustNew(ulid.Timestamp(at.Add(time.Duration(i/perMilli)*time.Millisecond)), entropy).String()
	}
	return out
}

// TestShardOfIsStable pins the hash: changing it would look for every
// stored item of a sharded collection in the wrong partition.
func TestShardOfIsStable(t *testing.T) {
	cases := []struct {
		id   string
		n    int
		want int
	}{
		{"01KDZ8Q5M8A4V7J3N0Y2W6XG1B", 1, 0},
		{"01KDZ8Q5M8A4V7J3N0Y2W6XG1B", 0, 0},
		{"01KDZ8Q5M8A4V7J3N0Y2W6XG1B", 2, 0},
		{"01KDZ8Q5M8A4V7J3N0Y2W6XG1B", 8, 3},
		{"01KDZ8Q5M8A4V7J3N0Y2W6XG1B", 32, 13},
		{"01KDZ8Q5M8A4V7J3N0Y2W6XG1C", 2, 1},
		{"01KDZ8Q5M8A4V7J3N0Y2W6XG1C", 8, 5},
		{"01KDZ8Q5M8A4V7J3N0Y2W6XG1C", 32, 22},
		{"01ARZ3NDEKTSV4RRFFQ69G5FAV", 2, 1},
		{"01ARZ3NDEKTSV4RRFFQ69G5FAV", 8, 5},
		{"01ARZ3NDEKTSV4RRFFQ69G5FAV", 32, 21},
	}
	for _, tc := range cases {
		if got := ShardOf(tc.id, tc.n); got != tc.want {
			t.Errorf("ShardOf(%q, %d) = %d, want %d", tc.id, tc.n, got, tc.want)
		}
	}
}

func TestShardOfSpreadsAndSplits(t *testing.T) {
	// A burst of creates within one millisecond has ids that differ only in
	// their last characters (the monotonic entropy is incremented): they
	// must spread too, or a bulk import heats one partition.
	all := ids(20000, 1000)
	for _, n := range []int{2, 8, 32} {
		counts := make([]int, n)
		for _, id := range all {
			s := ShardOf(id, n)
			if s < 0 || s >= n {
				t.Fatalf("ShardOf(%q, %d) = %d", id, n, s)
			}
			counts[s]++
			// Doubling n splits shard s into 2s and 2s+1: re-sharding moves
			// each partition's items into two.
			if d := ShardOf(id, 2*n); d/2 != s {
				t.Fatalf("ShardOf(%q, %d) = %d, but %d at n = %d", id, 2*n, d, s, n)
			}
		}
		mean := len(all) / n
		for s, c := range counts {
			if c < mean*85/100 || c > mean*115/100 {
				t.Errorf("n = %d: shard %d holds %d ids, mean %d: %v", n, s, c, mean, counts)
			}
		}
	}
}

func TestShardPKs(t *testing.T) {
	if diff := cmp.Diff([]string{"T#a#contact"}, ShardPKs("T#a#contact", 1)); diff != "" {
		t.Errorf("n = 1 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"T#a#event#0", "T#a#event#1", "T#a#event#2"}, ShardPKs("T#a#event", 3)); diff != "" {
		t.Errorf("n = 3 (-want +got):\n%s", diff)
	}
	for _, id := range ids(100, 7) {
		for _, n := range []int{1, 8, 32} {
			if got, want := ShardPK("T#a#contact", id, n), ShardPKs("T#a#contact", n)[ShardOf(id, n)]; got != want {
				t.Errorf("ShardPK(%q, %d) = %q, want %q", id, n, got, want)
			}
		}
	}
}

// fuzzPKs are the partitions FuzzDecodeMergedCursor decodes for.
var fuzzPKs = ShardPKs("T#a#contact", 3)

func fuzzQueries() []Query {
	return []Query{{Prefix: "0"}, {Index: GSI1, From: "2026", Desc: true}}
}

// reencode is the cursor QueryMerged would make for the page stopped at a.
func reencode(q Query, a mergedAt) string {
	last := buffered{it: Item{Key: a.pos.Table}, sk: a.sortKey(q.Index)}
	return encodeMergedCursor(q, fuzzPKs, a.shard, last)
}

// FuzzDecodeMergedCursor: no input panics, every refusal is ErrBadCursor,
// and whatever is accepted names one of the partitions, stays inside the
// query's sort-key condition and re-encodes to the same position.
func FuzzDecodeMergedCursor(f *testing.F) {
	qs := fuzzQueries()
	f.Add(0, reencode(qs[0], mergedAt{shard: 1, pos: Position{Table: Key{PK: fuzzPKs[1], SK: "01K"}}}))
	ik := Key{PK: fuzzPKs[2], SK: "2026-01-02#01K"}
	f.Add(1, reencode(qs[1], mergedAt{shard: 2, pos: Position{Table: Key{PK: "T#a#contact#0", SK: "01K"}, Index: &ik}}))
	f.Add(1, reencode(qs[0], mergedAt{shard: 1, pos: Position{Table: Key{PK: fuzzPKs[1], SK: "01K"}}})) // another query's
	f.Add(0, "")
	f.Add(0, "e30")
	f.Add(0, "%%%")
	f.Fuzz(func(t *testing.T, which int, cursor string) {
		q := qs[uint(which)%uint(len(qs))]
		a, err := decodeMergedCursor(q, fuzzPKs, cursor)
		if err != nil {
			if !errors.Is(err, ErrBadCursor) {
				t.Fatalf("error %v is not ErrBadCursor", err)
			}
			return
		}
		sq := q
		sq.PK = fuzzPKs[a.shard]
		if err := checkPosition(sq, a.pos); err != nil {
			t.Fatalf("accepted position %+v outside query %+v: %v", a, sq, err)
		}
		again, err := decodeMergedCursor(q, fuzzPKs, reencode(q, a))
		if diff := cmp.Diff(a, again, cmp.AllowUnexported(mergedAt{})); err != nil || diff != "" {
			t.Fatalf("re-encoded cursor decodes to %+v, %v; want %+v", again, err, a)
		}
	})
}

// TestShardOfSpreadsNeighbours: ids one character apart, as sequential ids
// are, do not share a shard more than chance would have them do.
func TestShardOfSpreadsNeighbours(t *testing.T) {
	counts := make([]int, 32)
	for c := '0'; c <= 'Z'; c++ {
		counts[ShardOf("01KDZ8Q5M8A4V7J3N0Y2W6XG1"+string(c), 32)]++
	}
	for s, c := range counts {
		if c > 6 {
			t.Errorf("shard %d holds %d of 43 neighbouring ids: %v", s, c, counts)
		}
	}
}
