package crm

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/store"
)

// IdempotencyTTL is how long a key is remembered.
const IdempotencyTTL = 24 * time.Hour

// idemLockTTL is how long a claimed key may stay unfinished before it is
// taken to belong to a process that died mid-request; no request runs that
// long (the server's timeouts are shorter).
const idemLockTTL = 2 * time.Minute

// Response is a stored answer, replayed for a repeated request.
type Response struct {
	Status int               `json:"status"`
	Header map[string]string `json:"header,omitempty"`
	Body   []byte            `json:"body,omitempty"`
}

type idemRecord struct {
	Fingerprint string    `json:"fingerprint"`
	Done        bool      `json:"done"`
	Response    Response  `json:"response"`
	Gzipped     bool      `json:"gzipped,omitempty"` // Response.Body is gzip-compressed
	CreatedAt   time.Time `json:"created_at"`
}

// gzipOver is the body size past which a stored response is compressed: a
// batch answer can approach the 1 MiB request limit, over DynamoDB's 400 KB
// item limit, and JSON shrinks several times under gzip.
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
// fingerprint. It returns a stored response to replay, or nil when the
// caller must run the request and then call Finish (or Abandon).
// The same key with another request is refused, and so is a key whose first
// request is still running, so two retries never both run.
func (is *Idempotency) Begin(ctx context.Context, tenant, key, fingerprint string) (*Response, error) {
	if err := CheckIdempotencyKey(key); err != nil {
		return nil, err
	}
	now := is.now().UTC()
	for attempt := 0; ; attempt++ {
		rec := idemRecord{Fingerprint: fingerprint, CreatedAt: now}
		data, _ := json.Marshal(rec)
		err := is.store.Put(ctx, store.Item{Key: idempotencyKey(tenant, key), Version: 1, ExpiresAt: now.Add(IdempotencyTTL), Data: data},
			store.Cond{MustNotExist: true})
		if err == nil {
			return nil, nil
		}
		if !errors.Is(err, store.ErrConditionFailed) {
			return nil, fmt.Errorf("claim idempotency key: %w", storeErr(err))
		}
		it, err := is.store.Get(ctx, idempotencyKey(tenant, key))
		if errors.Is(err, store.ErrNotFound) && attempt < maxRetries {
			continue // abandoned meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("load idempotency key: %w", storeErr(err))
		}
		if it.Expired(now) && attempt < maxRetries {
			// Past its TTL but not yet swept: it is forgotten, as promised.
			if err := is.store.Delete(ctx, it.Key, store.Cond{Version: it.Version}); err != nil && !errors.Is(err, store.ErrConditionFailed) {
				return nil, fmt.Errorf("expire idempotency key: %w", storeErr(err))
			}
			continue
		}
		var old idemRecord
		if err := json.Unmarshal(it.Data, &old); err != nil {
			return nil, fmt.Errorf("decode idempotency key: %w", err)
		}
		switch {
		case old.Fingerprint != fingerprint:
			return nil, &core.Error{Code: core.CodeInvalid, Message: "this Idempotency-Key was used with a different request",
				Fields: []core.FieldError{{Path: "Idempotency-Key", Message: "already used for another method, path or body"}}}
		case !old.Done && now.Sub(old.CreatedAt) > idemLockTTL && attempt < maxRetries:
			// Claimed by a process that died before it finished: release it.
			if err := is.store.Delete(ctx, it.Key, store.Cond{Version: it.Version}); err != nil && !errors.Is(err, store.ErrConditionFailed) {
				return nil, fmt.Errorf("release abandoned idempotency key: %w", storeErr(err))
			}
			continue
		case !old.Done:
			return nil, core.Errorf(core.CodeConflict, "a request with this Idempotency-Key is still in progress; retry later")
		}
		if old.Gzipped {
			zr, err := gzip.NewReader(bytes.NewReader(old.Response.Body))
			if err != nil {
				return nil, fmt.Errorf("decompress idempotent response: %w", err)
			}
			if old.Response.Body, err = io.ReadAll(zr); err != nil {
				return nil, fmt.Errorf("decompress idempotent response: %w", err)
			}
		}
		return &old.Response, nil
	}
}

// Finish stores the response of a request claimed with Begin.
func (is *Idempotency) Finish(ctx context.Context, tenant, key, fingerprint string, resp Response) error {
	now := is.now().UTC()
	rec := idemRecord{Fingerprint: fingerprint, Done: true, Response: resp, CreatedAt: now}
	if len(resp.Body) > gzipOver {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(resp.Body)
		if err := zw.Close(); err != nil {
			return fmt.Errorf("compress idempotent response: %w", err)
		}
		rec.Response.Body, rec.Gzipped = buf.Bytes(), true
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode idempotency record: %w", err)
	}
	err = is.store.Put(ctx, store.Item{Key: idempotencyKey(tenant, key), Version: 2, ExpiresAt: now.Add(IdempotencyTTL), Data: data},
		store.Cond{Version: 1})
	if err != nil {
		return fmt.Errorf("finish idempotency key: %w", storeErr(err))
	}
	return nil
}

// Abandon forgets a claimed key whose request failed on our side, so that
// the client's retry runs again instead of replaying our failure.
func (is *Idempotency) Abandon(ctx context.Context, tenant, key string) error {
	if err := is.store.Delete(ctx, idempotencyKey(tenant, key), store.Cond{Version: 1}); err != nil && !errors.Is(err, store.ErrConditionFailed) {
		return fmt.Errorf("abandon idempotency key: %w", storeErr(err))
	}
	return nil
}
