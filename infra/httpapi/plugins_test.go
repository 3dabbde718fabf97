package httpapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/app"
	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/plugins"
	"github.com/fedele-crm/fedele/core/scoring"
	"github.com/fedele-crm/fedele/infra/blobfs"
	"github.com/fedele-crm/fedele/infra/httpapi"
	"github.com/fedele-crm/fedele/infra/wasm"
	"github.com/fedele-crm/fedele/schemas"
)

// One plugin host for the package: compiled modules are cached on disk and
// in memory, so each example compiles once for all the tests.
var (
	hostOnce  sync.Once
	pluginHst *wasm.Host
	cacheDir  string
)

func pluginHost(t testing.TB) *wasm.Host {
	hostOnce.Do(func() {
		dir, err := os.MkdirTemp("", "fedele-httpapi-wasm-")
		if err != nil {
			t.Fatal(err)
		}
		cacheDir = dir
		pluginHst, err = wasm.New(wasm.Config{CacheDir: dir})
		if err != nil {
			t.Fatal(err)
		}
	})
	return pluginHst
}

func closePluginHost() {
	if pluginHst != nil {
		_ = pluginHst.Close(context.Background())
		_ = os.RemoveAll(cacheDir)
	}
}

// pluginEnv is an API with the plugin runtime: modules in a folder, the
// package's host, a runner for live decisions.
type pluginEnv struct {
	*env
	runner *plugins.Runner
}

func newPluginEnv(t *testing.T, name string) *pluginEnv {
	pe := &pluginEnv{}
	pe.env = newEnvWith(t, engines[name](t), func(e *env, p *app.Ports) {
		blobs, err := blobfs.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { blobs.Close() })
		p.Plugins, p.Blobs = pluginHost(t), blobs
	})
	pe.runner = pe.app.Runner
	return pe
}

func module(t testing.TB, dir, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", dir, file))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func upload(c *client, name, kind string, wasmBytes []byte, query string) response {
	return c.do("POST", "/v1/plugins/"+name+"/versions?kind="+kind+query, wasmBytes, "Content-Type", "application/wasm")
}

