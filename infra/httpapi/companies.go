package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/contacts"
)

type companyOutput struct {
	ETag     string `header:"ETag"`
	Location string `header:"Location"`
	Body     core.Company
}

func companyOut(c core.Company, created bool) *companyOutput {
	out := &companyOutput{ETag: etag(c.Version), Body: c}
	if created {
		out.Location = "/v1/companies/" + c.ID
	}
	return out
}

// CompanyPath is the id of a company in a path.
type CompanyPath struct {
	ID string `path:"id" doc:"Company id (ULID)" maxLength:"26"`
}

type listCompaniesInput struct {
	Limit        int       `query:"limit" minimum:"1" maximum:"200" default:"50"`
	Cursor       string    `query:"cursor" maxLength:"2048" doc:"next_cursor of the previous page, with the same filters."`
	Domain       string    `query:"domain" maxLength:"253"`
	UpdatedSince time.Time `query:"updated_since" doc:"RFC 3339; companies updated at or after it."`
	Q            string    `query:"q" maxLength:"200" doc:"Companies whose name or domain starts with it, case and accents aside (at least one word of 2 characters; several words must all match). Results come in the order of what they match; combines with the other filters, not with sort."`
	Sort         string    `query:"sort" enum:"created,-created,updated,-updated,name,-name" doc:"By creation, last update or name; - for newest first or Z to A. -created when absent."`
}

func (s *Server) registerCompanies() {
	const tag = "Companies"
	huma.Register(s.api, readsItsBody(withStatus(operation("create-company", http.MethodPost, "/v1/companies", "Create a company", core.ScopeWrite, tag), http.StatusCreated)),
		func(ctx context.Context, in *struct {
			IdempotencyHeader
			RawBody []byte `contentType:"application/json"`
		}) (*companyOutput, error) {
			f, err := readFields(in.RawBody, s.checkCompany, func(f core.CompanyFields) error { return s.companies.Check(ctx, tenantOf(ctx), f) })
			if err == nil {
				var c core.Company
				if c, err = s.companies.Create(ctx, tenantOf(ctx), f); err == nil {
					return companyOut(c, true), nil
				}
			}
			return nil, s.problem(ctx, err, "body")
		})
	documentBody(s.api, http.MethodPost, "/v1/companies", core.CompanyFields{}, "The new company.", "application/json")

	huma.Register(s.api, operation("get-company", http.MethodGet, "/v1/companies/{id}", "Get a company", core.ScopeRead, tag),
		func(ctx context.Context, in *CompanyPath) (*companyOutput, error) {
			c, err := s.companies.Get(ctx, tenantOf(ctx), in.ID)
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return companyOut(c, false), nil
		})

	huma.Register(s.api, readsItsBody(operation("update-company", http.MethodPatch, "/v1/companies/{id}", "Update a company (JSON merge patch)", core.ScopeWrite, tag)),
		func(ctx context.Context, in *struct {
			CompanyPath
			IfMatchHeader
			RawBody []byte `contentType:"application/merge-patch+json"`
		}) (*companyOutput, error) {
			v, err := ifMatch(in.IfMatch)
			if err == nil {
				var c core.Company
				if c, err = s.companies.Update(ctx, tenantOf(ctx), in.ID, v, mergeInto[core.CompanyFields](in.RawBody, s.checkCompany)); err == nil {
					return companyOut(c, false), nil
				}
			}
			return nil, s.problem(ctx, err, "body")
		})
	mergePatchBody(s.api, "/v1/companies/{id}", core.CompanyFields{})

	huma.Register(s.api, withStatus(operation("delete-company", http.MethodDelete, "/v1/companies/{id}", "Delete a company without contacts", core.ScopeWrite, tag), http.StatusNoContent),
		func(ctx context.Context, in *struct {
			CompanyPath
			IfMatchHeader
		}) (*struct{}, error) {
			v, err := ifMatch(in.IfMatch)
			if err == nil {
				_, err = s.companies.Delete(ctx, tenantOf(ctx), in.ID, v)
			}
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return nil, nil
		})

	huma.Register(s.api, operation("list-companies", http.MethodGet, "/v1/companies", "List companies", core.ScopeRead, tag),
		func(ctx context.Context, in *listCompaniesInput) (*struct{ Body itemsPage[core.Company] }, error) {
			f := contacts.CompanyFilter{Domain: in.Domain, UpdatedSince: in.UpdatedSince, Q: in.Q, Sort: in.Sort}
			items, next, err := s.companies.List(ctx, tenantOf(ctx), f, in.Limit, in.Cursor)
			if err != nil {
				return nil, s.problem(ctx, err, "query")
			}
			return &struct{ Body itemsPage[core.Company] }{itemsPage[core.Company]{Items: items, NextCursor: next}}, nil
		})
}
