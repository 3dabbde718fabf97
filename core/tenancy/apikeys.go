package tenancy

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
)

// KeyPrefix starts every API key, so that secret scanners and people can
// recognise one.
const KeyPrefix = "fdl_"

// APIKey is the lookup item of one secret. The secret itself is never
// stored: its SHA-256 is the item's key. That lookup is the one partition
// that does not begin with a tenant, because the tenant is what the key
// tells us; the item then binds the caller to exactly one tenant.
type APIKey struct {
	ID        string       `json:"id"`
	TenantID  string       `json:"tenant"`
	Name      string       `json:"name"`
	Scopes    []core.Scope `json:"scopes"`
	CreatedAt time.Time    `json:"created_at"`
	// ExpiresAt ends a secret replaced by a rotation, after its grace.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// KeyInfo is what a tenant may know of one of its keys: everything but
// the secret, which is shown once, when it is made.
type KeyInfo struct {
	ID     string       `json:"id"`
	Name   string       `json:"name"`
	Prefix string       `json:"prefix" doc:"The secret's first characters, to recognise it by; empty for a key made before prefixes were kept."`
	Scopes []core.Scope `json:"scopes"`
	// LastUsedAt is written at most once a minute per key, so it is late
	// by up to a minute and a half (see Authenticate).
	LastUsedAt *time.Time `json:"last_used_at,omitempty" doc:"When the key last authenticated a request, to about a minute and a half."`
	CreatedAt  time.Time  `json:"created_at"`
	RotatedAt  *time.Time `json:"rotated_at,omitempty"`
	// PreviousExpiresAt is when the secret replaced by the last rotation
	// stops working.
	PreviousExpiresAt *time.Time `json:"previous_expires_at,omitempty" doc:"When the secret the last rotation replaced stops working; absent once it has."`
}

// keyEntry is a key's entry in its tenant's list.
type keyEntry struct {
	KeyInfo
	Hash         string `json:"hash"`
	PreviousHash string `json:"previous_hash,omitempty"`
}

// APIKeys is the repository of API keys.
type APIKeys struct {
	store store.Store
	now   func() time.Time

	// Authenticated keys are remembered for KeyCacheTTL, so that a request
	// costs the store one read for its data instead of two; a revocation
	// therefore takes up to that long to reach the other processes (this
	// one forgets the key at once).
	mu    sync.Mutex
	cache map[string]cachedKey
}

type cachedKey struct {
	principal core.Principal
	until     time.Time
}

const (
	// KeyCacheTTL is how long a process trusts a key it has authenticated:
	// the most a revoked key, or a rotated secret past its grace, keeps
	// working on a process that served it just before.
	KeyCacheTTL  = 30 * time.Second
	keyCacheSize = 10_000 // past it the cache starts over: simple, and rare

	// DefaultRotationGrace is how long the secret a rotation replaces keeps
	// working, so that its holders can switch; MaxRotationGrace the most a
	// caller may ask for.
	DefaultRotationGrace = time.Hour
	MaxRotationGrace     = 7 * 24 * time.Hour

	// lastUsedEvery is how stale a key's last use may get before an
	// authentication writes it again.
	lastUsedEvery = time.Minute
	// prefixLen is how much of a secret a list shows: "fdl_" and 8 of its
	// 52 characters (40 of its 256 bits).
	prefixLen = len(KeyPrefix) + 8
)

// NewAPIKeys returns the API keys in s.
func NewAPIKeys(s store.Store, now func() time.Time) *APIKeys {
	return &APIKeys{store: s, now: now, cache: map[string]cachedKey{}}
}

// apiKeyDoc stores a secret's lookup item by its hash; the message names
// the hash, never the secret. A rotated secret's item expires with it.
var apiKeyDoc = record.Doc[APIKey]{Name: "api key", TTL: func(k *APIKey) time.Time {
	if k.ExpiresAt == nil {
		return time.Time{}
	}
	return *k.ExpiresAt
}}

var keyEntryDoc = record.Doc[keyEntry]{Name: "api key"}

var keyEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

func newSecret() (string, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("make api key: %w", err)
	}
	return KeyPrefix + strings.ToLower(keyEncoding.EncodeToString(raw[:])), nil
}

