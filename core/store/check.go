package store

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// The checks below are shared by every engine so that both refuse the same
// requests with the same errors, before any I/O.

// CheckKey refuses keys DynamoDB would refuse, and NUL bytes, which the
// embedded engine uses as a separator.
func CheckKey(k Key) error {
	for _, part := range []string{k.PK, k.SK} {
		switch {
		case part == "":
			return fmt.Errorf("%w: empty key part in %q", ErrInvalid, k)
		case len(part) > 1024:
			return fmt.Errorf("%w: key part over 1024 bytes", ErrInvalid)
		case !utf8.ValidString(part) || strings.ContainsRune(part, 0):
			return fmt.Errorf("%w: key part is not NUL-free UTF-8", ErrInvalid)
		}
	}
	return nil
}

// CheckItem validates an item about to be written.
func CheckItem(it Item) error {
	if err := CheckKey(it.Key); err != nil {
		return err
	}
	for ix, k := range it.IndexKeys {
		if !knownIndex(ix) || ix == Table {
			return fmt.Errorf("%w: unknown index %q", ErrInvalid, ix)
		}
		if err := CheckKey(k); err != nil {
			return fmt.Errorf("index %s: %w", ix, err)
		}
	}
	if it.Version < 0 {
		return fmt.Errorf("%w: negative version", ErrInvalid)
	}
	if n := it.Size(); n > MaxItemBytes {
		return fmt.Errorf("item %s is %d bytes: %w", it.Key, n, ErrItemTooLarge)
	}
	return nil
}

// CheckWrites validates a transaction: sizes, ops, and no key twice.
func CheckWrites(writes []Write) error {
	if len(writes) == 0 {
		return fmt.Errorf("%w: empty transaction", ErrInvalid)
	}
	if len(writes) > MaxTxItems {
		return fmt.Errorf("%d writes: %w", len(writes), ErrTxTooLarge)
	}
	seen := make(map[Key]bool, len(writes))
	total := 0
	for i, w := range writes {
		switch w.Op {
		case OpPut:
			if err := CheckItem(w.Item); err != nil {
				return fmt.Errorf("write %d: %w", i, err)
			}
			total += w.Item.Size()
		case OpDelete, OpCheck:
			if err := CheckKey(w.Key); err != nil {
				return fmt.Errorf("write %d: %w", i, err)
			}
		default:
			return fmt.Errorf("%w: write %d has no op", ErrInvalid, i)
		}
		k := w.Target()
		if seen[k] {
			return fmt.Errorf("%w: key %s written twice in one transaction", ErrInvalid, k)
		}
		seen[k] = true
	}
	if total > MaxTxBytes {
		return fmt.Errorf("%d bytes: %w", total, ErrTxTooLarge)
	}
	return nil
}

// CheckKeys validates the keys of a GetMany: at most MaxBatchGetKeys, and no
// key twice (DynamoDB refuses a batch that names a key twice).
func CheckKeys(keys []Key) error {
	if len(keys) > MaxBatchGetKeys {
		return fmt.Errorf("%w: %d keys in one read, at most %d", ErrInvalid, len(keys), MaxBatchGetKeys)
	}
	seen := make(map[Key]bool, len(keys))
	for i, k := range keys {
		if err := CheckKey(k); err != nil {
			return fmt.Errorf("key %d: %w", i, err)
		}
		if seen[k] {
			return fmt.Errorf("%w: key %s read twice in one request", ErrInvalid, k)
		}
		seen[k] = true
	}
	return nil
}

// CheckQuery validates a query and returns its effective limit.
func CheckQuery(q Query) (limit int, err error) {
	if !knownIndex(q.Index) {
		return 0, fmt.Errorf("%w: unknown index %q", ErrInvalid, q.Index)
	}
	if q.PK == "" {
		return 0, fmt.Errorf("%w: query without partition key", ErrInvalid)
	}
	if q.Prefix != "" && (q.From != "" || q.To != "") {
		return 0, fmt.Errorf("%w: query with both prefix and range", ErrInvalid)
	}
	if q.From != "" && q.To != "" && q.From > q.To {
		return 0, fmt.Errorf("%w: query range from %q is after to %q", ErrInvalid, q.From, q.To)
	}
	if q.Consistent && q.Index != Table {
		return 0, fmt.Errorf("%w: consistent reads are for the table only", ErrInvalid)
	}
	switch {
	case q.Limit < 0:
		return 0, fmt.Errorf("%w: negative limit", ErrInvalid)
	case q.Limit == 0 || q.Limit > MaxPageItems:
		return MaxPageItems, nil
	}
	return q.Limit, nil
}

func knownIndex(ix Index) bool {
	if ix == Table {
		return true
	}
	for _, known := range Indexes {
		if ix == known {
			return true
		}
	}
	return false
}

// Position is where a query stopped: the last item's table key and, on an
// index, its index key. It is what DynamoDB calls LastEvaluatedKey.
type Position struct {
	Table Key  `json:"t"`
	Index *Key `json:"i,omitempty"`
}

type cursorWire struct {
	V    int      `json:"v"`
	Ix   Index    `json:"x,omitempty"`
	PK   string   `json:"p"`
	Desc bool     `json:"d,omitempty"`
	At   Position `json:"a"`
}

// EncodeCursor makes the opaque cursor that continues q after pos. It records
// the query's index, partition and direction, so that DecodeCursor can refuse
// it for any other query: since every partition key begins with the tenant,
// a cursor cannot lead out of its tenant.
func EncodeCursor(q Query, pos Position) string {
	b, _ := json.Marshal(cursorWire{V: 1, Ix: q.Index, PK: q.PK, Desc: q.Desc, At: pos})
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor returns where q.Cursor says to resume, or ErrBadCursor when it
// is malformed or belongs to another query. A cursor outside q's sort-key
// condition is refused too, so that a crafted one cannot widen the query.
func DecodeCursor(q Query) (Position, error) {
	bad := func(why string) (Position, error) {
		return Position{}, fmt.Errorf("%w: %s", ErrBadCursor, why)
	}
	raw, err := base64.RawURLEncoding.DecodeString(q.Cursor)
	if err != nil || len(raw) == 0 {
		return bad("not a cursor")
	}
	var c cursorWire
	if err := json.Unmarshal(raw, &c); err != nil || c.V != 1 {
		return bad("not a cursor")
	}
	if c.Ix != q.Index || c.PK != q.PK || c.Desc != q.Desc {
		return bad("made by another query")
	}
	if err := checkPosition(q, c.At); err != nil {
		return Position{}, err
	}
	return c.At, nil
}

// checkPosition refuses, with ErrBadCursor, a position that q could not have
// stopped at: malformed keys, an index key on a table query (or none on an
// index query), another partition, or outside q's sort-key condition.
func checkPosition(q Query, at Position) error {
	bad := func(why string) error { return fmt.Errorf("%w: %s", ErrBadCursor, why) }
	if err := CheckKey(at.Table); err != nil {
		return bad("bad table key")
	}
	pos := at.Table
	if q.Index != Table {
		if at.Index == nil || CheckKey(*at.Index) != nil {
			return bad("bad index key")
		}
		pos = *at.Index
	} else if at.Index != nil {
		return bad("index key on a table query")
	}
	if pos.PK != q.PK {
		return bad("made by another query")
	}
	switch {
	case q.Prefix != "" && !strings.HasPrefix(pos.SK, q.Prefix),
		q.From != "" && pos.SK < q.From,
		q.To != "" && pos.SK > q.To:
		return bad("outside the query's range")
	}
	return nil
}
