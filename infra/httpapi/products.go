package httpapi

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/commerce"
)

type productOutput struct {
	Status   int    `json:"-"`
	ETag     string `header:"ETag"`
	Location string `header:"Location"`
	Body     commerce.Product
}

func productOut(p commerce.Product, status int) *productOutput {
	out := &productOutput{Status: status, ETag: etag(p.Version), Body: p}
	if status == http.StatusCreated {
		out.Location = "/v1/products/" + p.ID
	}
	return out
}

// ProductPath is the id of a product in a path.
type ProductPath struct {
	ID string `path:"id" doc:"Product id (ULID)" maxLength:"26"`
}

// SKUPath is a product's SKU in a path.
type SKUPath struct {
	SKU string `path:"sku" maxLength:"64" doc:"The product's SKU, exactly (SKUs are compared case-sensitively)."`
}

const productBySKUPath = "/v1/products-by-sku/{sku}"

// upsertResult is one element's outcome in a batch upsert: 201 created,
// 200 updated (or unchanged), else the status it alone would have had.
func upsertResult[T any](s *Server, ctx context.Context, i int, rec T, created bool, err error) BatchResult[T] {
	r := batchResult(s, ctx, i, rec, err)
	if err == nil && !created {
		r.Status = http.StatusOK
	}
	return r
}

// batchItems reads a batch body, {"items": [...]}, of 1 to 100 elements,
// each left raw: an element that breaks the schema is that element's
// failure, not the batch's.
func batchItems(raw []byte) ([]json.RawMessage, error) {
	var body struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := decodeJSON(raw, &body); err != nil {
		return nil, err
	}
	if len(body.Items) < 1 || len(body.Items) > 100 {
		return nil, core.Invalid("items", "a batch holds 1 to 100 items", len(body.Items))
	}
	return body.Items, nil
}

// batchBody documents a batch of fields.
type batchBody[F any] struct {
	Items []F `json:"items" minItems:"1" maxItems:"100"`
}

type batchOutput[T any] struct {
	Body struct {
		Results []BatchResult[T] `json:"results"`
	}
}

