// Package app is the composition root: the one place where Fedele's service
// graph (repositories, use cases, the HTTP handler) and its consumer set
// are built from the ports a process gives it. `fedele serve`, every Lambda
// function and the end-to-end tests build through it, so they cannot drift
// apart.
//
// It must never hold business rules (they live in core) nor handle HTTP
// requests or Lambda events (infra/httpapi, infra/worker, infra/relay and
// the mains do). It imports no plugin runtime either: the host is a port,
// so the functions that run no plugins do not link one.
package app

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/backtest"
	"github.com/fedele-crm/fedele/core/campaigns"
	"github.com/fedele-crm/fedele/core/clock"
	"github.com/fedele-crm/fedele/core/commerce"
	"github.com/fedele-crm/fedele/core/contacts"
	"github.com/fedele-crm/fedele/core/customers"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/jobs"
	"github.com/fedele-crm/fedele/core/journeys"
	"github.com/fedele-crm/fedele/core/messaging"
	"github.com/fedele-crm/fedele/core/plugins"
	"github.com/fedele-crm/fedele/core/ratelimit"
	"github.com/fedele-crm/fedele/core/reports"
	"github.com/fedele-crm/fedele/core/routing"
	"github.com/fedele-crm/fedele/core/sales"
	"github.com/fedele-crm/fedele/core/scoring"
	"github.com/fedele-crm/fedele/core/segments"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/core/team"
	"github.com/fedele-crm/fedele/core/tenancy"
	"github.com/fedele-crm/fedele/core/timeline"
	"github.com/fedele-crm/fedele/core/timers"
	"github.com/fedele-crm/fedele/infra/httpapi"
)

// PluginHost runs tenants' plugin modules (infra/wasm's *Host is one). It
// validates uploads itself and runs modules through the engine it gives
// for a blob store.
//
// It is a port, not an import of infra/wasm, because the relay and the
// scheduler build through app too and must not carry a WebAssembly
// runtime into their binaries; and because the plugin host's start-up
// cost (made lazy inside infra/wasm) is the host's business, not app's.
type PluginHost interface {
	plugins.Validator
	Engine(blobs plugins.Blobs) plugins.Engine
}

// Ports are what a process hands app: the adapters it chose and opened.
// App closes none of them; whoever opened them closes them after the App
// is no longer used.
type Ports struct {
	Store store.Store // required
	// Plugins runs tenants' plugins; nil leaves every decision to the
	// built-ins, and the plugin routes list what is stored and answer 503
	// to what would run or store a module.
	Plugins PluginHost
	// Blobs holds plugin modules; required with Plugins.
	Blobs plugins.Blobs
	// Publishers are the buses events go to beside the local consumers
	// (EventBridge); none for a process that only consumes locally.
	Publishers []events.Publisher
	// Clock is the process's one clock — the domain's, the timers' and the
	// plugins' time; clock.System when nil. `fedele serve --fast-forward`
	// gives a faster one, tests a clock.Fake.
	Clock clock.Clock
	Log   *slog.Logger // slog.Default() when nil
	// TimerHandlers are timer handlers beside app's own (a test's).
	TimerHandlers []timers.Handler
	// PublicURL is where the public reaches the API ("https://crm.example.com"):
	// the base of one-click unsubscribe links. http://127.0.0.1:8080 when empty.
	PublicURL string
	// Limiter keeps the rate-limit buckets. nil is an in-process one,
	// right for a process that is the only server (the embedded store);
	// processes that scale out (Lambda) pass ratelimit.NewShared on the
	// store, so that the limit holds across them.
	Limiter ratelimit.Limiter
}

