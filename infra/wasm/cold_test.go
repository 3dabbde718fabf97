package wasm

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/core/plugins"
	"github.com/fedele-crm/fedele/core/store/memstore"
)

// coldTimeout is a deadline the guest's own first call keeps easily (about
// 2 ms here) and that compiling the example alone exceeds (about 1 s here,
// with an empty cache): what a fresh Lambda instance sees.
const coldTimeout = 250 * time.Millisecond

// coldDecider is a tenant with leadscore active, deciding on a fresh host
// whose compilation cache is empty.
type coldDecider struct {
	host   *Host
	reg    *plugins.Registry
	runner *plugins.Runner
	svc    *plugins.Service
	good   *Module
	flat   *Module
}

func newColdDecider(t *testing.T, cfg Config) *coldDecider {
	t.Helper()
	ctx := context.Background()
	cfg.CacheDir = filepath.Join(t.TempDir(), "cache")
	d := &coldDecider{host: newHost(t, cfg)}
	d.good = metered(t, "score", readFile(t, "testdata", "plugins", "leadscore.wasm"))
	d.flat = metered(t, "score", readFile(t, "testdata", "plugins", "flatscore.wasm"))
	shelf := &moduleShelf{m: map[string]*Module{}}
	shelf.put("acme", d.good)
	shelf.put("acme", d.flat)
	d.reg = plugins.NewRegistry(memstore.New(), func() time.Time { return testNow })
	engine := NewEngine(d.host, shelf.load)
	d.runner = plugins.NewRunner(d.reg, engine, func(context.Context, string) (int, error) { return 1, nil }, nil)
	d.svc = plugins.NewService(d.reg, nil, nil, engine)
	for _, m := range []struct {
		name string
		mod  *Module
	}{{"leads", d.good}, {"flat", d.flat}} {
		if _, err := d.reg.Add(ctx, "acme", m.name, "score", m.mod.ID, len(m.mod.Code), nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.reg.Activate(ctx, "acme", "leads", 1); err != nil {
		t.Fatal(err)
	}
	return d
}

// decide asks for one record and answers who decided, the failure class if
// any, and the failures the registry recorded against leads.
func (d *coldDecider) decide(t *testing.T) (plugin bool, class string, recorded int) {
	t.Helper()
	ctx := context.Background()
	batch := make([]scoreRecord, 1)
	batch[0].Contact.ID = "c1"
	_, o := plugins.Decide(ctx, d.runner, "acme", "score", batch, builtinScore)
	if o.Failure != nil {
		class = o.Failure.Class
	}
	fs, err := d.reg.Failures(ctx, "acme", "leads", 10)
	if err != nil {
		t.Fatal(err)
	}
	a, _, err := d.reg.Active(ctx, "acme", "score")
	if err != nil {
		t.Fatalf("leads is no longer active: %v", err) // a limit of 1 disables it at the first failure
	}
	return len(o.ByPlugin) == 1 && o.ByPlugin[0], class, len(fs) + a.Failures
}

// A fresh host with an empty cache: its first call compiles and
// instantiates, which takes longer than the deadline, and still succeeds
// and records no failure — the deadline holds the guest's own execution.
// With a failure limit of 1, a false timeout would also disable leads.
func TestColdFirstCallIsNotATimeout(t *testing.T) {
	ctx := context.Background()
	t.Run("host", func(t *testing.T) {
		h := newHost(t, Config{CacheDir: filepath.Join(t.TempDir(), "cache"), Timeout: coldTimeout})
		m := metered(t, "score", readFile(t, "testdata", "plugins", "leadscore.wasm"))
		res, err := h.Run(ctx, Call{Tenant: "t1", Module: m, Input: scoreInput(1), Records: 1, Now: testNow})
		if err != nil {
			t.Fatalf("first call on a cold host: %v (setup %s)", err, res.Setup)
		}
		if res.Setup <= coldTimeout {
			t.Fatalf("compiling took %s, within the deadline of %s: this test proves nothing here", res.Setup, coldTimeout)
		}
		if res.Duration > coldTimeout {
			t.Errorf("the call's duration %s includes more than the guest", res.Duration)
		}
	})
	t.Run("decide", func(t *testing.T) {
		d := newColdDecider(t, Config{Timeout: coldTimeout})
		if plugin, class, recorded := d.decide(t); !plugin || class != "" || recorded != 0 {
			t.Fatalf("first decision: by the plugin %v, failure %q, %d failures recorded; want the plugin's, none", plugin, class, recorded)
		}
	})
}

// Compiling and instantiating have bounds of their own: a call that
// outwaits one is unavailable — the built-in decides and nothing counts
// against the plugin — and the work goes on for the next call.
func TestSetupBoundsAreNotThePluginsFailure(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"compile", Config{CompileTimeout: time.Nanosecond}},
		{"instantiate", Config{InstantiateTimeout: time.Nanosecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newColdDecider(t, tc.cfg)
			if tc.name == "instantiate" {
				// The module compiled; only the instance is late.
				if _, err := d.host.compile(context.Background(), d.good); err != nil {
					t.Fatal(err)
				}
			}
			if plugin, class, recorded := d.decide(t); plugin || class != "unavailable" || recorded != 0 {
				t.Fatalf("over the %s bound: by the plugin %v, failure %q, %d failures recorded; want unavailable, none recorded",
					tc.name, plugin, class, recorded)
			}
			if tc.name == "compile" {
				d.host.mu.Lock()
				e := d.host.compiled[d.good.ID]
				d.host.mu.Unlock()
				if e == nil {
					t.Fatal("the compile stopped with the call")
				}
				<-e.ready
				if e.err != nil {
					t.Fatalf("the compile that went on failed: %v", e.err)
				}
				d.host.cfg.CompileTimeout = time.Minute
				if plugin, class, recorded := d.decide(t); !plugin || class != "" || recorded != 0 {
					t.Fatalf("after the compile: by the plugin %v, failure %q, %d failures recorded", plugin, class, recorded)
				}
			}
		})
	}
}

// Warming at start compiles what the tenant runs — the active version and
// the one in shadow — and readies an instance of each, so that the first
// call does neither.
func TestWarmReadiesWhatTheTenantRuns(t *testing.T) {
	ctx := context.Background()
	d := newColdDecider(t, Config{Timeout: coldTimeout})
	if _, err := d.reg.StartShadow(ctx, "acme", "flat", 1); err != nil {
		t.Fatal(err)
	}
	if err := d.svc.Warm(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if busy, idle := d.host.inUse("acme"); busy != 0 || idle != 2 {
		t.Fatalf("after warming: %d instances busy, %d idle; want 0 and 2 (active and shadow)", busy, idle)
	}
	res, err := d.host.Run(ctx, Call{Tenant: "acme", Module: d.good, Input: scoreInput(1), Records: 1, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	if res.Setup > coldTimeout/10 {
		t.Errorf("the first call after warming spent %s before the guest ran", res.Setup)
	}
	if err := d.svc.Warm(ctx, "nobody"); err != nil {
		t.Errorf("warming a tenant with no plugins: %v", err)
	}
}