// The example plugins go through upload → dry-run → activate → shadow →
// rollback → delete, with events, stats and scores along the way.
func TestPluginLifecycle(t *testing.T) {
	for name := range engines {
		t.Run(name, func(t *testing.T) {
			e := newPluginEnv(t, name)
			lead := module(t, "plugins", "leadscore.wasm")
			var v1 plugins.Version
			upload(e.a, "leads", "score", lead, "&fields=contact.emails,contact.tags,contact.lifecycle_stage,company.size").want(t, 201, &v1)
			sum := sha256.Sum256(lead)
			if v1.Number != 1 || v1.Status != plugins.StatusReady || v1.ModuleID != hex.EncodeToString(sum[:]) || len(v1.Fields) != 4 {
				t.Fatalf("uploaded %+v", v1)
			}

			// A dry run answers the plugin's output, what it cost and its logs.
			fixture, _, err := wasm.Fixture("score")
			if err != nil {
				t.Fatal(err)
			}
			var dry plugins.DryRun
			e.a.do("POST", "/v1/plugins/leads/versions/1/dry-run", fixture).want(t, 200, &dry)
			if dry.Error != nil || dry.Fuel <= 0 || dry.MemoryBytes == 0 || dry.Logs == nil {
				t.Fatalf("dry run %+v", dry)
			}
			if err := schemas.ValidatePluginOutput("score", dry.Output, 3); err != nil {
				t.Fatalf("dry-run output: %v", err)
			}
			e.a.do("POST", "/v1/plugins/leads/versions/1/dry-run", `{"not":"a batch"}`).want(t, 422, nil)

			// A contact is scored by the built-in until a plugin is active.
			var c core.Contact
			e.a.do("POST", "/v1/contacts", map[string]any{"first_name": "Ada", "emails": []map[string]any{{"address": "ada@example.com"}},
				"tags": []string{"decision-maker"}, "lifecycle_stage": "mql"}).want(t, 201, &c)
			var sc scoring.Scored
			e.a.do("POST", "/v1/contacts/"+c.ID+"/score", nil).want(t, 200, &sc)
			if sc.DecidedBy != "builtin" || sc.Score != 35 {
				t.Fatalf("before activation: %+v", sc)
			}
			var active plugins.Version
			e.a.do("POST", "/v1/plugins/leads/versions/1/activate", nil).want(t, 200, &active)
			if active.Status != plugins.StatusActive {
				t.Fatalf("activated %+v", active)
			}
			// leadscore: e-mail 10, mql 10, decision maker 20.
			e.a.do("POST", "/v1/contacts/"+c.ID+"/score", nil).want(t, 200, &sc)
			if sc.DecidedBy != "plugin" || sc.Score != 40 || sc.Plugin == nil || sc.Plugin.Version != 1 {
				t.Fatalf("with leadscore active: %+v", sc)
			}

			// A candidate in shadow disagrees, and changes nothing.
			var v2 plugins.Version
			upload(e.a, "leads", "score", module(t, "plugins", "flatscore.wasm"), "").want(t, 201, &v2)
			e.a.do("PUT", "/v1/plugins/leads/versions/2/shadow", nil).want(t, 200, nil)
			eventsBefore := countEvents(t, e)
			for range 3 {
				e.a.do("POST", "/v1/contacts/"+c.ID+"/score", nil).want(t, 200, &sc)
				if sc.Score != 40 || sc.Plugin.Version != 1 {
					t.Fatalf("in shadow, the candidate's answer was applied: %+v", sc)
				}
			}
			var cmp plugins.Comparison
			e.a.do("GET", "/v1/plugins/leads/versions/2/shadow", nil).want(t, 200, &cmp)
			if cmp.Runs != 3 || cmp.Disagreed != 3 || len(cmp.Samples) != 3 || !strings.Contains(string(cmp.Samples[0].Shadow), `"score":60`) {
				t.Fatalf("comparison %+v", cmp)
			}
			// Every change to CRM data leaves an event: there is none, and the
			// contact is as it was.
			if n := countEvents(t, e); n != eventsBefore {
				t.Errorf("shadow runs left %d new events", n-eventsBefore)
			}
			var after core.Contact
			e.a.do("GET", "/v1/contacts/"+c.ID, nil).want(t, 200, &after)
			if after.Version != c.Version {
				t.Errorf("the contact changed in shadow: version %d, was %d", after.Version, c.Version)
			}
			e.a.do("DELETE", "/v1/plugins/leads/shadow", nil).want(t, 204, nil)

			// Activate v2, then roll back to v1 with one call.
			e.a.do("POST", "/v1/plugins/leads/versions/2/activate", nil).want(t, 200, nil)
			e.a.do("POST", "/v1/contacts/"+c.ID+"/score", nil).want(t, 200, &sc)
			if sc.Score != 60 {
				t.Fatalf("with flatscore active: %+v", sc)
			}
			var back plugins.Version
			e.a.do("POST", "/v1/plugins/leads/rollback", nil).want(t, 200, &back)
			if back.Number != 1 || back.Status != plugins.StatusActive {
				t.Fatalf("rolled back to %+v", back)
			}
			e.a.do("POST", "/v1/plugins/leads/rollback", nil).want(t, 409, nil).problem(t)

			// The active version cannot go; the other can, with its module.
			e.a.do("DELETE", "/v1/plugins/leads/versions/1", nil).want(t, 409, nil).problem(t)
			e.a.do("DELETE", "/v1/plugins/leads/versions/2", nil).want(t, 204, nil)
			e.a.do("GET", "/v1/plugins/leads/versions/2", nil).want(t, 404, nil)

			var list struct{ Items []plugins.Plugin }
			e.a.do("GET", "/v1/plugins", nil).want(t, 200, &list)
			if len(list.Items) != 1 || list.Items[0].Active != 1 || list.Items[0].Latest != 2 || list.Items[0].Kind != "score" {
				t.Fatalf("plugins %+v", list.Items)
			}
			var stats plugins.Stats
			e.a.do("GET", "/v1/plugins/leads/versions/1/stats", nil).want(t, 200, &stats)
			if stats.Calls != 4 || stats.Records != 4 || stats.FuelUsed <= 0 || stats.P50Ms <= 0 || stats.P99Ms < stats.P50Ms {
				t.Fatalf("stats %+v", stats)
			}

			// The route and campaign examples go the same way.
			for _, ex := range []struct{ name, kind, wants string }{
				{"roundrobin", "route", `"assignee":"01JFIXTUREUSER00000000001"`},
				{"winback", "campaign", `"enrol":true,"variant":"b"`},
			} {
				upload(e.a, ex.name, ex.kind, module(t, "plugins", ex.name+".wasm"), "").want(t, 201, nil)
				in, _, err := wasm.Fixture(plugins.Kind(ex.kind))
				if err != nil {
					t.Fatal(err)
				}
				var dry plugins.DryRun
				e.a.do("POST", "/v1/plugins/"+ex.name+"/versions/1/dry-run", in).want(t, 200, &dry)
				if dry.Error != nil || !strings.Contains(string(dry.Output), ex.wants) {
					t.Errorf("%s dry run: %s %+v", ex.name, dry.Output, dry.Error)
				}
				e.a.do("POST", "/v1/plugins/"+ex.name+"/versions/1/activate", nil).want(t, 200, nil)
			}

			// Every step left its event, each true to its schema.
			seen := map[events.Type]int{}
			var page struct{ Items []events.Envelope }
			e.advance(10 * time.Second) // past the stream's settling time
			e.a.do("GET", "/v1/events?limit=200", nil).want(t, 200, &page)
			for _, ev := range page.Items {
				raw, _ := json.Marshal(ev)
				if err := schemas.ValidateEvent(raw); err != nil {
					t.Errorf("%s: %v", ev.DetailType, err)
				}
				seen[ev.DetailType]++
			}
			for typ, n := range map[events.Type]int{events.PluginVersionUploaded: 4, events.PluginVersionDeleted: 1, events.PluginActivated: 4, events.PluginRolledBack: 1} {
				if seen[typ] != n {
					t.Errorf("%d %s events, want %d (all: %v)", seen[typ], typ, n, seen)
				}
			}
		})
	}
}

