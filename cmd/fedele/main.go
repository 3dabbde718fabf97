// Command fedele is the local all-in-one server and the command-line tool.
//
//	fedele serve [--addr 127.0.0.1:8080] [--data DIR] [--warm-plugins dev,acme] [--outbox DIR|off] [--public-url URL]
//	fedele serve --store dynamodb [--dynamodb-endpoint URL] [--table fedele] [--create-table]
//	fedele serve [--event-bus NAME [--eventbridge-endpoint URL]]
//	fedele serve --fast-forward 129600   (development: three months a minute)
//	fedele keys create --tenant T --scopes crm:read,crm:write [--name N] [--data DIR]
//	fedele plugin init <kind> <dir> | build <dir> | test <module.wasm> --kind K | push <module.wasm> --name N --kind K
//	fedele plugin activate <name> <version> | rollback <name>
//	fedele demo orders [--customers 2000] [--out demo] [--to YYYY-MM-DD] [--seed 7]
//	fedele openapi
//
// It only reads flags, opens the ports and builds through package app; it
// must hold no business rules.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fedele-crm/fedele/app"
	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/clock"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/ratelimit"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/infra/dynamo"
	"github.com/fedele-crm/fedele/infra/embedded"
	"github.com/fedele-crm/fedele/infra/eventbridge"
	"github.com/fedele-crm/fedele/infra/httpapi"
	"github.com/fedele-crm/fedele/infra/msgfolder"
	"github.com/fedele-crm/fedele/infra/wasm"
)

const usage = `usage:
  fedele serve [--addr 127.0.0.1:8080] [--data DIR]
  fedele serve --store dynamodb [--dynamodb-endpoint http://127.0.0.1:8000] [--table fedele] [--create-table]
  fedele serve [--event-bus fedele [--eventbridge-endpoint URL]]
  fedele serve --fast-forward FACTOR   (development only: time runs FACTOR times faster)
  fedele keys create --tenant T --scopes crm:read,crm:write [--name N] [--region US] [--data DIR | --store dynamodb …]
  fedele plugin init|build|test|push|activate|rollback …   (fedele plugin for details)
  fedele demo orders [--customers 2000] [--out demo] [--to YYYY-MM-DD]   (a year of generated orders to load)
  fedele openapi`

func main() {
	// Plugin uploads compile in a child process: this same binary.
	wasm.RunCompilerIfChild()
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "fedele:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout, stderr)
	case "keys":
		if len(args) < 2 || args[1] != "create" {
			return errors.New(usage)
		}
		return createKey(ctx, args[2:], stdout)
	case "plugin":
		return pluginCommand(ctx, args[1:], stdout)
	case "demo":
		if len(args) < 2 || args[1] != "orders" {
			return errors.New(usage)
		}
		return demoOrders(args[2:], stdout)
	case "openapi":
		spec, err := app.OpenAPI()
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s\n", spec)
		return err
	}
	return fmt.Errorf("unknown command %q\n%s", args[0], usage)
}

// devTenant is the tenant a fresh data folder starts with.
const devTenant = "dev"

// storeFlags choose and reach the store, for every command that needs one.
type storeFlags struct {
	engine, data, endpoint, table string
	createTable                   bool
}

func (f *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.engine, "store", "embedded", "embedded (a file in --data) or dynamodb")
	fs.StringVar(&f.data, "data", "data", "folder of the embedded store (one process at a time)")
	fs.StringVar(&f.endpoint, "dynamodb-endpoint", "", "DynamoDB endpoint, such as http://127.0.0.1:8000 for DynamoDB Local; empty for AWS")
	fs.StringVar(&f.table, "table", "fedele", "DynamoDB table")
	fs.BoolVar(&f.createTable, "create-table", false, "create the DynamoDB table when it does not exist")
}

