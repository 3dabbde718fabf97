package wasm

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"github.com/google/cel-go/ext"
	"github.com/tetratelabs/wazero"

	"github.com/fedele-crm/fedele/plugins/examples/leadscore"
	"github.com/fedele-crm/fedele/plugins/pdk"
)

// BenchmarkScoring prices a plugin per record. At batch sizes 1, 100 and
// 1000 it scores the same JSON batch seven ways, each from bytes in to
// results out:
//
//   - native: leadscore's logic and the PDK's codec compiled into the host
//     (the baseline: the same Go code the module runs);
//   - native-json: the same logic on encoding/json;
//   - cel: the same rule as a CEL expression (with a host sum function, as
//     CEL has no fold of its own), over records decoded into maps;
//   - plugin: the leadscore module through the host, metered, with its
//     output validated against the contract;
//   - plugin-json: the same plugin built on encoding/json instead of the
//     PDK's codec — what reflection costs inside a module;
//   - unmetered: the plugin without the fuel counter — the price of
//     metering is plugin over unmetered;
//   - wazero-call: one call of a minimal module on bare wazero, spread over
//     the batch — the floor of any Wasm call.
//
// Each row reports ns/record and x-native, its ratio to the native row of
// the same batch size.
//
//	go test ./infra/wasm -run '^$' -bench Scoring -benchmem
func BenchmarkScoring(b *testing.B) {
	ctx := context.Background()
	h := newHost(b, Config{CacheDir: b.TempDir(), FuelPerRecord: 1_000_000})
	raw := readFile(b, "testdata", "plugins", "leadscore.wasm")
	metered, err := h.Prepare(ctx, "score", raw)
	if err != nil {
		b.Fatal(err)
	}
	withJSON, err := h.Prepare(ctx, "score", readFile(b, "testdata", "plugins", "leadscore-json.wasm"))
	if err != nil {
		b.Fatal(err)
	}
	hu := newHost(b, Config{CacheDir: b.TempDir(), FuelPerRecord: 1_000_000})
	hu.allowUnmetered = true
	unmetered := &Module{ID: "unmetered", Kind: "score", Code: raw}
	for _, warm := range []struct {
		h *Host
		m *Module
	}{{h, metered}, {h, withJSON}, {hu, unmetered}} { // compile and instantiate before the clocks start
		if _, err := warm.h.Run(ctx, Call{Tenant: "bench", Module: warm.m, Input: scoreInput(1), Records: 1, Now: testNow}); err != nil {
			b.Fatal(err)
		}
	}
	prog := celScore(b)
	minimal := minimalCall(b)

	for _, n := range []int{1, 100, 1000} {
		input := scoreInput(n)
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			var nativeNs float64
			report := func(b *testing.B) {
				perRecord := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / float64(n)
				b.ReportMetric(perRecord, "ns/record")
				if nativeNs > 0 {
					b.ReportMetric(perRecord/nativeNs, "x-native")
				}
			}
			b.Run("native", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := pdk.ScoreBatch(input, testNow, leadscore.Decide); err != nil {
						b.Fatal(err)
					}
				}
				nativeNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N) / float64(n)
				b.ReportMetric(nativeNs, "ns/record")
			})
			b.Run("native-json", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					var batch []pdk.ScoreRecord
					if err := json.Unmarshal(input, &batch); err != nil {
						b.Fatal(err)
					}
					out := make([]pdk.ScoreResult, len(batch))
					for i := range batch {
						out[i] = leadscore.Decide(&batch[i], testNow)
					}
					if _, err := json.Marshal(out); err != nil {
						b.Fatal(err)
					}
				}
				report(b)
			})
			b.Run("cel", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					var batch []map[string]any
					if err := json.Unmarshal(input, &batch); err != nil {
						b.Fatal(err)
					}
					out := make([]int64, len(batch))
					for i, rec := range batch {
						v, _, err := prog.Eval(map[string]any{"r": rec, "now": testNow})
						if err != nil {
							b.Fatal(err)
						}
						out[i] = v.Value().(int64)
					}
					if _, err := json.Marshal(out); err != nil {
						b.Fatal(err)
					}
				}
				report(b)
			})
			for _, v := range []struct {
				name string
				h    *Host
				m    *Module
			}{{"plugin", h, metered}, {"plugin-json", h, withJSON}, {"unmetered", hu, unmetered}} {
				b.Run(v.name, func(b *testing.B) {
					b.ReportAllocs()
					var fuel int64
					for b.Loop() {
						res, err := v.h.Run(ctx, Call{Tenant: "bench", Module: v.m, Input: input, Records: n, Now: testNow})
						if err != nil {
							b.Fatal(err)
						}
						fuel = res.Fuel
					}
					report(b)
					if v.name != "unmetered" {
						b.ReportMetric(float64(fuel)/float64(n), "fuel/record")
					}
				})
			}
			b.Run("wazero-call", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					minimal()
				}
				report(b)
			})
		})
	}
}

