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
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/backtest"
	"github.com/fedele-crm/fedele/core/campaigns"
	"github.com/fedele-crm/fedele/core/commerce"
	"github.com/fedele-crm/fedele/core/contacts"
	"github.com/fedele-crm/fedele/core/customers"
	"github.com/fedele-crm/fedele/core/jobs"
	"github.com/fedele-crm/fedele/core/journeys"
	"github.com/fedele-crm/fedele/core/messaging"
	"github.com/fedele-crm/fedele/core/plugins"
	"github.com/fedele-crm/fedele/core/ratelimit"
	"github.com/fedele-crm/fedele/core/reports"
	"github.com/fedele-crm/fedele/core/sales"
	"github.com/fedele-crm/fedele/core/scoring"
	"github.com/fedele-crm/fedele/core/segments"
	"github.com/fedele-crm/fedele/core/team"
	"github.com/fedele-crm/fedele/core/tenancy"
	"github.com/fedele-crm/fedele/core/timeline"
	"github.com/fedele-crm/fedele/core/timers"
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
	// RateLimits applies the tenants' request budgets; nil applies none.
	RateLimits *ratelimit.Guard
	// Timers schedules timers and acts on them (core/timers).
	Timers *timers.Service
	// Jobs runs background jobs in steps (core/jobs).
	Jobs *jobs.Service
	// Products and Orders are the catalogue and customers' orders
	// (core/commerce).
	Products *commerce.Products
	Orders   *commerce.Orders
	// CLV refits customer lifetime values and keeps the fits.
	CLV *customers.CLVFits
	// RFM computes RFM scores and segments, and keeps the segment table.
	RFM *customers.RFMScoring
	// Backtests replays the event log through a plugin version (core/backtest).
	Backtests *backtest.Service
	// Customers keeps purchase summaries and lifecycle states
	// (core/customers).
	Customers *customers.Customers
	// Segments keeps segments, lists, their members and exports.
	Segments *segments.Service
	// Messaging is the delivery policy and the delivery contract
	// (core/messaging).
	Messaging *messaging.Delivery
	// Reports are the analytical reports and KPIs (core/reports).
	Reports *reports.Service
	// Journeys are triggered journeys, their enrolments and counts
	// (core/journeys).
	Journeys *journeys.Service
	// Campaigns are one-off campaigns and their performance (core/campaigns).
	Campaigns *campaigns.Service
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
	// api is the huma API the operations being registered go to; nil on
	// the Server New returns, which only routes (see withAPI).
	api     huma.API
	mux     *http.ServeMux // the operations of the groups registered so far
	groups  []*routeGroup
	docs    func() huma.API // every operation, for the document and the docs
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
	limits      *ratelimit.Guard
	timers      *timers.Service
	clv         *customers.CLVFits
	jobs        *jobs.Service
	rfm         *customers.RFMScoring
	backtests   *backtest.Service
	customers   *customers.Customers
	segments    *segments.Service
	messaging   *messaging.Delivery
	reports     *reports.Service
	campaigns   *campaigns.Service

	// checkContact and checkCompany hold patched documents to the schema of
	// full bodies.
	checkContact, checkCompany, checkUser, checkActivity, checkPipeline, checkDeal documentCheck

	products                                   *commerce.Products
	orders                                     *commerce.Orders
	checkProduct, checkOrder, checkOrderChange documentCheck

	journeys *journeys.Service
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
		limits:      sv.RateLimits,
		timers:      sv.Timers,
		clv:         sv.CLV,
		jobs:        sv.Jobs,
		rfm:         sv.RFM,
		backtests:   sv.Backtests,
		customers:   sv.Customers,
		segments:    sv.Segments,
		messaging:   sv.Messaging,
		reports:     sv.Reports,
		campaigns:   sv.Campaigns,
	}
	s.journeys = sv.Journeys
	s.products, s.orders = sv.Products, sv.Orders

	// Each check makes its schema on the first document it checks.
	s.checkContact, s.checkCompany = schemaCheck(core.ContactFields{}), schemaCheck(core.CompanyFields{})
	s.checkUser, s.checkActivity = schemaCheck(core.UserFields{}), schemaCheck(core.ActivityFields{})
	s.checkPipeline, s.checkDeal = schemaCheck(core.PipelineFields{}), schemaCheck(core.DealFields{})
	s.checkProduct, s.checkOrder = schemaCheck(commerce.ProductFields{}), schemaCheck(commerce.OrderFields{})
	s.checkOrderChange = schemaCheck(commerce.OrderChange{})

	s.mux = http.NewServeMux()
	s.groups = []*routeGroup{
		{prefixes: []string{"/healthz"}, register: (*Server).registerHealth},
		{prefixes: []string{"/v1/contacts", "/v1/contacts-by-email"}, register: (*Server).registerContacts},
		{prefixes: []string{"/v1/companies"}, register: (*Server).registerCompanies},
		{prefixes: []string{"/v1/users"}, register: (*Server).registerUsers},
		{prefixes: []string{"/v1/activities", "/v1/users"}, register: (*Server).registerActivities},
		{prefixes: []string{"/v1/pipelines", "/v1/deals"}, register: (*Server).registerDeals},
		{prefixes: []string{"/v1/pipelines"}, register: (*Server).registerPipelines},
		{prefixes: []string{"/v1/reports"}, register: (*Server).registerReports},
		{prefixes: []string{"/v1/tenant", "/v1/custom-fields", "/v1/api-keys"}, register: (*Server).registerTenant},
		{prefixes: []string{"/v1/contacts", "/v1/events", "/v1/stats"}, register: (*Server).registerEvents},
		{prefixes: []string{"/v1/contacts", "/v1/scoring", "/v1/jobs"}, register: (*Server).registerScoring},
		{prefixes: []string{"/v1/plugins"}, register: (*Server).registerPlugins},
		{prefixes: []string{"/v1/timers"}, register: (*Server).registerTimers},
		{prefixes: []string{"/v1/products", "/v1/products-by-sku"}, register: (*Server).registerProducts},
		{prefixes: []string{"/v1/orders", "/v1/orders-by-external-id"}, register: (*Server).registerOrders},
		{prefixes: []string{"/v1/clv"}, register: (*Server).registerCLV},
		{prefixes: []string{"/v1/rfm"}, register: (*Server).registerRFM},
		{prefixes: []string{"/v1/jobs"}, register: (*Server).registerJobs},
		{prefixes: []string{"/v1/plugins"}, register: (*Server).registerBacktests},
		{prefixes: []string{"/v1/contacts", "/v1/customers"}, register: (*Server).registerCustomers},
		{prefixes: []string{"/v1/segments", "/v1/lists", "/v1/exports"}, register: (*Server).registerSegments},
		{prefixes: []string{"/v1/messages", "/v1/messaging", "/v1/suppressions", "/u"}, register: (*Server).registerMessages},
		{prefixes: []string{"/v1/reports", "/v1/kpis"}, register: (*Server).registerAnalytics},
		{prefixes: []string{"/v1/journeys", "/v1/contacts"}, register: (*Server).registerJourneys},
		{prefixes: []string{"/v1/campaigns", "/v1/campaign-settings"}, register: (*Server).registerCampaigns},
	}
	s.docs = sync.OnceValue(func() huma.API {
		// The document is that of every operation registered, in this order,
		// on one huma API, as if nothing were lazy; these copies of the
		// handlers are never served.
		return s.withAPI(http.NewServeMux(), true, s.groups...)
	})
	s.handler = s.observe(limitBody(s.limitUnsubscribe(s.authenticate(s.rateLimit(s.idempotent(s.preconditions(http.HandlerFunc(s.route))))))))
	return s
}

