package commerce

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
)

// Products is the repository and use cases of a tenant's catalogue.
type Products struct {
	store store.Store
	now   func() time.Time
}

// NewProducts returns the catalogues of every tenant in s.
func NewProducts(s store.Store, now func() time.Time) *Products {
	return &Products{store: s, now: now}
}

var productKind = record.Type[Product]{
	Name: "product",
	Key:  ProductKey,
	Meta: func(p *Product) *core.Meta { return &p.Meta },
	Index: func(tenant string, p *Product) map[store.Index]store.Key {
		if p.Category == "" {
			return nil
		}
		return map[store.Index]store.Key{store.GSI1: {PK: productCategoryPK(tenant), SK: productCategorySK(p.Category, p.ID)}}
	},
	Unique: func(tenant string, p *Product) []record.Unique {
		return []record.Unique{{Key: productSKUKey(tenant, p.SKU), Path: "sku", Value: p.SKU}}
	},
	Slots: productSlots,
}

// maxSKUTokens bounds the search entries of a SKU (the whole and its parts).
const maxSKUTokens = 4

// productTokens are what a product is found by: indexed, the tokens with
// index entries (the first name words, the SKU whole and its parts); all,
// those a query's other words may match.
func productTokens(p *Product) (indexed, all []string) {
	names := core.NameTokens(p.Name)
	for _, n := range names {
		if core.Indexable(n) && len(indexed) < core.MaxNameTokens {
			indexed = append(indexed, n)
		}
	}
	sku := append([]string{core.Fold(p.SKU)}, core.NameTokens(p.SKU)...)
	var skuTokens []string
	for _, t := range sku {
		if core.Indexable(t) && !slices.Contains(skuTokens, t) && len(skuTokens) < maxSKUTokens {
			skuTokens = append(skuTokens, t)
		}
	}
	for _, t := range skuTokens {
		if !slices.Contains(indexed, t) {
			indexed = append(indexed, t)
		}
	}
	return indexed, append(names, sku...)
}

// productSlots hold a product's search entries (gsi2), one per indexed
// token: at most MaxNameTokens + maxSKUTokens, each one write when it
// changes.
func productSlots(tenant string, p *Product) []store.Item {
	indexed, _ := productTokens(p)
	slots := make([]store.Item, len(indexed))
	for i, t := range indexed {
		slots[i] = store.Item{Key: productSlotKey(tenant, p.ID, i), IndexKeys: map[store.Index]store.Key{
			store.GSI2: {PK: productSearchPK(tenant, core.SearchPartition(t)), SK: t + "#" + p.ID}}}
	}
	return slots
}

// Get returns one product; another tenant's id is simply not found.
func (ps *Products) Get(ctx context.Context, tenant, id string) (Product, error) {
	return productKind.Get(ctx, ps.store, tenant, id)
}

// Create validates and stores a new product; a SKU in use is a conflict.
func (ps *Products) Create(ctx context.Context, tenant string, f ProductFields) (Product, error) {
	if err := f.Normalize(); err != nil {
		return Product{}, err
	}
	p := Product{ProductFields: f}
	if err := productKind.Create(ctx, ps.store, tenant, ps.now(), &p); err != nil {
		return Product{}, err
	}
	return p, nil
}

// Update applies change to a product's fields (a merge patch); ifVersion
// > 0 is the If-Match. A changed SKU moves its marker.
func (ps *Products) Update(ctx context.Context, tenant, id string, ifVersion int64, change func(*ProductFields) error) (Product, error) {
	return productKind.Update(ctx, ps.store, tenant, id, ifVersion, ps.now, func(cur Product) (Product, error) {
		f := cur.ProductFields
		if err := change(&f); err != nil {
			return cur, err
		}
		if err := f.Normalize(); err != nil {
			return cur, err
		}
		return Product{Meta: cur.Meta, ProductFields: f}, nil
	})
}

// Delete removes a product and its SKU marker. Orders keep what their
// lines copied from it.
func (ps *Products) Delete(ctx context.Context, tenant, id string, ifVersion int64) (Product, error) {
	return productKind.Delete(ctx, ps.store, tenant, id, ifVersion, ps.now)
}

// BySKU returns the product with sku.
func (ps *Products) BySKU(ctx context.Context, tenant, sku string) (Product, error) {
	s, ok := NormalizeSKU(sku)
	if !ok {
		return Product{}, core.Errorf(core.CodeNotFound, "no product has SKU %q", sku)
	}
	it, err := ps.store.Get(ctx, productSKUKey(tenant, s))
	if errors.Is(err, store.ErrNotFound) {
		return Product{}, core.Errorf(core.CodeNotFound, "no product has SKU %q", s)
	}
	if err != nil {
		return Product{}, fmt.Errorf("load SKU marker %q: %w", s, record.StoreError(err))
	}
	id, err := record.PointerID(it)
	if err != nil {
		return Product{}, err
	}
	return ps.Get(ctx, tenant, id)
}

// BySKUs returns the products of skus that exist, by SKU: two batch reads
// (the markers, then the products) per 100 SKUs, whatever their number.
func (ps *Products) BySKUs(ctx context.Context, tenant string, skus []string) (map[string]Product, error) {
	out := map[string]Product{}
	var uniq []string
	for _, s := range skus {
		if s != "" && !slices.Contains(uniq, s) {
			uniq = append(uniq, s)
		}
	}
	for chunk := range slices.Chunk(uniq, store.MaxBatchGetKeys) {
		keys := make([]store.Key, len(chunk))
		for i, s := range chunk {
			keys[i] = productSKUKey(tenant, s)
		}
		markers, err := ps.store.GetMany(ctx, keys)
		if err != nil {
			return nil, fmt.Errorf("load SKU markers: %w", record.StoreError(err))
		}
		if len(markers) == 0 {
			continue
		}
		pkeys := make([]store.Key, 0, len(markers))
		for _, m := range markers {
			id, err := record.PointerID(m)
			if err != nil {
				return nil, err
			}
			if k := ProductKey(tenant, id); core.ValidID(id) && !slices.Contains(pkeys, k) {
				pkeys = append(pkeys, k)
			}
		}
		items, err := ps.store.GetMany(ctx, pkeys)
		if err != nil {
			return nil, fmt.Errorf("load products: %w", record.StoreError(err))
		}
		for _, it := range items {
			p, err := productKind.Decode(it)
			if err != nil {
				return nil, err
			}
			out[p.SKU] = p
		}
	}
	return out, nil
}

