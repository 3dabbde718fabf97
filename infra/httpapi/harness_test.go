package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/app"
	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/clock"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/ratelimit"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/infra/wasm"
	"github.com/fedele-crm/fedele/internal/testsupport/dynamolocal"
	"github.com/fedele-crm/fedele/internal/testsupport/enginetest"
)

// engines are the stores every end-to-end test runs on.
var engines = enginetest.Engines

func TestMain(m *testing.M) {
	wasm.RunCompilerIfChild() // plugin uploads compile in a child: this binary
	code := m.Run()
	closePluginHost()
	dynamolocal.StopShared()
	os.Exit(code)
}

// forEachEngine runs test once per engine.
func forEachEngine(t *testing.T, test func(t *testing.T, env *env)) {
	for name, open := range engines {
		t.Run(name, func(t *testing.T) { test(t, newEnv(t, open(t))) })
	}
}

// env is a running API on a real HTTP server with two tenants, built
// through package app as every process builds it.
type env struct {
	store  store.Store
	app    *app.App
	url    string
	a, b   *client      // admins of tenants "acme" and "globex"
	offset atomic.Int64 // nanoseconds the server's clock runs ahead
}

func (e *env) now() time.Time { return time.Now().Add(time.Duration(e.offset.Load())) }

// advance moves the server's clock forward, for what waits on time.
func (e *env) advance(d time.Duration) { e.offset.Add(int64(d)) }

func newEnv(t testing.TB, st store.Store) *env { return newEnvWith(t, st, nil) }

// newEnvWith is newEnv with the app's ports changed by configure.
// Re-scoring jobs go in steps of two batches of 50, to take several.
func newEnvWith(t testing.TB, st store.Store, configure func(e *env, p *app.Ports)) *env {
	t.Helper()
	e := &env{store: st}
	// Tests and benchmarks measure the API, not its budgets: buckets as
	// large as a tenant may set (ratelimit_test.go configures real ones).
	ports := app.Ports{Store: st, Log: slog.New(slog.DiscardHandler), Clock: clock.Func(e.now), Limiter: generous{ratelimit.NewMemory(e.now)}}
	if configure != nil {
		configure(e, &ports)
	}
	a, err := app.New(ports)
	if err != nil {
		t.Fatal(err)
	}
	a.Scorer.WithSteps(50, 2)
	e.app = a
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	e.url = srv.URL
	e.a = e.newTenant(t, "acme", "US", core.ScopeAdmin)
	e.b = e.newTenant(t, "globex", "IT", core.ScopeAdmin)
	e.dropEvents(t, "acme", "globex")
	return e
}

// dropEvents deletes the tenants' events so far: the fixture's keys are
// set-up, and a test sees only the events (api_key.created) it causes.
func (e *env) dropEvents(t testing.TB, tenants ...string) {
	t.Helper()
	ctx := context.Background()
	for _, tenant := range tenants {
		page, err := store.QueryMerged(ctx, e.store, store.Query{Consistent: true}, events.EventsPKs(tenant), store.MaxPageItems, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			if err := e.store.Delete(ctx, it.Key, store.Cond{}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// generous is a limiter whose every bucket has the largest settable size.
type generous struct{ ratelimit.Limiter }

func (g generous) Take(ctx context.Context, b ratelimit.Bucket, _ ratelimit.Limit) (ratelimit.Decision, error) {
	return g.Limiter.Take(ctx, b, ratelimit.FromSetting(core.MaxRateLimit))
}

func (e *env) newTenant(t testing.TB, id, region string, scopes ...core.Scope) *client {
	t.Helper()
	if _, err := e.app.Tenants.Create(context.Background(), id, id, region); err != nil && core.ErrorCode(err) != core.CodeConflict {
		t.Fatalf("create tenant %s: %v", id, err)
	}
	return e.key(t, id, scopes...)
}

// key returns a client of tenant with a new key holding scopes.
func (e *env) key(t testing.TB, tenant string, scopes ...core.Scope) *client {
	t.Helper()
	secret, _, err := e.app.APIKeys.Create(context.Background(), tenant, "test", scopes)
	if err != nil {
		t.Fatalf("create key for %s: %v", tenant, err)
	}
	return &client{t: t, url: e.url, auth: "Bearer " + secret}
}

type client struct {
	t    testing.TB
	url  string
	auth string
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// do sends a request; body is JSON-encoded unless it is a string or []byte.
// headers are name, value pairs.
func (c *client) do(method, path string, body any, headers ...string) response {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			c.t.Fatalf("encode body: %v", err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.url+path, rd)
	if err != nil {
		c.t.Fatalf("new request: %v", err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatalf("read %s %s: %v", method, path, err)
	}
	return response{Status: res.StatusCode, Header: res.Header, Body: data}
}

// want fails the test unless the response has status, and decodes its body
// into v when v is not nil.
func (r response) want(t testing.TB, status int, v any) response {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body: %s", r.Status, status, r.Body)
	}
	if v != nil {
		if err := json.Unmarshal(r.Body, v); err != nil {
			t.Fatalf("decode %s: %v", r.Body, err)
		}
	}
	return r
}

// problem is the RFC 9457 body of an error.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Message  string `json:"message"`
		Location string `json:"location"`
	} `json:"errors"`
}

func (r response) problem(t testing.TB) problem {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("content type %q, want application/problem+json; body: %s", ct, r.Body)
	}
	var p problem
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatalf("decode problem %s: %v", r.Body, err)
	}
	if p.Status != r.Status || p.Type == "" || p.Title == "" {
		t.Fatalf("problem %+v does not match status %d", p, r.Status)
	}
	return p
}

func (p problem) locations() []string {
	var ls []string
	for _, e := range p.Errors {
		ls = append(ls, e.Location)
	}
	return ls
}

type contactPage struct {
	Items      []core.Contact `json:"items"`
	NextCursor string         `json:"next_cursor"`
}
