package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/team"
)

type userOutput struct {
	ETag     string `header:"ETag"`
	Location string `header:"Location"`
	Body     core.User
}

func userOut(u core.User, created bool) *userOutput {
	out := &userOutput{ETag: etag(u.Version), Body: u}
	if created {
		out.Location = "/v1/users/" + u.ID
	}
	return out
}

// UserPath is the id of a user in a path.
type UserPath struct {
	ID string `path:"id" doc:"User id (ULID)" maxLength:"26"`
}

func (s *Server) registerUsers() {
	const tag = "Team"
	huma.Register(s.api, readsItsBody(withStatus(operation("create-user", http.MethodPost, "/v1/users",
		"Add a member to the team: a sales rep or agent work is assigned to", core.ScopeAdmin, tag), http.StatusCreated)),
		func(ctx context.Context, in *struct {
			IdempotencyHeader
			RawBody []byte `contentType:"application/json"`
		}) (*userOutput, error) {
			f, err := readFields(in.RawBody, s.checkUser, func(f core.UserFields) error { return f.Normalize() })
			if err == nil {
				var u core.User
				if u, err = s.users.Create(ctx, tenantOf(ctx), f); err == nil {
					return userOut(u, true), nil
				}
			}
			return nil, s.problem(ctx, err, "body")
		})
	documentBody(s.api, http.MethodPost, "/v1/users", core.UserFields{}, "The new user.", "application/json")

	huma.Register(s.api, operation("get-user", http.MethodGet, "/v1/users/{id}", "Get a user", core.ScopeRead, tag),
		func(ctx context.Context, in *UserPath) (*userOutput, error) {
			u, err := s.users.Get(ctx, tenantOf(ctx), in.ID)
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return userOut(u, false), nil
		})

	huma.Register(s.api, readsItsBody(operation("update-user", http.MethodPatch, "/v1/users/{id}",
		"Update a user (JSON merge patch): role, skills, territory, capacity, availability", core.ScopeAdmin, tag)),
		func(ctx context.Context, in *struct {
			UserPath
			IfMatchHeader
			RawBody []byte `contentType:"application/merge-patch+json"`
		}) (*userOutput, error) {
			v, err := ifMatch(in.IfMatch)
			if err == nil {
				var u core.User
				if u, err = s.users.Update(ctx, tenantOf(ctx), in.ID, v, mergeInto[core.UserFields](in.RawBody, s.checkUser)); err == nil {
					return userOut(u, false), nil
				}
			}
			return nil, s.problem(ctx, err, "body")
		})
	mergePatchBody(s.api, "/v1/users/{id}", core.UserFields{})

	huma.Register(s.api, withStatus(operation("delete-user", http.MethodDelete, "/v1/users/{id}", "Remove a user from the team", core.ScopeAdmin, tag), http.StatusNoContent),
		func(ctx context.Context, in *struct {
			UserPath
			IfMatchHeader
		}) (*struct{}, error) {
			v, err := ifMatch(in.IfMatch)
			if err == nil {
				_, err = s.users.Delete(ctx, tenantOf(ctx), in.ID, v)
			}
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return nil, nil
		})

	huma.Register(s.api, operation("list-users", http.MethodGet, "/v1/users", "List the team", core.ScopeRead, tag),
		func(ctx context.Context, in *struct {
			Limit     int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
			Cursor    string `query:"cursor" maxLength:"2048" doc:"next_cursor of the previous page, with the same filters."`
			Role      string `query:"role" enum:"admin,manager,sales_rep,agent"`
			Status    string `query:"status" enum:"available,away,offline"`
			Skill     string `query:"skill" maxLength:"64"`
			Territory string `query:"territory" maxLength:"100"`
		}) (*struct{ Body itemsPage[core.User] }, error) {
			f := team.UserFilter{Role: in.Role, Status: in.Status, Skill: in.Skill, Territory: in.Territory}
			items, next, err := s.users.List(ctx, tenantOf(ctx), f, in.Limit, in.Cursor)
			if err != nil {
				return nil, s.problem(ctx, err, "query")
			}
			return &struct{ Body itemsPage[core.User] }{itemsPage[core.User]{Items: items, NextCursor: next}}, nil
		})
}
