package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/tenancy"
)

// tenantOutput is the tenant, its custom field definitions included: they
// share its document, and so its version.
type tenantOutput struct {
	ETag string `header:"ETag"`
	Body core.Tenant
}

func tenantOut(t core.Tenant) *tenantOutput { return &tenantOutput{ETag: etag(t.Version), Body: t} }

func (s *Server) registerTenant() {
	const tag = "Tenant"
	huma.Register(s.api, operation("get-tenant", http.MethodGet, "/v1/tenant", "Get the caller's tenant and its settings", core.ScopeRead, tag),
		func(ctx context.Context, _ *struct{}) (*tenantOutput, error) {
			t, err := s.tenants.Get(ctx, tenantOf(ctx))
			if err != nil {
				return nil, s.problem(ctx, err, "")
			}
			return tenantOut(t), nil
		})

	huma.Register(s.api, operation("update-tenant", http.MethodPatch, "/v1/tenant", "Change the tenant's settings", core.ScopeAdmin, tag),
		func(ctx context.Context, in *struct {
			IfMatchHeader
			Body struct {
				DefaultRegion      *string              `json:"default_region,omitempty" doc:"ISO 3166-1 alpha-2 region for phone numbers without an international prefix." minLength:"2" maxLength:"2"`
				TimeZone           *string              `json:"time_zone,omitempty" doc:"IANA time zone (Europe/Rome): where the tenant's days and months begin in reports and cohorts, and quiet hours for contacts without a zone of their own. UTC when never set." minLength:"1" maxLength:"64"`
				PluginFailureLimit *int                 `json:"plugin_failure_limit,omitempty" doc:"Consecutive failed calls that disable a plugin version (default 5)." minimum:"1" maximum:"1000"`
				ScoringWeights     *core.ScoringWeights `json:"scoring_weights,omitempty" doc:"The built-in scorer's weights, all of them."`
				RoutingStrategy    *string              `json:"routing_strategy,omitempty" enum:"round_robin,least_loaded,territory" doc:"How the built-in router picks a lead's owner (territory when never set)."`
				RateLimits         *core.RateLimits     `json:"rate_limits,omitempty" doc:"Request budgets: the parts named replace those set before. Every process applies a change within 30 s."`
			}
		}) (*tenantOutput, error) {
			v, err := ifMatch(in.IfMatch)
			if err != nil {
				return nil, s.problem(ctx, err, "header")
			}
			t, err := s.tenants.AtVersion(v).SetSettings(ctx, tenantOf(ctx), tenancy.Settings{DefaultRegion: in.Body.DefaultRegion, TimeZone: in.Body.TimeZone,
				PluginFailureLimit: in.Body.PluginFailureLimit, ScoringWeights: in.Body.ScoringWeights, RoutingStrategy: in.Body.RoutingStrategy,
				RateLimits: in.Body.RateLimits})
			if err != nil {
				return nil, s.problem(ctx, err, "body")
			}
			if s.limits != nil {
				s.limits.Forget(t.ID)
			}
			return tenantOut(t), nil
		})

	huma.Register(s.api, operation("put-custom-field", http.MethodPut, "/v1/custom-fields/{entity}/{key}", "Define or redefine a custom field", core.ScopeAdmin, tag),
		func(ctx context.Context, in *struct {
			Entity core.Entity `path:"entity"`
			Key    string      `path:"key" maxLength:"64"`
			IfMatchHeader
			Body struct {
				Label   string         `json:"label" minLength:"1" maxLength:"200"`
				Type    core.FieldType `json:"type"`
				Options []string       `json:"options,omitempty" maxItems:"200"`
			}
		}) (*tenantOutput, error) {
			d := core.FieldDef{Entity: in.Entity, Key: in.Key, Label: in.Body.Label, Type: in.Body.Type, Options: in.Body.Options}
			v, err := ifMatch(in.IfMatch)
			if err != nil {
				return nil, s.problem(ctx, err, "header")
			}
			t, err := s.tenants.AtVersion(v).PutField(ctx, tenantOf(ctx), d)
			if err != nil {
				return nil, s.problem(ctx, err, "body")
			}
			return tenantOut(t), nil
		})

	huma.Register(s.api, operation("delete-custom-field", http.MethodDelete, "/v1/custom-fields/{entity}/{key}", "Delete a custom field definition", core.ScopeAdmin, tag),
		func(ctx context.Context, in *struct {
			Entity core.Entity `path:"entity"`
			Key    string      `path:"key" maxLength:"64"`
			IfMatchHeader
		}) (*tenantOutput, error) {
			v, err := ifMatch(in.IfMatch)
			if err != nil {
				return nil, s.problem(ctx, err, "header")
			}
			t, err := s.tenants.AtVersion(v).DeleteField(ctx, tenantOf(ctx), in.Entity, in.Key)
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return tenantOut(t), nil
		})

	s.registerAPIKeys()
}