// countEvents counts the tenant's events, all of them: the clock moves past
// the stream's settling time first.
func countEvents(t *testing.T, e *pluginEnv) int {
	t.Helper()
	e.advance(10 * time.Second)
	var page struct{ Items []events.Envelope }
	e.a.do("GET", "/v1/events?limit=200", nil).want(t, 200, &page)
	if len(page.Items) == 0 {
		t.Fatal("no events at all: the count cannot tell anything")
	}
	return len(page.Items)
}

// Every hostile module is refused at upload with a problem that names what
// is at fault.
func TestHostileUploads(t *testing.T) {
	e := newPluginEnv(t, "embedded")
	cases := []struct {
		file, kind, says string
	}{
		{"infinite_loop.wasm", "score", "out_of_fuel"},
		{"exponential_recursion.wasm", "score", "out_of_fuel"},
		{"start_never_returns.wasm", "score", "start sections"},
		{"memory_growth.wasm", "score", "out_of_memory"},
		{"huge_table.wasm", "score", "table elements"},
		{"brtable_bomb.wasm", "score", "br_table width"},
		{"nested_blocks.wasm", "score", "block nesting"},
		{"huge_output.wasm", "score", "output"},
		{"unbounded_recursion.wasm", "score", "trap"},
		{"unreachable.wasm", "score", "unreachable"},
		{"unknown_import.wasm", "score", "env.launch_missiles"},
		{"wasi_file_open.wasm", "score", "plugin_error"},
		{"wasi_socket.wasm", "score", "sock_accept"},
		{"wasi_environ.wasm", "score", "plugin_error"},
		{"not_wasm.bin", "score", "malformed"},
		{"truncated.wasm", "score", "malformed"},
		{"no_export.wasm", "score", `"score"`},
		{"not_json.wasm", "score", "not JSON"},
		{"wrong_length.wasm", "score", "1 results for 3 records"},
		{"breaks_schema.wasm", "score", "contract"},
		{"sleeps.wasm", "score", "slept"},
		{"route_stranger.wasm", "route", "not one of the record's candidates"},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			p := upload(e.a, "hostile", tc.kind, module(t, "hostile", tc.file), "").want(t, 422, nil).problem(t)
			all := p.Detail
			for _, d := range p.Errors {
				all += " " + d.Location + " " + d.Message
			}
			if !strings.Contains(all, tc.says) || !strings.Contains(all, "body") {
				t.Errorf("problem %q does not name %q at body", all, tc.says)
			}
		})
	}
	// Nothing was stored.
	var list struct{ Items []plugins.Plugin }
	e.a.do("GET", "/v1/plugins", nil).want(t, 200, &list)
	if len(list.Items) != 0 {
		t.Errorf("refused uploads left plugins: %+v", list.Items)
	}
	// Bad requests around the module.
	upload(e.a, "Bad Name", "score", module(t, "plugins", "flatscore.wasm"), "").want(t, 422, nil)
	upload(e.a, "ok", "scoring", module(t, "plugins", "flatscore.wasm"), "").want(t, 422, nil)
	p := upload(e.a, "ok", "score", module(t, "plugins", "flatscore.wasm"), "&fields=contact.emails,password").want(t, 422, nil).problem(t)
	if fmt.Sprint(p.locations()) != "[query.fields[1]]" {
		t.Errorf("bad field at %v", p.locations())
	}
	big := make([]byte, httpapi.MaxModuleBytes+1)
	upload(e.a, "big", "score", big, "").want(t, 413, nil)
	upload(e.a, "leads", "score", module(t, "plugins", "flatscore.wasm"), "").want(t, 201, nil)
	upload(e.a, "leads", "route", module(t, "plugins", "roundrobin.wasm"), "").want(t, 409, nil)
}