func (f *storeFlags) open(ctx context.Context) (store.Store, error) {
	switch f.engine {
	case "embedded":
		if err := os.MkdirAll(f.data, 0o700); err != nil {
			return nil, fmt.Errorf("create data folder: %w", err)
		}
		return embedded.Open(filepath.Join(f.data, "fedele.db"))
	case "dynamodb":
		client, err := dynamo.Connect(ctx, f.endpoint)
		if err != nil {
			return nil, err
		}
		if f.createTable {
			if err := dynamo.CreateTable(ctx, client, f.table); err != nil {
				return nil, err
			}
		}
		return dynamo.New(client, f.table), nil
	}
	return nil, fmt.Errorf("--store must be embedded or dynamodb, not %q", f.engine)
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	var sf storeFlags
	sf.register(fs)
	region := fs.String("region", "US", "default phone region of the development tenant")
	bus := fs.String("event-bus", "", "also publish events to this EventBridge bus")
	busEndpoint := fs.String("eventbridge-endpoint", "", "EventBridge endpoint (a local PutEvents endpoint); empty for AWS")
	warm := fs.String("warm-plugins", devTenant, "comma-separated tenants whose active plugins compile at start, before their first call")
	outbox := fs.String("outbox", "", `folder the example provider writes requested messages to, one JSON file each (<folder>/<tenant>/<message id>.json); "off" writes none (default <data>/outbox)`)
	publicURL := fs.String("public-url", "", "where the public reaches this server, for one-click unsubscribe links (default http://<addr>)")
	fast := fs.Float64("fast-forward", 1, "development only: run the process's clock this many times faster, from now (129600: three months a minute); embedded store or DynamoDB Local")
	retention := fs.Int("event-retention-days", defaultEventRetentionDays(), "keep events this many days (plugin backtests replay them; processed markers keep 30); $FEDELE_EVENT_RETENTION_DAYS sets the default")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *retention < 1 {
		return errors.New("--event-retention-days must be at least 1")
	}
	if err := events.SetEventRetention(time.Duration(*retention) * 24 * time.Hour); err != nil {
		return fmt.Errorf("--event-retention-days: %w", err)
	}
	log := slog.New(httpapi.LogHandler(slog.NewJSONHandler(stderr, nil)))
	clk := clock.System
	if *fast != 1 {
		if *fast < 1 {
			return errors.New("--fast-forward must be at least 1")
		}
		// Shared stores hold other processes' timers on the real clock:
		// fast-forwarding would fire them months early.
		if sf.engine != "embedded" && sf.endpoint == "" {
			return errors.New("--fast-forward is for development: the embedded store or DynamoDB Local (--dynamodb-endpoint) only")
		}
		clk = clock.FastForward(*fast)
		log.Warn("fast-forward: the clock runs faster than real time (development only)", slog.Float64("factor", *fast))
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	st, err := sf.open(ctx)
	if err != nil {
		return err
	}
	if es, ok := st.(*embedded.Store); ok {
		go housekeeping(ctx, es, log) // DynamoDB's own TTL expires items there
	}
	defer func() {
		if err := st.Close(); err != nil {
			log.Error("close store", slog.String("error", err.Error()))
		}
	}()
	host, blobs, closePlugins, err := pluginHost(sf.data)
	if err != nil {
		return err
	}
	defer closePlugins()
	var buses []events.Publisher
	if *bus != "" {
		client, err := eventbridge.Connect(ctx, *busEndpoint)
		if err != nil {
			return err
		}
		buses = append(buses, eventbridge.New(client, *bus))
	}
	// On DynamoDB other servers may share the table: their rate limits too.
	var limiter ratelimit.Limiter
	if _, ok := st.(*embedded.Store); !ok {
		limiter = ratelimit.NewShared(st, clk.Now)
	}
	// The example delivery provider: requested messages become files, beside the bus.
	if *outbox == "" {
		*outbox = filepath.Join(sf.data, "outbox")
	}
	if *outbox != "off" {
		buses = append(buses, msgfolder.Outbox{Dir: *outbox})
	}
	if *publicURL == "" {
		*publicURL = "http://" + *addr
	}
	a, err := app.New(app.Ports{Store: st, Plugins: host, Blobs: blobs, Publishers: buses, Log: log, Clock: clk, Limiter: limiter,
		PublicURL: *publicURL})
	if err != nil {
		return err
	}
	if err := bootstrap(ctx, a, *region, stdout); err != nil {
		return err
	}

	// The local relay: outbox → the app's consumers (and the bus, when
	// there is one). In AWS the stream, EventBridge and the worker do this.
	relay := a.LocalRelay(250 * time.Millisecond)
	relayCtx, stopRelay := context.WithCancel(ctx)
	var background sync.WaitGroup
	background.Go(func() { relay.Run(relayCtx) })
	// Timers: wakes at the next due time on the process's clock. In AWS the
	// scheduler and worker functions do this.
	background.Go(func() { a.Timers.Run(relayCtx) })
	// Compiling a module takes about a second on a cold cache: do it now,
	// beside the listener, rather than on a tenant's first call.
	background.Go(func() {
		for _, tenant := range strings.Split(*warm, ",") {
			if tenant = strings.TrimSpace(tenant); tenant == "" {
				continue
			}
			if err := a.Plugins.Warm(relayCtx, tenant); err != nil && relayCtx.Err() == nil {
				log.Warn("warm plugins", slog.String("tenant", tenant), slog.String("error", err.Error()))
			}
		}
	})
	defer func() { stopRelay(); background.Wait() }() // runs before the store and the plugin host close

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "Fedele listening on http://%s (docs at /docs)\n", ln.Addr())
	log.Info("listening", slog.String("addr", ln.Addr().String()), slog.String("store", sf.engine))

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// bootstrap gives a fresh data folder a development tenant and prints its
// admin key, once: only the key's hash is kept.
func bootstrap(ctx context.Context, a *app.App, region string, stdout io.Writer) error {
	_, err := a.Tenants.Create(ctx, devTenant, "Development", region)
	if core.ErrorCode(err) == core.CodeConflict {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create development tenant: %w", err)
	}
	secret, _, err := a.APIKeys.Create(ctx, devTenant, "development admin", []core.Scope{core.ScopeAdmin})
	if err != nil {
		return fmt.Errorf("create development key: %w", err)
	}
	fmt.Fprintf(stdout, "Created tenant %q. Its admin API key, shown only this once:\n\n    %s\n\n", devTenant, secret)
	return nil
}

// housekeeping deletes expired items (idempotency keys) now and then, as
// DynamoDB's TTL does in production.
func housekeeping(ctx context.Context, st *embedded.Store, log *slog.Logger) {
	tick := time.NewTicker(10 * time.Minute)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			n, err := st.SweepExpired(now)
			if err != nil {
				log.Error("sweep expired items", slog.String("error", err.Error()))
				continue
			}
			log.Info("swept expired items", slog.Int("count", n))
		}
	}
}

