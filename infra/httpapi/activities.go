package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/timeline"
)

type activityOutput struct {
	ETag     string `header:"ETag"`
	Location string `header:"Location"`
	Body     core.Activity
}

func activityOut(a core.Activity, created bool) *activityOutput {
	out := &activityOutput{ETag: etag(a.Version), Body: a}
	if created {
		out.Location = "/v1/activities/" + a.ID
	}
	return out
}

// ActivityPath is the id of an activity in a path.
type ActivityPath struct {
	ID string `path:"id" doc:"Activity id (ULID)" maxLength:"26"`
}

func (s *Server) registerActivities() {
	const tag = "Activities"
	huma.Register(s.api, readsItsBody(withStatus(operation("log-activity", http.MethodPost, "/v1/activities",
		"Log a call, e-mail, meeting or note, or set a task, on a contact or company", core.ScopeWrite, tag), http.StatusCreated)),
		func(ctx context.Context, in *struct {
			IdempotencyHeader
			RawBody []byte `contentType:"application/json"`
		}) (*activityOutput, error) {
			f, err := readFields(in.RawBody, s.checkActivity, func(f core.ActivityFields) error { return f.Normalize(s.now()) })
			if err == nil {
				var a core.Activity
				if a, err = s.activities.Log(ctx, tenantOf(ctx), f); err == nil {
					return activityOut(a, true), nil
				}
			}
			return nil, s.problem(ctx, err, "body")
		})
	documentBody(s.api, http.MethodPost, "/v1/activities", core.ActivityFields{}, "The activity.", "application/json")

	huma.Register(s.api, operation("get-activity", http.MethodGet, "/v1/activities/{id}", "Get an activity", core.ScopeRead, tag),
		func(ctx context.Context, in *ActivityPath) (*activityOutput, error) {
			a, err := s.activities.Get(ctx, tenantOf(ctx), in.ID)
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return activityOut(a, false), nil
		})

	huma.Register(s.api, readsItsBody(operation("update-activity", http.MethodPatch, "/v1/activities/{id}",
		"Update an activity (JSON merge patch), such as marking a task done", core.ScopeWrite, tag)),
		func(ctx context.Context, in *struct {
			ActivityPath
			IfMatchHeader
			RawBody []byte `contentType:"application/merge-patch+json"`
		}) (*activityOutput, error) {
			v, err := ifMatch(in.IfMatch)
			if err == nil {
				var a core.Activity
				if a, err = s.activities.Update(ctx, tenantOf(ctx), in.ID, v, mergeInto[core.ActivityFields](in.RawBody, s.checkActivity)); err == nil {
					return activityOut(a, false), nil
				}
			}
			return nil, s.problem(ctx, err, "body")
		})
	mergePatchBody(s.api, "/v1/activities/{id}", core.ActivityFields{})

	huma.Register(s.api, withStatus(operation("delete-activity", http.MethodDelete, "/v1/activities/{id}", "Delete an activity", core.ScopeWrite, tag), http.StatusNoContent),
		func(ctx context.Context, in *struct {
			ActivityPath
			IfMatchHeader
		}) (*struct{}, error) {
			v, err := ifMatch(in.IfMatch)
			if err == nil {
				_, err = s.activities.Delete(ctx, tenantOf(ctx), in.ID, v)
			}
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return nil, nil
		})

	huma.Register(s.api, operation("list-activities", http.MethodGet, "/v1/activities",
		"Activities, newest first: a contact's, a company's, a deal's, or all", core.ScopeRead, tag),
		func(ctx context.Context, in *struct {
			Limit     int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
			Cursor    string `query:"cursor" maxLength:"2048" doc:"next_cursor of the previous page, with the same filters."`
			ContactID string `query:"contact_id" maxLength:"26"`
			CompanyID string `query:"company_id" maxLength:"26"`
			DealID    string `query:"deal_id" maxLength:"26"`
			Type      string `query:"type" enum:"call,email,meeting,note,task"`
		}) (*struct{ Body itemsPage[core.Activity] }, error) {
			f := timeline.ActivityFilter{ContactID: in.ContactID, CompanyID: in.CompanyID, DealID: in.DealID, Type: in.Type}
			items, next, err := s.activities.List(ctx, tenantOf(ctx), f, in.Limit, in.Cursor)
			if err != nil {
				return nil, s.problem(ctx, err, "query")
			}
			return &struct{ Body itemsPage[core.Activity] }{itemsPage[core.Activity]{Items: items, NextCursor: next}}, nil
		})

	huma.Register(s.api, operation("overdue-tasks", http.MethodGet, "/v1/users/{id}/overdue-tasks",
		"A user's open tasks past their due date, most overdue first", core.ScopeRead, tag),
		func(ctx context.Context, in *struct {
			UserPath
			Limit  int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
			Cursor string `query:"cursor" maxLength:"2048"`
		}) (*struct{ Body itemsPage[core.Activity] }, error) {
			if _, err := s.users.Get(ctx, tenantOf(ctx), in.ID); err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			items, next, err := s.activities.Overdue(ctx, tenantOf(ctx), in.ID, in.Limit, in.Cursor)
			if err != nil {
				return nil, s.problem(ctx, err, "query")
			}
			return &struct{ Body itemsPage[core.Activity] }{itemsPage[core.Activity]{Items: items, NextCursor: next}}, nil
		})
}
