package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/sales"
)

type dealOutput struct {
	ETag     string `header:"ETag"`
	Location string `header:"Location"`
	Body     core.Deal
}

func dealOut(d core.Deal, created bool) *dealOutput {
	out := &dealOutput{ETag: etag(d.Version), Body: d}
	if created {
		out.Location = "/v1/deals/" + d.ID
	}
	return out
}

type pipelineOutput struct {
	ETag     string `header:"ETag"`
	Location string `header:"Location"`
	Body     core.Pipeline
}

func pipelineOut(p core.Pipeline, created bool) *pipelineOutput {
	out := &pipelineOutput{ETag: etag(p.Version), Body: p}
	if created {
		out.Location = "/v1/pipelines/" + p.ID
	}
	return out
}

// DealPath is the id of a deal in a path.
type DealPath struct {
	ID string `path:"id" doc:"Deal id (ULID)" maxLength:"26"`
}

// PipelinePath is the id of a pipeline in a path.
type PipelinePath struct {
	ID string `path:"id" doc:"Pipeline id (ULID)" maxLength:"26"`
}

func (s *Server) registerDeals() {
	const tag = "Sales"
	huma.Register(s.api, readsItsBody(withStatus(operation("create-pipeline", http.MethodPost, "/v1/pipelines",
		"Create a pipeline: ordered stages with default win probabilities, at least one won and one lost", core.ScopeAdmin, tag), http.StatusCreated)),
		func(ctx context.Context, in *struct {
			IdempotencyHeader
			RawBody []byte `contentType:"application/json"`
		}) (*pipelineOutput, error) {
			f, err := readFields(in.RawBody, s.checkPipeline, func(f core.PipelineFields) error { return f.Normalize() })
			if err == nil {
				var p core.Pipeline
				if p, err = s.pipelines.Create(ctx, tenantOf(ctx), f); err == nil {
					return pipelineOut(p, true), nil
				}
			}
			return nil, s.problem(ctx, err, "body")
		})
	documentBody(s.api, http.MethodPost, "/v1/pipelines", core.PipelineFields{}, "The new pipeline.", "application/json")

	huma.Register(s.api, operation("get-pipeline", http.MethodGet, "/v1/pipelines/{id}", "Get a pipeline", core.ScopeRead, tag),
		func(ctx context.Context, in *PipelinePath) (*pipelineOutput, error) {
			p, err := s.pipelines.Get(ctx, tenantOf(ctx), in.ID)
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return pipelineOut(p, false), nil
		})

	huma.Register(s.api, operation("list-pipelines", http.MethodGet, "/v1/pipelines", "List pipelines", core.ScopeRead, tag),
		func(ctx context.Context, in *struct {
			Limit  int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
			Cursor string `query:"cursor" maxLength:"2048"`
		}) (*struct{ Body itemsPage[core.Pipeline] }, error) {
			items, next, err := s.pipelines.List(ctx, tenantOf(ctx), in.Limit, in.Cursor)
			if err != nil {
				return nil, s.problem(ctx, err, "query")
			}
			return &struct{ Body itemsPage[core.Pipeline] }{itemsPage[core.Pipeline]{Items: items, NextCursor: next}}, nil
		})

	huma.Register(s.api, readsItsBody(withStatus(operation("create-deal", http.MethodPost, "/v1/deals", "Create a deal", core.ScopeWrite, tag), http.StatusCreated)),
		func(ctx context.Context, in *struct {
			IdempotencyHeader
			RawBody []byte `contentType:"application/json"`
		}) (*dealOutput, error) {
			f, err := readFields(in.RawBody, s.checkDeal, func(core.DealFields) error { return nil })
			if err == nil {
				var d core.Deal
				if d, err = s.deals.Create(ctx, tenantOf(ctx), f); err == nil {
					return dealOut(d, true), nil
				}
			}
			return nil, s.problem(ctx, err, "body")
		})
	documentBody(s.api, http.MethodPost, "/v1/deals", core.DealFields{}, "The new deal.", "application/json")

	huma.Register(s.api, operation("get-deal", http.MethodGet, "/v1/deals/{id}", "Get a deal, with its stage history", core.ScopeRead, tag),
		func(ctx context.Context, in *DealPath) (*dealOutput, error) {
			d, err := s.deals.Get(ctx, tenantOf(ctx), in.ID)
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return dealOut(d, false), nil
		})

	huma.Register(s.api, readsItsBody(operation("update-deal", http.MethodPatch, "/v1/deals/{id}",
		"Update a deal (JSON merge patch); a new stage is recorded in its history", core.ScopeWrite, tag)),
		func(ctx context.Context, in *struct {
			DealPath
			IfMatchHeader
			RawBody []byte `contentType:"application/merge-patch+json"`
		}) (*dealOutput, error) {
			v, err := ifMatch(in.IfMatch)
			if err == nil {
				var d core.Deal
				if d, err = s.deals.Update(ctx, tenantOf(ctx), in.ID, v, mergeInto[core.DealFields](in.RawBody, s.checkDeal)); err == nil {
					return dealOut(d, false), nil
				}
			}
			return nil, s.problem(ctx, err, "body")
		})
	mergePatchBody(s.api, "/v1/deals/{id}", core.DealFields{})

	huma.Register(s.api, withStatus(operation("delete-deal", http.MethodDelete, "/v1/deals/{id}", "Delete a deal", core.ScopeWrite, tag), http.StatusNoContent),
		func(ctx context.Context, in *struct {
			DealPath
			IfMatchHeader
		}) (*struct{}, error) {
			v, err := ifMatch(in.IfMatch)
			if err == nil {
				_, err = s.deals.Delete(ctx, tenantOf(ctx), in.ID, v)
			}
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return nil, nil
		})

	huma.Register(s.api, operation("list-deals", http.MethodGet, "/v1/deals", "List deals", core.ScopeRead, tag),
		func(ctx context.Context, in *struct {
			Limit      int              `query:"limit" minimum:"1" maximum:"200" default:"50"`
			Cursor     string           `query:"cursor" maxLength:"2048"`
			PipelineID string           `query:"pipeline_id" maxLength:"26"`
			Status     core.DealOutcome `query:"status"`
			OwnerID    string           `query:"owner_id" maxLength:"26"`
			ContactID  string           `query:"contact_id" maxLength:"26" doc:"Only the deals of this contact"`
			CompanyID  string           `query:"company_id" maxLength:"26" doc:"Only the deals of this company"`
		}) (*struct{ Body itemsPage[core.Deal] }, error) {
			f := sales.DealFilter{PipelineID: in.PipelineID, Status: in.Status, OwnerID: in.OwnerID, ContactID: in.ContactID, CompanyID: in.CompanyID}
			items, next, err := s.deals.List(ctx, tenantOf(ctx), f, in.Limit, in.Cursor)
			if err != nil {
				return nil, s.problem(ctx, err, "query")
			}
			return &struct{ Body itemsPage[core.Deal] }{itemsPage[core.Deal]{Items: items, NextCursor: next}}, nil
		})
}

