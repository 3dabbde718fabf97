package commerce_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/commerce"
)

func TestProductNormalize(t *testing.T) {
	tests := []struct {
		name   string
		change func(*commerce.ProductFields)
		want   []string
	}{
		{"valid", func(*commerce.ProductFields) {}, nil},
		{"sku with a space", func(f *commerce.ProductFields) { f.SKU = "RB 3025" }, []string{"sku"}},
		{"sku with a slash", func(f *commerce.ProductFields) { f.SKU = "RB/3025" }, []string{"sku"}},
		{"no name", func(f *commerce.ProductFields) { f.Name = " " }, []string{"name"}},
		{"category with #", func(f *commerce.ProductFields) { f.Category = "a#b" }, []string{"category"}},
		{"price currency", func(f *commerce.ProductFields) { f.Prices[0].Currency = "XXQ" }, []string{"prices[0].currency"}},
		{"two prices in one currency", func(f *commerce.ProductFields) {
			f.Prices = append(f.Prices, commerce.Price{Currency: "EUR", Amount: 1})
		}, []string{"prices[1].currency"}},
		{"negative amount and cost", func(f *commerce.ProductFields) { f.Prices[0].Amount, f.Prices[0].Cost = -1, ptr[int64](-1) }, []string{"prices[0].amount", "prices[0].cost"}},
		{"relation kind", func(f *commerce.ProductFields) { f.Relations[0].Kind = "sibling_of" }, []string{"relations[0].kind"}},
		{"relation to itself", func(f *commerce.ProductFields) { f.Relations[0].SKU = "RB-3025" }, []string{"relations[0].sku"}},
		{"bad tag", func(f *commerce.ProductFields) { f.Tags = []string{"a#"} }, []string{"tags[0]"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := commerce.ProductFields{SKU: " RB-3025 ", Name: "Aviator", Category: "Eyewear/ Sunglasses", Prices: []commerce.Price{{Currency: "EUR", Amount: 15000}},
				Relations: []commerce.Relation{{Kind: commerce.RelationAccessoryOf, SKU: "CASE-1"}}, Tags: []string{"Summer", "summer"}}
			tc.change(&f)
			err := f.Normalize()
			if diff := cmp.Diff(tc.want, paths(err)); diff != "" {
				t.Errorf("fields at fault (-want +got):\n%s", diff)
			}
			if err == nil && (f.SKU != "RB-3025" || f.Category != "eyewear/sunglasses" || len(f.Tags) != 1 || !f.IsActive()) {
				t.Errorf("normalised %+v", f)
			}
		})
	}
}

