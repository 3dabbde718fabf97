package commerce_test

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/commerce"
)

func TestKindsEmitCatalogueTypes(t *testing.T) {
	if err := commerce.CheckEventTypes(); err != nil {
		t.Error(err)
	}
}

var placed = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)

func order(ext string, lines ...commerce.Line) commerce.OrderFields {
	if len(lines) == 0 {
		lines = []commerce.Line{{Description: "Glasses", Quantity: 2, UnitPrice: 5000, Discount: 1000, Tax: 900}}
	}
	return commerce.OrderFields{ExternalID: ext, Email: "Buyer@Example.com", Currency: "EUR", PlacedAt: placed, Lines: lines}
}

// Normalize names every field at fault; amounts are checked in int64.
func TestOrderNormalize(t *testing.T) {
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	max := int64(math.MaxInt64)
	tests := []struct {
		name   string
		change func(*commerce.OrderFields)
		want   []string
	}{
		{"valid", func(*commerce.OrderFields) {}, nil},
		{"no external id", func(f *commerce.OrderFields) { f.ExternalID = "  " }, []string{"external_id"}},
		{"no buyer", func(f *commerce.OrderFields) { f.Email = "" }, []string{"contact_id"}},
		{"bad contact id", func(f *commerce.OrderFields) { f.ContactID = "nope" }, []string{"contact_id"}},
		{"bad email", func(f *commerce.OrderFields) { f.Email = "not-an-address" }, []string{"email"}},
		{"currency not ISO", func(f *commerce.OrderFields) { f.Currency = "EU" }, []string{"currency"}},
		{"currency not current", func(f *commerce.OrderFields) { f.Currency = "XYZ" }, []string{"currency"}},
		{"no placed_at", func(f *commerce.OrderFields) { f.PlacedAt = time.Time{} }, []string{"placed_at"}},
		{"placed tomorrow is clock skew", func(f *commerce.OrderFields) { f.PlacedAt = now.Add(23 * time.Hour) }, nil},
		{"placed next week", func(f *commerce.OrderFields) { f.PlacedAt = now.Add(25 * time.Hour) }, []string{"placed_at"}},
		{"status", func(f *commerce.OrderFields) { f.Status = "shipped" }, []string{"status"}},
		{"channel", func(f *commerce.OrderFields) { f.Channel = "fax" }, []string{"channel"}},
		{"no lines", func(f *commerce.OrderFields) { f.Lines = nil }, []string{"lines"}},
		{"quantity 0", func(f *commerce.OrderFields) { f.Lines[0].Quantity = 0 }, []string{"lines[0].quantity"}},
		{"negative price", func(f *commerce.OrderFields) { f.Lines[0].UnitPrice = -1 }, []string{"lines[0].unit_price"}},
		{"free text without description", func(f *commerce.OrderFields) { f.Lines[0].Description = "" }, []string{"lines[0].description"}},
		{"bad sku", func(f *commerce.OrderFields) { f.Lines[0].SKU = "a b" }, []string{"lines[0].sku"}},
		{"bad category", func(f *commerce.OrderFields) { f.Lines[0].Category = "a#b" }, []string{"lines[0].category"}},
		{"discount over price", func(f *commerce.OrderFields) { f.Lines[0].Discount = 10001 }, []string{"lines[0].discount"}},
		{"discount equal to price", func(f *commerce.OrderFields) { f.Lines[0].Discount = 10000 }, nil},
		{"refund over gross", func(f *commerce.OrderFields) { f.Lines[0].Refunded = 9901 }, []string{"lines[0].refunded"}},
		{"quantity × price overflows", func(f *commerce.OrderFields) { f.Lines[0].UnitPrice = max/2 + 1 }, []string{"lines[0].unit_price"}},
		{"tax overflows the line", func(f *commerce.OrderFields) {
			f.Lines[0] = commerce.Line{Description: "x", Quantity: 1, UnitPrice: max, Tax: 1}
		}, []string{"lines[0].tax"}},
		{"the total overflows at the second line", func(f *commerce.OrderFields) {
			f.Lines = []commerce.Line{{Description: "a", Quantity: 1, UnitPrice: max}, {Description: "b", Quantity: 1, UnitPrice: 1}, {Description: "c", Quantity: 1, UnitPrice: 1}}
		}, []string{"lines[1]"}},
		{"several at once", func(f *commerce.OrderFields) { f.Currency, f.Lines[0].Quantity = "", -1 }, []string{"currency", "lines[0].quantity"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := order("o-1")
			tc.change(&f)
			if diff := cmp.Diff(tc.want, paths(f.Normalize(now))); diff != "" {
				t.Errorf("fields at fault (-want +got):\n%s", diff)
			}
		})
	}
	f := order("  o-1 ")
	f.Lines[0].Category = " Eyewear / SunGlasses /"
	if err := f.Normalize(now); err != nil {
		t.Fatal(err)
	}
	if f.ExternalID != "o-1" || f.Email != "buyer@example.com" || f.Status != commerce.OrderPlaced || f.Lines[0].Category != "eyewear/sunglasses" {
		t.Errorf("normalised %+v", f)
	}
}

