package app_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/app"
	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/plugins"
	"github.com/fedele-crm/fedele/core/timeline"
	"github.com/fedele-crm/fedele/infra/blobfs"
	"github.com/fedele-crm/fedele/internal/testsupport/enginetest"
)

// bus records what is published to it.
type bus struct {
	mu    sync.Mutex
	types []string
}

func (b *bus) Publish(_ context.Context, evs []events.Envelope) []error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, ev := range evs {
		b.types = append(b.types, string(ev.DetailType))
	}
	return make([]error, len(evs))
}

func (b *bus) got() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Sorted(slices.Values(b.types))
}

// host is a plugin host that accepts nothing and runs nothing: enough to
// see app wire it.
type host struct{ engines int }

func (*host) Validate(context.Context, plugins.Kind, []byte) (plugins.Module, error) {
	return plugins.Module{}, &core.Error{Code: core.CodeInvalid, Message: "refused by the test host"}
}

func (h *host) Engine(plugins.Blobs) plugins.Engine { h.engines++; return nil }

func TestNewRefusesIncompletePorts(t *testing.T) {
	st := enginetest.Engines["embedded"](t)
	for name, p := range map[string]app.Ports{
		"no store":                {},
		"a plugin host, no blobs": {Store: st, Plugins: &host{}},
	} {
		if _, err := app.New(p); err == nil {
			t.Errorf("%s: built", name)
		}
	}
}

func TestTheConsumerSet(t *testing.T) {
	a, err := app.New(app.Ports{Store: enginetest.Engines["embedded"](t)})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"daily-stats", "purchases", "scoring", "rescore", "routing", "timers", "jobs", "rfm", "segments", "reports", "journeys", "journey-stats", "campaigns"}
	// The names key the consumers' processed markers in the store: renaming
	// one would deliver every event kept for 30 days to it again.
	if diff := cmp.Diff(want, a.ConsumerNames()); diff != "" {
		t.Errorf("consumers (-want +got):\n%s", diff)
	}
	cs := a.Consumers()
	cs[0].Name = "changed"
	if a.ConsumerNames()[0] != "daily-stats" {
		t.Error("Consumers hands out the app's own list")
	}
}

// Without a plugin host the built-ins decide and what would run or store
// a module is unavailable; with one, the runner and the lifecycle stand
// on it.
func TestPluginHostPort(t *testing.T) {
	ctx := context.Background()
	a, err := app.New(app.Ports{Store: enginetest.Engines["embedded"](t)})
	if err != nil {
		t.Fatal(err)
	}
	if a.Runner != nil {
		t.Error("a runner without a plugin host")
	}
	if _, err := a.Plugins.Upload(ctx, "acme", "p", plugins.KindScore, nil, []byte("\x00asm")); core.ErrorCode(err) != core.CodeUnavailable {
		t.Errorf("upload without a host: %v, want unavailable", err)
	}

	blobs, err := blobfs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer blobs.Close()
	h := &host{}
	a, err = app.New(app.Ports{Store: enginetest.Engines["embedded"](t), Plugins: h, Blobs: blobs})
	if err != nil {
		t.Fatal(err)
	}
	if a.Runner == nil || h.engines != 1 {
		t.Errorf("runner %v, %d engines asked for: want a runner on one engine", a.Runner, h.engines)
	}
	if _, err := a.Plugins.Upload(ctx, "acme", "p", plugins.KindScore, nil, []byte("\x00asm")); core.ErrorCode(err) != core.CodeInvalid {
		t.Errorf("upload: %v, want the host's refusal", err)
	}
}

// The local relay delivers to the consumers and the buses; the reconciler
// only to the buses (EventBridge takes events to the worker from there).
func TestRelays(t *testing.T) {
	ctx := context.Background()
	st := enginetest.Engines["embedded"](t)
	b := &bus{}
	a, err := app.New(app.Ports{Store: st, Publishers: []events.Publisher{b}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Tenants.Create(ctx, "acme", "Acme", "US"); err != nil {
		t.Fatal(err)
	}
	c, err := a.Contacts.Create(ctx, "acme", core.ContactFields{FirstName: "Ada"})
	if err != nil {
		t.Fatal(err)
	}

	if n, err := a.Reconciler(time.Nanosecond).Drain(ctx); err != nil || n != 1 {
		t.Fatalf("reconciler relayed %d: %v", n, err)
	}
	if diff := cmp.Diff([]string{string(events.ContactCreated)}, b.got()); diff != "" {
		t.Errorf("bus after the reconciler (-want +got):\n%s", diff)
	}
	if sc, _, err := a.Scorer.Current(ctx, "acme", c.ID); err == nil {
		t.Errorf("the reconciler ran the consumers: score %+v", sc)
	}

	if _, err := a.Contacts.Create(ctx, "acme", core.ContactFields{FirstName: "Grace"}); err != nil {
		t.Fatal(err)
	}
	relay := a.LocalRelay(time.Millisecond)
	for deadline := time.Now().Add(10 * time.Second); ; {
		n, err := relay.Drain(ctx) // the consumers' own events follow
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the outbox never emptied")
		}
	}
	day := time.Now().UTC().Format(time.DateOnly)
	stats, err := timeline.DailyStats(ctx, st, "acme", day, day)
	if err != nil || len(stats) != 1 || stats[0].Counts[string(events.ContactCreated)] != 1 {
		t.Errorf("stats after the local relay: %+v %v (want Grace's creation only)", stats, err)
	}
	got := b.got()
	if !slices.Contains(got, "contact.scored") || len(got) < 3 {
		t.Errorf("bus after the local relay: %v, want both creations and the score the consumers wrote", got)
	}
}

func TestHandlerServesTheGraph(t *testing.T) {
	a, err := app.New(app.Ports{Store: enginetest.Engines["embedded"](t)})
	if err != nil {
		t.Fatal(err)
	}
	if a.Handler() != a.Handler() {
		t.Error("the API is built more than once")
	}
	ctx := context.Background()
	if _, err := a.Tenants.Create(ctx, "acme", "Acme", "US"); err != nil {
		t.Fatal(err)
	}
	secret, _, err := a.APIKeys.Create(ctx, "acme", "test", []core.Scope{core.ScopeRead})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/v1/tenant", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("GET /v1/tenant with a key the app made: %d", res.StatusCode)
	}
	if spec, err := app.OpenAPI(); err != nil || len(spec) == 0 {
		t.Errorf("OpenAPI: %d bytes, %v", len(spec), err)
	}
}
