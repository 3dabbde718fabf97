package commerce

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/money"
)

// Bounds of what one order or product may hold: an order with its event
// stays far inside an item's 400 KB, and every count is a JSON integer
// that a float64 reader still reads exactly once summed.
const (
	MaxLines    = 200
	MaxQuantity = 1_000_000
	// MaxFuture is how far ahead of the server's clock an order's
	// placed_at may be: a shop's clock running a little fast is not an
	// error, an order from next week is.
	MaxFuture = 24 * time.Hour
	// Uncategorized is the category of a line that names none and whose
	// SKU is not in the catalogue: consumers always find one.
	Uncategorized = "uncategorized"
)

// skuPattern is what a SKU may hold: no spaces, no slash (it is a path
// segment of PUT /v1/products-by-sku/{sku}), nothing a key reserves.
var (
	skuPattern      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:+-]{0,63}$`)
	currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)
)

const skuRule = "must be 1-64 letters, digits and . _ : + -, starting with a letter or digit"

// NormalizeSKU trims a SKU and checks it. SKUs are compared exactly:
// shops' SKUs are codes, and "ab-1" and "AB-1" may be two products.
func NormalizeSKU(raw string) (string, bool) {
	s := strings.TrimSpace(raw)
	return s, skuPattern.MatchString(s)
}

// NormalizeCategory puts a category path in stored form: lower case,
// segments trimmed and joined by "/" ("Eyewear / Sunglasses" is
// "eyewear/sunglasses"), empty segments dropped.
func NormalizeCategory(raw string) (string, bool) {
	if !utf8.ValidString(raw) {
		return "", false
	}
	var segs []string
	for seg := range strings.SplitSeq(strings.ToLower(raw), "/") {
		seg = strings.Join(strings.Fields(seg), " ")
		if seg == "" {
			continue
		}
		if strings.ContainsAny(seg, "#") || strings.ContainsFunc(seg, isControl) {
			return "", false
		}
		segs = append(segs, seg)
	}
	c := strings.Join(segs, "/")
	return c, utf8.RuneCountInString(c) <= 200
}

const categoryRule = "must be a path of up to 200 characters such as eyewear/sunglasses, without # or control characters"

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

var checkText = core.CheckText

func checkCurrency(p *core.Problems, path, c string) {
	if !currencyPattern.MatchString(c) {
		*p = append(*p, core.FieldError{Path: path, Message: "must be an ISO 4217 code such as EUR", Value: c})
	} else if _, ok := money.Digits(c); !ok {
		*p = append(*p, core.FieldError{Path: path, Message: "is not a current ISO 4217 currency", Value: c})
	}
}

// Normalize puts a product's fields in stored form and validates them,
// reporting every field at fault.
func (f *ProductFields) Normalize() error {
	var p core.Problems
	sku, ok := NormalizeSKU(f.SKU)
	if !ok {
		p = append(p, core.FieldError{Path: "sku", Message: skuRule, Value: f.SKU})
	}
	f.SKU = sku
	f.Name = strings.TrimSpace(f.Name)
	if f.Name == "" {
		p.Add("name", "is required")
	}
	checkText(&p, "name", f.Name, 300)
	if c, ok := NormalizeCategory(f.Category); ok {
		f.Category = c
	} else {
		p = append(p, core.FieldError{Path: "category", Message: categoryRule, Value: f.Category})
	}
	f.Brand = strings.TrimSpace(f.Brand)
	checkText(&p, "brand", f.Brand, 200)
	if len(f.Prices) > 50 {
		p.Add("prices", "at most 50 prices")
	}
	for i, pr := range f.Prices {
		at := fmt.Sprintf("prices[%d]", i)
		checkCurrency(&p, at+".currency", pr.Currency)
		if slices.ContainsFunc(f.Prices[:i], func(o Price) bool { return o.Currency == pr.Currency }) {
			p = append(p, core.FieldError{Path: at + ".currency", Message: "appears twice: one price per currency", Value: pr.Currency})
		}
		if pr.Amount < 0 {
			p = append(p, core.FieldError{Path: at + ".amount", Message: "must not be negative", Value: pr.Amount})
		}
		if pr.Cost != nil && *pr.Cost < 0 {
			p = append(p, core.FieldError{Path: at + ".cost", Message: "must not be negative", Value: *pr.Cost})
		}
	}
	if len(f.Prices) == 0 {
		f.Prices = nil
	}
	if len(f.Relations) > 50 {
		p.Add("relations", "at most 50 relations")
	}
	for i := range f.Relations {
		r := &f.Relations[i]
		at := fmt.Sprintf("relations[%d]", i)
		if !slices.Contains(RelationKinds, r.Kind) {
			p = append(p, core.FieldError{Path: at + ".kind", Message: fmt.Sprintf("must be one of %v", RelationKinds), Value: r.Kind})
		}
		s, ok := NormalizeSKU(r.SKU)
		switch {
		case !ok:
			p = append(p, core.FieldError{Path: at + ".sku", Message: skuRule, Value: r.SKU})
		case s == f.SKU:
			p = append(p, core.FieldError{Path: at + ".sku", Message: "a product cannot relate to itself", Value: r.SKU})
		}
		r.SKU = s
		if slices.Contains(f.Relations[:i], *r) {
			p.Add(at, "appears twice")
		}
	}
	if len(f.Relations) == 0 {
		f.Relations = nil
	}
	var tags []string
	for i, raw := range f.Tags {
		t, ok := core.NormalizeTag(raw)
		if !ok {
			p.Add(fmt.Sprintf("tags[%d]", i), "must be 1-64 characters, without # or control characters")
			continue
		}
		if !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	if len(tags) > core.MaxTags {
		p.Add("tags", "at most %d different tags", core.MaxTags)
	}
	f.Tags = tags
	return p.Err()
}

// IsActive is whether the product is on sale (active when unset).
func (f *ProductFields) IsActive() bool { return f.Active == nil || *f.Active }

// PriceIn is the product's price in currency, if it has one.
func (f *ProductFields) PriceIn(currency string) (Price, bool) {
	i := slices.IndexFunc(f.Prices, func(p Price) bool { return p.Currency == currency })
	if i < 0 {
		return Price{}, false
	}
	return f.Prices[i], true
}

// checkWhere checks an order's status (unset is unset), channel and
// location, answering the status and the trimmed location.
func checkWhere(p *core.Problems, status, unset OrderStatus, channel Channel, location string) (OrderStatus, string) {
	if status == "" {
		status = unset
	} else if !slices.Contains(OrderStatuses, status) {
		*p = append(*p, core.FieldError{Path: "status", Message: fmt.Sprintf("must be one of %v", OrderStatuses), Value: status})
	}
	if channel != "" && !slices.Contains(Channels, channel) {
		*p = append(*p, core.FieldError{Path: "channel", Message: fmt.Sprintf("must be one of %v", Channels), Value: channel})
	}
	location = strings.TrimSpace(location)
	checkText(p, "location", location, 200)
	return status, location
}

// beyondMax is the message of an amount an int64 of minor units cannot hold.
var beyondMax = fmt.Sprintf("the largest amount is %d minor units", money.MaxMinor)

// Normalize puts an order's fields in stored form and validates them
// against the server's clock now, reporting every field at fault: a known
// status (placed when absent) and channel, an ISO 4217 currency, placed_at
// set and not more than MaxFuture ahead, 1-200 lines each of quantity ≥ 1
// with a SKU or a description, a discount no more than quantity × unit
// price, a refund no more than the line's gross, and every line's gross
// and the order's total within int64 minor units (the line that brings it
// over is named). A status of refunded refunds every line in full.
func (f *OrderFields) Normalize(now time.Time) error {
	var p core.Problems
	f.ExternalID = strings.TrimSpace(f.ExternalID)
	if f.ExternalID == "" {
		p.Add("external_id", "is required: it is what makes ingesting the order again an update")
	}
	checkText(&p, "external_id", f.ExternalID, 200)
	f.ContactID = strings.TrimSpace(f.ContactID)
	if f.ContactID != "" && !core.ValidID(f.ContactID) {
		p = append(p, core.FieldError{Path: "contact_id", Message: "must be the id (ULID) of a contact", Value: f.ContactID})
	}
	if f.ContactID == "" && f.Email == "" && strings.TrimSpace(f.ContactExternalID) == "" {
		p.Add("contact_id", "an order needs its buyer: contact_id, email or contact_external_id")
	}
	if f.Email != "" {
		e, err := core.NormalizeEmail(f.Email)
		if err != nil {
			p = append(p, core.FieldError{Path: "email", Message: err.Error(), Value: f.Email})
		}
		f.Email = e
	}
	f.ContactExternalID = strings.TrimSpace(f.ContactExternalID)
	checkText(&p, "contact_external_id", f.ContactExternalID, 200)
	f.Status, f.Location = checkWhere(&p, f.Status, OrderPlaced, f.Channel, f.Location)
	checkCurrency(&p, "currency", f.Currency)
	switch {
	case f.PlacedAt.IsZero():
		p.Add("placed_at", "is required (RFC 3339): historical orders keep their own time")
	case f.PlacedAt.After(now.Add(MaxFuture)):
		p = append(p, core.FieldError{Path: "placed_at", Message: "is more than a day in the future", Value: f.PlacedAt})
	case f.PlacedAt.Year() < 1970:
		p = append(p, core.FieldError{Path: "placed_at", Message: "must be after 1970", Value: f.PlacedAt})
	}
	f.PlacedAt = f.PlacedAt.UTC()
	if len(f.Lines) == 0 || len(f.Lines) > MaxLines {
		p.Add("lines", "an order has 1 to %d lines", MaxLines)
	}
	var total int64
	totalOK := true
	for i := range f.Lines {
		if !normalizeLine(&p, fmt.Sprintf("lines[%d]", i), &f.Lines[i], f.Status == OrderRefunded) {
			totalOK = false
			continue
		}
		if !totalOK {
			continue
		}
		var ok bool
		if total, ok = money.Add(total, f.Lines[i].Gross()); !ok {
			p = append(p, core.FieldError{Path: fmt.Sprintf("lines[%d]", i), Message: "brings the order's total over " + beyondMax})
			totalOK = false
		}
	}
	return p.Err()
}

// normalizeLine validates one line, reporting at its path; false when its
// gross cannot be computed (a problem is reported).
func normalizeLine(p *core.Problems, at string, l *Line, refundAll bool) bool {
	l.SKU = strings.TrimSpace(l.SKU)
	if l.SKU != "" {
		if s, ok := NormalizeSKU(l.SKU); ok {
			l.SKU = s
		} else {
			*p = append(*p, core.FieldError{Path: at + ".sku", Message: skuRule, Value: l.SKU})
		}
	}
	l.Description = strings.TrimSpace(l.Description)
	if l.SKU == "" && l.Description == "" {
		p.Add(at+".description", "a line without a sku needs a description")
	}
	checkText(p, at+".description", l.Description, 500)
	if c, ok := NormalizeCategory(l.Category); ok {
		l.Category = c
	} else {
		*p = append(*p, core.FieldError{Path: at + ".category", Message: categoryRule, Value: l.Category})
	}
	ok := true
	if l.Quantity < 1 || l.Quantity > MaxQuantity {
		*p = append(*p, core.FieldError{Path: at + ".quantity", Message: fmt.Sprintf("must be between 1 and %d", MaxQuantity), Value: l.Quantity})
		ok = false
	}
	for _, n := range []struct {
		name string
		v    int64
	}{{"unit_price", l.UnitPrice}, {"discount", l.Discount}, {"tax", l.Tax}, {"refunded", l.Refunded}} {
		if n.v < 0 {
			*p = append(*p, core.FieldError{Path: at + "." + n.name, Message: "must not be negative", Value: n.v})
			ok = false
		}
	}
	if l.UnitCost != nil && *l.UnitCost < 0 {
		*p = append(*p, core.FieldError{Path: at + ".unit_cost", Message: "must not be negative", Value: *l.UnitCost})
	}
	if !ok {
		return false
	}
	price, ok := money.Mul(l.Quantity, l.UnitPrice)
	if !ok {
		*p = append(*p, core.FieldError{Path: at + ".unit_price", Message: "quantity × unit price is more than " + beyondMax, Value: l.UnitPrice})
		return false
	}
	if l.Discount > price {
		*p = append(*p, core.FieldError{Path: at + ".discount", Message: fmt.Sprintf("is more than quantity × unit price, %d", price), Value: l.Discount})
		return false
	}
	if _, ok := money.Add(price-l.Discount, l.Tax); !ok {
		*p = append(*p, core.FieldError{Path: at + ".tax", Message: "brings the line over " + beyondMax, Value: l.Tax})
		return false
	}
	if l.UnitCost != nil {
		if _, ok := money.Mul(l.Quantity, *l.UnitCost); !ok {
			*p = append(*p, core.FieldError{Path: at + ".unit_cost", Message: "quantity × unit cost is more than " + beyondMax, Value: *l.UnitCost})
			return false
		}
	}
	if refundAll {
		l.Refunded = l.Gross()
	}
	if g := l.Gross(); l.Refunded > g {
		*p = append(*p, core.FieldError{Path: at + ".refunded", Message: fmt.Sprintf("is more than the line's gross, %d", g), Value: l.Refunded})
		return false
	}
	return true
}

// settle computes an order's total and refunds from its valid lines and
// makes it refunded when every line is refunded in full.
func (o *Order) settle() {
	o.Total, o.Refunded = 0, 0
	for _, l := range o.Lines {
		o.Total += l.Gross() // checked by Normalize
		o.Refunded += l.Refunded
	}
	if o.Total > 0 && o.Refunded == o.Total && o.Status != OrderCancelled {
		o.Status = OrderRefunded
	}
}
