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

// Collection is a tenant's high-volume collection (contacts, events, and
// what a campaign writes per recipient), spread over Shards partitions so
// that one tenant is not bound by one partition's write ceiling (1 000
// write units a second on DynamoDB). An item's partition follows from its
// id (ShardOf); lists read every shard and merge them (QueryMerged).
// Shards is fixed per collection: changing it moves every item.
type Collection struct {
	Name   string // the first part of its partition keys: "contact"
	Shards int
}

// PK is the partition of the item with id, among the partitions of parts
// (Collection{"contact", 8}.PK("acme", id, "stage", "lead") is
// "T#acme#contact#stage#lead#<0..7>").
func (c Collection) PK(tenant, id string, parts ...string) string {
	return ShardPK(Tenant(tenant).PK(append([]string{c.Name}, parts...)...), id, c.Shards)
}

// PKs are every partition of parts, in shard order, for QueryMerged.
func (c Collection) PKs(tenant string, parts ...string) []string {
	return ShardPKs(Tenant(tenant).PK(append([]string{c.Name}, parts...)...), c.Shards)
}