func createKey(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("keys create", flag.ContinueOnError)
	var sf storeFlags
	sf.register(fs)
	tenant := fs.String("tenant", "", "tenant id; created when new")
	scopes := fs.String("scopes", "", "comma-separated: "+fmt.Sprint(core.Scopes))
	name := fs.String("name", "", "what the key is for")
	region := fs.String("region", "US", "default phone region, when the tenant is new")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *tenant == "" || *scopes == "" {
		return errors.New("keys create needs --tenant and --scopes")
	}
	var list []core.Scope
	for _, s := range strings.Split(*scopes, ",") {
		list = append(list, core.Scope(strings.TrimSpace(s)))
	}
	st, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	a, err := app.New(app.Ports{Store: st})
	if err != nil {
		return err
	}
	if _, err := a.Tenants.Create(ctx, *tenant, *tenant, *region); err != nil && core.ErrorCode(err) != core.CodeConflict {
		return err
	}
	secret, k, err := a.APIKeys.Create(ctx, *tenant, *name, list)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "API key %s for tenant %s (%s), shown only this once:\n\n    %s\n\n", k.ID, *tenant, *scopes, secret)
	return nil
}

// localEventRetentionDays is how long `fedele serve` keeps events unless
// told otherwise: a year and a month, so that a plugin can be backtested
// over a year of its tenant's history with a month of outcomes after it.
// A laptop's file holds that easily; in AWS the table keeps events.Retention
// (30 days) and the bus's archive keeps them for replay.
const localEventRetentionDays = 400

func defaultEventRetentionDays() int {
	if v, err := strconv.Atoi(os.Getenv("FEDELE_EVENT_RETENTION_DAYS")); err == nil && v > 0 {
		return v
	}
	return localEventRetentionDays
}