func (s *Server) registerProducts() {
	const tag = "Commerce"
	readProduct := func(raw []byte) (commerce.ProductFields, error) {
		return readFields(raw, s.checkProduct, func(f commerce.ProductFields) error { return f.Normalize() })
	}
	huma.Register(s.api, readsItsBody(withStatus(operation("create-product", http.MethodPost, "/v1/products",
		"Add a product to the catalogue; its SKU must be new (PUT /v1/products-by-sku/{sku} upserts)", core.ScopeWrite, tag), http.StatusCreated)),
		func(ctx context.Context, in *struct {
			IdempotencyHeader
			RawBody []byte `contentType:"application/json"`
		}) (*productOutput, error) {
			f, err := readProduct(in.RawBody)
			if err == nil {
				var p commerce.Product
				if p, err = s.products.Create(ctx, tenantOf(ctx), f); err == nil {
					return productOut(p, http.StatusCreated), nil
				}
			}
			return nil, s.problem(ctx, err, "body")
		})
	documentBody(s.api, http.MethodPost, "/v1/products", commerce.ProductFields{}, "The new product.", "application/json")

	huma.Register(s.api, operation("get-product", http.MethodGet, "/v1/products/{id}", "Get a product", core.ScopeRead, tag),
		func(ctx context.Context, in *ProductPath) (*productOutput, error) {
			p, err := s.products.Get(ctx, tenantOf(ctx), in.ID)
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return productOut(p, http.StatusOK), nil
		})

	huma.Register(s.api, readsItsBody(operation("update-product", http.MethodPatch, "/v1/products/{id}", "Update a product (JSON merge patch)", core.ScopeWrite, tag)),
		func(ctx context.Context, in *struct {
			ProductPath
			IfMatchHeader
			RawBody []byte `contentType:"application/merge-patch+json"`
		}) (*productOutput, error) {
			v, err := ifMatch(in.IfMatch)
			if err == nil {
				var p commerce.Product
				if p, err = s.products.Update(ctx, tenantOf(ctx), in.ID, v, mergeInto[commerce.ProductFields](in.RawBody, s.checkProduct)); err == nil {
					return productOut(p, http.StatusOK), nil
				}
			}
			return nil, s.problem(ctx, err, "body")
		})
	mergePatchBody(s.api, "/v1/products/{id}", commerce.ProductFields{})

	huma.Register(s.api, withStatus(operation("delete-product", http.MethodDelete, "/v1/products/{id}",
		"Delete a product; orders keep what their lines copied from it", core.ScopeWrite, tag), http.StatusNoContent),
		func(ctx context.Context, in *struct {
			ProductPath
			IfMatchHeader
		}) (*struct{}, error) {
			v, err := ifMatch(in.IfMatch)
			if err == nil {
				_, err = s.products.Delete(ctx, tenantOf(ctx), in.ID, v)
			}
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return nil, nil
		})

	huma.Register(s.api, operation("list-products", http.MethodGet, "/v1/products", "List or search the catalogue", core.ScopeRead, tag),
		func(ctx context.Context, in *struct {
			Limit    int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
			Cursor   string `query:"cursor" maxLength:"2048" doc:"next_cursor of the previous page, with the same filters."`
			Q        string `query:"q" maxLength:"200" doc:"Products with a word of their name, or their SKU (whole or a part between punctuation), starting with it, case and accents aside; several words must all match. Results come in the order of what they match."`
			Category string `query:"category" maxLength:"200" doc:"Products in this category or below it (eyewear finds eyewear/sunglasses)."`
			Active   string `query:"active" enum:"true,false" doc:"Only products on sale (true) or withdrawn (false)."`
		}) (*struct{ Body itemsPage[commerce.Product] }, error) {
			f := commerce.ProductFilter{Q: in.Q, Category: in.Category}
			if in.Active != "" {
				a := in.Active == "true"
				f.Active = &a
			}
			items, next, err := s.products.List(ctx, tenantOf(ctx), f, in.Limit, in.Cursor)
			if err != nil {
				return nil, s.problem(ctx, err, "query")
			}
			return &struct{ Body itemsPage[commerce.Product] }{itemsPage[commerce.Product]{Items: items, NextCursor: next}}, nil
		})

	huma.Register(s.api, operation("get-product-by-sku", http.MethodGet, productBySKUPath, "Get the product of a SKU", core.ScopeRead, tag),
		func(ctx context.Context, in *SKUPath) (*productOutput, error) {
			p, err := s.products.BySKU(ctx, tenantOf(ctx), in.SKU)
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return productOut(p, http.StatusOK), nil
		})

	huma.Register(s.api, readsItsBody(operation("upsert-product-by-sku", http.MethodPut, productBySKUPath,
		"Create or replace the product of a SKU", core.ScopeWrite, tag)),
		func(ctx context.Context, in *struct {
			SKUPath
			IfMatchHeader
			RawBody []byte `contentType:"application/json"`
		}) (*productOutput, error) {
			v, err := ifMatch(in.IfMatch)
			if err != nil {
				return nil, s.problem(ctx, err, "header")
			}
			// The path names the SKU: a body without one is whole.
			f, err := readProduct(withField(in.RawBody, "sku", in.SKU))
			if err != nil {
				return nil, s.problem(ctx, err, "body")
			}
			p, created, err := s.products.UpsertBySKU(ctx, tenantOf(ctx), in.SKU, v, f)
			if err != nil {
				return nil, s.problem(ctx, err, "body")
			}
			if created {
				return productOut(p, http.StatusCreated), nil
			}
			return productOut(p, http.StatusOK), nil
		})
	documentBody(s.api, http.MethodPut, productBySKUPath, commerce.ProductFields{}, "Every field of the product; sku may be left out (the path's wins).", "application/json")
	alsoAnswers(s.api, http.MethodPut, productBySKUPath, http.StatusCreated, "Created: no product had the SKU.")

	huma.Register(s.api, readsItsBody(operation("batch-upsert-products", http.MethodPost, "/v1/products/batch",
		"Create or replace up to 100 products by SKU, each on its own", core.ScopeWrite, tag)),
		func(ctx context.Context, in *struct {
			IdempotencyHeader
			RawBody []byte `contentType:"application/json"`
		}) (*batchOutput[commerce.Product], error) {
			items, err := batchItems(in.RawBody)
			if err != nil {
				return nil, s.problem(ctx, err, "body")
			}
			results := make([]BatchResult[commerce.Product], len(items))
			var good []commerce.ProductFields
			var at []int
			for i, raw := range items {
				f, err := readProduct(raw)
				if err != nil {
					results[i] = batchResult(s, ctx, i, commerce.Product{}, err)
					continue
				}
				good, at = append(good, f), append(at, i)
			}
			for j, r := range s.products.UpsertMany(ctx, tenantOf(ctx), good) {
				results[at[j]] = upsertResult(s, ctx, at[j], r.Record, r.Created, r.Err)
			}
			out := &batchOutput[commerce.Product]{}
			out.Body.Results = results
			return out, nil
		})
	documentBody(s.api, http.MethodPost, "/v1/products/batch", batchBody[commerce.ProductFields]{}, "Up to 100 products, each upserted by its SKU.", "application/json")
}

// withField sets a top-level string member of a JSON object body when it
// is absent, so that a path's value stands in for it.
func withField(raw []byte, name, value string) []byte {
	var m map[string]json.RawMessage
	if !json.Valid(raw) || json.Unmarshal(raw, &m) != nil || m == nil {
		return raw // readFields says what is wrong with it
	}
	if _, ok := m[name]; ok {
		return raw
	}
	m[name], _ = json.Marshal(value) // a string always encodes
	out, err := json.Marshal(m)
	if err != nil {
		return raw
	}
	return out
}
