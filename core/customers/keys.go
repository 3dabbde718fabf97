package customers

import "github.com/fedele-crm/fedele/core/store"

// Keys of the purchase summary and the lifecycle rules (docs/keys.md,
// "Customers"). Besides the profile (profile.go):
//
//   - an order's contribution, T#t#order-contribution#<order>, #: what the
//     order adds to its contact's summary now, at which order version — the
//     one read an order event needs to be idempotent and order-insensitive;
//   - a counted order's entry in its contact's partition,
//     T#t#purchase#<contact>, <date>#<placed at>#<order>: so that a day's
//     orders, and the first and last order, are one consistent query of a
//     few items when an order goes away — never a rescan;
//   - a deleted contact's tombstone, T#t#customer-deleted#<contact>, #: a
//     later order event for it does not bring back half a profile;
//   - the tenant's lifecycle rules, T#t#lifecycle-rules, #.

func contributionKey(tenant, orderID string) store.Key {
	return store.Tenant(tenant).Marker("order-contribution", orderID)
}

func purchasesPK(tenant, contactID string) string {
	return store.Tenant(tenant).PK("purchase", contactID)
}

func entrySK(e entry) string { return e.Date + "#" + sortTime(e.PlacedAt) + "#" + e.OrderID }

func tombstoneKey(tenant, contactID string) store.Key {
	return store.Tenant(tenant).Marker("customer-deleted", contactID)
}

func rulesKey(tenant string) store.Key { return store.Tenant(tenant).Marker("lifecycle-rules") }
