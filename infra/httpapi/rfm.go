package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/customers"
)

// registerRFM adds RFM: starting a recomputation, the latest distribution,
// and the tenant's segment table.
func (s *Server) registerRFM() {
	const tag = "Analytics"
	huma.Register(s.api, withStatus(operation("start-rfm-job", http.MethodPost, "/v1/rfm/jobs",
		"Recompute every customer's RFM scores and segment now, in the background; the job's progress and result are at /v1/jobs/{id} (jobs also start by themselves after orders change and every day)", core.ScopeAdmin, tag), http.StatusAccepted),
		func(ctx context.Context, _ *struct{}) (*struct {
			Location string `header:"Location"`
			Body     JobView
		}, error) {
			j, err := s.rfm.Start(ctx, tenantOf(ctx), "api")
			if err != nil {
				return nil, s.problem(ctx, err, "")
			}
			return &struct {
				Location string `header:"Location"`
				Body     JobView
			}{"/v1/jobs/" + j.ID, jobView(j)}, nil
		})

	huma.Register(s.api, notYet(operation("get-rfm", http.MethodGet, "/v1/rfm",
		"The latest RFM distribution: the cut points and what each score spans, per dimension (monetary per main currency), the segment sizes and the R × F grid", core.ScopeRead, tag)),
		func(ctx context.Context, _ *struct{}) (*struct{ Body customers.RFMReport }, error) {
			r, err := s.rfm.Latest(ctx, tenantOf(ctx))
			if err != nil {
				return nil, s.problem(ctx, err, "")
			}
			return &struct{ Body customers.RFMReport }{r}, nil
		})

	huma.Register(s.api, operation("get-rfm-segments", http.MethodGet, "/v1/rfm/segments",
		"The segment table: ordered rules over R and FM (the average of F and M), the first that matches naming a customer's segment; the standard one until the tenant sets its own", core.ScopeRead, tag),
		func(ctx context.Context, _ *struct{}) (*segmentTableOutput, error) {
			t, err := s.rfm.Segments(ctx, tenantOf(ctx))
			if err != nil {
				return nil, s.problem(ctx, err, "")
			}
			return &segmentTableOutput{ETag: etag(t.Version), Body: segmentTableBody{SegmentTable: t}}, nil
		})

	huma.Register(s.api, operation("put-rfm-segments", http.MethodPut, "/v1/rfm/segments",
		"Replace the segment table: every rule named, ranges within 1..5, every (R, FM) cell matched and every rule reachable; a job then re-maps every scored customer's segment, keeping its scores", core.ScopeAdmin, tag),
		func(ctx context.Context, in *struct {
			IfMatchHeader
			Body struct {
				Rules []customers.SegmentRule `json:"rules" minItems:"1" maxItems:"50"`
			}
		}) (*segmentTableOutput, error) {
			v, err := ifMatch(in.IfMatch)
			if err != nil {
				return nil, s.problem(ctx, err, "")
			}
			t, j, err := s.rfm.PutSegments(ctx, tenantOf(ctx), in.Body.Rules, v)
			if err != nil {
				return nil, s.problem(ctx, err, "body")
			}
			return &segmentTableOutput{ETag: etag(t.Version), Body: segmentTableBody{SegmentTable: t, RemapJob: j.ID}}, nil
		})
}

type segmentTableBody struct {
	customers.SegmentTable
	RemapJob string `json:"remap_job,omitempty" doc:"The job re-mapping segments after a change: /v1/jobs/{id}."`
}

type segmentTableOutput struct {
	ETag string `header:"ETag"`
	Body segmentTableBody
}
