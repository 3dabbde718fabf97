// Package httpapi serves Fedele's HTTP API with huma v2: one file per
// resource, errors mapped from core's vocabulary to RFC 9457 problem+json in
// one place (problem.go), authentication and idempotency as middleware.
//
// It must never hold business rules (they live in core), talk to a store
// nor build core's repositories: it is given them, as Services.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/contacts"
	"github.com/fedele-crm/fedele/core/plugins"
	"github.com/fedele-crm/fedele/core/sales"
	"github.com/fedele-crm/fedele/core/scoring"
	"github.com/fedele-crm/fedele/core/team"
	"github.com/fedele-crm/fedele/core/tenancy"
	"github.com/fedele-crm/fedele/core/timeline"
)

// MaxBodyBytes is the largest request body accepted; larger ones get 413.
const MaxBodyBytes = 1 << 20

// Services are the use cases the API serves. The composition root (package
// app) builds them once, on one store, and hands them over: the API builds
// none itself, so what it serves is what the consumers and the CLI use.
type Services struct {
	Tenants     *tenancy.Tenants
	Contacts    *contacts.Contacts
	Companies   *contacts.Companies
	Users       *team.Users
	Activities  *timeline.Activities
	Pipelines   *sales.Pipelines
	Deals       *sales.Deals
	APIKeys     *tenancy.APIKeys
	Events      *timeline.Events
	Idempotency *tenancy.Idempotency
	// DailyStats reads the counts the stats consumer keeps.
	DailyStats func(ctx context.Context, tenant, from, to string) ([]timeline.DayStats, error)
	// Plugins is the plugin lifecycle; on a host that runs no plugins it
	// lists what is stored and answers 503 to what would run a module.
	Plugins *plugins.Service
	Scorer  *scoring.Scorer
}

// Config is what the API needs from its host. Every service must be set to
// serve requests; an empty Config only describes the routes (OpenAPI).
type Config struct {
	Services Services
	Logger   *slog.Logger     // JSON logs; slog.Default() when nil
	Now      func() time.Time // time.Now when nil
}

// Server is the HTTP API as an http.Handler.
type Server struct {
	api     huma.API
	handler http.Handler
	log     *slog.Logger

	tenants     *tenancy.Tenants
	contacts    *contacts.Contacts
	companies   *contacts.Companies
	users       *team.Users
	activities  *timeline.Activities
	pipelines   *sales.Pipelines
	deals       *sales.Deals
	now         func() time.Time
	keys        *tenancy.APIKeys
	events      *timeline.Events
	idempotency *tenancy.Idempotency
	dailyStats  func(ctx context.Context, tenant, from, to string) ([]timeline.DayStats, error)
	plugins     *plugins.Service
	scorer      *scoring.Scorer

	// checkContact and checkCompany hold patched documents to the schema of
	// full bodies.
	checkContact, checkCompany, checkUser, checkActivity, checkPipeline, checkDeal documentCheck
}

// New builds the API on cfg.Services.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	sv := cfg.Services
	s := &Server{
		log:         cfg.Logger,
		tenants:     sv.Tenants,
		contacts:    sv.Contacts,
		companies:   sv.Companies,
		users:       sv.Users,
		activities:  sv.Activities,
		pipelines:   sv.Pipelines,
		deals:       sv.Deals,
		now:         func() time.Time { return cfg.Now().UTC() },
		keys:        sv.APIKeys,
		events:      sv.Events,
		idempotency: sv.Idempotency,
		dailyStats:  sv.DailyStats,
		plugins:     sv.Plugins,
		scorer:      sv.Scorer,
	}

	mux := http.NewServeMux()
	hc := huma.DefaultConfig("Fedele CRM API", "1.0.0")
	hc.Info.Description = "Multi-tenant CRM backend. Authenticate with `Authorization: Bearer fdl_…`. " +
		"Errors are RFC 9457 problem+json; lists use opaque cursors; updates honour If-Match; POSTs honour Idempotency-Key."
	hc.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"apiKey": {Type: "http", Scheme: "bearer", Description: "An API key: fdl_ followed by 52 characters."},
	}
	hc.DocsPath = "/docs"
	hc.OpenAPIPath = "/openapi"
	hc.SchemasPath = "/schemas"
	hc.CreateHooks = nil // no $schema links injected into bodies
	registerClosedSets(hc.Components.Schemas)
	s.api = humago.New(mux, hc)
	s.api.UseMiddleware(s.requireScope)

	huma.Get(s.api, "/healthz", func(ctx contextT, _ *struct{}) (*healthOutput, error) {
		out := &healthOutput{}
		out.Body.Status = "ok"
		return out, nil
	}, func(op *huma.Operation) {
		op.OperationID, op.Summary, op.Tags = "healthz", "Liveness check", []string{"Meta"}
	})

	s.checkContact, s.checkCompany = s.schemaCheck(core.ContactFields{}), s.schemaCheck(core.CompanyFields{})
	s.checkUser, s.checkActivity = s.schemaCheck(core.UserFields{}), s.schemaCheck(core.ActivityFields{})
	s.checkPipeline, s.checkDeal = s.schemaCheck(core.PipelineFields{}), s.schemaCheck(core.DealFields{})
	s.registerContacts()
	s.registerCompanies()
	s.registerUsers()
	s.registerActivities()
	s.registerDeals()
	s.registerReports()
	s.registerTenant()
	s.registerEvents()
	s.registerScoring()
	s.registerPlugins()

	s.handler = s.observe(limitBody(s.authenticate(s.idempotent(mux))))
	return s
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// OpenAPI returns the API's description, for the committed schemas/openapi.json.
func (s *Server) OpenAPI() *huma.OpenAPI { return s.api.OpenAPI() }

type healthOutput struct {
	Body struct {
		Status string `json:"status" example:"ok"`
	}
}
