// Package crm holds the repositories and use cases of contacts, companies,
// tenants, API keys and idempotency records, written once on the storage
// port (core/store) with one key design (KEYS.md beside this file).
//
// It must never import an engine or an adapter: what it needs of the world
// is the store.Store it is given and a clock. Every key it builds begins
// with the tenant id, so no query can leave its tenant; the single
// exception, the API-key hash lookup, is explained in apikeys.go.
package crm
