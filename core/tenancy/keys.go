package tenancy

import "github.com/fedele-crm/fedele/core/store"

// TenantKey is where a tenant's settings are stored.
func TenantKey(tenant string) store.Key {
	return store.Key{PK: store.Tenant(tenant).PK(), SK: "tenant"}
}

// apiKeyKey is global: a request's key is looked up before its tenant is
// known (the key is what tells it).
func apiKeyKey(hash string) store.Key {
	return store.Key{PK: store.Global("APIKEY", hash), SK: store.MarkerSK}
}

func idempotencyKey(tenant, key string) store.Key { return store.Tenant(tenant).Marker("idem", key) }
