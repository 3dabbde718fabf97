package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/commerce"
)

type orderOutput struct {
	Status   int    `json:"-"`
	ETag     string `header:"ETag"`
	Location string `header:"Location"`
	Body     commerce.Order
}

func orderOut(o commerce.Order, status int) *orderOutput {
	out := &orderOutput{Status: status, ETag: etag(o.Version), Body: o}
	if status == http.StatusCreated {
		out.Location = "/v1/orders/" + o.ID
	}
	return out
}

// OrderPath is the id of an order in a path.
type OrderPath struct {
	ID string `path:"id" doc:"Order id (ULID)" maxLength:"26"`
}

// ExternalIDPath is an order's external id in a path.
type ExternalIDPath struct {
	ExternalID string `path:"external_id" maxLength:"200" doc:"The order's id in the shop, unique within the tenant (URL-escaped)."`
}

const orderByExternalIDPath = "/v1/orders-by-external-id/{external_id}"

// refundBody is what POST /v1/orders/{id}/refunds takes.
type refundBody struct {
	Lines []commerce.LineRefund `json:"lines" minItems:"1" maxItems:"200" doc:"What to give back of each line; refunds of one line add up."`
}

func (s *Server) registerOrders() {
	const tag = "Commerce"
	readOrder := func(raw []byte) (commerce.OrderFields, error) {
		return readFields(raw, s.checkOrder, func(f commerce.OrderFields) error { return f.Normalize(s.now()) })
	}
	huma.Register(s.api, readsItsBody(withStatus(operation("create-order", http.MethodPost, "/v1/orders",
		"Store a new order; 409 naming the order when its external_id is known (PUT /v1/orders-by-external-id/{external_id} upserts)", core.ScopeWrite, tag), http.StatusCreated)),
		func(ctx context.Context, in *struct {
			IdempotencyHeader
			RawBody []byte `contentType:"application/json"`
		}) (*orderOutput, error) {
			f, err := readOrder(in.RawBody)
			if err == nil {
				var o commerce.Order
				if o, err = s.orders.Create(ctx, tenantOf(ctx), f); err == nil {
					return orderOut(o, http.StatusCreated), nil
				}
			}
			return nil, s.problem(ctx, err, "body")
		})
	documentBody(s.api, http.MethodPost, "/v1/orders", commerce.OrderFields{}, "The order; its buyer by contact_id, email or contact_external_id.", "application/json")

	huma.Register(s.api, readsItsBody(operation("upsert-order-by-external-id", http.MethodPut, orderByExternalIDPath,
		"Ingest an order by its external id: created when new, else updated; the same content again writes nothing", core.ScopeWrite, tag)),
		func(ctx context.Context, in *struct {
			ExternalIDPath
			RawBody []byte `contentType:"application/json"`
		}) (*orderOutput, error) {
			f, err := readOrder(withField(in.RawBody, "external_id", in.ExternalID))
			if err != nil {
				return nil, s.problem(ctx, err, "body")
			}
			o, created, err := s.orders.Upsert(ctx, tenantOf(ctx), in.ExternalID, f)
			if err != nil {
				return nil, s.problem(ctx, err, "body")
			}
			if created {
				return orderOut(o, http.StatusCreated), nil
			}
			return orderOut(o, http.StatusOK), nil
		})
	documentBody(s.api, http.MethodPut, orderByExternalIDPath, commerce.OrderFields{}, "The order as the shop has it; external_id may be left out (the path's wins).", "application/json")
	alsoAnswers(s.api, http.MethodPut, orderByExternalIDPath, http.StatusCreated, "Created: no order had the external id.")

	huma.Register(s.api, operation("get-order-by-external-id", http.MethodGet, orderByExternalIDPath, "Get the order of an external id", core.ScopeRead, tag),
		func(ctx context.Context, in *ExternalIDPath) (*orderOutput, error) {
			o, err := s.orders.ByExternalID(ctx, tenantOf(ctx), in.ExternalID)
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return orderOut(o, http.StatusOK), nil
		})

	huma.Register(s.api, operation("get-order", http.MethodGet, "/v1/orders/{id}", "Get an order", core.ScopeRead, tag),
		func(ctx context.Context, in *OrderPath) (*orderOutput, error) {
			o, err := s.orders.Get(ctx, tenantOf(ctx), in.ID)
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return orderOut(o, http.StatusOK), nil
		})

	huma.Register(s.api, readsItsBody(operation("update-order", http.MethodPatch, "/v1/orders/{id}",
		"Change an order's status, channel or location (JSON merge patch); a cancelled order cannot be paid", core.ScopeWrite, tag)),
		func(ctx context.Context, in *struct {
			OrderPath
			IfMatchHeader
			RawBody []byte `contentType:"application/merge-patch+json"`
		}) (*orderOutput, error) {
			v, err := ifMatch(in.IfMatch)
			if err == nil {
				var o commerce.Order
				if o, err = s.orders.Change(ctx, tenantOf(ctx), in.ID, v, mergeInto[commerce.OrderChange](in.RawBody, s.checkOrderChange)); err == nil {
					return orderOut(o, http.StatusOK), nil
				}
			}
			return nil, s.problem(ctx, err, "body")
		})
	mergePatchBody(s.api, "/v1/orders/{id}", commerce.OrderChange{})

	huma.Register(s.api, operation("refund-order", http.MethodPost, "/v1/orders/{id}/refunds",
		"Refund amounts of an order's lines; the order is refunded when every line is in full", core.ScopeWrite, tag),
		func(ctx context.Context, in *struct {
			OrderPath
			IfMatchHeader
			IdempotencyHeader
			Body refundBody
		}) (*orderOutput, error) {
			v, err := ifMatch(in.IfMatch)
			if err == nil {
				var o commerce.Order
				if o, err = s.orders.Refund(ctx, tenantOf(ctx), in.ID, v, in.Body.Lines); err == nil {
					return orderOut(o, http.StatusOK), nil
				}
			}
			return nil, s.problem(ctx, err, "body")
		})

	huma.Register(s.api, operation("list-orders", http.MethodGet, "/v1/orders", "List orders by when they were placed", core.ScopeRead, tag),
		func(ctx context.Context, in *struct {
			Limit     int                  `query:"limit" minimum:"1" maximum:"200" default:"50"`
			Cursor    string               `query:"cursor" maxLength:"2048" doc:"next_cursor of the previous page, with the same filters."`
			ContactID string               `query:"contact_id" maxLength:"26" doc:"Only the orders of this contact."`
			From      time.Time            `query:"from" doc:"RFC 3339; orders placed at or after it."`
			To        time.Time            `query:"to" doc:"RFC 3339; orders placed before it."`
			Status    commerce.OrderStatus `query:"status"`
			Sort      string               `query:"sort" enum:"-placed_at,placed_at" doc:"By placed_at; - for newest first (the default)."`
		}) (*struct{ Body itemsPage[commerce.Order] }, error) {
			f := commerce.OrderFilter{ContactID: in.ContactID, From: in.From, To: in.To, Status: in.Status, Oldest: in.Sort == "placed_at"}
			items, next, err := s.orders.List(ctx, tenantOf(ctx), f, in.Limit, in.Cursor)
			if err != nil {
				return nil, s.problem(ctx, err, "query")
			}
			return &struct{ Body itemsPage[commerce.Order] }{itemsPage[commerce.Order]{Items: items, NextCursor: next}}, nil
		})

	huma.Register(s.api, readsItsBody(operation("batch-upsert-orders", http.MethodPost, "/v1/orders/batch",
		"Ingest up to 100 orders, each upserted by its external id on its own", core.ScopeWrite, tag)),
		func(ctx context.Context, in *struct {
			IdempotencyHeader
			RawBody []byte `contentType:"application/json"`
		}) (*batchOutput[commerce.Order], error) {
			items, err := batchItems(in.RawBody)
			if err != nil {
				return nil, s.problem(ctx, err, "body")
			}
			results := make([]BatchResult[commerce.Order], len(items))
			var good []commerce.OrderFields
			var at []int
			for i, raw := range items {
				f, err := readOrder(raw)
				if err != nil {
					results[i] = batchResult(s, ctx, i, commerce.Order{}, err)
					continue
				}
				good, at = append(good, f), append(at, i)
			}
			for j, r := range s.orders.UpsertMany(ctx, tenantOf(ctx), good) {
				results[at[j]] = upsertResult(s, ctx, at[j], r.Record, r.Created, r.Err)
			}
			out := &batchOutput[commerce.Order]{}
			out.Body.Results = results
			return out, nil
		})
	documentBody(s.api, http.MethodPost, "/v1/orders/batch", batchBody[commerce.OrderFields]{}, "Up to 100 orders, each upserted by its external id.", "application/json")
}
