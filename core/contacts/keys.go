package contacts

import (
	"fmt"

	"github.com/fedele-crm/fedele/core/store"
)

// Keys of contacts and companies; docs/architecture.md maps them.

// ContactShards spreads a tenant's contacts, with their update-order index
// entries and their stage index entries, over this many partitions each: 8
// lifts a tenant's contact creates from the ~500/s of one partition to what
// its events allow (docs/keys.md, "Sharded collections"), for 8 queries per
// list page instead of 1.
const ContactShards = 8

var (
	contactShards      = store.Collection{Name: "contact", Shards: ContactShards}
	contactStageShards = store.Collection{Name: "contact-stage", Shards: ContactShards}
)

// contactTagPK is the one partition of a tag's entries. Tags are not
// sharded: a page by tag is then one query (not one per shard), at the
// price of a ceiling of 500 writes/s on a tag that every contact of an
// import shares (docs/keys.md, "Write ceilings per tenant").
func contactTagPK(tenant, tag string) string { return store.Tenant(tenant).PK("contact-tag", tag) }

func companiesPK(tenant string) string { return store.Tenant(tenant).PK("company") }

// ContactKey is where a contact is stored (other areas reference it).
func ContactKey(tenant, id string) store.Key {
	return store.Key{PK: contactShards.PK(tenant, id), SK: id}
}

// ContactPKs are the partitions of a tenant's contacts, for a merged read
// of all of them (store.QueryMerged).
func ContactPKs(tenant string) []string { return contactShards.PKs(tenant) }

// CompanyKey is where a company is stored (other areas reference it).
func CompanyKey(tenant, id string) store.Key { return store.Key{PK: companiesPK(tenant), SK: id} }

func contactEmailKey(tenant, email string) store.Key {
	return store.Tenant(tenant).Marker("contact-email", email)
}

// contactExternalKey is the marker of a contact's external id (unique).
func contactExternalKey(tenant, externalID string) store.Key {
	return store.Tenant(tenant).Marker("contact-ext", externalID)
}

func contactOwnerPK(tenant, owner string) string {
	return store.Tenant(tenant).PK("contact-owner", owner)
}
func contactCompanyPK(tenant, company string) string {
	return store.Tenant(tenant).PK("contact-company", company)
}

func companyDomainKey(tenant, domain string) store.Key {
	return store.Tenant(tenant).Marker("company-domain", domain)
}

// Search and sort by name (docs/keys.md, "Search"). A search entry is
// `<token>#<id>` in the partition of its token's first two characters,
// sharded like the contact, so a prefix of two characters or more is one
// partition per shard; a contact's e-mail entries ride on its e-mail
// markers (gsi1), its name and phone entries on its slots (gsi1), and its
// sort name on slot 0 (gsi2).
var (
	contactSearchShards = store.Collection{Name: "contact-search", Shards: ContactShards}
	contactNameShards   = store.Collection{Name: "contact-name", Shards: ContactShards}
)

// contactSlotKey is a contact's slot i: one partition per contact, so a
// bulk import spreads its slot writes as widely as its contacts.
func contactSlotKey(tenant, id string, i int) store.Key {
	return store.Tenant(tenant).Key(slotSK(i), "contact-slot", id)
}

func companySearchPK(tenant, part string) string {
	return store.Tenant(tenant).PK("company-search", part)
}

func companyNamePK(tenant string) string { return store.Tenant(tenant).PK("company-name") }

func companySlotKey(tenant, id string, i int) store.Key {
	return store.Tenant(tenant).Key(slotSK(i), "company-slot", id)
}

func slotSK(i int) string { return fmt.Sprintf("%02d", i) }
