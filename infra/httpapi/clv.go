package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/customers"
	"github.com/fedele-crm/fedele/core/jobs"
)

// CLVJob is the job a fit runs in, as it started (core/jobs' Job; its
// own name because scoring's jobs already hold the name Job in the
// document).
type CLVJob struct{ jobs.Job }

// registerCLV adds customer lifetime value fits: start one (a core/jobs
// job), read the latest or one by id. Each contact's value shows on its
// profile.
func (s *Server) registerCLV() {
	huma.Register(s.api, withStatus(operation("start-clv-fit", http.MethodPost, "/v1/clv/fits",
		"Refit customer lifetime value (BG/NBD and Gamma-Gamma) over every customer in the background, and store each contact's value; the job's progress is at /v1/jobs/{id}, the fit at /v1/clv/fits/{id} (the job's id)", core.ScopeAdmin, "Analytics"), http.StatusAccepted),
		func(ctx context.Context, in *struct {
			Body *customers.CLVParams // optional: no body is every default
		}) (*struct {
			Location string `header:"Location"`
			Body     CLVJob
		}, error) {
			var p customers.CLVParams
			if in.Body != nil {
				p = *in.Body
			}
			j, err := s.clv.Start(ctx, tenantOf(ctx), p)
			if err != nil {
				return nil, s.problem(ctx, err, "body")
			}
			return &struct {
				Location string `header:"Location"`
				Body     CLVJob
			}{"/v1/jobs/" + j.ID, CLVJob{j}}, nil
		})

	huma.Register(s.api, notYet(operation("get-latest-clv-fit", http.MethodGet, "/v1/clv/fits/latest",
		"The tenant's last completed lifetime value fit: its parameters, how it converged, and the quantiles of the values", core.ScopeRead, "Analytics")),
		func(ctx context.Context, _ *struct{}) (*struct{ Body customers.CLVFit }, error) {
			f, err := s.clv.Latest(ctx, tenantOf(ctx))
			if err != nil {
				return nil, s.problem(ctx, err, "")
			}
			return &struct{ Body customers.CLVFit }{f}, nil
		})

	huma.Register(s.api, operation("get-clv-fit", http.MethodGet, "/v1/clv/fits/{id}",
		"One lifetime value fit, by the id of the job that made it (found once the job has fitted; status writing until every contact has its value)", core.ScopeRead, "Analytics"),
		func(ctx context.Context, in *struct {
			ID string `path:"id" maxLength:"26"`
		}) (*struct{ Body customers.CLVFit }, error) {
			f, err := s.clv.Get(ctx, tenantOf(ctx), in.ID)
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return &struct{ Body customers.CLVFit }{f}, nil
		})
}