// App is the service graph, built once on one set of ports. Its fields are
// shared by the HTTP API, the consumers and the CLI.
type App struct {
	// Services are the use cases the HTTP API serves (Contacts, Deals,
	// Plugins, Scorer, ...), listed once, in httpapi.Services; the plugin
	// lifecycle stands on a host that runs no plugins when Ports.Plugins is
	// nil.
	httpapi.Services

	Registry *plugins.Registry
	// Runner asks tenants' active plugins for decisions; nil when
	// Ports.Plugins is nil, which leaves them to the built-ins.
	Runner *plugins.Runner
	Router *routing.Router

	store      store.Store
	log        *slog.Logger
	clock      clock.Clock
	publishers []events.Publisher
	consumers  []events.Handler
	delivery   *events.Consumers
	handler    func() *httpapi.Server
}

// New builds the graph on p.
func New(p Ports) (*App, error) {
	if p.Store == nil {
		return nil, errors.New("app: no store")
	}
	if p.Plugins != nil && p.Blobs == nil {
		return nil, errors.New("app: a plugin host needs a blob store for its modules")
	}
	if p.Clock == nil {
		p.Clock = clock.System
	}
	if p.Log == nil {
		p.Log = slog.Default()
	}
	st, clock := p.Store, p.Clock
	now := func() time.Time { return clock.Now().UTC() }
	a := &App{store: st, log: p.Log, clock: clock, publishers: slices.Clone(p.Publishers)}
	a.Tenants = tenancy.NewTenants(st, now)
	a.Contacts = contacts.NewContacts(st, a.Tenants, now)
	a.Companies = contacts.NewCompanies(st, a.Tenants, now)
	a.Users = team.NewUsers(st, now)
	a.Activities = timeline.NewActivities(st, now)
	a.Pipelines = sales.NewPipelines(st, now)
	a.Deals = sales.NewDeals(st, a.Pipelines, now)
	a.Products = commerce.NewProducts(st, now)
	a.Orders = commerce.NewOrders(st, a.Contacts, a.Products, now)
	a.APIKeys = tenancy.NewAPIKeys(st, now)
	a.Events = timeline.NewEvents(st, now)
	a.Idempotency = tenancy.NewIdempotency(st, now)
	a.DailyStats = func(ctx context.Context, tenant, from, to string) ([]timeline.DayStats, error) {
		return timeline.DailyStats(ctx, st, tenant, from, to)
	}

	a.Registry = plugins.NewRegistry(st, now)
	if p.Plugins != nil {
		engine := p.Plugins.Engine(p.Blobs)
		a.Runner = plugins.NewRunner(a.Registry, engine, a.failureLimit, p.Log)
		a.Plugins = plugins.NewService(a.Registry, p.Blobs, p.Plugins, engine)
	} else {
		a.Plugins = plugins.NewService(a.Registry, noHost{}, noHost{}, noHost{})
	}
	a.Scorer = scoring.NewScorer(st, a.Contacts, a.Companies, a.Activities, a.Runner, now)
	a.Router = routing.NewRouter(st, a.Contacts, a.Users, a.Runner, now)
	if p.Limiter == nil {
		p.Limiter = ratelimit.NewMemory(clock.Now)
	}
	a.RateLimits = ratelimit.NewGuard(p.Limiter, a.Tenants.Get, clock.Now)

	// The one set of timer handlers, by kind: what the local loop of
	// `fedele serve` and the worker function act on, and the API schedules
	// (the commerce issue's lifecycle states will be next).
	a.Timers = timers.New(st, clock, p.Log)
	a.Timers.Register(timers.EmitHandler())
	// Background jobs in steps; each area registers its kinds.
	a.Jobs = jobs.New(st, now)
	// Customer lifetime value refits (clv_fit), in the tenant's days.
	a.CLV = customers.NewCLVFits(st, a.Jobs, func(ctx context.Context, tenant string) (*time.Location, error) {
		t, err := a.Tenants.Get(ctx, tenant)
		return t.Location(), err
	}, now)
	// RFM: its job kinds, and the timers that debounce order changes into
	// jobs and keep recency current every day.
	a.RFM = customers.NewRFMScoring(st, a.Jobs, a.Timers, a.tenantLocation, now)
	for _, k := range a.RFM.Kinds() {
		a.Jobs.Register(k)
	}
	for _, h := range a.RFM.TimerHandlers() {
		a.Timers.Register(h)
	}
	// Plugin backtests: replay the event log through a version (core/backtest).
	a.Backtests = backtest.New(st, a.Plugins, a.Jobs, now)
	a.Jobs.Register(a.Backtests.Kind())
	// Segments and lists: their jobs and flip timers register here; export
	// files go to the blob store, or to the table when there is none.
	var exportBlobs plugins.Blobs = segments.TableBlobs{Store: st, Now: now}
	if p.Blobs != nil {
		exportBlobs = p.Blobs
	}
	a.Segments = segments.New(st, a.Contacts, a.Tenants, a.Jobs, a.Timers, exportBlobs, now, p.Log)
	// The delivery policy: every sender's one door; deferred messages are
	// its timers.
	if p.PublicURL == "" {
		p.PublicURL = "http://127.0.0.1:8080"
	}
	a.Messaging = messaging.New(st, a.Tenants, a.Contacts, a.Timers, now, p.PublicURL)
	a.Timers.Register(a.Messaging.TimerHandler())
	// Reports and KPIs: a snapshot job, refresh timers, an order consumer.
	a.Reports = reports.New(st, a.Jobs, a.Timers, func(ctx context.Context, tenant string) (*time.Location, error) {
		t, err := a.Tenants.Get(ctx, tenant)
		return t.Location(), err
	}, now)
	a.Jobs.Register(a.Reports.Kind())
	for _, h := range a.Reports.TimerHandlers() {
		a.Timers.Register(h)
	}
	for _, h := range p.TimerHandlers {
		a.Timers.Register(h)
	}
	// Purchase summaries and lifecycle states (core/customers): its
	// lifecycle timers and its job kind.
	a.Customers = customers.New(st, a.Tenants, a.Timers, a.Jobs, now)
	a.Customers.Register()
	// Journeys (core/journeys): their step and date timers register in New.
	a.Journeys = journeys.New(st, a.Tenants, a.Contacts, a.Timers, a.Messaging, a.Segments, a.Jobs, a.Runner, now, p.Log)
	// One-off campaigns (core/campaigns): their launch job and timer, and
	// messaging's gate that skips a cancelled campaign's held messages.
	a.Campaigns = campaigns.New(st, a.Tenants, a.Segments, a.Messaging, a.Jobs, a.Timers, a.Runner, now, p.Log)
	a.Messaging.CampaignGate = a.Campaigns.Gate

	// The one consumer set: the local relay of `fedele serve` delivers to
	// it, and so does the worker function each event EventBridge routes.
	a.consumers = []events.Handler{
		timeline.StatsConsumer(st),
		// Before scoring: a score on order.placed reads the profile the
		// purchases consumer has just updated.
		a.Customers.Consumer(),
		a.Scorer.Consumer(),
		a.Scorer.RescoreConsumer(),
		a.Router.Consumer(),
		a.Timers.Consumer(),
		a.Jobs.Consumer(),
		a.RFM.Consumer(),
		a.Segments.Consumer(),
		a.Reports.Consumer(),
		// After segments and purchases: a goal condition reads the profile
		// and membership those consumers just wrote.
		a.Journeys.Consumer(),
		a.Journeys.StatsConsumer(),
		a.Campaigns.Consumer(),
	}
	a.delivery = events.NewConsumers(st, p.Log, clock.Now)
	for _, h := range a.consumers {
		a.delivery.Register(h)
	}
	// Built on first use: the worker, relay and scheduler serve no HTTP.
	a.handler = sync.OnceValue(func() *httpapi.Server {
		return httpapi.New(httpapi.Config{Services: a.Services, Logger: a.log, Now: a.clock.Now})
	})
	return a, nil
}