// Create makes a key for an existing tenant and returns its secret, which is
// shown once and cannot be recovered.
func (ks *APIKeys) Create(ctx context.Context, tenant, name string, scopes []core.Scope) (string, KeyInfo, error) {
	var p core.Problems
	if len(scopes) == 0 {
		p.Add("scopes", "name at least one of %v", core.Scopes)
	}
	for i, s := range scopes {
		if _, ok := core.ParseScope(string(s)); !ok {
			p.Add(fmt.Sprintf("scopes[%d]", i), "must be one of %v", core.Scopes)
		}
	}
	if err := p.Err(); err != nil {
		return "", KeyInfo{}, err
	}
	if _, _, err := tenantDoc.Get(ctx, ks.store, TenantKey(tenant)); core.ErrorCode(err) == core.CodeNotFound {
		return "", KeyInfo{}, core.Errorf(core.CodeNotFound, "tenant %s not found", tenant)
	} else if err != nil {
		return "", KeyInfo{}, err
	}
	secret, err := newSecret()
	if err != nil {
		return "", KeyInfo{}, err
	}
	now := ks.now().UTC()
	k := APIKey{ID: core.NewID(now), TenantID: tenant, Name: name, Scopes: scopes, CreatedAt: now}
	e := keyEntry{KeyInfo: KeyInfo{ID: k.ID, Name: name, Prefix: secret[:prefixLen], Scopes: scopes, CreatedAt: now}, Hash: hashSecret(secret)}
	lookup, err := apiKeyDoc.Put(apiKeyKey(e.Hash), 0, &k)
	if err != nil {
		return "", KeyInfo{}, err
	}
	entry, err := keyEntryDoc.Put(apiKeyRecord(tenant, k.ID), 0, &e)
	if err != nil {
		return "", KeyInfo{}, err
	}
	if err := ks.commit(ctx, tenant, events.APIKeyCreated, now, e.KeyInfo, lookup, entry); err != nil {
		return "", KeyInfo{}, err
	}
	return secret, e.KeyInfo, nil
}

// commit writes a key's change with its event.
func (ks *APIKeys) commit(ctx context.Context, tenant string, typ events.Type, at time.Time, info KeyInfo, writes ...store.Write) error {
	data, err := json.Marshal(info)
	if err != nil {
		return fmt.Errorf("encode api key %s: %w", info.ID, err)
	}
	ev, err := events.OutboxWrite(events.New(ctx, tenant, typ, at, events.Entity{Type: "api_key", ID: info.ID, Data: data}))
	if err != nil {
		return err
	}
	if err := ks.store.Transact(ctx, append(writes, ev)); err != nil {
		if errors.Is(err, store.ErrConditionFailed) {
			return core.Errorf(core.CodeConflict, "api key %s was changed concurrently", info.ID)
		}
		return fmt.Errorf("write api key %s: %w", info.ID, record.StoreError(err))
	}
	return nil
}

// Get returns one of tenant's keys; another tenant's is not found.
func (ks *APIKeys) Get(ctx context.Context, tenant, id string) (KeyInfo, error) {
	e, _, err := ks.entry(ctx, tenant, id)
	return e.KeyInfo, err
}

func (ks *APIKeys) entry(ctx context.Context, tenant, id string) (keyEntry, int64, error) {
	if !core.ValidID(id) {
		return keyEntry{}, 0, core.Errorf(core.CodeNotFound, "api key %s not found", id)
	}
	e, v, err := keyEntryDoc.Get(ctx, ks.store, apiKeyRecord(tenant, id))
	if core.ErrorCode(err) == core.CodeNotFound {
		return e, 0, core.Errorf(core.CodeNotFound, "api key %s not found", id)
	}
	if e.PreviousExpiresAt != nil && !ks.now().Before(*e.PreviousExpiresAt) {
		e.PreviousExpiresAt = nil // the replaced secret is gone; its hash stays until the next change
	}
	return e, v, err
}

