package store

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCursorRoundTrip(t *testing.T) {
	ik := Key{PK: "T#a#ix", SK: "2026#01"}
	cases := []struct {
		q   Query
		pos Position
	}{
		{Query{PK: "T#a#contact"}, Position{Table: Key{PK: "T#a#contact", SK: "01"}}},
		{Query{PK: "T#a#contact", Desc: true, Prefix: "0"}, Position{Table: Key{PK: "T#a#contact", SK: "01"}}},
		{Query{Index: GSI1, PK: "T#a#ix", From: "2026"}, Position{Table: Key{PK: "T#a#contact", SK: "01"}, Index: &ik}},
	}
	for _, tc := range cases {
		q := tc.q
		q.Cursor = EncodeCursor(tc.q, tc.pos)
		got, err := DecodeCursor(q)
		if err != nil {
			t.Fatalf("decode %+v: %v", tc.q, err)
		}
		if diff := cmp.Diff(tc.pos, got); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	}
}

// FuzzDecodeCursor: no input panics, and whatever is accepted stays inside
// the query's partition and range and re-encodes to the same position.
func FuzzDecodeCursor(f *testing.F) {
	q := Query{PK: "T#a#contact", From: "0"}
	f.Add(EncodeCursor(q, Position{Table: Key{PK: "T#a#contact", SK: "01"}}))
	f.Add(EncodeCursor(q, Position{Table: Key{PK: "T#b#contact", SK: "01"}}))
	f.Add(EncodeCursor(Query{PK: "T#b#contact"}, Position{Table: Key{PK: "T#b#contact", SK: "01"}}))
	f.Add("")
	f.Add("e30")
	f.Add("eyJ2IjoxLCJwIjoiVCNhI2NvbnRhY3QiLCJhIjp7InQiOnsicGsiOiJUI2EjY29udGFjdCIsInNrIjoiIn19fQ")
	f.Add("%%%")
	f.Fuzz(func(t *testing.T, cursor string) {
		q := q
		q.Cursor = cursor
		pos, err := DecodeCursor(q)
		if err != nil {
			if !errors.Is(err, ErrBadCursor) {
				t.Fatalf("error %v is not ErrBadCursor", err)
			}
			return
		}
		if pos.Table.PK != q.PK || pos.Table.SK < q.From || pos.Index != nil || CheckKey(pos.Table) != nil {
			t.Fatalf("accepted position %+v outside query %+v", pos, q)
		}
		q.Cursor = EncodeCursor(q, pos)
		again, err := DecodeCursor(q)
		if err != nil || again != pos {
			t.Fatalf("re-encoded cursor decodes to %+v, %v; want %+v", again, err, pos)
		}
	})
}
