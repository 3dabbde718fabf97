// Package store is the storage port: a small sorted-key document store shaped
// exactly like what DynamoDB does well (conditional single-item writes,
// all-or-nothing transactions, queries by partition key with a sort-key range
// on the table or a secondary index, opaque continuation cursors).
//
// Engines live in infra/ (embedded on bbolt, dynamo on DynamoDB) and must pass
// the conformance suite in store/storetest unchanged. This package must never
// import an engine, the AWS SDK or anything that does I/O; it only states the
// contract and the limits both engines enforce identically.
//
// Above the port, shards.go spreads one logical partition over N partition
// keys (ShardOf, ShardPKs, ShardPK) and lists them as one, in order, behind
// one cursor (QueryMerged), so that a tenant is not capped by one partition.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// DynamoDB's limits. Both engines enforce them so that code that works on a
// laptop cannot fail for size in production.
const (
	MaxItemBytes = 400 * 1024      // one item, attribute names included
	MaxTxItems   = 100             // writes in one transaction
	MaxTxBytes   = 4 * 1024 * 1024 // all items of one transaction
	MaxPageItems = 1000            // a Query's Limit is clamped to this
	// MaxBatchGetKeys is BatchGetItem's limit on the keys of one request.
	MaxBatchGetKeys = 100
)

// Index names a secondary index. The set is fixed because DynamoDB needs its
// global secondary indexes declared with the table; what each one means is the
// repositories' business (see docs/keys.md).
type Index string

const (
	Table Index = ""     // the table itself
	GSI1  Index = "gsi1" // every index has a string partition and sort key
	GSI2  Index = "gsi2"
	GSI3  Index = "gsi3"
	GSI4  Index = "gsi4"
)

// Indexes lists every secondary index, in order.
var Indexes = []Index{GSI1, GSI2, GSI3, GSI4}

// Key addresses one item on the table, or positions an item in an index.
// Both parts are non-empty UTF-8 strings without NUL bytes, compared as bytes.
type Key struct {
	PK string `json:"pk"`
	SK string `json:"sk"`
}

func (k Key) String() string { return k.PK + "|" + k.SK }

// Item is one stored document.
type Item struct {
	Key
	// IndexKeys places the item in secondary indexes; an index absent from the
	// map does not hold the item (a sparse index).
	IndexKeys map[Index]Key
	// Version is the optimistic-concurrency counter. The store keeps it as
	// given; callers increment it and guard writes with Cond.Version.
	Version int64
	// ExpiresAt is the TTL. The store may delete the item at any time after
	// it (DynamoDB does so within days), so readers that care must check it.
	// Zero means never.
	ExpiresAt time.Time
	// Data is the document, opaque to the store (JSON by convention).
	Data []byte
}

// Expired reports whether the item's TTL has passed at now.
func (it Item) Expired(now time.Time) bool {
	return !it.ExpiresAt.IsZero() && !now.Before(it.ExpiresAt)
}

// Size is the item's size as DynamoDB counts it: attribute names plus values.
// Engines refuse items larger than MaxItemBytes with ErrItemTooLarge.
func (it Item) Size() int {
	n := len("pk") + len(it.PK) + len("sk") + len(it.SK)
	for ix, k := range it.IndexKeys {
		n += 2*len(ix) + 4 + len(k.PK) + len(k.SK) // "gsi1pk", "gsi1sk"
	}
	n += len("v") + 8 + len("doc") + len(it.Data)
	if !it.ExpiresAt.IsZero() {
		n += len("ttl") + 8
	}
	return n
}

// Cond guards a write. The zero value always holds.
type Cond struct {
	MustNotExist bool  // no item is stored at the key
	MustExist    bool  // an item is stored at the key
	Version      int64 // when > 0, the stored item exists and has this version
}

// Op says what one write of a transaction does.
type Op int

const (
	OpPut    Op = iota + 1 // store Item (replacing any item at its key)
	OpDelete               // delete the item at Key (no error when absent, unless Cond says so)
	OpCheck                // write nothing; only Cond must hold at Key
)

