// Package tenancy is the area of tenants and their access: a tenant's
// settings and custom field definitions, its API keys (stored hashed, with
// scopes), and the idempotency records that make a repeated request safe.
//
// It must never import an engine or an adapter. Every key it spells begins
// with the tenant, but one: the API-key lookup, by the hash of the secret,
// which is what tells the tenant (see keys.go).
package tenancy
