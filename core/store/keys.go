package store

import "strings"

// Tenant is one tenant's part of the key space. Every key of a tenant's
// data is spelled through it — no package writes "T#" by hand — so every
// partition key begins with the tenant id and no query can leave its
// tenant. The access-pattern table in docs/architecture.md maps each
// collection's keys.
type Tenant string

// PK is the partition key of parts within the tenant:
// Tenant("acme").PK("contact-email", "ada@example.com") is
// "T#acme#contact-email#ada@example.com". No parts is the tenant's own
// partition. A part may hold any character but NUL; an empty part is kept
// empty, and the store refuses the key (see Check), so a record missing a
// reference cannot be mistaken for another's.
func (t Tenant) PK(parts ...string) string {
	var b strings.Builder
	b.WriteString("T#")
	b.WriteString(string(t))
	for _, p := range parts {
		b.WriteByte('#')
		b.WriteString(p)
	}
	return b.String()
}

// Key is the item at sort key sk in the partition of parts.
func (t Tenant) Key(sk string, parts ...string) Key { return Key{PK: t.PK(parts...), SK: sk} }

// Marker is the key of an item alone in its partition (a uniqueness marker,
// a pointer, a settings document).
func (t Tenant) Marker(parts ...string) Key { return Key{PK: t.PK(parts...), SK: MarkerSK} }

// MarkerSK is the sort key of items that are alone in their partition.
const MarkerSK = "#"

// Global is the partition key of parts outside every tenant. Only two
// collections live there, each read by something that does not yet know
// the tenant or serves them all: the API-key lookup ("APIKEY", by the hash
// of the secret, which is what tells the tenant) and the relay's pending
// outbox shards ("OUTBOX").
func Global(parts ...string) string { return strings.Join(parts, "#") }

// TenantOf returns the tenant of a key spelled by Tenant, or "" for a
// global key.
func TenantOf(pk string) string {
	rest, ok := strings.CutPrefix(pk, "T#")
	if !ok {
		return ""
	}
	t, _, _ := strings.Cut(rest, "#")
	return t
}