// Ingesting the same order twice is one order; identical content writes
// nothing; other content is an update; the buyer is found by e-mail (or
// created), and the events are placed, then updated.
func TestIngestIsIdempotent(t *testing.T) {
	fx := newFixture(t)
	o1, created, err := fx.orders.Upsert(fx.ctx, "acme", "", order("o-1"))
	if err != nil || !created {
		t.Fatalf("first ingest: created %v, %v", created, err)
	}
	if o1.Total != 9900 || o1.Net() != 9900 || o1.Version != 1 || o1.Lines[0].Category != commerce.Uncategorized {
		t.Errorf("order %+v", o1)
	}
	buyer, err := fx.contacts.ByEmail(fx.ctx, "acme", "buyer@example.com")
	if err != nil || buyer.ID != o1.ContactID || buyer.Source != "api" {
		t.Fatalf("buyer %+v (%v), order's contact %s", buyer, err, o1.ContactID)
	}
	again, created, err := fx.orders.Upsert(fx.ctx, "acme", "o-1", order("o-1"))
	if err != nil || created || again.Version != 1 || again.ID != o1.ID {
		t.Fatalf("same content: %+v created %v, %v", again.Meta, created, err)
	}
	f := order("o-1")
	f.Lines[0].Quantity = 3
	f.Status = commerce.OrderPaid
	up, created, err := fx.orders.Upsert(fx.ctx, "acme", "", f)
	if err != nil || created || up.Version != 2 || up.Total != 14900 || up.Status != commerce.OrderPaid {
		t.Fatalf("changed content: %+v, %v", up, err)
	}
	// An absent status keeps the stored one.
	f.Status = ""
	if kept, _, err := fx.orders.Upsert(fx.ctx, "acme", "", f); err != nil || kept.Version != 2 || kept.Status != commerce.OrderPaid {
		t.Errorf("absent status: %+v, %v", kept, err)
	}
	// POST refuses the external id, naming the order.
	_, err = fx.orders.Create(fx.ctx, "acme", order("o-1"))
	if core.ErrorCode(err) != core.CodeConflict || cmp.Diff([]string{"external_id"}, paths(err)) != "" {
		t.Errorf("create of a known external id: %v", err)
	}
	evs := fx.events(t, "acme")
	if diff := cmp.Diff([]string{"order.placed", "order.updated"}, types(evs, "order")); diff != "" {
		t.Errorf("order events (-want +got):\n%s", diff)
	}
	if n := fx.timeline(t, "acme", buyer.ID); n != 3 {
		t.Errorf("%d events on the buyer's timeline, want contact.created and the 2 order events", n)
	}
}

