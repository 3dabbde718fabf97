package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/tenancy"
)

// secretOutput is a key with its secret: the one answer that shows it.
type secretOutput struct {
	Body struct {
		Secret string `json:"secret" doc:"Shown once; only its hash is stored."`
		tenancy.KeyInfo
	}
}

// APIKeyPath names a key in a path (exported: huma reads embedded fields only of exported types).
type APIKeyPath struct {
	ID string `path:"id" maxLength:"26" doc:"The key's id."`
}

// registerAPIKeys registers the API keys of the caller's tenant (in the
// tenant's route group). Every operation needs admin: a key that can list
// and revoke keys can lock everyone else out.
func (s *Server) registerAPIKeys() {
	const tag = "Tenant"
	huma.Register(s.api, withStatus(operation("create-api-key", http.MethodPost, "/v1/api-keys", "Create an API key for the caller's tenant", core.ScopeAdmin, tag), http.StatusCreated),
		func(ctx context.Context, in *struct {
			Body struct {
				Name   string       `json:"name" minLength:"1" maxLength:"200"`
				Scopes []core.Scope `json:"scopes" minItems:"1"`
			}
		}) (*secretOutput, error) {
			secret, k, err := s.keys.Create(ctx, tenantOf(ctx), in.Body.Name, in.Body.Scopes)
			if err != nil {
				return nil, s.problem(ctx, err, "body")
			}
			out := &secretOutput{}
			out.Body.Secret, out.Body.KeyInfo = secret, k
			return out, nil
		})

	huma.Register(s.api, operation("list-api-keys", http.MethodGet, "/v1/api-keys", "List the tenant's API keys, oldest first (never their secrets)", core.ScopeAdmin, tag),
		func(ctx context.Context, in *struct {
			Limit  int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
			Cursor string `query:"cursor" maxLength:"2048" doc:"next_cursor of the previous page."`
		}) (*struct{ Body itemsPage[tenancy.KeyInfo] }, error) {
			items, next, err := s.keys.List(ctx, tenantOf(ctx), in.Limit, in.Cursor)
			if err != nil {
				return nil, s.problem(ctx, err, "query")
			}
			return &struct{ Body itemsPage[tenancy.KeyInfo] }{itemsPage[tenancy.KeyInfo]{Items: items, NextCursor: next}}, nil
		})

	huma.Register(s.api, operation("get-api-key", http.MethodGet, "/v1/api-keys/{id}", "Get one of the tenant's API keys (never its secret)", core.ScopeAdmin, tag),
		func(ctx context.Context, in *APIKeyPath) (*struct{ Body tenancy.KeyInfo }, error) {
			k, err := s.keys.Get(ctx, tenantOf(ctx), in.ID)
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return &struct{ Body tenancy.KeyInfo }{k}, nil
		})

	huma.Register(s.api, withStatus(operation("revoke-api-key", http.MethodDelete, "/v1/api-keys/{id}",
		"Revoke an API key: every server refuses it within 30 s (the one answering, at once)", core.ScopeAdmin, tag), http.StatusNoContent),
		func(ctx context.Context, in *APIKeyPath) (*struct{}, error) {
			if _, err := s.keys.Revoke(ctx, tenantOf(ctx), in.ID); err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return nil, nil
		})

	huma.Register(s.api, operation("rotate-api-key", http.MethodPost, "/v1/api-keys/{id}/rotate",
		"Give an API key a new secret; the old one keeps working for grace_seconds", core.ScopeAdmin, tag),
		func(ctx context.Context, in *struct {
			APIKeyPath
			Grace int `query:"grace_seconds" minimum:"0" maximum:"604800" default:"3600" doc:"How long the replaced secret keeps working (default an hour, at most a week). A secret still in its grace from an earlier rotation stops at once."`
		}) (*secretOutput, error) {
			secret, k, err := s.keys.Rotate(ctx, tenantOf(ctx), in.ID, time.Duration(in.Grace)*time.Second)
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			out := &secretOutput{}
			out.Body.Secret, out.Body.KeyInfo = secret, k
			return out, nil
		})
}