func (s *Server) registerReports() {
	const tag = "Sales"
	huma.Register(s.api, operation("forecast", http.MethodGet, "/v1/reports/forecast",
		"Weighted forecast of open deals (amount × win probability) by month, owner and pipeline, per currency", core.ScopeRead, tag),
		func(ctx context.Context, in *struct {
			From string `query:"from" format:"date" doc:"Only deals expected to close on or after this day, YYYY-MM-DD; deals without an expected close date are then left out"`
			To   string `query:"to" format:"date" doc:"Only deals expected to close on or before this day, YYYY-MM-DD (not before from); deals without an expected close date are then left out"`
		}) (*struct {
			Body struct {
				Currencies []sales.Forecast `json:"currencies"`
			}
		}, error) {
			fs, err := s.deals.Forecasts(ctx, tenantOf(ctx), sales.ForecastRange{From: in.From, To: in.To})
			if err != nil {
				return nil, s.problem(ctx, err, "query")
			}
			out := &struct {
				Body struct {
					Currencies []sales.Forecast `json:"currencies"`
				}
			}{}
			out.Body.Currencies = fs
			return out, nil
		})

	huma.Register(s.api, operation("pipeline-report", http.MethodGet, "/v1/reports/pipelines/{id}",
		"A pipeline's conversion rate and average time per stage, and its win rate", core.ScopeRead, tag),
		func(ctx context.Context, in *PipelinePath) (*struct{ Body sales.PipelineReport }, error) {
			r, err := s.deals.Report(ctx, tenantOf(ctx), in.ID)
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return &struct{ Body sales.PipelineReport }{r}, nil
		})
}
