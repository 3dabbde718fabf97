package commerce

import (
	"fmt"

	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
)

// Keys of products and orders; docs/keys.md ("Products and orders") maps
// them with their costs.

// A tenant's catalogue is one partition: it is written by people and
// catalogue syncs (hundreds a second at most), and one partition keeps a
// list page one query.
func productsPK(tenant string) string { return store.Tenant(tenant).PK("product") }

// ProductKey is where a product is stored.
func ProductKey(tenant, id string) store.Key { return store.Key{PK: productsPK(tenant), SK: id} }

func productSKUKey(tenant, sku string) store.Key {
	return store.Tenant(tenant).Marker("product-sku", sku)
}

// productCategoryPK is the one partition of the category index (gsi1):
// `<category>/#<id>`, so that a prefix query of `eyewear/` finds eyewear
// and every category below it, and never `eyewearx`.
func productCategoryPK(tenant string) string { return store.Tenant(tenant).PK("product-category") }

func productCategorySK(category, id string) string { return category + "/#" + id }

func productSlotKey(tenant, id string, i int) store.Key {
	return store.Tenant(tenant).Key(fmt.Sprintf("%02d", i), "product-slot", id)
}

// productSearchPK is a search partition (gsi2) of tokens beginning with
// part: a catalogue is small enough not to shard it.
func productSearchPK(tenant, part string) string {
	return store.Tenant(tenant).PK("product-search", part)
}

// OrderShards spreads a tenant's orders, and their placed-at index, over
// this many partitions: an import of a million orders is a tenant's hottest
// write path, and one partition would cap it near 500 orders/s (docs/keys.md).
const OrderShards = 8

var (
	orderShards       = store.Collection{Name: "order", Shards: OrderShards}
	orderPlacedShards = store.Collection{Name: "order-placed", Shards: OrderShards}
)

// OrderKey is where an order is stored.
func OrderKey(tenant, id string) store.Key { return store.Key{PK: orderShards.PK(tenant, id), SK: id} }

// OrderPKs are the partitions of a tenant's orders, for QueryMerged.
func OrderPKs(tenant string) []string { return orderShards.PKs(tenant) }

func orderExternalKey(tenant, externalID string) store.Key {
	return store.Tenant(tenant).Marker("order-ext", externalID)
}

// orderContactPK lists a contact's orders (gsi2) by placed-at time: one
// contact's orders are few, so one partition.
func orderContactPK(tenant, contact string) string {
	return store.Tenant(tenant).PK("order-contact", contact)
}

// orderPlacedSK sorts orders by when they were placed, then by id.
func orderPlacedSK(o *Order) string { return record.SortTime(o.PlacedAt) + "#" + o.ID }
