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

// apiKeyRecord is a key's entry in its tenant's list, by id: what the API
// shows of it, and the hashes of its secrets (never the secrets).
func apiKeyRecord(tenant, id string) store.Key { return store.Tenant(tenant).Key(id, "apikey") }

// apiKeyList is the partition of a tenant's key entries.
func apiKeyList(tenant string) string { return store.Tenant(tenant).PK("apikey") }