// List returns a page of tenant's keys, oldest first, and the cursor of
// the next page ("" on the last).
func (ks *APIKeys) List(ctx context.Context, tenant string, limit int, cursor string) ([]KeyInfo, string, error) {
	if err := record.CheckLimit(limit); err != nil {
		return nil, "", err
	}
	// The cursor is a list cursor like every other: bound to the tenant and
	// this list, refused as a 422 when it is not one.
	filter := record.FilterKey("api-keys")
	var storeCursor string
	if cursor != "" {
		var err error
		if storeCursor, err = record.DecodeListCursor(cursor, tenant, filter); err != nil {
			return nil, "", err
		}
	}
	page, err := ks.store.Query(ctx, store.Query{PK: apiKeyList(tenant), Limit: limit, Cursor: storeCursor, Consistent: true})
	if errors.Is(err, store.ErrBadCursor) {
		return nil, "", record.BadCursor()
	}
	if err != nil {
		return nil, "", fmt.Errorf("list api keys: %w", record.StoreError(err))
	}
	out := []KeyInfo{}
	for _, it := range page.Items {
		var e keyEntry
		if err := json.Unmarshal(it.Data, &e); err != nil {
			return nil, "", fmt.Errorf("decode api key %s: %w", it.Key, err)
		}
		if e.PreviousExpiresAt != nil && !ks.now().Before(*e.PreviousExpiresAt) {
			e.PreviousExpiresAt = nil
		}
		out = append(out, e.KeyInfo)
	}
	next := ""
	if page.Next != "" {
		next = record.EncodeListCursor(page.Next, tenant, filter)
	}
	return out, next, nil
}

// Revoke deletes one of tenant's keys with every secret it has. This
// process refuses it at once, every other within KeyCacheTTL.
func (ks *APIKeys) Revoke(ctx context.Context, tenant, id string) (KeyInfo, error) {
	e, version, err := ks.entry(ctx, tenant, id)
	if err != nil {
		return e.KeyInfo, err
	}
	writes := []store.Write{
		{Op: store.OpDelete, Key: apiKeyRecord(tenant, id), Cond: store.Cond{Version: version}},
		{Op: store.OpDelete, Key: apiKeyKey(e.Hash)},
	}
	if e.PreviousHash != "" {
		writes = append(writes, store.Write{Op: store.OpDelete, Key: apiKeyKey(e.PreviousHash)})
	}
	if err := ks.commit(ctx, tenant, events.APIKeyRevoked, ks.now().UTC(), e.KeyInfo, writes...); err != nil {
		return e.KeyInfo, err
	}
	ks.forget(e.Hash, e.PreviousHash)
	return e.KeyInfo, nil
}

// Rotate gives one of tenant's keys a new secret, returned once; the one
// it replaces keeps working for grace (0: stops at once, as far as the
// caches allow), and a secret still in its grace from an earlier rotation
// stops now.
func (ks *APIKeys) Rotate(ctx context.Context, tenant, id string, grace time.Duration) (string, KeyInfo, error) {
	if grace < 0 || grace > MaxRotationGrace {
		return "", KeyInfo{}, core.Invalid("grace_seconds", fmt.Sprintf("must be between 0 and %d", int(MaxRotationGrace.Seconds())), grace.Seconds())
	}
	e, version, err := ks.entry(ctx, tenant, id)
	if err != nil {
		return "", e.KeyInfo, err
	}
	old, oldVersion, err := apiKeyDoc.Get(ctx, ks.store, apiKeyKey(e.Hash))
	if err != nil {
		return "", e.KeyInfo, err
	}
	secret, err := newSecret()
	if err != nil {
		return "", e.KeyInfo, err
	}
	now := ks.now().UTC()
	until := now.Add(grace)
	fresh := old
	fresh.ExpiresAt = nil
	retired := old
	retired.ExpiresAt = &until
	stale := e.PreviousHash
	e.PreviousHash, e.Hash = e.Hash, hashSecret(secret)
	e.Prefix, e.RotatedAt, e.PreviousExpiresAt = secret[:prefixLen], &now, &until
	var writes []store.Write
	for _, w := range []struct {
		doc  record.Doc[APIKey]
		hash string
		prev int64
		v    *APIKey
	}{{apiKeyDoc, e.Hash, 0, &fresh}, {apiKeyDoc, e.PreviousHash, oldVersion, &retired}} {
		pw, err := w.doc.Put(apiKeyKey(w.hash), w.prev, w.v)
		if err != nil {
			return "", e.KeyInfo, err
		}
		writes = append(writes, pw)
	}
	entry, err := keyEntryDoc.Put(apiKeyRecord(tenant, id), version, &e)
	if err != nil {
		return "", e.KeyInfo, err
	}
	writes = append(writes, entry)
	if stale != "" {
		writes = append(writes, store.Write{Op: store.OpDelete, Key: apiKeyKey(stale)})
	}
	if err := ks.commit(ctx, tenant, events.APIKeyRotated, now, e.KeyInfo, writes...); err != nil {
		return "", e.KeyInfo, err
	}
	ks.forget(e.PreviousHash, stale)
	return secret, e.KeyInfo, nil
}