// The buyer: contact_id of the tenant, else e-mail, else the contact's
// external id; created when none has it; another tenant's contact is not
// found.
func TestBuyerResolution(t *testing.T) {
	fx := newFixture(t)
	ada, err := fx.contacts.Create(fx.ctx, "acme", core.ContactFields{FirstName: "Ada", ExternalID: "cust-1"})
	if err != nil {
		t.Fatal(err)
	}
	byID := order("o-id")
	byID.Email, byID.ContactID = "", ada.ID
	byExt := order("o-ext")
	byExt.Email, byExt.ContactExternalID = "", "cust-1"
	newExt := order("o-new-ext")
	newExt.Email, newExt.ContactExternalID = "", "cust-2"
	for _, f := range []commerce.OrderFields{byID, byExt} {
		o, _, err := fx.orders.Upsert(fx.ctx, "acme", "", f)
		if err != nil || o.ContactID != ada.ID {
			t.Errorf("%s: contact %s, %v; want %s", f.ExternalID, o.ContactID, err, ada.ID)
		}
	}
	o, _, err := fx.orders.Upsert(fx.ctx, "acme", "", newExt)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := fx.contacts.ByExternalID(fx.ctx, "acme", "cust-2"); err != nil || c.ID != o.ContactID {
		t.Errorf("created by external id: %+v, %v", c, err)
	}
	// globex cannot name acme's contact, and its cust-1 is its own.
	_, _, err = fx.orders.Upsert(fx.ctx, "globex", "", byID)
	if core.ErrorCode(err) != core.CodeInvalid || cmp.Diff([]string{"contact_id"}, paths(err)) != "" {
		t.Errorf("another tenant's contact id: %v", err)
	}
	g, _, err := fx.orders.Upsert(fx.ctx, "globex", "", byExt)
	if err != nil || g.ContactID == ada.ID {
		t.Errorf("globex's cust-1: %s, %v", g.ContactID, err)
	}
	// Tenant B ingesting A's external id makes B's own order.
	a, _ := fx.orders.ByExternalID(fx.ctx, "acme", "o-ext")
	if g.ID == a.ID || g.ExternalID != a.ExternalID {
		t.Errorf("globex's o-ext %s is acme's %s", g.ID, a.ID)
	}
	if _, err := fx.orders.Get(fx.ctx, "globex", a.ID); core.ErrorCode(err) != core.CodeNotFound {
		t.Errorf("acme's order read by globex: %v", err)
	}
}

// Lines naming a SKU of the catalogue take its category and cost; a SKU
// the catalogue lacks is kept, uncategorized.
func TestLinesFromTheCatalogue(t *testing.T) {
	fx := newFixture(t)
	if _, err := fx.products.Create(fx.ctx, "acme", commerce.ProductFields{SKU: "RB-3025", Name: "Aviator", Category: "Eyewear/Sunglasses",
		Prices: []commerce.Price{{Currency: "EUR", Amount: 15000, Cost: ptr[int64](6000)}}}); err != nil {
		t.Fatal(err)
	}
	o, _, err := fx.orders.Upsert(fx.ctx, "acme", "", order("o-1",
		commerce.Line{SKU: "RB-3025", Quantity: 2, UnitPrice: 15000},
		commerce.Line{SKU: "GONE-1", Quantity: 1, UnitPrice: 100},
		commerce.Line{SKU: "RB-3025", Category: "gifts", Quantity: 1, UnitPrice: 0, UnitCost: ptr[int64](1)}))
	if err != nil {
		t.Fatal(err)
	}
	got := []string{o.Lines[0].Category, o.Lines[1].Category, o.Lines[2].Category}
	if diff := cmp.Diff([]string{"eyewear/sunglasses", commerce.Uncategorized, "gifts"}, got); diff != "" {
		t.Errorf("categories (-want +got):\n%s", diff)
	}
	if o.Lines[0].Description != "Aviator" || o.Lines[0].UnitCost == nil || *o.Lines[0].UnitCost != 6000 || o.Lines[1].UnitCost != nil || *o.Lines[2].UnitCost != 1 {
		t.Errorf("lines %+v", o.Lines)
	}
	if costed, cost := o.Margin(); costed != 30000 || cost != 12001 {
		t.Errorf("margin: costed %d cost %d", costed, cost)
	}
}