// UpsertBySKU replaces every field of the product with sku, or creates it
// when none has it; the path's SKU wins over the body's. Two racing
// upserts of a new SKU end with one product: the loser's create fails on
// the marker and it updates.
func (ps *Products) UpsertBySKU(ctx context.Context, tenant, sku string, ifVersion int64, f ProductFields) (p Product, created bool, err error) {
	s, ok := NormalizeSKU(sku)
	if !ok {
		return p, false, core.Invalid("sku", skuRule, sku)
	}
	f.SKU = s
	if err := f.Normalize(); err != nil {
		return p, false, err
	}
	for attempt := 0; ; attempt++ {
		cur, err := ps.BySKU(ctx, tenant, s)
		switch {
		case err == nil:
			p, err = ps.Update(ctx, tenant, cur.ID, ifVersion, func(pf *ProductFields) error { *pf = f; return nil })
			if core.ErrorCode(err) == core.CodeNotFound && attempt < record.MaxRetries {
				continue // deleted meanwhile: create it instead
			}
			return p, false, err
		case core.ErrorCode(err) != core.CodeNotFound:
			return p, false, err
		case ifVersion > 0:
			return p, false, record.Stale("product", s, ifVersion, 0)
		}
		p, err = ps.Create(ctx, tenant, f)
		if core.ErrorCode(err) == core.CodeConflict && attempt < record.MaxRetries {
			continue // another upsert created it first: update that one
		}
		return p, err == nil, err
	}
}

// Upserted is one element's outcome in a batch upsert.
type Upserted[T any] struct {
	Record  T
	Created bool
	Err     error
}

// UpsertMany upserts each product by its SKU on its own: one failing does
// not stop the others.
func (ps *Products) UpsertMany(ctx context.Context, tenant string, fs []ProductFields) []Upserted[Product] {
	out := make([]Upserted[Product], len(fs))
	for i, f := range fs {
		out[i].Record, out[i].Created, out[i].Err = ps.UpsertBySKU(ctx, tenant, f.SKU, 0, f)
	}
	return out
}

// ActiveFilters are the values of a list's active filter.
var ActiveFilters = []string{"true", "false"}

// ProductFilter selects products; its fields are named after the query
// parameters so that problems name the parameter at fault.
type ProductFilter struct {
	// Q finds products by a prefix of a word of their name or of their
	// SKU (whole or its parts), as contacts' q does.
	Q string
	// Category is a category path: the products in it and below it.
	Category string
	Active   *bool
}

// List returns one page of a tenant's products matching f: by search when
// Q is set, else by category when set, else in creation order; the other
// filters are checked on what is read. The cursor is bound to the tenant
// and the filter.
func (ps *Products) List(ctx context.Context, tenant string, f ProductFilter, limit int, cursor string) ([]Product, string, error) {
	var p core.Problems
	var q core.SearchQuery
	if f.Q != "" {
		var err error
		if q, err = core.ParseSearch(f.Q); err != nil {
			var ce *core.Error
			if errors.As(err, &ce) {
				p = append(p, ce.Fields...)
			}
		}
	}
	if f.Category != "" {
		c, ok := NormalizeCategory(f.Category)
		if !ok || c == "" {
			p = append(p, core.FieldError{Path: "category", Message: categoryRule, Value: f.Category})
		}
		f.Category = c
	}
	if err := p.Err(); err != nil {
		return nil, "", err
	}
	if err := record.CheckLimit(limit); err != nil {
		return nil, "", err
	}
	plan := record.Plan{Query: store.Query{PK: productsPK(tenant)}, PostFilter: f.Active != nil}
	keep := func(store.Item, *Product) bool { return true }
	switch {
	case f.Q != "":
		plan = record.Plan{Query: store.Query{Index: store.GSI2, PK: productSearchPK(tenant, core.SearchPartition(q.Driver())), Prefix: q.Driver()},
			Deref: true, PostFilter: true}
		keep = func(it store.Item, p *Product) bool {
			indexed, _ := productTokens(p)
			return strings.TrimSuffix(it.IndexKeys[store.GSI2].SK, "#"+p.ID) == q.First(indexed)
		}
	case f.Category != "":
		plan.Query = store.Query{Index: store.GSI1, PK: productCategoryPK(tenant), Prefix: f.Category + "/"}
	}
	match := func(it store.Item, p *Product) bool {
		if f.Q != "" {
			if _, all := productTokens(p); !q.Match(all) {
				return false
			}
		}
		return keep(it, p) && (f.Category == "" || p.Category == f.Category || strings.HasPrefix(p.Category, f.Category+"/")) &&
			(f.Active == nil || p.IsActive() == *f.Active)
	}
	active := ""
	if f.Active != nil {
		active = fmt.Sprint(*f.Active)
	}
	plan.PostFilter = plan.PostFilter || f.Q != "" && (f.Category != "")
	fp := record.FilterKey("product", strings.Join(q.Words, " "), f.Category, active)
	return record.ListItems(ctx, ps.store, tenant, productKind, plan, fp, limit, cursor, match)
}
