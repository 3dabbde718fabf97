package crm

import (
	"time"

	"github.com/fedele-crm/fedele/core/store"
)

// Key builders: the only place that spells a key. KEYS.md is their map.

// markerSK is the sort key of items that are alone in their partition.
const markerSK = "#"

func tenantPK(tenant string) string { return "T#" + tenant }

func tenantKey(tenant string) store.Key { return store.Key{PK: tenantPK(tenant), SK: "tenant"} }

func contactsPK(tenant string) string  { return tenantPK(tenant) + "#contact" }
func companiesPK(tenant string) string { return tenantPK(tenant) + "#company" }

func contactKey(tenant, id string) store.Key { return store.Key{PK: contactsPK(tenant), SK: id} }
func companyKey(tenant, id string) store.Key { return store.Key{PK: companiesPK(tenant), SK: id} }

func contactEmailKey(tenant, email string) store.Key {
	return store.Key{PK: contactsPK(tenant) + "-email#" + email, SK: markerSK}
}

func contactTagPK(tenant, tag string) string     { return contactsPK(tenant) + "-tag#" + tag }
func contactOwnerPK(tenant, owner string) string { return contactsPK(tenant) + "-owner#" + owner }
func contactCompanyPK(tenant, company string) string {
	return contactsPK(tenant) + "-company#" + company
}
func contactStagePK(tenant, stage string) string { return contactsPK(tenant) + "-stage#" + stage }

func companyDomainKey(tenant, domain string) store.Key {
	return store.Key{PK: companiesPK(tenant) + "-domain#" + domain, SK: markerSK}
}

func usersPK(tenant string) string { return tenantPK(tenant) + "#user" }

func userKey(tenant, id string) store.Key { return store.Key{PK: usersPK(tenant), SK: id} }

func userEmailKey(tenant, email string) store.Key {
	return store.Key{PK: usersPK(tenant) + "-email#" + email, SK: markerSK}
}

func activitiesPK(tenant string) string { return tenantPK(tenant) + "#activity" }

func activityKey(tenant, id string) store.Key { return store.Key{PK: activitiesPK(tenant), SK: id} }

func activityContactPK(tenant, contact string) string {
	return activitiesPK(tenant) + "-contact#" + contact
}
func activityCompanyPK(tenant, company string) string {
	return activitiesPK(tenant) + "-company#" + company
}

func activityDealPK(tenant, deal string) string { return activitiesPK(tenant) + "-deal#" + deal }

// openTasksPK holds an owner's open tasks with a due date, by due date.
func openTasksPK(tenant, owner string) string { return activitiesPK(tenant) + "-open-task#" + owner }

func pipelinesPK(tenant string) string { return tenantPK(tenant) + "#pipeline" }

func pipelineKey(tenant, id string) store.Key { return store.Key{PK: pipelinesPK(tenant), SK: id} }

func dealsPK(tenant string) string { return tenantPK(tenant) + "#deal" }

func dealKey(tenant, id string) store.Key { return store.Key{PK: dealsPK(tenant), SK: id} }

func dealPipelinePK(tenant, pipeline string) string { return dealsPK(tenant) + "-pipeline#" + pipeline }

func apiKeyKey(hash string) store.Key { return store.Key{PK: "APIKEY#" + hash, SK: markerSK} }

func idempotencyKey(tenant, key string) store.Key {
	return store.Key{PK: tenantPK(tenant) + "#idem#" + key, SK: markerSK}
}

// sortTime renders t so that byte order is time order: fixed width, UTC.
func sortTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }
