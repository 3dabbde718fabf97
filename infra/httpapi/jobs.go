package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/jobs"
	"github.com/fedele-crm/fedele/core/scoring"
)

// JobView is a background job's progress, whichever service runs it: the
// stepped jobs of core/jobs (RFM and the analytics jobs) and scoring's
// re-scoring jobs, one shape for one path.
type JobView struct {
	ID         string          `json:"id"`
	Kind       string          `json:"kind" doc:"What the job does: rescore, rfm, rfm.remap, ..."`
	Status     jobs.Status     `json:"status"`
	Done       int             `json:"done" doc:"Units done so far (contacts, customers); the kind's own."`
	Total      int             `json:"total,omitempty" doc:"Units in all, once known."`
	Changed    *int            `json:"changed,omitempty" doc:"Re-scoring: contacts that got a new score."`
	ByPlugin   *int            `json:"by_plugin,omitempty" doc:"Re-scoring: contacts the score plugin decided."`
	Params     json.RawMessage `json:"params,omitempty" doc:"What the job was started with."`
	Result     json.RawMessage `json:"result,omitempty" doc:"What the job found, once done; its shape is the kind's (rfm: the distribution GET /v1/rfm shows)."`
	Error      string          `json:"error,omitempty" doc:"Why it failed."`
	ErrorCode  string          `json:"error_code,omitempty"`
	Steps      int             `json:"steps,omitempty"`
	StartedAt  time.Time       `json:"started_at"`
	FinishedAt time.Time       `json:"finished_at,omitzero"`
}

func jobView(j jobs.Job) JobView {
	v := JobView{ID: j.ID, Kind: j.Kind, Status: j.Status, Done: j.Done, Total: j.Total, Params: j.Params, Result: j.Result,
		Steps: j.Steps, StartedAt: j.StartedAt, FinishedAt: j.FinishedAt}
	if j.Error != nil {
		v.Error, v.ErrorCode = j.Error.Message, string(j.Error.Code)
	}
	return v
}

func rescoreView(j scoring.Job) JobView {
	changed, byPlugin := j.Changed, j.ByPlugin
	return JobView{ID: j.ID, Kind: string(j.Kind), Status: jobs.Status(j.Status), Done: j.Done, Changed: &changed, ByPlugin: &byPlugin,
		Error: j.Error, StartedAt: j.StartedAt, FinishedAt: j.FinishedAt}
}

// registerJobs adds the jobs' progress: one path for every kind.
func (s *Server) registerJobs() {
	const tag = "Jobs"
	huma.Register(s.api, operation("get-job", http.MethodGet, "/v1/jobs/{id}", "A background job's progress, and its result once done", core.ScopeRead, tag),
		func(ctx context.Context, in *struct {
			ID string `path:"id" maxLength:"26"`
		}) (*struct{ Body JobView }, error) {
			tenant := tenantOf(ctx)
			j, err := s.jobs.Get(ctx, tenant, in.ID)
			if err == nil {
				return &struct{ Body JobView }{jobView(j)}, nil
			}
			if core.ErrorCode(err) != core.CodeNotFound {
				return nil, s.problem(ctx, err, "path")
			}
			r, err := s.scorer.GetJob(ctx, tenant, in.ID)
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return &struct{ Body JobView }{rescoreView(r)}, nil
		})

	huma.Register(s.api, operation("list-jobs", http.MethodGet, "/v1/jobs",
		"The tenant's jobs of the last 30 days, newest first (re-scoring jobs are read by id only)", core.ScopeRead, tag),
		func(ctx context.Context, in *struct {
			Kind   string `query:"kind" maxLength:"64" doc:"Only jobs of this kind (rfm, rfm.remap, ...)."`
			Limit  int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
			Cursor string `query:"cursor" maxLength:"2048" doc:"next_cursor of the previous page, with the same kind."`
		}) (*struct{ Body itemsPage[JobView] }, error) {
			js, next, err := s.jobs.List(ctx, tenantOf(ctx), in.Kind, in.Limit, in.Cursor)
			if err != nil {
				return nil, s.problem(ctx, err, "query")
			}
			items := make([]JobView, len(js))
			for i, j := range js {
				items[i] = jobView(j)
			}
			return &struct{ Body itemsPage[JobView] }{itemsPage[JobView]{Items: items, NextCursor: next}}, nil
		})
}