// A catalogue: SKUs unique per tenant, upserts by SKU, search by a prefix
// of a name word or of the SKU, categories with what is below them.
func TestCatalogue(t *testing.T) {
	fx := newFixture(t)
	add := func(tenant string, f commerce.ProductFields) commerce.Product {
		t.Helper()
		p, err := fx.products.Create(fx.ctx, tenant, f)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	aviator := add("acme", commerce.ProductFields{SKU: "RB-3025", Name: "Aviator Classic", Category: "eyewear/sunglasses"})
	wayfarer := add("acme", commerce.ProductFields{SKU: "RB-2140", Name: "Wayfarer", Category: "eyewear/sunglasses", Active: ptr(false)})
	frame := add("acme", commerce.ProductFields{SKU: "OX.8046", Name: "Optical frame", Category: "eyewear"})
	strap := add("acme", commerce.ProductFields{SKU: "ST-1", Name: "Strap", Category: "eyewearx"})
	add("globex", commerce.ProductFields{SKU: "RB-3025", Name: "Aviator elsewhere"}) // the same SKU in another tenant

	if _, err := fx.products.Create(fx.ctx, "acme", commerce.ProductFields{SKU: "RB-3025", Name: "Again"}); core.ErrorCode(err) != core.CodeConflict {
		t.Errorf("a SKU twice: %v", err)
	}
	list := func(tenant string, f commerce.ProductFilter) []string {
		t.Helper()
		var out []string
		cursor := ""
		for {
			page, next, err := fx.products.List(fx.ctx, tenant, f, 1, cursor)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range page {
				out = append(out, p.SKU)
			}
			if next == "" {
				return out
			}
			cursor = next
		}
	}
	tests := []struct {
		f    commerce.ProductFilter
		want []string
	}{
		{commerce.ProductFilter{}, []string{aviator.SKU, wayfarer.SKU, frame.SKU, strap.SKU}},
		{commerce.ProductFilter{Q: "avi"}, []string{aviator.SKU}},
		{commerce.ProductFilter{Q: "rb"}, []string{aviator.SKU, wayfarer.SKU}}, // by the token they match ("rb" for both), then id
		{commerce.ProductFilter{Q: "RB-30"}, []string{aviator.SKU}},
		{commerce.ProductFilter{Q: "ox.80"}, []string{frame.SKU}},
		{commerce.ProductFilter{Q: "classic avi"}, []string{aviator.SKU}},
		{commerce.ProductFilter{Q: "rb", Active: ptr(true)}, []string{aviator.SKU}},
		{commerce.ProductFilter{Category: "Eyewear"}, []string{frame.SKU, aviator.SKU, wayfarer.SKU}},
		{commerce.ProductFilter{Category: "eyewear/sunglasses", Active: ptr(false)}, []string{wayfarer.SKU}},
		{commerce.ProductFilter{Q: "strap", Category: "eyewear"}, nil},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, list("acme", tc.f)); diff != "" {
			t.Errorf("%+v (-want +got):\n%s", tc.f, diff)
		}
	}
	if got := list("globex", commerce.ProductFilter{Q: "rb"}); len(got) != 1 {
		t.Errorf("globex's search: %v", got)
	}

	// Upsert by SKU: replaces the product of the SKU, creates one for a new SKU.
	up, created, err := fx.products.UpsertBySKU(fx.ctx, "acme", "RB-3025", 0, commerce.ProductFields{Name: "Aviator Large", Category: "eyewear/sunglasses"})
	if err != nil || created || up.ID != aviator.ID || up.Version != 2 {
		t.Fatalf("upsert existing: %+v %v %v", up.Meta, created, err)
	}
	if got := list("acme", commerce.ProductFilter{Q: "classic"}); len(got) != 0 {
		t.Errorf("the old name still found: %v", got)
	}
	res := fx.products.UpsertMany(fx.ctx, "acme", []commerce.ProductFields{{SKU: "NEW-1", Name: "New"}, {SKU: "RB-3025", Name: "Aviator Large", Category: "eyewear/sunglasses"}, {SKU: "bad sku", Name: "x"}})
	if !res[0].Created || res[1].Created || res[1].Record.Version != 2 || cmp.Diff([]string{"sku"}, paths(res[2].Err)) != "" {
		t.Errorf("batch: %+v", res)
	}
	// A changed SKU frees the old one.
	if _, err := fx.products.Update(fx.ctx, "acme", strap.ID, 0, func(f *commerce.ProductFields) error { f.SKU = "ST-2"; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.products.BySKU(fx.ctx, "acme", "ST-1"); core.ErrorCode(err) != core.CodeNotFound {
		t.Errorf("old SKU: %v", err)
	}
	if _, err := fx.products.Delete(fx.ctx, "acme", frame.ID, 0); err != nil {
		t.Fatal(err)
	}
	if got := list("acme", commerce.ProductFilter{Q: "optical"}); len(got) != 0 {
		t.Errorf("a deleted product found: %v", got)
	}
	if _, err := fx.products.Get(fx.ctx, "globex", aviator.ID); core.ErrorCode(err) != core.CodeNotFound {
		t.Errorf("acme's product read by globex: %v", err)
	}
	want := []string{"product.created", "product.created", "product.created", "product.created", "product.updated", "product.created", "product.updated", "product.deleted"}
	if diff := cmp.Diff(want, types(fx.events(t, "acme"), "product")); diff != "" {
		t.Errorf("product events (-want +got):\n%s", diff)
	}
}