// Write is one element of a transaction.
type Write struct {
	Op   Op
	Item Item // for OpPut
	Key  Key  // for OpDelete and OpCheck
	Cond Cond
}

// Target is the key a write touches.
func (w Write) Target() Key {
	if w.Op == OpPut {
		return w.Item.Key
	}
	return w.Key
}

// Query reads items of one partition in sort-key order.
type Query struct {
	Index Index  // Table or one of Indexes
	PK    string // the partition (on Index when set)
	// The sort-key condition: Prefix, or a range From..To (both inclusive,
	// either may be empty for an open end). Prefix and a range are exclusive.
	Prefix   string
	From, To string
	Desc     bool   // newest (largest sort key) first
	Limit    int    // 1..MaxPageItems; 0 means MaxPageItems
	Cursor   string // Page.Next of the previous page of the same query
	// Consistent asks for a strongly consistent read (table only; DynamoDB
	// indexes are eventually consistent and the embedded engine always is).
	Consistent bool
}

// Page is one page of a query's results.
type Page struct {
	Items []Item
	// Next continues the query; empty when there is nothing more. A page may
	// hold fewer than Limit items (DynamoDB stops at 1 MB) and still have Next.
	Next string
}

// Store is the port. Every method is safe for concurrent use.
type Store interface {
	// Get returns the item at key, or ErrNotFound. Reads are strongly
	// consistent.
	Get(ctx context.Context, key Key) (Item, error)
	// GetMany reads up to MaxBatchGetKeys keys at once, strongly consistent
	// like Get: it answers the items found, in the order of keys, leaving out
	// the keys that hold nothing (ErrNotFound is never returned). No key may
	// appear twice (ErrInvalid). Expired items are returned as Get returns
	// them; no keys read nothing. All or nothing: DynamoDB may answer part
	// of the keys (past 16 MB, or throttled) and the engine asks again for
	// the rest, answering ErrThrottled if it cannot get them.
	GetMany(ctx context.Context, keys []Key) ([]Item, error)
	// Put stores item when cond holds, else ErrConditionFailed.
	Put(ctx context.Context, item Item, cond Cond) error
	// Delete removes the item at key when cond holds, else ErrConditionFailed.
	Delete(ctx context.Context, key Key, cond Cond) error
	// Transact applies every write or none. A failed condition answers a
	// *TxCancelledError naming the write at fault. At most MaxTxItems writes,
	// MaxTxBytes in all, and no key twice.
	Transact(ctx context.Context, writes []Write) error
	// Query reads one page. A Cursor that was not made by this query (another
	// partition, index or direction, or not a cursor at all) answers ErrBadCursor.
	Query(ctx context.Context, q Query) (Page, error)
	// Close releases the store; in-flight calls finish first.
	Close() error
}

// Errors callers branch on. Engines wrap them with context; test with errors.Is.
var (
	ErrNotFound        = errors.New("item not found")
	ErrConditionFailed = errors.New("condition failed")
	ErrBadCursor       = errors.New("cursor is not valid for this query")
	ErrItemTooLarge    = errors.New("item exceeds the 400 KB item limit")
	ErrTxTooLarge      = errors.New("transaction exceeds 100 items or 4 MB")
	ErrInvalid         = errors.New("invalid store request")
	ErrThrottled       = errors.New("store throttled the request")
	ErrUnavailable     = errors.New("store unavailable")
)

// TxCancelledError says which write of a transaction stopped it and why.
// It matches ErrConditionFailed with errors.Is when the reason is a condition.
type TxCancelledError struct {
	Index  int   // position of the write in the transaction
	Key    Key   // the key it touched
	Reason error // ErrConditionFailed, ErrThrottled, ...
}

func (e *TxCancelledError) Error() string {
	return fmt.Sprintf("transaction cancelled at write %d (%s): %v", e.Index, e.Key, e.Reason)
}

func (e *TxCancelledError) Unwrap() error { return e.Reason }