// Refunds by line never exceed what is left of the line; the order is
// refunded when every line is; a cancelled order cannot be paid.
func TestRefundsAndStatus(t *testing.T) {
	fx := newFixture(t)
	o, _, err := fx.orders.Upsert(fx.ctx, "acme", "", order("o-1",
		commerce.Line{Description: "a", Quantity: 1, UnitPrice: 1000}, commerce.Line{Description: "b", Quantity: 2, UnitPrice: 500, Tax: 100}))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		refunds  []commerce.LineRefund
		want     []string // fields at fault
		refunded int64
		status   commerce.OrderStatus
	}{
		{"no such line", []commerce.LineRefund{{Line: 2, Amount: 1}}, []string{"lines[0].line"}, 0, commerce.OrderPlaced},
		{"nothing", []commerce.LineRefund{{Line: 0, Amount: 0}}, []string{"lines[0].amount"}, 0, commerce.OrderPlaced},
		{"more than the line", []commerce.LineRefund{{Line: 0, Amount: 1001}}, []string{"lines[0].amount"}, 0, commerce.OrderPlaced},
		{"twice in one request, adding up over", []commerce.LineRefund{{Line: 0, Amount: 600}, {Line: 0, Amount: 600}}, []string{"lines[1].amount"}, 0, commerce.OrderPlaced},
		{"part of a line", []commerce.LineRefund{{Line: 1, Amount: 300}}, nil, 300, commerce.OrderPlaced},
		{"more than what is left", []commerce.LineRefund{{Line: 1, Amount: 801}}, []string{"lines[0].amount"}, 300, commerce.OrderPlaced},
		{"the rest of both", []commerce.LineRefund{{Line: 1, Amount: 800}, {Line: 0, Amount: 1000}}, nil, 2100, commerce.OrderRefunded},
		{"after the full refund", []commerce.LineRefund{{Line: 0, Amount: 1}}, []string{"lines[0].amount"}, 2100, commerce.OrderRefunded},
	}
	for _, tc := range tests {
		got, err := fx.orders.Refund(fx.ctx, "acme", o.ID, 0, tc.refunds)
		if diff := cmp.Diff(tc.want, paths(err)); diff != "" {
			t.Errorf("%s: fields at fault (-want +got):\n%s", tc.name, diff)
		}
		cur, _ := fx.orders.Get(fx.ctx, "acme", o.ID)
		if cur.Refunded != tc.refunded || cur.Status != tc.status || err == nil && got.Version != cur.Version {
			t.Errorf("%s: refunded %d status %s, want %d %s", tc.name, cur.Refunded, cur.Status, tc.refunded, tc.status)
		}
	}
	if cur, _ := fx.orders.Get(fx.ctx, "acme", o.ID); cur.Counts() {
		t.Error("a refunded order counts")
	}
	// A refunded order stays refunded, even when re-ingested as paid.
	paid := order("o-1", commerce.Line{Description: "a", Quantity: 1, UnitPrice: 1000}, commerce.Line{Description: "b", Quantity: 2, UnitPrice: 500, Tax: 100})
	paid.Status = commerce.OrderPaid
	if _, _, err := fx.orders.Upsert(fx.ctx, "acme", "", paid); core.ErrorCode(err) != core.CodeConflict {
		t.Errorf("refunded re-ingested as paid: %v", err)
	}

	c, _, err := fx.orders.Upsert(fx.ctx, "acme", "", order("o-2"))
	if err != nil {
		t.Fatal(err)
	}
	set := func(s commerce.OrderStatus) func(*commerce.OrderChange) error {
		return func(c *commerce.OrderChange) error { c.Status = s; return nil }
	}
	if c, err = fx.orders.Change(fx.ctx, "acme", c.ID, 0, set(commerce.OrderPaid)); err != nil || c.Status != commerce.OrderPaid {
		t.Fatalf("pay: %v", err)
	}
	if _, err := fx.orders.Change(fx.ctx, "acme", c.ID, 1, set(commerce.OrderFulfilled)); core.ErrorCode(err) != core.CodeStale {
		t.Errorf("stale If-Match: %v", err)
	}
	if c, err = fx.orders.Change(fx.ctx, "acme", c.ID, c.Version, set(commerce.OrderCancelled)); err != nil || c.Counts() {
		t.Fatalf("cancel: %+v, %v", c, err)
	}
	if _, err := fx.orders.Change(fx.ctx, "acme", c.ID, 0, set(commerce.OrderPaid)); core.ErrorCode(err) != core.CodeConflict || cmp.Diff([]string{"status"}, paths(err)) != "" {
		t.Errorf("a cancelled order paid: %v", err)
	}
	if _, err := fx.orders.Refund(fx.ctx, "acme", c.ID, 0, []commerce.LineRefund{{Line: 0, Amount: 1}}); core.ErrorCode(err) != core.CodeConflict {
		t.Errorf("a cancelled order refunded: %v", err)
	}
	want := []string{"order.placed", "order.updated", "order.refunded", "order.updated", "order.refunded", "order.placed", "order.updated", "order.updated", "order.cancelled"}
	if diff := cmp.Diff(want, types(fx.events(t, "acme"), "order")); diff != "" {
		t.Errorf("order events (-want +got):\n%s", diff)
	}
}