// celScore is leadscore's rule in CEL, checked against the native score
// of the benchmark's records so that both do the same work.
func celScore(b *testing.B) cel.Program {
	env, err := cel.NewEnv(
		ext.Math(),
		cel.Variable("r", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("now", cel.TimestampType),
		cel.Function("sum", cel.Overload("sum_list_double", []*cel.Type{cel.ListType(cel.DoubleType)}, cel.DoubleType,
			cel.UnaryBinding(func(v ref.Val) ref.Val {
				total := 0.0
				for it := v.(traits.Lister).Iterator(); it.HasNext() == types.True; {
					total += float64(it.Next().(types.Double))
				}
				return types.Double(total)
			}))),
	)
	if err != nil {
		b.Fatal(err)
	}
	ast, iss := env.Compile(`
		(has(r.contact.emails) && size(r.contact.emails) > 0 ? 10 : 0)
		+ (has(r.contact.phones) && size(r.contact.phones) > 0 ? 5 : 0)
		+ (has(r.contact.lifecycle_stage) ? (r.contact.lifecycle_stage == "mql" ? 10 : (r.contact.lifecycle_stage == "sql" ? 15 : 0)) : 0)
		+ (has(r.contact.tags) && "decision-maker" in r.contact.tags ? 20 : 0)
		+ (has(r.company) && r.company != null && has(r.company.size)
			? (r.company.size in ["1001-5000", "5001-10000", "10001+"] ? 25 : (r.company.size in ["51-200", "201-500", "501-1000"] ? 15 : 0)) : 0)
		+ int(math.least(40.0,
			sum(has(r.activities) ? r.activities.map(a,
				(a.type == "meeting" ? 10.0 : (a.type == "call" ? 6.0 : 2.0))
				* 30.0 / (30.0 + math.greatest(0.0, double((now - timestamp(a.at)).getSeconds()) / 86400.0))) : [])
			+ (has(r.orders) && has(r.orders.count) && r.orders.count > 0.0 ? 15.0 : 0.0)))`)
	if iss.Err() != nil {
		b.Fatal(iss.Err())
	}
	prog, err := env.Program(ast)
	if err != nil {
		b.Fatal(err)
	}
	var maps []map[string]any
	var recs []pdk.ScoreRecord
	in := scoreInput(3)
	if json.Unmarshal(in, &maps) != nil || json.Unmarshal(in, &recs) != nil {
		b.Fatal("decode the benchmark's records")
	}
	for i := range recs {
		v, _, err := prog.Eval(map[string]any{"r": maps[i], "now": testNow})
		if err != nil {
			b.Fatal(err)
		}
		if want := leadscore.Decide(&recs[i], testNow).Score; v.Value().(int64) != int64(want) {
			b.Fatalf("CEL scores %v, native %d: not the same rule", v.Value(), want)
		}
	}
	return prog
}

// minimalCall returns one call of an exported function that does nothing,
// on bare wazero.
func minimalCall(b *testing.B) func() {
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	b.Cleanup(func() { _ = rt.Close(ctx) })
	// (module (func (export "f") (result i32) i32.const 0))
	mod, err := rt.Instantiate(ctx, []byte{0, 'a', 's', 'm', 1, 0, 0, 0,
		1, 5, 1, 0x60, 0, 1, 0x7f, 3, 2, 1, 0, 7, 5, 1, 1, 'f', 0, 0, 10, 6, 1, 4, 0, 0x41, 0, 0x0b})
	if err != nil {
		b.Fatal(err)
	}
	f := mod.ExportedFunction("f")
	return func() {
		if _, err := f.Call(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompile prices getting a module ready to run: compiling it cold
// beside loading it from the on-disk compilation cache that a previous
// process (here, a previous host) left — what a new Lambda instance on a
// warm /tmp pays instead of compiling.
//
//	go test ./infra/wasm -run '^$' -bench Compile -benchtime 5x
func BenchmarkCompile(b *testing.B) {
	ctx := context.Background()
	raw := readFile(b, "testdata", "plugins", "leadscore.wasm")
	seed := newHost(b, Config{CompileInProcess: true, CacheDir: b.TempDir()})
	m, err := seed.Prepare(ctx, "score", raw)
	if err != nil {
		b.Fatal(err)
	}
	warmDir := seed.Config().CacheDir
	for _, tc := range []struct {
		name string
		dir  func() string
	}{{"cold", func() string { return b.TempDir() }}, {"cache", func() string { return warmDir }}} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				h, err := New(Config{CacheDir: tc.dir()})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := h.compile(ctx, m); err != nil {
					b.Fatal(err)
				}
				_ = h.Close(ctx)
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/module")
		})
	}
}

// BenchmarkAcquire prices getting an instance for a call: from the pool,
// as every call after a tenant's first does, beside instantiating a new
// one, as the first call and every call after a failure do.
//
//	go test ./infra/wasm -run '^$' -bench Acquire -benchmem
func BenchmarkAcquire(b *testing.B) {
	ctx := context.Background()
	h := newHost(b, Config{CacheDir: b.TempDir()})
	m, err := h.Prepare(ctx, "score", readFile(b, "testdata", "plugins", "leadscore.wasm"))
	if err != nil {
		b.Fatal(err)
	}
	cp, err := h.compile(ctx, m)
	if err != nil {
		b.Fatal(err)
	}
	p, err := h.pool(poolKey{tenant: "bench", module: m.ID}, cp)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("pooled", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			inst, err := p.acquire(ctx)
			if err != nil {
				b.Fatal(err)
			}
			p.release(ctx, inst, true)
		}
	})
	b.Run("new", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			inst, err := p.acquire(ctx)
			if err != nil {
				b.Fatal(err)
			}
			p.release(ctx, inst, false)
		}
	})
}