// Handler is the HTTP API on the graph's services.
func (a *App) Handler() http.Handler { return a.handler() }

// OpenAPI is the API's description, indented JSON: what the committed
// schemas/openapi.json holds. It needs no ports: it describes routes only.
func OpenAPI() ([]byte, error) {
	return json.MarshalIndent(httpapi.New(httpapi.Config{}).OpenAPI(), "", "  ")
}

// Consumers is the consumer set, each handler with the detail types it
// subscribes to. The worker's EventBridge rules in template.yaml route
// exactly the union of those types (functions' tests hold them to it).
func (a *App) Consumers() []events.Handler { return slices.Clone(a.consumers) }

// ConsumerNames names the consumers, in the order they are delivered to.
func (a *App) ConsumerNames() []string {
	names := make([]string, len(a.consumers))
	for i, h := range a.consumers {
		names[i] = h.Name
	}
	return names
}

// Delivery is the consumer set registered on the store, idempotently: the
// local bus of `fedele serve`, and what the worker hands each event to.
func (a *App) Delivery() *events.Consumers { return a.delivery }

// Publisher publishes to Ports.Publishers, the buses (EventBridge): what
// the stream relay function feeds.
func (a *App) Publisher() events.Publisher { return events.Fanout(slices.Clone(a.publishers)) }

