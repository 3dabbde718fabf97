package wasm

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/plugins"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/core/tenancy"
	"github.com/fedele-crm/fedele/internal/testsupport/enginetest"
	"github.com/fedele-crm/fedele/schemas"
)

var engines = enginetest.Engines

type scoreRecord struct {
	Contact struct {
		ID     string              `json:"id"`
		Emails []map[string]string `json:"emails,omitempty"`
		Tags   []string            `json:"tags,omitempty"`
	} `json:"contact"`
}

type scoreResult struct {
	Score   int      `json:"score"`
	Reasons []string `json:"reasons,omitempty"`
}

// builtinScore is the stand-in for the CRM's own scorer.
func builtinScore(scoreRecord) scoreResult {
	return scoreResult{Score: 1, Reasons: []string{"built-in"}}
}

// moduleShelf is the test's module storage: modules by tenant and id, as
// the lifecycle's blob store keeps them.
type moduleShelf struct {
	mu sync.Mutex
	m  map[string]*Module
}

func (s *moduleShelf) put(tenant string, m *Module) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[tenant+"/"+m.ID] = m
}

func (s *moduleShelf) load(_ context.Context, tenant, id string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.m[tenant+"/"+id]; m != nil {
		return m.Code, nil
	}
	return nil, fmt.Errorf("tenant %s has no module %s", tenant, id)
}

// A failing plugin costs its say, never the write: the built-in decides,
// each failure is recorded with its class, and at the tenant's limit the
// version is disabled with a plugin.disabled event — on both engines.
func TestDecideFallsBackAndDisables(t *testing.T) {
	h := newHost(t, Config{CacheDir: filepath.Join(t.TempDir(), "cache")})
	ctx := context.Background()
	good, err := h.Prepare(ctx, "score", readFile(t, "testdata", "plugins", "leadscore.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	bad := metered(t, "score", readFile(t, "testdata", "hostile", "infinite_loop.wasm"))
	for name, open := range engines {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			now := func() time.Time { return testNow }
			tenants := tenancy.NewTenants(st, now)
			for _, id := range []string{"acme", "globex"} {
				if _, err := tenants.Create(ctx, id, id, "IT"); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := tenants.Update(ctx, "acme", func(t *core.Tenant) error { t.PluginFailureLimit = 3; return nil }); err != nil {
				t.Fatal(err)
			}
			shelf := &moduleShelf{m: map[string]*Module{}}
			shelf.put("acme", good)
			shelf.put("acme", bad)
			reg := plugins.NewRegistry(st, now)
			runner := plugins.NewRunner(reg, NewEngine(h, shelf.load), func(ctx context.Context, tenant string) (int, error) {
				t, err := tenants.Get(ctx, tenant)
				return t.FailureLimit(), err
			}, nil)

			batch := make([]scoreRecord, 2)
			batch[0].Contact.ID, batch[0].Contact.Tags = "c1", []string{"decision-maker"}
			batch[0].Contact.Emails = []map[string]string{{"address": "ada@example.com"}}
			batch[1].Contact.ID = "c2"
			decide := func(tenant string) ([]scoreResult, plugins.Outcome) {
				return plugins.Decide(ctx, runner, tenant, "score", batch, builtinScore)
			}

			// No active plugin: the built-in decides.
			if got, o := decide("acme"); o.Plugin != nil || got[0].Score != 1 {
				t.Fatalf("with no plugin: %+v %+v", got, o)
			}
			v1, err := reg.Add(ctx, "acme", "leads", "score", good.ID, len(good.Code), nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := reg.Activate(ctx, "acme", "leads", v1.Number); err != nil {
				t.Fatal(err)
			}
			got, o := decide("acme")
			if o.Failure != nil || !o.ByPlugin[0] || !o.ByPlugin[1] || got[0].Score != 30 || got[1].Score != 0 {
				t.Fatalf("leadscore decided %+v, outcome %+v", got, o)
			}
			// Another tenant has no plugin, whatever acme activated.
			if got, o := decide("globex"); o.Plugin != nil || got[0].Score != 1 {
				t.Fatalf("globex ran %+v: %+v", o.Plugin, got)
			}

			v2, err := reg.Add(ctx, "acme", "leads", "score", bad.ID, len(bad.Code), nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := reg.Activate(ctx, "acme", "leads", v2.Number); err != nil {
				t.Fatal(err)
			}
			for i := 1; i <= 3; i++ {
				got, o := decide("acme")
				if o.Failure == nil || o.Failure.Class != string(ClassFuel) || got[0].Score != 1 || got[1].Score != 1 {
					t.Fatalf("failing call %d: %+v, outcome %+v", i, got, o)
				}
				if o.Disabled != (i == 3) {
					t.Fatalf("call %d: disabled = %v", i, o.Disabled)
				}
			}
			if _, _, err := reg.Active(ctx, "acme", "score"); core.ErrorCode(err) != core.CodeNotFound {
				t.Fatalf("after the limit the version is still active: %v", err)
			}
			v, err := reg.Get(ctx, "acme", "leads", v2.Number)
			if err != nil || v.Status != plugins.StatusDisabled {
				t.Fatalf("version 2 = %+v, %v; want disabled", v, err)
			}
			fails, err := reg.Failures(ctx, "acme", "leads", 10)
			if err != nil || len(fails) != 3 || fails[0].Class != string(ClassFuel) {
				t.Fatalf("failures = %+v, %v", fails, err)
			}
			if got, o := decide("acme"); o.Plugin != nil || got[0].Score != 1 {
				t.Fatalf("a disabled version ran: %+v", o)
			}
			page, err := store.QueryMerged(ctx, st, store.Query{}, events.EventsPKs("acme"), store.MaxPageItems, "")
			if err != nil {
				t.Fatal(err)
			}
			var disabled int
			for _, it := range page.Items {
				raw, _ := json.Marshal(mustDecode(t, it))
				ev := mustDecode(t, it)
				if err := schemas.ValidateEvent(raw); err != nil {
					t.Errorf("%s breaks its schema: %v", ev.DetailType, err)
				}
				if ev.DetailType != events.PluginDisabled {
					continue
				}
				disabled++
				if ev.Detail.Entity.ID != "leads" {
					t.Errorf("event about %q", ev.Detail.Entity.ID)
				}
			}
			if disabled != 1 {
				t.Errorf("%d plugin.disabled events, want 1", disabled)
			}

			// Re-activating the good version works, and a success after
			// failures starts the count again.
			if _, err := reg.Activate(ctx, "acme", "leads", v1.Number); err != nil {
				t.Fatal(err)
			}
			if _, o := decide("acme"); o.Failure != nil {
				t.Fatalf("v1 again: %+v", o.Failure)
			}
		})
	}
}

func mustDecode(t *testing.T, it store.Item) events.Envelope {
	t.Helper()
	ev, err := events.Decode(it)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}
