package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/campaigns"
)

type campaignOutput struct {
	ETag     string `header:"ETag"`
	Location string `header:"Location"`
	Body     campaigns.Campaign
}

func campaignOut(c campaigns.Campaign, created bool) *campaignOutput {
	out := &campaignOutput{ETag: etag(c.Version), Body: c}
	if created {
		out.Location = "/v1/campaigns/" + c.ID
	}
	return out
}

// CampaignPath is the id of a campaign in a path.
type CampaignPath struct {
	ID string `path:"id" doc:"Campaign id (ULID)" maxLength:"26"`
}

type campaignSettingsOutput struct {
	ETag string `header:"ETag"`
	Body campaigns.CampaignSettings
}

func (s *Server) registerCampaigns() {
	const tag = "Marketing"
	huma.Register(s.api, withStatus(operation("create-campaign", http.MethodPost, "/v1/campaigns",
		"Save a draft campaign: audience (segment or list), channel, template, merge fields, schedule, variants and holdout", core.ScopeWrite, tag), http.StatusCreated),
		func(ctx context.Context, in *struct {
			IdempotencyHeader
			Body campaigns.CampaignFields
		}) (*campaignOutput, error) {
			c, err := s.campaigns.Create(ctx, tenantOf(ctx), in.Body)
			if err != nil {
				return nil, s.problem(ctx, err, "body")
			}
			return campaignOut(c, true), nil
		})

	huma.Register(s.api, operation("list-campaigns", http.MethodGet, "/v1/campaigns", "List campaigns, oldest first", core.ScopeRead, tag),
		func(ctx context.Context, in *struct {
			Limit  int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
			Cursor string `query:"cursor" maxLength:"2048"`
		}) (*struct{ Body itemsPage[campaigns.Campaign] }, error) {
			items, next, err := s.campaigns.List(ctx, tenantOf(ctx), in.Limit, in.Cursor)
			if err != nil {
				return nil, s.problem(ctx, err, "query")
			}
			return &struct{ Body itemsPage[campaigns.Campaign] }{itemsPage[campaigns.Campaign]{Items: items, NextCursor: next}}, nil
		})

	huma.Register(s.api, operation("get-campaign", http.MethodGet, "/v1/campaigns/{id}", "Get a campaign and where it stands", core.ScopeRead, tag),
		func(ctx context.Context, in *CampaignPath) (*campaignOutput, error) {
			c, err := s.campaigns.Get(ctx, tenantOf(ctx), in.ID)
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return campaignOut(c, false), nil
		})

	huma.Register(s.api, operation("update-campaign", http.MethodPut, "/v1/campaigns/{id}",
		"Replace a draft campaign's fields (409 once scheduled)", core.ScopeWrite, tag),
		func(ctx context.Context, in *struct {
			CampaignPath
			IfMatchHeader
			Body campaigns.CampaignFields
		}) (*campaignOutput, error) {
			v, err := ifMatch(in.IfMatch)
			if err == nil {
				var c campaigns.Campaign
				if c, err = s.campaigns.Update(ctx, tenantOf(ctx), in.ID, v, in.Body); err == nil {
					return campaignOut(c, false), nil
				}
			}
			return nil, s.problem(ctx, err, "body")
		})

	huma.Register(s.api, withStatus(operation("delete-campaign", http.MethodDelete, "/v1/campaigns/{id}",
		"Delete a campaign that is a draft, completed or cancelled", core.ScopeWrite, tag), http.StatusNoContent),
		func(ctx context.Context, in *struct {
			CampaignPath
			IfMatchHeader
		}) (*struct{}, error) {
			v, err := ifMatch(in.IfMatch)
			if err == nil {
				err = s.campaigns.Delete(ctx, tenantOf(ctx), in.ID, v)
			}
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return nil, nil
		})

	for _, a := range []struct {
		verb, summary string
		do            func(ctx context.Context, tenant, id string, ifVersion int64) (campaigns.Campaign, error)
	}{
		{"schedule", "Launch a draft: now, or at its time (at, or local_time in each recipient's zone)", s.campaigns.Schedule},
		{"pause", "Stop launching a scheduled or running campaign; messages the delivery policy already holds still go", s.campaigns.Pause},
		{"resume", "Continue a paused campaign where its launch stopped", s.campaigns.Resume},
		{"cancel", "Stop a campaign for good; the messages the delivery policy still holds for it are skipped", s.campaigns.Cancel},
	} {
		huma.Register(s.api, operation(a.verb+"-campaign", http.MethodPost, "/v1/campaigns/{id}/"+a.verb, a.summary, core.ScopeWrite, tag),
			func(ctx context.Context, in *struct {
				CampaignPath
				IfMatchHeader
			}) (*campaignOutput, error) {
				v, err := ifMatch(in.IfMatch)
				if err == nil {
					var c campaigns.Campaign
					if c, err = a.do(ctx, tenantOf(ctx), in.ID, v); err == nil {
						return campaignOut(c, false), nil
					}
				}
				return nil, s.problem(ctx, err, "path")
			})
	}

	huma.Register(s.api, operation("campaign-performance", http.MethodGet, "/v1/campaigns/{id}/performance",
		"Per variant, holdout and all treated: requested, sent, delivered, opened, clicked, unsubscribed, converted, revenue; uplift against the holdout with a 95% interval", core.ScopeRead, tag),
		func(ctx context.Context, in *CampaignPath) (*struct{ Body campaigns.CampaignPerformance }, error) {
			p, err := s.campaigns.Performance(ctx, tenantOf(ctx), in.ID)
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return &struct{ Body campaigns.CampaignPerformance }{p}, nil
		})

	huma.Register(s.api, operation("campaign-audit", http.MethodGet, "/v1/campaigns/{id}/audit",
		"Who changed the campaign, when and what, newest first", core.ScopeRead, tag),
		func(ctx context.Context, in *struct {
			CampaignPath
			Limit  int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
			Cursor string `query:"cursor" maxLength:"2048"`
		}) (*struct {
			Body itemsPage[campaigns.CampaignAuditEntry]
		}, error) {
			items, next, err := s.campaigns.Audit(ctx, tenantOf(ctx), in.ID, in.Limit, in.Cursor)
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return &struct {
				Body itemsPage[campaigns.CampaignAuditEntry]
			}{itemsPage[campaigns.CampaignAuditEntry]{Items: items, NextCursor: next}}, nil
		})

	huma.Register(s.api, operation("campaign-recipients", http.MethodGet, "/v1/campaigns/{id}/recipients",
		"A page of the campaign's recipients in contact id order: variant or holdout, who decided, and the message's status", core.ScopeRead, tag),
		func(ctx context.Context, in *struct {
			CampaignPath
			Limit  int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
			Cursor string `query:"cursor" maxLength:"2048"`
		}) (*struct {
			Body itemsPage[campaigns.CampaignRecipient]
		}, error) {
			items, next, err := s.campaigns.Recipients(ctx, tenantOf(ctx), in.ID, in.Limit, in.Cursor)
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return &struct {
				Body itemsPage[campaigns.CampaignRecipient]
			}{itemsPage[campaigns.CampaignRecipient]{Items: items, NextCursor: next}}, nil
		})

	huma.Register(s.api, operation("get-campaign-settings", http.MethodGet, "/v1/campaign-settings",
		"The tenant's conversion goal (an event type and an optional CEL filter) and attribution window", core.ScopeRead, tag),
		func(ctx context.Context, _ *struct{}) (*campaignSettingsOutput, error) {
			c, err := s.campaigns.Settings(ctx, tenantOf(ctx))
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return &campaignSettingsOutput{ETag: etag(c.Version), Body: c}, nil
		})

	huma.Register(s.api, operation("put-campaign-settings", http.MethodPut, "/v1/campaign-settings",
		"Replace the tenant's conversion goal and attribution window; the goal filter is compiled (422 with its position)", core.ScopeAdmin, tag),
		func(ctx context.Context, in *struct {
			IfMatchHeader
			Body campaigns.CampaignSettings
		}) (*campaignSettingsOutput, error) {
			v, err := ifMatch(in.IfMatch)
			if err == nil {
				var c campaigns.CampaignSettings
				if c, err = s.campaigns.SetSettings(ctx, tenantOf(ctx), in.Body, v); err == nil {
					return &campaignSettingsOutput{ETag: etag(c.Version), Body: c}, nil
				}
			}
			return nil, s.problem(ctx, err, "body")
		})
}