// LocalRelay moves the outbox to the local consumers and to
// Ports.Publishers, polling every interval when it is empty: the relay of
// `fedele serve`, where no stream and no EventBridge rule do it.
func (a *App) LocalRelay(interval time.Duration) *events.Relay {
	return &events.Relay{Store: a.store, Publisher: append(events.Fanout{a.delivery, timerKick{a.Timers}}, a.publishers...), Log: a.log, Interval: interval, Now: a.clock.Now}
}

// timerKick wakes the local timer loop once the consumers of a batch have
// committed: a consumer's timer due now (a journey enrolled on a past
// trigger) is announced by ScheduleWrite before its transaction commits,
// and a loop that looked in between would otherwise sleep past it.
type timerKick struct{ timers *timers.Service }

func (k timerKick) Publish(_ context.Context, evs []events.Envelope) []error {
	k.timers.Notify(time.Time{})
	return make([]error, len(evs))
}

// Reconciler publishes to Ports.Publishers the events still pending after
// minAge: those the stream relay missed (the scheduler function's tick).
func (a *App) Reconciler(minAge time.Duration) *events.Relay {
	return &events.Relay{Store: a.store, Publisher: a.Publisher(), Log: a.log, MinAge: minAge, Now: a.clock.Now}
}

// noHost stands in for the plugin host on a process that has none: the
// plugin routes exist (and are in the OpenAPI description), list what is
// stored, and answer 503 to what would run or store a module.
type noHost struct{}

var errNoHost = &core.Error{Code: core.CodeUnavailable, Message: "this host runs no plugins"}

func (noHost) Validate(context.Context, plugins.Kind, []byte) (plugins.Module, error) {
	return plugins.Module{}, errNoHost
}

func (noHost) Run(context.Context, plugins.Request) (plugins.Response, error) {
	return plugins.Response{}, errNoHost
}

func (noHost) Put(context.Context, string, []byte) error { return errNoHost }

func (noHost) Get(context.Context, string) ([]byte, error) { return nil, errNoHost }

func (noHost) Delete(context.Context, string) error { return errNoHost }

// failureLimit is a tenant's number of consecutive plugin failures that
// disables a version, from its settings.
func (a *App) failureLimit(ctx context.Context, tenant string) (int, error) {
	t, err := a.Tenants.Get(ctx, tenant)
	return t.FailureLimit(), err
}

// tenantLocation is a tenant's time zone, UTC for a tenant not found (its
// data is going, and nothing a person reads is left to count days for).
func (a *App) tenantLocation(ctx context.Context, tenant string) (*time.Location, error) {
	t, err := a.Tenants.Get(ctx, tenant)
	if core.ErrorCode(err) == core.CodeNotFound {
		return time.UTC, nil
	}
	if err != nil {
		return nil, err
	}
	return t.Location(), nil
}
