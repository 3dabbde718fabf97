package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/reports"
)

// The analytical CRM's reports (core/reports): each reads the tenant's
// last snapshot and says when it was built (as_of); POST
// /v1/reports/refresh builds a new one in the background.

// RefreshStarted is the answer to a refresh: the job that builds the
// snapshot, whose progress is at /v1/jobs/{id}.
type RefreshStarted struct {
	JobID     string    `json:"job_id"`
	Kind      string    `json:"kind"`
	StartedAt time.Time `json:"started_at"`
	JobURL    string    `json:"job_url" doc:"Where the job's progress is."`
}

func (s *Server) registerAnalytics() {
	const tag = "Analytics"
	huma.Register(s.api, operation("report-cohorts", http.MethodGet, "/v1/reports/cohorts",
		"Monthly acquisition cohorts and their retention matrix: per cohort, the customers and revenue of every month since, by count and by revenue", core.ScopeRead, tag),
		func(ctx context.Context, in *struct {
			From     string `query:"from" required:"true" pattern:"^[0-9]{4}-[0-9]{2}$" doc:"First cohort month, YYYY-MM, in the tenant's time zone"`
			To       string `query:"to" required:"true" pattern:"^[0-9]{4}-[0-9]{2}$" doc:"Last cohort month, YYYY-MM (within 120 months of from)"`
			Currency string `query:"currency" pattern:"^[A-Z]{3}$" doc:"Cohorts of this currency's customers, with revenue; absent: over every currency, counts only"`
		}) (*struct{ Body reports.CohortReport }, error) {
			r, err := s.reports.Cohorts(ctx, tenantOf(ctx), reports.CohortQuery{From: in.From, To: in.To, Currency: in.Currency})
			if err != nil {
				return nil, s.problem(ctx, err, "query")
			}
			return &struct{ Body reports.CohortReport }{r}, nil
		})

	huma.Register(s.api, operation("report-revenue", http.MethodGet, "/v1/reports/revenue",
		"Orders, revenue, average order value and gross margin (where costs are known) per day or month, per currency", core.ScopeRead, tag),
		func(ctx context.Context, in *struct {
			From     string `query:"from" required:"true" pattern:"^[0-9]{4}-[0-9]{2}(-[0-9]{2})?$" doc:"First day (YYYY-MM-DD, by day) or month (YYYY-MM, by month), in the tenant's time zone"`
			To       string `query:"to" required:"true" pattern:"^[0-9]{4}-[0-9]{2}(-[0-9]{2})?$" doc:"Last day (within 366 days of from) or month (within 120 months)"`
			Interval string `query:"interval" enum:"day,month" default:"month" doc:"The buckets"`
			Currency string `query:"currency" pattern:"^[A-Z]{3}$" doc:"Only this currency; absent: every currency the tenant sold in"`
		}) (*struct{ Body reports.RevenueReport }, error) {
			r, err := s.reports.Revenue(ctx, tenantOf(ctx), reports.RevenueQuery{From: in.From, To: in.To, Interval: in.Interval, Currency: in.Currency})
			if err != nil {
				return nil, s.problem(ctx, err, "query")
			}
			return &struct{ Body reports.RevenueReport }{r}, nil
		})

	huma.Register(s.api, operation("report-retention", http.MethodGet, "/v1/reports/retention",
		"Per month: active, new and returning customers, retention and churn against the month before; and the range's repeat-purchase rate", core.ScopeRead, tag),
		func(ctx context.Context, in *struct {
			From     string `query:"from" required:"true" pattern:"^[0-9]{4}-[0-9]{2}$" doc:"First month, YYYY-MM, in the tenant's time zone"`
			To       string `query:"to" required:"true" pattern:"^[0-9]{4}-[0-9]{2}$" doc:"Last month, YYYY-MM (within 120 months of from)"`
			Period   string `query:"period" enum:"month" default:"month" doc:"The periods churn is measured over"`
			Currency string `query:"currency" pattern:"^[A-Z]{3}$" doc:"This currency's customers only; absent: every customer"`
		}) (*struct{ Body reports.RetentionReport }, error) {
			r, err := s.reports.Retention(ctx, tenantOf(ctx), reports.RetentionQuery{From: in.From, To: in.To, Period: in.Period, Currency: in.Currency})
			if err != nil {
				return nil, s.problem(ctx, err, "query")
			}
			return &struct{ Body reports.RetentionReport }{r}, nil
		})

	huma.Register(s.api, withStatus(operation("refresh-reports", http.MethodPost, "/v1/reports/refresh",
		"Rebuild the snapshot the reports and KPIs read, in the background; order events and a nightly timer also do", core.ScopeWrite, tag), http.StatusAccepted),
		func(ctx context.Context, _ *struct{}) (*struct {
			Location string `header:"Location"`
			Body     RefreshStarted
		}, error) {
			j, err := s.reports.Refresh(ctx, tenantOf(ctx))
			if err != nil {
				return nil, s.problem(ctx, err, "")
			}
			url := "/v1/jobs/" + j.ID
			return &struct {
				Location string `header:"Location"`
				Body     RefreshStarted
			}{url, RefreshStarted{JobID: j.ID, Kind: j.Kind, StartedAt: j.StartedAt, JobURL: url}}, nil
		})

	huma.Register(s.api, operation("kpis", http.MethodGet, "/v1/kpis",
		"The KPIs every team reads: customers, active share, retention and churn, revenue against the period before, CLV quantiles, RFM segment sizes", core.ScopeRead, tag),
		func(ctx context.Context, in *struct {
			From string `query:"from" required:"true" pattern:"^[0-9]{4}-[0-9]{2}$" doc:"First month of the period, YYYY-MM, in the tenant's time zone"`
			To   string `query:"to" required:"true" pattern:"^[0-9]{4}-[0-9]{2}$" doc:"Last month of the period (within 120 months of from); it is compared with as many months before from"`
		}) (*struct{ Body reports.KPIReport }, error) {
			r, err := s.reports.KPIs(ctx, tenantOf(ctx), reports.KPIQuery{From: in.From, To: in.To})
			if err != nil {
				return nil, s.problem(ctx, err, "query")
			}
			return &struct{ Body reports.KPIReport }{r}, nil
		})
}
