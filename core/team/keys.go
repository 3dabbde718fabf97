package team

import "github.com/fedele-crm/fedele/core/store"

func usersPK(tenant string) string { return store.Tenant(tenant).PK("user") }

// UserKey is where a team member is stored (other areas reference it).
func UserKey(tenant, id string) store.Key { return store.Key{PK: usersPK(tenant), SK: id} }

func userEmailKey(tenant, email string) store.Key {
	return store.Tenant(tenant).Marker("user-email", email)
}
