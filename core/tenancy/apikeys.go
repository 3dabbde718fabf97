package tenancy

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
)

// KeyPrefix starts every API key, so that secret scanners and people can
// recognise one.
const KeyPrefix = "fdl_"

// APIKey is a stored credential. The secret itself is never stored: its
// SHA-256 is the item's key. That lookup is the one partition that does not
// begin with a tenant, because the tenant is what the key tells us; the item
// then binds the caller to exactly one tenant.
type APIKey struct {
	ID        string       `json:"id"`
	TenantID  string       `json:"tenant"`
	Name      string       `json:"name"`
	Scopes    []core.Scope `json:"scopes"`
	CreatedAt time.Time    `json:"created_at"`
}

// APIKeys is the repository of API keys.
type APIKeys struct {
	store store.Store
	now   func() time.Time

	// Authenticated keys are remembered for keyCacheTTL, so that a request
	// costs the store one read for its data instead of two. Keys cannot be
	// revoked yet; when they can, a revocation takes up to that long to reach
	// every process.
	mu    sync.Mutex
	cache map[string]cachedKey
}

type cachedKey struct {
	principal core.Principal
	until     time.Time
}

const (
	keyCacheTTL  = time.Minute
	keyCacheSize = 10_000 // past it the cache starts over: simple, and rare
)

// NewAPIKeys returns the API keys in s.
func NewAPIKeys(s store.Store, now func() time.Time) *APIKeys {
	return &APIKeys{store: s, now: now, cache: map[string]cachedKey{}}
}

// apiKeyDoc stores a key by the hash of its secret; the message names the
// hash, never the secret.
var apiKeyDoc = record.Doc[APIKey]{Name: "api key"}

var keyEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// Create makes a key for an existing tenant and returns its secret, which is
// shown once and cannot be recovered.
func (ks *APIKeys) Create(ctx context.Context, tenant, name string, scopes []core.Scope) (string, APIKey, error) {
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
		return "", APIKey{}, err
	}
	if _, _, err := tenantDoc.Get(ctx, ks.store, TenantKey(tenant)); core.ErrorCode(err) == core.CodeNotFound {
		return "", APIKey{}, core.Errorf(core.CodeNotFound, "tenant %s not found", tenant)
	} else if err != nil {
		return "", APIKey{}, err
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", APIKey{}, fmt.Errorf("make api key: %w", err)
	}
	secret := KeyPrefix + strings.ToLower(keyEncoding.EncodeToString(raw[:]))
	now := ks.now().UTC()
	k := APIKey{ID: core.NewID(now), TenantID: tenant, Name: name, Scopes: scopes, CreatedAt: now}
	if err := apiKeyDoc.Create(ctx, ks.store, apiKeyKey(hashSecret(secret)), &k); err != nil {
		return "", k, fmt.Errorf("store api key: %w", err)
	}
	return secret, k, nil
}

// Authenticate returns the principal of a secret. Every failure is the same
// unauthorized error, so that a caller learns nothing about which keys exist.
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
	p := core.Principal{TenantID: k.TenantID, KeyID: k.ID, Scopes: k.Scopes}
	ks.mu.Lock()
	if len(ks.cache) >= keyCacheSize {
		clear(ks.cache)
	}
	ks.cache[hash] = cachedKey{principal: p, until: now.Add(keyCacheTTL)}
	ks.mu.Unlock()
	return p, nil
}

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}