// Lists by placed-at time, newest first, for the tenant or one contact,
// in a range, by status, page by page; a cursor is the tenant's and the
// filter's own.
func TestListOrders(t *testing.T) {
	fx := newFixture(t)
	var ids []string
	for i := range 12 {
		f := order(fmt.Sprint("o-", i))
		f.PlacedAt = placed.Add(time.Duration(i) * time.Hour)
		if i%3 == 0 {
			f.Email = "other@example.com"
			f.Status = commerce.OrderPaid
		}
		o, _, err := fx.orders.Upsert(fx.ctx, "acme", "", f)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, o.ID)
	}
	other, _ := fx.contacts.ByEmail(fx.ctx, "acme", "other@example.com")
	all := func(f commerce.OrderFilter, limit int) []string {
		t.Helper()
		var out []string
		cursor := ""
		for {
			page, next, err := fx.orders.List(fx.ctx, "acme", f, limit, cursor)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range page {
				out = append(out, o.ID)
			}
			if next == "" {
				return out
			}
			cursor = next
		}
	}
	rev := func(idx ...int) []string {
		var out []string
		for i := len(idx) - 1; i >= 0; i-- {
			out = append(out, ids[idx[i]])
		}
		return out
	}
	tests := []struct {
		name string
		f    commerce.OrderFilter
		want []string
	}{
		{"all", commerce.OrderFilter{}, rev(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)},
		{"range", commerce.OrderFilter{From: placed.Add(2 * time.Hour), To: placed.Add(5 * time.Hour)}, rev(2, 3, 4)},
		{"contact", commerce.OrderFilter{ContactID: other.ID}, rev(0, 3, 6, 9)},
		{"contact in range", commerce.OrderFilter{ContactID: other.ID, From: placed.Add(time.Hour), To: placed.Add(7 * time.Hour)}, rev(3, 6)},
		{"status", commerce.OrderFilter{Status: commerce.OrderPlaced}, rev(1, 2, 4, 5, 7, 8, 10, 11)},
		{"oldest first", commerce.OrderFilter{Oldest: true, To: placed.Add(3 * time.Hour)}, ids[:3]},
	}
	for _, tc := range tests {
		for _, limit := range []int{1, 5, 50} {
			if diff := cmp.Diff(tc.want, all(tc.f, limit)); diff != "" {
				t.Errorf("%s, pages of %d (-want +got):\n%s", tc.name, limit, diff)
			}
		}
	}
	_, next, err := fx.orders.List(fx.ctx, "acme", commerce.OrderFilter{}, 2, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := fx.orders.List(fx.ctx, "globex", commerce.OrderFilter{}, 2, next); cmp.Diff([]string{"cursor"}, paths(err)) != "" {
		t.Errorf("acme's cursor used by globex: %v", err)
	}
	if page, _, err := fx.orders.List(fx.ctx, "globex", commerce.OrderFilter{ContactID: other.ID}, 50, ""); err != nil || len(page) != 0 {
		t.Errorf("globex listing acme's contact: %d orders, %v", len(page), err)
	}
	_, _, err = fx.orders.List(fx.ctx, "acme", commerce.OrderFilter{ContactID: "x", Status: "lost", From: placed, To: placed}, 50, "")
	if diff := cmp.Diff([]string{"contact_id", "status", "to"}, paths(err)); diff != "" {
		t.Errorf("bad filter (-want +got):\n%s", diff)
	}
}

