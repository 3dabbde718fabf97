package tenancy

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"time"
	"unicode"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
)

// IdempotencyTTL is how long a key is remembered.
const IdempotencyTTL = 24 * time.Hour

// idemLockTTL is how long a claimed key may stay unfinished before it is
// taken to belong to a process that died mid-request; no request runs that
// long (the server's timeouts are shorter).
const idemLockTTL = 2 * time.Minute

// idemRecord is a claimed key and, once Done, the outcome of its request:
// bytes the caller encodes (the HTTP API keeps its response there), opaque
// here.
type idemRecord struct {
	Fingerprint string    `json:"fingerprint"`
	Done        bool      `json:"done"`
	Outcome     []byte    `json:"outcome,omitempty"`
	Gzipped     bool      `json:"gzipped,omitempty"` // Outcome is gzip-compressed
	CreatedAt   time.Time `json:"created_at"`
}

// idemDoc keeps a key for IdempotencyTTL after its claim, and after its
// outcome is stored.
var idemDoc = record.Doc[idemRecord]{Name: "idempotency key", TTL: func(r *idemRecord) time.Time { return r.CreatedAt.Add(IdempotencyTTL) }}

// gzipOver is the outcome size past which it is compressed: a batch answer
// can approach the 1 MiB request limit, over DynamoDB's 400 KB item limit,
// and JSON shrinks several times under gzip.
const gzipOver = 16 << 10

// Idempotency remembers the outcome of POST requests by their
// Idempotency-Key, per tenant.
type Idempotency struct {
	store store.Store
	now   func() time.Time
}

// NewIdempotency returns the idempotency records in s.
func NewIdempotency(s store.Store, now func() time.Time) *Idempotency {
	return &Idempotency{store: s, now: now}
}

// CheckIdempotencyKey validates a client's key.
func CheckIdempotencyKey(key string) error {
	ok := len(key) >= 1 && len(key) <= 255
	for _, r := range key {
		ok = ok && r < unicode.MaxASCII && unicode.IsPrint(r)
	}
	if !ok {
		return &core.Error{Code: core.CodeInvalid, Message: "validation failed",
			Fields: []core.FieldError{{Path: "Idempotency-Key", Message: "must be 1-255 printable ASCII characters"}}}
	}
	return nil
}

// Begin claims key for a request whose method, path and body hash to
// fingerprint. It returns the stored outcome to replay (replay true), or
// replay false when the caller must run the request and then call Finish
// (or Abandon).
// The same key with another request is refused, and so is a key whose first
// request is still running, so two retries never both run.
func (is *Idempotency) Begin(ctx context.Context, tenant, key, fingerprint string) (outcome []byte, replay bool, err error) {
	if err := CheckIdempotencyKey(key); err != nil {
		return nil, false, err
	}
	now := is.now().UTC()
	for attempt := 0; ; attempt++ {
		k := idempotencyKey(tenant, key)
		err := idemDoc.Create(ctx, is.store, k, &idemRecord{Fingerprint: fingerprint, CreatedAt: now})
		if err == nil {
			return nil, false, nil
		}
		if core.ErrorCode(err) != core.CodeConflict {
			return nil, false, fmt.Errorf("claim idempotency key: %w", err)
		}
		old, version, err := idemDoc.Get(ctx, is.store, k)
		if core.ErrorCode(err) == core.CodeNotFound && attempt < record.MaxRetries {
			continue // abandoned meanwhile
		}
		if err != nil {
			return nil, false, err
		}
		if !now.Before(old.CreatedAt.Add(IdempotencyTTL)) && attempt < record.MaxRetries {
			// Past its TTL but not yet swept: it is forgotten, as promised.
			if err := idemDoc.Delete(ctx, is.store, k, version); err != nil && !record.IsRace(err) {
				return nil, false, fmt.Errorf("expire idempotency key: %w", err)
			}
			continue
		}
		switch {
		case old.Fingerprint != fingerprint:
			return nil, false, &core.Error{Code: core.CodeInvalid, Message: "this Idempotency-Key was used with a different request",
				Fields: []core.FieldError{{Path: "Idempotency-Key", Message: "already used for another method, path or body"}}}
		case !old.Done && now.Sub(old.CreatedAt) > idemLockTTL && attempt < record.MaxRetries:
			// Claimed by a process that died before it finished: release it.
			if err := idemDoc.Delete(ctx, is.store, k, version); err != nil && !record.IsRace(err) {
				return nil, false, fmt.Errorf("release abandoned idempotency key: %w", err)
			}
			continue
		case !old.Done:
			return nil, false, core.Errorf(core.CodeConflict, "a request with this Idempotency-Key is still in progress; retry later")
		}
		if old.Gzipped {
			zr, err := gzip.NewReader(bytes.NewReader(old.Outcome))
			if err != nil {
				return nil, false, fmt.Errorf("decompress idempotent outcome: %w", err)
			}
			if old.Outcome, err = io.ReadAll(zr); err != nil {
				return nil, false, fmt.Errorf("decompress idempotent outcome: %w", err)
			}
		}
		return old.Outcome, true, nil
	}
}

// Finish stores the outcome of a request claimed with Begin.
func (is *Idempotency) Finish(ctx context.Context, tenant, key, fingerprint string, outcome []byte) error {
	now := is.now().UTC()
	rec := idemRecord{Fingerprint: fingerprint, Done: true, Outcome: outcome, CreatedAt: now}
	if len(outcome) > gzipOver {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(outcome)
		if err := zw.Close(); err != nil {
			return fmt.Errorf("compress idempotent outcome: %w", err)
		}
		rec.Outcome, rec.Gzipped = buf.Bytes(), true
	}
	w, err := idemDoc.Put(idempotencyKey(tenant, key), 1, &rec)
	if err == nil {
		err = is.store.Put(ctx, w.Item, w.Cond)
	}
	if err != nil {
		return fmt.Errorf("finish idempotency key: %w", record.StoreError(err))
	}
	return nil
}

// Abandon forgets a claimed key whose request failed on our side, so that
// the client's retry runs again instead of replaying our failure.
func (is *Idempotency) Abandon(ctx context.Context, tenant, key string) error {
	if err := idemDoc.Delete(ctx, is.store, idempotencyKey(tenant, key), 1); err != nil && !record.IsRace(err) {
		return fmt.Errorf("abandon idempotency key: %w", err)
	}
	return nil
}
