package commerce

import (
	"math/bits"
	"time"

	"github.com/fedele-crm/fedele/core"
)

// Price is a product's price in one currency.
type Price struct {
	Currency string `json:"currency" doc:"ISO 4217 code." pattern:"^[A-Z]{3}$"`
	Amount   int64  `json:"amount" doc:"Minor units (cents for EUR, yen for JPY)." minimum:"0"`
	// Cost, when known, is what the unit costs the tenant, for margins.
	Cost *int64 `json:"cost,omitempty" doc:"Minor units; unknown when absent." minimum:"0"`
}

// RelationKind says how a product relates to another.
type RelationKind string

const (
	RelationUpgradeOf   RelationKind = "upgrade_of"
	RelationAccessoryOf RelationKind = "accessory_of"
)

// RelationKinds lists every relation kind.
var RelationKinds = []RelationKind{RelationUpgradeOf, RelationAccessoryOf}

// Relation links a product to another of the same tenant, by SKU.
type Relation struct {
	Kind RelationKind `json:"kind"`
	SKU  string       `json:"sku" minLength:"1" maxLength:"64"`
}

// ProductFields is what a product's writers set.
type ProductFields struct {
	SKU       string     `json:"sku" doc:"Unique within the tenant; stored trimmed." minLength:"1" maxLength:"64"`
	Name      string     `json:"name" minLength:"1" maxLength:"300"`
	Category  string     `json:"category,omitempty" doc:"A path of lower-case segments, such as eyewear/sunglasses." maxLength:"200"`
	Brand     string     `json:"brand,omitempty" maxLength:"200"`
	Prices    []Price    `json:"prices,omitempty" doc:"At most one per currency." maxItems:"50"`
	Active    *bool      `json:"active,omitempty" doc:"true when absent."`
	Relations []Relation `json:"relations,omitempty" maxItems:"50"`
	Tags      []string   `json:"tags,omitempty" maxItems:"30"`
}

// Product is one item of a tenant's catalogue.
type Product struct {
	core.Meta
	ProductFields
}

// OrderStatus is where an order stands.
type OrderStatus string

const (
	OrderPlaced    OrderStatus = "placed"
	OrderPaid      OrderStatus = "paid"
	OrderFulfilled OrderStatus = "fulfilled"
	OrderCancelled OrderStatus = "cancelled"
	OrderRefunded  OrderStatus = "refunded" // every line refunded in full
)

// OrderStatuses lists every status.
var OrderStatuses = []OrderStatus{OrderPlaced, OrderPaid, OrderFulfilled, OrderCancelled, OrderRefunded}

// Channel is where an order was placed.
type Channel string

// Channels lists every sales channel.
var Channels = []Channel{"web", "store", "phone", "app", "marketplace"}

// Line is one line of an order. Its net is Quantity × UnitPrice − Discount
// + Tax, checked in int64; Refunded is what was given back of it.
type Line struct {
	SKU         string `json:"sku,omitempty" doc:"A product of the tenant's catalogue; or absent for a free-text line." maxLength:"64"`
	Description string `json:"description,omitempty" doc:"Required on a free-text line." maxLength:"500"`
	Category    string `json:"category,omitempty" doc:"A lower-case path such as eyewear/sunglasses; copied from the product when absent, else uncategorized." maxLength:"200"`
	Quantity    int64  `json:"quantity" minimum:"1"`
	UnitPrice   int64  `json:"unit_price" doc:"Minor units of the order's currency." minimum:"0"`
	Discount    int64  `json:"discount,omitempty" doc:"Minor units off the line." minimum:"0"`
	Tax         int64  `json:"tax,omitempty" doc:"Minor units of tax on the line." minimum:"0"`
	UnitCost    *int64 `json:"unit_cost,omitempty" doc:"Copied from the product's cost when absent; unknown when neither." minimum:"0"`
	Refunded    int64  `json:"refunded,omitempty" doc:"Minor units refunded of this line so far." minimum:"0"`
}

// OrderFields is what an order's writers set.
type OrderFields struct {
	ExternalID string `json:"external_id" doc:"The order's id in the shop; unique within the tenant: ingesting it again updates the order." minLength:"1" maxLength:"200"`
	ContactID  string `json:"contact_id,omitempty" doc:"The buyer; or give email or contact_external_id to find or create one."`
	Email      string `json:"email,omitempty" maxLength:"254" doc:"Finds the buyer by e-mail, or creates a contact with it, when contact_id is absent."`
	// ContactExternalID finds the buyer by core.ContactFields.ExternalID
	// (or creates one with it) when neither contact_id nor email is given.
	ContactExternalID string      `json:"contact_external_id,omitempty" maxLength:"200" doc:"Finds the buyer by the contact's external_id, or creates a contact with it, when contact_id and email are absent."`
	Status            OrderStatus `json:"status,omitempty" doc:"placed when absent."`
	Channel           Channel     `json:"channel,omitempty"`
	Location          string      `json:"location,omitempty" doc:"The store or location." maxLength:"200"`
	Currency          string      `json:"currency" pattern:"^[A-Z]{3}$"`
	PlacedAt          time.Time   `json:"placed_at" doc:"When it was placed; historical orders keep their own time."`
	Lines             []Line      `json:"lines" minItems:"1" maxItems:"200"`
}

// Order is a customer's order. Total and Net are derived from its lines.
type Order struct {
	core.Meta
	OrderFields
	Total    int64 `json:"total" readOnly:"true" doc:"Sum of the lines' nets, minor units."`
	Refunded int64 `json:"refunded" readOnly:"true" doc:"Sum of the lines' refunds, minor units."`
}

// Counts reports whether the order counts as a purchase: a cancelled
// order, or one refunded in full, does not.
func (o Order) Counts() bool {
	return o.Status != OrderCancelled && o.Status != OrderRefunded && o.Net() > 0
}

// Net is what the order brought in: its total less its refunds, minor
// units (tax included, as the total is).
func (o Order) Net() int64 { return o.Total - o.Refunded }

// Gross is a line's amount: quantity × unit price − discount + tax. It is
// computed checked at ingest (Normalize); here the line is already valid.
func (l Line) Gross() int64 { return l.Quantity*l.UnitPrice - l.Discount + l.Tax }

// Margin is the part of the order's net whose lines have a known unit
// cost, without their tax, and what those units cost: the gross margin is
// costed − cost. Tax is the state's, never the shop's margin (with 22 %
// VAT in the price a margin on the gross would read 13 points high). A
// line's refund comes off its own net, with its share of the tax.
func (o Order) Margin() (costed, cost int64) {
	for _, l := range o.Lines {
		if l.UnitCost == nil {
			continue
		}
		costed += untaxed(l)
		cost += *l.UnitCost * l.Quantity
	}
	return costed, cost
}

// untaxed is what is kept of a line, less the tax in it: kept × (gross −
// tax) / gross, rounded down, in 128 bits (tax ≤ gross, so it fits).
func untaxed(l Line) int64 {
	gross := l.Gross()
	kept := gross - l.Refunded
	if l.Tax == 0 || gross <= 0 || kept <= 0 {
		return kept
	}
	hi, lo := bits.Mul64(uint64(kept), uint64(gross-l.Tax))
	q, _ := bits.Div64(hi, lo, uint64(gross))
	return int64(q)
}
