package timeline

import "github.com/fedele-crm/fedele/core/store"

func activitiesPK(tenant string) string { return store.Tenant(tenant).PK("activity") }

func activityKey(tenant, id string) store.Key { return store.Key{PK: activitiesPK(tenant), SK: id} }

func activityContactPK(tenant, contact string) string {
	return store.Tenant(tenant).PK("activity-contact", contact)
}
func activityCompanyPK(tenant, company string) string {
	return store.Tenant(tenant).PK("activity-company", company)
}

func activityDealPK(tenant, deal string) string {
	return store.Tenant(tenant).PK("activity-deal", deal)
}

// openTasksPK holds an owner's open tasks with a due date, by due date.
func openTasksPK(tenant, owner string) string {
	return store.Tenant(tenant).PK("activity-open-task", owner)
}

func statsPK(tenant string) string { return store.Tenant(tenant).PK("stats") }