func (ks *APIKeys) forget(hashes ...string) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	for _, h := range hashes {
		delete(ks.cache, h)
	}
}

// Authenticate returns the principal of a secret. Every failure is the same
// unauthorized error, so that a caller learns nothing about which keys exist.
// A key read from the store (at most once per KeyCacheTTL per process) also
// records its last use when the one stored is over a minute old.
func (ks *APIKeys) Authenticate(ctx context.Context, secret string) (core.Principal, error) {
	denied := core.Errorf(core.CodeUnauthorized, "missing or invalid API key")
	if !strings.HasPrefix(secret, KeyPrefix) || len(secret) > 128 {
		return core.Principal{}, denied
	}
	hash := hashSecret(secret)
	now := ks.now()
	ks.mu.Lock()
	c, ok := ks.cache[hash]
	ks.mu.Unlock()
	if ok && now.Before(c.until) {
		return c.principal, nil
	}
	k, _, err := apiKeyDoc.Get(ctx, ks.store, apiKeyKey(hash))
	if core.ErrorCode(err) == core.CodeNotFound {
		return core.Principal{}, denied
	}
	if err != nil {
		return core.Principal{}, err
	}
	until := now.Add(KeyCacheTTL)
	if k.ExpiresAt != nil {
		if !now.Before(*k.ExpiresAt) {
			return core.Principal{}, denied // the store's TTL is lazy
		}
		until = minTime(until, *k.ExpiresAt)
	}
	p := core.Principal{TenantID: k.TenantID, KeyID: k.ID, Scopes: k.Scopes}
	ks.mu.Lock()
	if len(ks.cache) >= keyCacheSize {
		clear(ks.cache)
	}
	ks.cache[hash] = cachedKey{principal: p, until: until}
	ks.mu.Unlock()
	ks.touch(ctx, k, hash, now)
	return p, nil
}

// touch records a key's use when the stored one is over lastUsedEvery old.
// It is best effort: a failure or a lost race costs the record a minute,
// never the request. A key made before keys had entries gets one here.
func (ks *APIKeys) touch(ctx context.Context, k APIKey, hash string, now time.Time) {
	at := now.UTC()
	e, version, err := keyEntryDoc.Get(ctx, ks.store, apiKeyRecord(k.TenantID, k.ID))
	switch {
	case core.ErrorCode(err) == core.CodeNotFound && k.ExpiresAt == nil:
		e = keyEntry{KeyInfo: KeyInfo{ID: k.ID, Name: k.Name, Scopes: k.Scopes, CreatedAt: k.CreatedAt}, Hash: hash}
	case err != nil:
		return
	case e.LastUsedAt != nil && at.Sub(*e.LastUsedAt) < lastUsedEvery:
		return
	}
	e.LastUsedAt = &at
	w, err := keyEntryDoc.Put(apiKeyRecord(k.TenantID, k.ID), version, &e)
	if err != nil {
		return
	}
	if version == 0 {
		// Only while the key still exists: a revocation between the lookup
		// and here must not leave an entry behind.
		_ = ks.store.Transact(ctx, []store.Write{w, {Op: store.OpCheck, Key: apiKeyKey(hash), Cond: store.Cond{MustExist: true}}})
		return
	}
	_ = ks.store.Put(ctx, w.Item, w.Cond)
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}
