package contacts

import "github.com/fedele-crm/fedele/core/store"

// Keys of contacts and companies; docs/architecture.md maps them.

func contactsPK(tenant string) string  { return store.Tenant(tenant).PK("contact") }
func companiesPK(tenant string) string { return store.Tenant(tenant).PK("company") }

// ContactKey is where a contact is stored (other areas reference it).
func ContactKey(tenant, id string) store.Key { return store.Key{PK: contactsPK(tenant), SK: id} }

// CompanyKey is where a company is stored (other areas reference it).
func CompanyKey(tenant, id string) store.Key { return store.Key{PK: companiesPK(tenant), SK: id} }

func contactEmailKey(tenant, email string) store.Key {
	return store.Tenant(tenant).Marker("contact-email", email)
}

func contactTagPK(tenant, tag string) string { return store.Tenant(tenant).PK("contact-tag", tag) }
func contactOwnerPK(tenant, owner string) string {
	return store.Tenant(tenant).PK("contact-owner", owner)
}
func contactCompanyPK(tenant, company string) string {
	return store.Tenant(tenant).PK("contact-company", company)
}
func contactStagePK(tenant, stage string) string {
	return store.Tenant(tenant).PK("contact-stage", stage)
}

func companyDomainKey(tenant, domain string) store.Key {
	return store.Tenant(tenant).Marker("company-domain", domain)
}