// A batch upserts each order on its own; a bad one does not sink the
// others, and a batch repeated writes nothing.
func TestUpsertMany(t *testing.T) {
	fx := newFixture(t)
	var fs []commerce.OrderFields
	for i := range 100 {
		fs = append(fs, order(fmt.Sprint("b-", i)))
	}
	fs[7].Currency = "???"
	fs[8] = order("b-0") // the same order twice in one batch: one order
	res := fx.orders.UpsertMany(fx.ctx, "acme", fs)
	created := 0
	for i, r := range res {
		switch {
		case i == 7:
			if cmp.Diff([]string{"currency"}, paths(r.Err)) != "" {
				t.Errorf("item 7: %v", r.Err)
			}
		case r.Err != nil:
			t.Errorf("item %d: %v", i, r.Err)
		case r.Created:
			created++
		}
	}
	if created != 98 || res[8].Record.ID != res[0].Record.ID {
		t.Errorf("%d created; b-0 twice: %s and %s", created, res[0].Record.ID, res[8].Record.ID)
	}
	before := len(fx.events(t, "acme"))
	for i, r := range fx.orders.UpsertMany(fx.ctx, "acme", fs) {
		if i != 7 && (r.Err != nil || r.Created || r.Record.Version != 1) {
			t.Errorf("again, item %d: %+v, %v", i, r.Record.Meta, r.Err)
		}
	}
	if after := len(fx.events(t, "acme")); after != before {
		t.Errorf("a repeated batch wrote %d events", after-before)
	}
}

// FuzzOrder: whatever the body, Normalize answers a field error or an
// order whose lines and total add up in int64, and never panics.
func FuzzOrder(f *testing.F) {
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	for _, seed := range []string{
		`{"external_id":"o-1","email":"a@b.co","currency":"EUR","placed_at":"2026-11-01T10:00:00Z","lines":[{"description":"x","quantity":2,"unit_price":500,"discount":100,"tax":20}]}`,
		`{"external_id":"o-2","contact_id":"01JD000000000000000000000A","currency":"JPY","placed_at":"2026-11-01T10:00:00+09:00","status":"refunded","lines":[{"sku":"RB-1","quantity":1,"unit_price":9223372036854775807}]}`,
		`{"external_id":" ","currency":"eur","lines":[{"quantity":0,"unit_price":-1,"category":"A//B#"}]}`,
		`{"external_id":"o-3","contact_external_id":"c","currency":"KWD","placed_at":"2027-01-01T00:00:00Z","lines":[{"description":"a","quantity":1000000,"unit_price":9223372036854,"tax":9223372036854775807,"refunded":1}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var of commerce.OrderFields
		if json.Unmarshal(body, &of) != nil {
			return
		}
		err := of.Normalize(now)
		if err != nil {
			if core.ErrorCode(err) != core.CodeInvalid || len(paths(err)) == 0 {
				t.Fatalf("not a field error: %v", err)
			}
			return
		}
		var total int64
		for i, l := range of.Lines {
			g := l.Gross()
			if g < 0 || l.Refunded > g || l.Discount > l.Quantity*l.UnitPrice {
				t.Fatalf("line %d accepted with gross %d: %+v", i, g, l)
			}
			if total+g < total {
				t.Fatalf("total wraps at line %d", i)
			}
			total += g
		}
		if of.PlacedAt.Location() != time.UTC || of.PlacedAt.After(now.Add(commerce.MaxFuture)) {
			t.Fatalf("placed_at %v accepted", of.PlacedAt)
		}
	})
}
