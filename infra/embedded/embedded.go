// Package embedded is the storage engine for a laptop: the store.Store port
// on a bbolt file, so that `fedele serve` needs nothing installed and behaves
// like the DynamoDB table it will run on (same conditions, transactions,
// limits, index semantics and cursor format, proved by core/store/storetest).
//
// It must never be used where several processes share the data (bbolt locks
// the file: one process at a time), and it must never interpret an item's
// Data: documents are the repositories' business.
package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/fedele-crm/fedele/core/store"
)

var tableBucket = []byte("table")

// Store is the bbolt engine. It is safe for concurrent use.
type Store struct {
	db        *bolt.DB
	commit    committer
	closeOnce sync.Once
	closeErr  error
}

var _ store.Store = (*Store)(nil)

// Open opens or creates the store at path. Only one process may hold it:
// a second Open fails after a second instead of waiting for ever.
func Open(path string) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open %s: data folder in use by another process (is fedele serve running?)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range append([]string{string(tableBucket)}, indexNames()...) {
			if _, err := tx.CreateBucketIfNotExists([]byte(name)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("create buckets in %s: %w", path, err)
	}
	st := &Store{db: db}
	st.commit.db, st.commit.idleGap = db, defaultIdleGap
	return st, nil
}

func indexNames() []string {
	names := make([]string, len(store.Indexes))
	for i, ix := range store.Indexes {
		names[i] = string(ix)
	}
	return names
}

// Close closes the file; bbolt waits for open transactions to finish.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.db.Close() })
	return s.closeErr
}

// Keys are the parts joined by NUL, which store.CheckKey forbids inside a
// part: byte order of the joined key is then the order of its parts.
func join(parts ...string) []byte { return []byte(strings.Join(parts, "\x00")) }

func tableKey(k store.Key) []byte { return join(k.PK, k.SK) }

func indexEntry(ik, tk store.Key) []byte { return join(ik.PK, ik.SK, tk.PK, tk.SK) }

// The value of a table entry: version, expiry (Unix seconds, as DynamoDB's
// TTL), the index keys, then the document. A hand-rolled binary layout
// because JSON would base64 every document and this is on every read.
func encode(it store.Item) []byte {
	var b []byte
	b = binary.AppendVarint(b, it.Version)
	var exp int64
	if !it.ExpiresAt.IsZero() {
		exp = it.ExpiresAt.Unix()
	}
	b = binary.AppendVarint(b, exp)
	b = binary.AppendUvarint(b, uint64(len(it.IndexKeys)))
	for _, ix := range store.Indexes {
		k, ok := it.IndexKeys[ix]
		if !ok {
			continue
		}
		for _, s := range []string{string(ix), k.PK, k.SK} {
			b = binary.AppendUvarint(b, uint64(len(s)))
			b = append(b, s...)
		}
	}
	return append(b, it.Data...)
}

var errCorrupt = errors.New("embedded store: corrupt item")

func decode(key store.Key, v []byte) (store.Item, error) {
	it := store.Item{Key: key}
	r := bytes.NewReader(v)
	var err error
	if it.Version, err = binary.ReadVarint(r); err != nil {
		return it, errCorrupt
	}
	exp, err := binary.ReadVarint(r)
	if err != nil {
		return it, errCorrupt
	}
	if exp != 0 {
		it.ExpiresAt = time.Unix(exp, 0).UTC()
	}
	n, err := binary.ReadUvarint(r)
	if err != nil || n > uint64(len(store.Indexes)) {
		return it, errCorrupt
	}
	if n > 0 {
		it.IndexKeys = make(map[store.Index]store.Key, n)
	}
	for range n {
		var parts [3]string
		for i := range parts {
			l, err := binary.ReadUvarint(r)
			if err != nil || l > uint64(r.Len()) {
				return it, errCorrupt
			}
			buf := make([]byte, l)
			_, _ = r.Read(buf)
			parts[i] = string(buf)
		}
		it.IndexKeys[store.Index(parts[0])] = store.Key{PK: parts[1], SK: parts[2]}
	}
	it.Data = make([]byte, r.Len())
	_, _ = r.Read(it.Data)
	return it, nil
}

func splitKey(k []byte) []string { return strings.Split(string(k), "\x00") }

// Get returns the item at key.
func (s *Store) Get(ctx context.Context, key store.Key) (store.Item, error) {
	if err := store.CheckKey(key); err != nil {
		return store.Item{}, err
	}
	var it store.Item
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(tableBucket).Get(tableKey(key))
		if v == nil {
			return store.ErrNotFound
		}
		var err error
		it, err = decode(key, v)
		return err
	})
	if err != nil {
		return store.Item{}, fmt.Errorf("get %s: %w", key, err)
	}
	return it, nil
}