// Another tenant can neither see, run, activate, shadow nor delete a
// tenant's plugins, and its contacts are never scored by them.
func TestPluginsAreTenantBound(t *testing.T) {
	e := newPluginEnv(t, "embedded")
	upload(e.a, "leads", "score", module(t, "plugins", "leadscore.wasm"), "").want(t, 201, nil)
	e.a.do("POST", "/v1/plugins/leads/versions/1/activate", nil).want(t, 200, nil)
	fixture, _, _ := wasm.Fixture("score")
	for _, r := range []struct{ method, path string }{
		{"GET", "/v1/plugins/leads/versions"},
		{"GET", "/v1/plugins/leads/versions/1"},
		{"POST", "/v1/plugins/leads/versions/1/dry-run"},
		{"POST", "/v1/plugins/leads/versions/1/activate"},
		{"PUT", "/v1/plugins/leads/versions/1/shadow"},
		{"GET", "/v1/plugins/leads/versions/1/stats"},
		{"GET", "/v1/plugins/leads/versions/1/shadow"},
		{"POST", "/v1/plugins/leads/rollback"},
		{"DELETE", "/v1/plugins/leads/shadow"},
		{"DELETE", "/v1/plugins/leads/versions/1"},
	} {
		var body any
		if strings.HasSuffix(r.path, "dry-run") {
			body = fixture
		}
		e.b.do(r.method, r.path, body).want(t, 404, nil).problem(t)
	}
	var list struct{ Items []plugins.Plugin }
	e.b.do("GET", "/v1/plugins", nil).want(t, 200, &list)
	if len(list.Items) != 0 {
		t.Errorf("globex sees %+v", list.Items)
	}
	var c core.Contact
	e.b.do("POST", "/v1/contacts", map[string]any{"first_name": "Gus"}).want(t, 201, &c)
	var sc scoring.Scored
	e.b.do("POST", "/v1/contacts/"+c.ID+"/score", nil).want(t, 200, &sc)
	if sc.DecidedBy != "builtin" || sc.Plugin != nil {
		t.Errorf("globex's contact was scored by %+v", sc)
	}
	// Bytes another tenant uploaded too are still that tenant's own version.
	upload(e.b, "mine", "score", module(t, "plugins", "leadscore.wasm"), "").want(t, 201, nil)
	e.b.do("GET", "/v1/plugins/leads/versions/1", nil).want(t, 404, nil)
	// And a key without plugins:admin cannot touch them at all.
	reader := e.key(t, "acme", core.ScopeRead, core.ScopeWrite)
	reader.do("GET", "/v1/plugins", nil).want(t, 403, nil)
}
