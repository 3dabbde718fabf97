// Package httpapi serves Fedele's HTTP API with huma v2: one file per
// resource, errors mapped from core's vocabulary to RFC 9457 problem+json in
// one place (problem.go), authentication and idempotency as middleware.
//
// It must never hold business rules (they live in core) nor talk to a store
// engine directly: it is given core's repositories, built on a store.Store.
package httpapi

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/crm"
	"github.com/fedele-crm/fedele/core/plugins"
	"github.com/fedele-crm/fedele/core/scoring"
	"github.com/fedele-crm/fedele/core/store"
)

// MaxBodyBytes is the largest request body accepted; larger ones get 413.
const MaxBodyBytes = 1 << 20

// Config is what the API needs from its host.
type Config struct {
	Store  store.Store
	Logger *slog.Logger     // JSON logs; slog.Default() when nil
	Now    func() time.Time // time.Now when nil
	// Plugins is the plugin lifecycle; nil answers 503 to what would run
	// or store a module.
	Plugins *plugins.Service
	// Runner asks tenants' active plugins for decisions (scoring); nil
	// leaves every decision to the built-ins.
	Runner *plugins.Runner
}

// Server is the HTTP API as an http.Handler.
type Server struct {
	api     huma.API
	handler http.Handler
	log     *slog.Logger
	store   store.Store

	tenants     *crm.Tenants
	contacts    *crm.Contacts
	companies   *crm.Companies
	users       *crm.Users
	activities  *crm.Activities
	pipelines   *crm.Pipelines
	deals       *crm.Deals
	now         func() time.Time
	keys        *crm.APIKeys
	events      *crm.Events
	idempotency *crm.Idempotency
	plugins     *plugins.Service
	scorer      *scoring.Scorer

	// checkContact and checkCompany hold patched documents to the schema of
	// full bodies.
	checkContact, checkCompany, checkUser, checkActivity, checkPipeline, checkDeal core.DocumentCheck
}

// New builds the API on cfg.Store.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	now := func() time.Time { return cfg.Now().UTC() }
	tenants := crm.NewTenants(cfg.Store, now)
	s := &Server{
		log:         cfg.Logger,
		store:       cfg.Store,
		tenants:     tenants,
		contacts:    crm.NewContacts(cfg.Store, tenants, now),
		companies:   crm.NewCompanies(cfg.Store, tenants, now),
		users:       crm.NewUsers(cfg.Store, now),
		activities:  crm.NewActivities(cfg.Store, now),
		pipelines:   crm.NewPipelines(cfg.Store, now),
		now:         now,
		keys:        crm.NewAPIKeys(cfg.Store, now),
		events:      crm.NewEvents(cfg.Store, now),
		idempotency: crm.NewIdempotency(cfg.Store, now),
		plugins:     cfg.Plugins,
	}
	if s.plugins == nil {
		s.plugins = plugins.NewService(plugins.NewRegistry(cfg.Store, now), noRuntime{}, noRuntime{}, noRuntime{})
	}
	s.deals = crm.NewDeals(cfg.Store, s.pipelines, now)
	s.scorer = scoring.NewScorer(cfg.Store, s.contacts, s.companies, s.activities, cfg.Runner, now)

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
