package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/timeline"
)

type eventsPage struct {
	Body struct {
		Items      []events.Envelope `json:"items"`
		NextCursor string            `json:"next_cursor,omitempty" doc:"Pass back to continue; on the event stream it is there even when no new event has arrived, to poll from."`
	}
}

func (s *Server) registerEvents() {
	huma.Register(s.api, operation("contact-timeline", http.MethodGet, "/v1/contacts/{id}/timeline",
		"Everything that happened to a contact, newest first", core.ScopeRead, "Contacts"),
		func(ctx context.Context, in *struct {
			ContactPath
			Limit  int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
			Cursor string `query:"cursor" maxLength:"2048"`
		}) (*eventsPage, error) {
			evs, next, err := s.events.Timeline(ctx, tenantOf(ctx), in.ID, in.Limit, in.Cursor)
			if err != nil {
				return nil, s.problem(ctx, err, "query")
			}
			out := &eventsPage{}
			out.Body.Items, out.Body.NextCursor = evs, next
			return out, nil
		})

	huma.Register(s.api, operation("list-events", http.MethodGet, "/v1/events",
		"The tenant's events in order, to poll locally what EventBridge delivers in AWS", core.ScopeAdmin, "Events"),
		func(ctx context.Context, in *struct {
			Limit int    `query:"limit" minimum:"1" maximum:"200" default:"100"`
			After string `query:"after" maxLength:"2048" doc:"next_cursor of the previous call; absent for the oldest event kept (30 days)."`
		}) (*eventsPage, error) {
			evs, next, err := s.events.Since(ctx, tenantOf(ctx), in.Limit, in.After)
			if err != nil {
				return nil, s.problem(ctx, fixCursorPath(err), "query")
			}
			out := &eventsPage{}
			out.Body.Items, out.Body.NextCursor = evs, next
			return out, nil
		})

	huma.Register(s.api, operation("daily-stats", http.MethodGet, "/v1/stats/daily",
		"Events per day and type: contacts and companies created, changed, deleted", core.ScopeRead, "Events"),
		func(ctx context.Context, in *struct {
			From string `query:"from" required:"true" format:"date" doc:"First day, YYYY-MM-DD (UTC)"`
			To   string `query:"to" required:"true" format:"date" doc:"Last day, YYYY-MM-DD (UTC)"`
		}) (*statsOutput, error) {
			days, err := s.dailyStats(ctx, tenantOf(ctx), in.From, in.To)
			if err != nil {
				return nil, s.problem(ctx, err, "query")
			}
			out := &statsOutput{}
			out.Body.Days = days
			return out, nil
		})
}

type statsOutput struct {
	Body struct {
		Days []timeline.DayStats `json:"days"`
	}
}

// fixCursorPath names the events stream's cursor parameter, after.
func fixCursorPath(err error) error {
	if ce, ok := err.(*core.Error); ok {
		for i := range ce.Fields {
			if ce.Fields[i].Path == "cursor" {
				ce.Fields[i].Path = "after"
			}
		}
	}
	return err
}
