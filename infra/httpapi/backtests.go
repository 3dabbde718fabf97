package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/backtest"
)

// backtestOutput is a backtest, and where its progress is read.
type backtestOutput struct {
	Location string `header:"Location"`
	Body     backtest.Backtest
}

// registerBacktests adds plugin backtests: a version replayed over the
// tenant's recorded events beside the active one, as a job.
func (s *Server) registerBacktests() {
	huma.Register(s.api, withStatus(operation("backtest-plugin-version", http.MethodPost, "/v1/plugins/{name}/versions/{version}/backtest",
		"Replay the recorded events of a range through a score plugin version beside the active one (or the built-in): agreement, distribution shift, and AUC and top-decile lift against later won deals or first orders; a job",
		core.ScopePluginsAdmin, pluginsTag), http.StatusAccepted),
		func(ctx context.Context, in *struct {
			VersionPath
			Body struct {
				From       string           `json:"from" minLength:"1" maxLength:"40" doc:"Start of the range, inclusive: an RFC 3339 time, or a date (YYYY-MM-DD) in the tenant's time zone." example:"2026-10-01"`
				To         string           `json:"to" minLength:"1" maxLength:"40" doc:"End of the range, exclusive: an RFC 3339 time, or a date in the tenant's time zone, which includes that whole day." example:"2026-10-31"`
				WindowDays int              `json:"window_days,omitempty" minimum:"1" maximum:"365" default:"30" doc:"N: an outcome counts when it comes within N days after the contact's score."`
				Outcome    backtest.Outcome `json:"outcome,omitempty" default:"either" doc:"What counts as converting: a won deal, the contact's first order, or either."`
			}
		}) (*backtestOutput, error) {
			b, err := s.backtests.Start(ctx, tenantOf(ctx), in.Name, in.Version, backtest.Request{From: in.Body.From, To: in.Body.To,
				WindowDays: in.Body.WindowDays, Outcome: in.Body.Outcome})
			if err != nil {
				return nil, s.problem(ctx, relocate(err, map[string]string{"from": "body.from", "to": "body.to", "window_days": "body.window_days",
					"outcome": "body.outcome", "version": "path.version"}), "")
			}
			return &backtestOutput{Location: "/v1/jobs/" + b.ID, Body: b}, nil
		})

	huma.Register(s.api, operation("get-plugin-backtest", http.MethodGet, "/v1/plugins/{name}/backtests/{id}",
		"A backtest of a plugin: its progress (events read) and what it found so far, final once done", core.ScopePluginsAdmin, pluginsTag),
		func(ctx context.Context, in *struct {
			PluginPath
			ID string `path:"id" maxLength:"26" doc:"The backtest's job id."`
		}) (*struct{ Body backtest.Backtest }, error) {
			b, err := s.backtests.Get(ctx, tenantOf(ctx), in.Name, in.ID)
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return &struct{ Body backtest.Backtest }{b}, nil
		})
}
