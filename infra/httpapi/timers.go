package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/timers"
)

type timerOutput struct {
	ETag     string `header:"ETag"`
	Location string `header:"Location"`
	Body     core.Timer
}

func timerOut(t core.Timer, created bool) *timerOutput {
	out := &timerOutput{ETag: etag(t.Version), Body: t}
	if created {
		out.Location = "/v1/timers/" + t.ID
	}
	return out
}

// TimerPath is the id of a timer in a path.
type TimerPath struct {
	ID string `path:"id" doc:"Timer id: a ULID, or k and 32 hex digits for a timer scheduled with a key" maxLength:"33"`
}

func (s *Server) registerTimers() {
	const tag = "Timers"
	huma.Register(s.api, operation("timer-stats", http.MethodGet, "/v1/timers/stats",
		"The tenant's timers: pending and oldest overdue per kind, lateness percentiles, dead letters", core.ScopeAdmin, tag),
		func(ctx context.Context, _ *struct{}) (*struct{ Body timers.Overview }, error) {
			st, err := s.timers.Stats(ctx, tenantOf(ctx))
			if err != nil {
				return nil, s.problem(ctx, err, "query")
			}
			return &struct{ Body timers.Overview }{Body: st}, nil
		})

	huma.Register(s.api, withStatus(operation("schedule-timer", http.MethodPost, "/v1/timers",
		"Schedule a timer: its kind's handler acts on it once it is due (kind emit writes a timer.fired event)", core.ScopeAdmin, tag), http.StatusCreated),
		func(ctx context.Context, in *struct {
			IdempotencyHeader
			Body core.TimerRequest
		}) (*timerOutput, error) {
			t, err := s.timers.Schedule(ctx, tenantOf(ctx), in.Body)
			if err != nil {
				return nil, s.problem(ctx, err, "body")
			}
			return timerOut(t, true), nil
		})

	huma.Register(s.api, operation("get-timer", http.MethodGet, "/v1/timers/{id}", "Get a timer and where it stands", core.ScopeAdmin, tag),
		func(ctx context.Context, in *TimerPath) (*timerOutput, error) {
			t, err := s.timers.Get(ctx, tenantOf(ctx), in.ID)
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return timerOut(t, false), nil
		})

	huma.Register(s.api, operation("cancel-timer", http.MethodDelete, "/v1/timers/{id}",
		"Cancel a pending timer (409 once it fired)", core.ScopeAdmin, tag),
		func(ctx context.Context, in *struct {
			TimerPath
			IfMatchHeader
		}) (*timerOutput, error) {
			v, err := ifMatch(in.IfMatch)
			if err == nil {
				var t core.Timer
				if t, err = s.timers.Cancel(ctx, tenantOf(ctx), in.ID, v); err == nil {
					return timerOut(t, false), nil
				}
			}
			return nil, s.problem(ctx, err, "path")
		})
}