// Registering the API's operations with huma (reflection, schemas, routes)
// costs more than the rest of a cold start, and a request reaches only a few
// of them: so operations register in groups, each on its own huma API (its
// own schema registry, which nothing writes once it is served) over one
// shared ServeMux, the first time a request's path is under one of the
// group's prefixes. The OpenAPI document and the docs come from another
// huma API, built on first use, on which every group registers as before.

// routeGroup is operations that register together.
type routeGroup struct {
	// prefixes are literal leading segments that every path of the group
	// starts with (TestRouteGroupsCoverTheirPaths holds them to it).
	prefixes []string
	register func(*Server)
	once     sync.Once
}

// serves says whether a request for path may reach one of g's operations.
func (g *routeGroup) serves(path string) bool {
	for _, p := range g.prefixes {
		if path == p || strings.HasPrefix(path, p) && path[len(p)] == '/' {
			return true
		}
	}
	return false
}

// humaConfig is the API's huma configuration; without docs, it serves no
// document, docs or schemas.
func humaConfig(docs bool) huma.Config {
	hc := huma.DefaultConfig("Fedele CRM API", "1.0.0")
	hc.Info.Description = "Multi-tenant CRM backend. Authenticate with `Authorization: Bearer fdl_…`. " +
		"Errors are RFC 9457 problem+json; lists use opaque cursors; updates honour If-Match; POSTs honour Idempotency-Key."
	hc.Info.License = &huma.License{Name: apiLicense.name, Identifier: apiLicense.id}
	hc.Info.Contact = &huma.Contact{Name: "Fedele", URL: "https://github.com/fedele-crm/fedele"}
	hc.Servers = []*huma.Server{{URL: "http://127.0.0.1:8080", Description: "fedele serve, on the machine it runs on"}}
	hc.Tags = docTags
	hc.Components.SecuritySchemes = securitySchemes()
	hc.OnAddOperation = append(hc.OnAddOperation, declareAnswers)
	hc.DocsPath, hc.OpenAPIPath, hc.SchemasPath = "", "", ""
	if docs {
		hc.OpenAPIPath = "/openapi"
		hc.SchemasPath = "/schemas"
	}
	hc.CreateHooks = nil // no $schema links injected into bodies
	// A misspelt filter must not widen a list silently (a list the README
	// pipes into a DELETE): huma answers 422 naming query.<name>.
	hc.RejectUnknownQueryParameters = true
	registerClosedSets(hc.Components.Schemas)
	registerMoney(hc.Components.Schemas)
	return hc
}

