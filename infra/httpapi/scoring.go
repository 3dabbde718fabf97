package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/scoring"
)

// registerScoring adds a contact's score, scoring on demand, and re-scoring
// jobs: the built-in scorer or the tenant's active score plugin decides.
func (s *Server) registerScoring() {
	huma.Register(s.api, operation("get-contact-score", http.MethodGet, "/v1/contacts/{id}/score",
		"A contact's score, its reasons, who decided it, and its history (newest first)", core.ScopeRead, "Contacts"),
		func(ctx context.Context, in *struct {
			ContactPath
			History int `query:"history" minimum:"0" maximum:"100" default:"20" doc:"How many past scores to return."`
		}) (*struct {
			Body struct {
				Current scoring.Scored   `json:"current"`
				History []scoring.Scored `json:"history"`
			}
		}, error) {
			if _, err := s.contacts.Get(ctx, tenantOf(ctx), in.ID); err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			cur, _, err := s.scorer.Current(ctx, tenantOf(ctx), in.ID)
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			out := &struct {
				Body struct {
					Current scoring.Scored   `json:"current"`
					History []scoring.Scored `json:"history"`
				}
			}{}
			out.Body.Current, out.Body.History = cur, []scoring.Scored{}
			if in.History > 0 {
				h, err := s.scorer.History(ctx, tenantOf(ctx), in.ID, in.History)
				if err != nil {
					return nil, s.problem(ctx, err, "")
				}
				out.Body.History = h
			}
			return out, nil
		})

	huma.Register(s.api, withStatus(operation("rescore", http.MethodPost, "/v1/scoring/rescore",
		"Re-score every contact in the background, through the batch contract, in steps the event consumers run; the job's progress is at /v1/jobs/{id}", core.ScopeAdmin, "Contacts"), http.StatusAccepted),
		func(ctx context.Context, _ *struct{}) (*struct {
			Location string `header:"Location"`
			Body     scoring.Job
		}, error) {
			tenant := tenantOf(ctx)
			j, err := s.scorer.StartRescore(ctx, tenant)
			if err != nil {
				return nil, s.problem(ctx, err, "")
			}
			return &struct {
				Location string `header:"Location"`
				Body     scoring.Job
			}{"/v1/jobs/" + j.ID, j}, nil
		})

	huma.Register(s.api, operation("score-contact", http.MethodPost, "/v1/contacts/{id}/score",
		"Score a contact now, storing nothing: the active score plugin decides, the built-in scorer when there is none or it fails", core.ScopeRead, "Contacts"),
		func(ctx context.Context, in *ContactPath) (*struct{ Body scoring.Scored }, error) {
			sc, err := s.scorer.Score(ctx, tenantOf(ctx), in.ID)
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return &struct{ Body scoring.Scored }{sc}, nil
		})
}