// GetMany reads keys in one bbolt read transaction. That is one snapshot,
// more than DynamoDB promises (each key read consistently, not all at one
// instant), so callers must not rely on it.
func (s *Store) GetMany(ctx context.Context, keys []store.Key) ([]store.Item, error) {
	if err := store.CheckKeys(keys); err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, nil
	}
	items := make([]store.Item, 0, len(keys))
	err := s.db.View(func(tx *bolt.Tx) error {
		table := tx.Bucket(tableBucket)
		for _, k := range keys {
			v := table.Get(tableKey(k))
			if v == nil {
				continue
			}
			it, err := decode(k, v)
			if err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
			items = append(items, it)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("get %d keys: %w", len(keys), err)
	}
	return items, nil
}

// Put stores item when cond holds.
func (s *Store) Put(ctx context.Context, item store.Item, cond store.Cond) error {
	if err := store.CheckItem(item); err != nil {
		return err
	}
	return s.single(ctx, store.Write{Op: store.OpPut, Item: item, Cond: cond})
}

// Delete removes the item at key when cond holds.
func (s *Store) Delete(ctx context.Context, key store.Key, cond store.Cond) error {
	if err := store.CheckKey(key); err != nil {
		return err
	}
	return s.single(ctx, store.Write{Op: store.OpDelete, Key: key, Cond: cond})
}

func (s *Store) single(ctx context.Context, w store.Write) error {
	err := s.commit.write(store.IsBackground(ctx), func(tx *bolt.Tx) error {
		if err := check(tx, w); err != nil {
			return err
		}
		if err := apply(tx, w); err != nil {
			return &applyError{err}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("write %s: %w", w.Target(), err)
	}
	return nil
}

// Transact checks every condition, then applies every write, in one commit
// (shared with concurrent writes, see commit.go): all or nothing.
func (s *Store) Transact(ctx context.Context, writes []store.Write) error {
	if err := store.CheckWrites(writes); err != nil {
		return err
	}
	return s.commit.write(store.IsBackground(ctx), func(tx *bolt.Tx) error {
		for i, w := range writes {
			if err := check(tx, w); err != nil {
				return &store.TxCancelledError{Index: i, Key: w.Target(), Reason: err}
			}
		}
		for _, w := range writes {
			if err := apply(tx, w); err != nil {
				return &applyError{fmt.Errorf("apply %s: %w", w.Target(), err)}
			}
		}
		return nil
	})
}

func check(tx *bolt.Tx, w store.Write) error {
	c := w.Cond
	if !c.MustExist && !c.MustNotExist && c.Version == 0 {
		return nil
	}
	v := tx.Bucket(tableBucket).Get(tableKey(w.Target()))
	switch {
	case c.MustNotExist && v != nil, (c.MustExist || c.Version > 0) && v == nil:
		return store.ErrConditionFailed
	case c.Version > 0:
		version, err := binary.ReadVarint(bytes.NewReader(v))
		if err != nil {
			return errCorrupt
		}
		if version != c.Version {
			return store.ErrConditionFailed
		}
	}
	return nil
}

func apply(tx *bolt.Tx, w store.Write) error {
	if w.Op == store.OpCheck {
		return nil
	}
	table := tx.Bucket(tableBucket)
	key := w.Target()
	tk := tableKey(key)
	if old := table.Get(tk); old != nil {
		prev, err := decode(key, old)
		if err != nil {
			return err
		}
		for ix, ik := range prev.IndexKeys {
			if err := tx.Bucket([]byte(ix)).Delete(indexEntry(ik, key)); err != nil {
				return err
			}
		}
	}
	if w.Op == store.OpDelete {
		return table.Delete(tk)
	}
	for ix, ik := range w.Item.IndexKeys {
		if err := tx.Bucket([]byte(ix)).Put(indexEntry(ik, key), nil); err != nil {
			return err
		}
	}
	return table.Put(tk, encode(w.Item))
}

// Query reads one page of a partition, on the table or an index.
func (s *Store) Query(ctx context.Context, q store.Query) (store.Page, error) {
	limit, err := store.CheckQuery(q)
	if err != nil {
		return store.Page{}, err
	}
	var resume []byte
	if q.Cursor != "" {
		pos, err := store.DecodeCursor(q)
		if err != nil {
			return store.Page{}, err
		}
		resume = tableKey(pos.Table)
		if q.Index != store.Table {
			resume = indexEntry(*pos.Index, pos.Table)
		}
	}
	var page store.Page
	err = s.db.View(func(tx *bolt.Tx) error {
		bucket, table := tx.Bucket(tableBucket), tx.Bucket(tableBucket)
		if q.Index != store.Table {
			bucket = tx.Bucket([]byte(q.Index))
		}
		c := bucket.Cursor()
		k := start(c, q, resume)
		var last store.Item
		for ; k != nil; k = step(c, q.Desc) {
			parts := splitKey(k)
			if parts[0] != q.PK {
				break
			}
			sk := parts[1]
			if beyond(q, sk) {
				break
			}
			if !within(q, sk) {
				continue
			}
			if len(page.Items) == limit {
				page.Next = store.EncodeCursor(q, position(q, last))
				break
			}
			tk := store.Key{PK: parts[0], SK: parts[1]}
			v := c.Bucket().Get(k)
			if q.Index != store.Table {
				tk = store.Key{PK: parts[2], SK: parts[3]}
				v = table.Get(tableKey(tk))
			}
			it, err := decode(tk, v)
			if err != nil {
				return fmt.Errorf("%s: %w", tk, err)
			}
			page.Items = append(page.Items, it)
			last = it
		}
		return nil
	})
	if err != nil {
		return store.Page{}, fmt.Errorf("query %s %q: %w", q.Index, q.PK, err)
	}
	return page, nil
}

func position(q store.Query, it store.Item) store.Position {
	pos := store.Position{Table: it.Key}
	if q.Index != store.Table {
		ik := it.IndexKeys[q.Index]
		pos.Index = &ik
	}
	return pos
}

// start places the cursor on the first entry the query may return.
func start(c *bolt.Cursor, q store.Query, resume []byte) []byte {
	if resume != nil {
		k, _ := c.Seek(resume)
		if !q.Desc {
			if bytes.Equal(k, resume) {
				k, _ = c.Next()
			}
			return k
		}
		if k == nil {
			k, _ = c.Last()
		}
		for k != nil && bytes.Compare(k, resume) >= 0 {
			k, _ = c.Prev()
		}
		return k
	}
	if !q.Desc {
		k, _ := c.Seek(join(q.PK, q.From+q.Prefix))
		return k
	}
	// Seek just past the range's upper end, then step back into it. \x01
	// sorts after the NUL separator and \xff after any UTF-8 byte.
	var upper []byte
	switch {
	case q.To != "":
		upper = join(q.PK, q.To+"\x01")
	case q.Prefix != "":
		upper = join(q.PK, q.Prefix+"\xff")
	default:
		upper = []byte(q.PK + "\x01")
	}
	k, _ := c.Seek(upper)
	if k == nil {
		k, _ = c.Last()
	}
	for k != nil && bytes.Compare(k, upper) >= 0 {
		k, _ = c.Prev()
	}
	return k
}

func step(c *bolt.Cursor, desc bool) []byte {
	if desc {
		k, _ := c.Prev()
		return k
	}
	k, _ := c.Next()
	return k
}

// within reports whether sk meets the query's sort-key condition.
func within(q store.Query, sk string) bool {
	return strings.HasPrefix(sk, q.Prefix) && (q.From == "" || sk >= q.From) && (q.To == "" || sk <= q.To)
}

// beyond reports whether sk, and everything after it in the query's
// direction, is past the sort-key condition.
func beyond(q store.Query, sk string) bool {
	if q.Desc {
		return (q.From != "" && sk < q.From) || (q.Prefix != "" && sk < q.Prefix)
	}
	return (q.To != "" && sk > q.To) || (q.Prefix != "" && sk > q.Prefix && !strings.HasPrefix(sk, q.Prefix))
}

// SweepExpired deletes the items whose TTL has passed, as DynamoDB's TTL
// does in production; the local server calls it now and then.
func (s *Store) SweepExpired(now time.Time) (int, error) {
	var expired []store.Key
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(tableBucket).ForEach(func(k, v []byte) error {
			r := bytes.NewReader(v)
			if _, err := binary.ReadVarint(r); err != nil {
				return errCorrupt
			}
			exp, err := binary.ReadVarint(r)
			if err != nil {
				return errCorrupt
			}
			if exp != 0 && now.Unix() >= exp {
				parts := splitKey(k)
				expired = append(expired, store.Key{PK: parts[0], SK: parts[1]})
			}
			return nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("sweep expired items: %w", err)
	}
	n := 0
	for _, k := range expired {
		err := s.db.Update(func(tx *bolt.Tx) error {
			v := tx.Bucket(tableBucket).Get(tableKey(k))
			if v == nil {
				return nil
			}
			it, err := decode(k, v)
			if err != nil || !it.Expired(now) {
				return err // renewed since the scan: keep it
			}
			n++
			return apply(tx, store.Write{Op: store.OpDelete, Key: k})
		})
		if err != nil {
			return n, fmt.Errorf("sweep %s: %w", k, err)
		}
	}
	return n, nil
}