// withAPI registers groups on a new huma API over mux, each operation's
// handler on a copy of s whose api is that API.
func (s *Server) withAPI(mux *http.ServeMux, docs bool, groups ...*routeGroup) huma.API {
	c := *s
	c.api = humago.New(mux, humaConfig(docs))
	// Scope first (a stranger learns nothing), then the body's type (415),
	// then its numbers (422 at the field whose value cannot be held).
	c.api.UseMiddleware(c.requireScope, c.requireContentType, c.numbersInRange)
	for _, g := range groups {
		g.register(&c)
	}
	return c.api
}

// isDocsPath says whether path is for the document or a schema (the docs
// page is isDocsUI's).
func isDocsPath(path string) bool {
	return strings.HasPrefix(path, "/openapi") || strings.HasPrefix(path, "/schemas/")
}

// route registers the groups a request may reach, then routes it. A path
// no group claims, or one whose escaped form differs from its plain one,
// registers them all, so that it is answered exactly as if nothing were
// lazy (404, 405 with Allow, a redirect to the clean path).
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	w = &routerProblems{ResponseWriter: w}
	if isDocsUI(path) {
		serveDocs(w, r)
		return
	}
	if isDocsPath(path) {
		s.docs().Adapter().ServeHTTP(w, r)
		return
	}
	claimed := false
	for _, g := range s.groups {
		if r.URL.RawPath == "" && g.serves(path) {
			g.once.Do(func() { s.withAPI(s.mux, false, g) })
			claimed = true
		}
	}
	if !claimed {
		for _, g := range s.groups {
			g.once.Do(func() { s.withAPI(s.mux, false, g) })
		}
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Server) registerHealth() {
	huma.Get(s.api, "/healthz", func(ctx contextT, _ *struct{}) (*healthOutput, error) {
		out := &healthOutput{}
		out.Body.Status = "ok"
		return out, nil
	}, func(op *huma.Operation) {
		op.OperationID, op.Summary, op.Tags = "healthz", "Liveness check", []string{"Meta"}
		op.Errors = []int{http.StatusUnprocessableEntity} // an undeclared query parameter
	})
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// OpenAPI returns the API's description, for the committed schemas/openapi.json.
func (s *Server) OpenAPI() *huma.OpenAPI { return s.docs().OpenAPI() }

type healthOutput struct {
	Body struct {
		Status string `json:"status" example:"ok"`
	}
}
