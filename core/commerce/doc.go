// Package commerce is the tenant's catalogue and its customers' orders:
// products (unique SKU, prices per currency in minor units, relations),
// orders with lines, refunds by line and statuses, ingested one at a time
// or in batches, idempotently by the tenant's external order id, each
// change an order.* event. What the orders mean about a customer (the
// purchase summary, RFM, lifecycle, CLV) is core/customers' business.
//
// It must never rescan orders to keep a number current (consumers of its
// events do that incrementally), never accept an amount that does not add
// up in int64 minor units, and never let one tenant's order reach
// another's contact.
package commerce
