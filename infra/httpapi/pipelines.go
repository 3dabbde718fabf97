package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fedele-crm/fedele/core"
)

// registerPipelines registers what edits a pipeline; creating and reading
// one are with the deals (registerDeals).
func (s *Server) registerPipelines() {
	const tag = "Sales"
	huma.Register(s.api, readsItsBody(operation("update-pipeline", http.MethodPatch, "/v1/pipelines/{id}",
		"Update a pipeline (JSON merge patch): rename it, or send its stages in their new order to add, reorder or remove them; "+
			"a stage deals are in cannot be removed nor change kind (409 naming it)", core.ScopeAdmin, tag)),
		func(ctx context.Context, in *struct {
			PipelinePath
			IfMatchHeader
			RawBody []byte `contentType:"application/merge-patch+json"`
		}) (*pipelineOutput, error) {
			v, err := ifMatch(in.IfMatch)
			if err == nil {
				var p core.Pipeline
				if p, err = s.pipelines.Update(ctx, tenantOf(ctx), in.ID, v, mergeInto[core.PipelineFields](in.RawBody, s.checkPipeline)); err == nil {
					return pipelineOut(p, false), nil
				}
			}
			return nil, s.problem(ctx, err, "body")
		})
	mergePatchBody(s.api, "/v1/pipelines/{id}", core.PipelineFields{})

	huma.Register(s.api, withStatus(operation("delete-pipeline", http.MethodDelete, "/v1/pipelines/{id}",
		"Delete a pipeline that has no deals (409 otherwise)", core.ScopeAdmin, tag), http.StatusNoContent),
		func(ctx context.Context, in *struct {
			PipelinePath
			IfMatchHeader
		}) (*struct{}, error) {
			v, err := ifMatch(in.IfMatch)
			if err == nil {
				_, err = s.pipelines.Delete(ctx, tenantOf(ctx), in.ID, v)
			}
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return nil, nil
		})
}
