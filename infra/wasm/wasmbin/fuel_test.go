package wasmbin_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	fuel "github.com/fedele-crm/fedele/infra/wasm/wasmbin"
)

// Hand-assembled modules: the metering must hold for any module, so the
// tests pin the exact bytes rather than trust a toolchain.

func sec(id byte, body ...byte) []byte {
	return append(append([]byte{id}, binary.AppendUvarint(nil, uint64(len(body)))...), body...)
}

func vec(items ...[]byte) []byte {
	out := binary.AppendUvarint(nil, uint64(len(items)))
	for _, it := range items {
		out = append(out, it...)
	}
	return out
}

func name(s string) []byte { return append(binary.AppendUvarint(nil, uint64(len(s))), s...) }

func body(locals []byte, code ...byte) []byte {
	b := append(append([]byte(nil), locals...), code...)
	return append(binary.AppendUvarint(nil, uint64(len(b))), b...)
}

// module is one function of type typ, exported as export.
func module(typ []byte, fnBody []byte, export string, extra ...[]byte) []byte {
	m := []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}
	m = append(m, sec(1, vec(typ)...)...)
	for _, e := range extra {
		m = append(m, e...)
	}
	m = append(m, sec(3, vec([]byte{0x00})...)...)
	m = append(m, sec(7, vec(append(name(export), 0x00, 0x00))...)...)
	m = append(m, sec(10, vec(fnBody)...)...)
	return m
}

var (
	voidType   = []byte{0x60, 0x00, 0x00}
	i32Void    = []byte{0x60, 0x01, 0x7F, 0x00}
	i32ToI32   = []byte{0x60, 0x01, 0x7F, 0x01, 0x7F}
	noLocals   = []byte{0x00}
	infinite   = module(voidType, body(noLocals, 0x03, 0x40, 0x0C, 0x00, 0x0B, 0x0B), "run")
	exponental = module(i32Void, body(noLocals,
		0x20, 0x00, 0x04, 0x40, // if (local.get 0)
		0x20, 0x00, 0x41, 0x01, 0x6B, 0x10, 0x00, // call $self (n-1)
		0x20, 0x00, 0x41, 0x01, 0x6B, 0x10, 0x00, // call $self (n-1)
		0x0B, 0x0B), "run")
	sum = module(i32ToI32, body([]byte{0x01, 0x01, 0x7F},
		0x02, 0x40, 0x03, 0x40,
		0x20, 0x00, 0x45, 0x0D, 0x01, // br_if 1 (n == 0)
		0x20, 0x01, 0x20, 0x00, 0x6A, 0x21, 0x01, // acc += n
		0x20, 0x00, 0x41, 0x01, 0x6B, 0x21, 0x00, // n--
		0x0C, 0x00, 0x0B, 0x0B,
		0x20, 0x01, 0x0B), "run")
)

// call instruments m, fills its tank with budget and calls run(args).
func call(t *testing.T, m []byte, budget uint64, args ...uint64) (results []uint64, left int64, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a backstop only
	defer cancel()
	metered, err := fuel.Instrument(m)
	if err != nil {
		t.Fatalf("instrument: %v", err)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCloseOnContextDone(true))
	defer rt.Close(ctx)
	if _, err := rt.InstantiateWithConfig(ctx, envModule, wazero.NewModuleConfig().WithName("env")); err != nil {
		t.Fatal(err)
	}
	mod, err := rt.Instantiate(ctx, metered)
	if err != nil {
		t.Fatalf("instantiate the metered module: %v", err)
	}
	tank := mod.ExportedGlobal(fuel.ExportName).(api.MutableGlobal)
	tank.Set(budget)
	results, err = mod.ExportedFunction("run").Call(ctx, args...)
	if ctx.Err() != nil {
		t.Fatalf("the call ran into the wall-clock backstop: metering did not stop it")
	}
	return results, int64(tank.Get()), err
}

// envModule exports a global, for modules that import one.
var envModule = func() []byte {
	m := []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}
	m = append(m, sec(6, vec([]byte{0x7F, 0x00, 0x41, 0x07, 0x0B})...)...)
	return append(m, sec(7, vec(append(name("g"), 0x03, 0x00))...)...)
}()

func TestRunawayModulesRunOutOfFuel(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    []byte
		args []uint64
	}{
		{"infinite loop", infinite, nil},
		{"exponential recursion without a loop", exponental, []uint64{64}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, left, err := call(t, tc.m, 10_000_000, tc.args...)
			if err == nil || !strings.Contains(err.Error(), "unreachable") {
				t.Fatalf("err %v, want a trap when the fuel runs out", err)
			}
			if left >= 0 {
				t.Errorf("tank at %d after the trap, want below zero", left)
			}
		})
	}
}

func TestMeteredCodeStillComputesAndCostsTheSameEveryTime(t *testing.T) {
	res, left, err := call(t, sum, 1_000_000, 100)
	if err != nil || res[0] != 5050 {
		t.Fatalf("sum(100) = %v, %v", res, err)
	}
	used := 1_000_000 - left
	if _, left2, _ := call(t, sum, 1_000_000, 100); 1_000_000-left2 != used {
		t.Errorf("fuel used %d then %d: not deterministic", used, 1_000_000-left2)
	}
	_, left3, _ := call(t, sum, 1_000_000, 200)
	if more := 1_000_000 - left3; more <= used {
		t.Errorf("sum(200) used %d fuel, sum(100) %d: fuel does not follow work", more, used)
	}
	if _, _, err := call(t, sum, uint64(used-1), 100); err == nil {
		t.Error("one unit short of the budget still ran to the end")
	}
}

func TestGlobalIndexesAreKept(t *testing.T) {
	// One imported and one defined global: the tank must come after both.
	imp := sec(2, vec(append(append(name("env"), name("g")...), 0x03, 0x7F, 0x00))...)
	glob := sec(6, vec([]byte{0x7F, 0x00, 0x41, 0x2A, 0x0B})...)
	m := []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}
	m = append(m, sec(1, vec([]byte{0x60, 0x00, 0x01, 0x7F})...)...)
	m = append(m, imp...)
	m = append(m, sec(3, vec([]byte{0x00})...)...)
	m = append(m, glob...)
	m = append(m, sec(7, vec(append(name("run"), 0x00, 0x00))...)...)
	// global.get 0 (imported, 7) + global.get 1 (defined, 42)
	m = append(m, sec(10, vec(body(noLocals, 0x23, 0x00, 0x23, 0x01, 0x6A, 0x0B))...)...)
	res, _, err := call(t, m, 1000)
	if err != nil || res[0] != 49 {
		t.Fatalf("run = %v, %v; want 49", res, err)
	}
}

func TestStartFunctionTrapsBeforeTheHostFillsTheTank(t *testing.T) {
	m := []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}
	m = append(m, sec(1, vec(voidType)...)...)
	m = append(m, sec(3, vec([]byte{0x00})...)...)
	m = append(m, sec(8, 0x00)...) // start: function 0
	m = append(m, sec(10, vec(body(noLocals, 0x03, 0x40, 0x0C, 0x00, 0x0B, 0x0B))...)...)
	metered, err := fuel.Instrument(m)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	if _, err := rt.Instantiate(ctx, metered); err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("a never-ending start function: %v, want an immediate trap", err)
	}
}

func TestRefusesWhatItCannotMeter(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    []byte
		want error
	}{
		{"not wasm", []byte("hello, world"), fuel.ErrMalformed},
		{"truncated", infinite[:len(infinite)-3], fuel.ErrMalformed},
		{"unknown opcode", module(voidType, body(noLocals, 0xF5, 0x0B), "run"), fuel.ErrUnsupported},
		{"unbalanced blocks", module(voidType, body(noLocals, 0x02, 0x40, 0x0B), "run"), fuel.ErrMalformed},
	} {
		if _, err := fuel.Instrument(tc.m); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

func FuzzInstrument(f *testing.F) {
	for _, m := range [][]byte{infinite, exponental, sum, envModule} {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, m []byte) {
		_, _ = fuel.Check(m, fuel.DefaultLimits()) // must not panic or hang
		metered, err := fuel.Instrument(m)
		if err != nil {
			return
		}
		// What it accepts and changes must still be a module wazero reads,
		// whenever wazero read the original.
		ctx := context.Background()
		rt := wazero.NewRuntime(ctx)
		defer rt.Close(ctx)
		if _, err := rt.CompileModule(ctx, m); err != nil {
			return
		}
		if _, err := rt.CompileModule(ctx, metered); err != nil {
			t.Fatalf("the original compiles, the metered one does not: %v", err)
		}
	})
}

var (
	probeOnce sync.Once
	probe     []byte
	probeErr  error
)

// goProbe is testdata/goprobe built for wasip1, once per test process.
func goProbe(tb testing.TB) []byte {
	tb.Helper()
	probeOnce.Do(func() {
		dir, err := os.MkdirTemp("", "goprobe")
		if err != nil {
			probeErr = err
			return
		}
		defer os.RemoveAll(dir)
		wasm := filepath.Join(dir, "probe.wasm")
		build := exec.Command("go", "build", "-o", wasm, "./testdata/goprobe")
		build.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if out, err := build.CombinedOutput(); err != nil {
			probeErr = fmt.Errorf("build: %v\n%s", err, out)
			return
		}
		probe, probeErr = os.ReadFile(wasm)
	})
	if probeErr != nil {
		tb.Fatal(probeErr)
	}
	return probe
}

// TestGoBuiltModule meters a real Go program (wasip1): it must run exactly
// as before with enough fuel, and stop with too little.
func TestGoBuiltModule(t *testing.T) {
	raw := goProbe(t)
	metered, err := fuel.Instrument(raw)
	if err != nil {
		t.Fatalf("instrument a %d-byte Go module: %v", len(raw), err)
	}
	run := func(m []byte, budget uint64) (string, error) {
		ctx := context.Background()
		rt := wazero.NewRuntime(ctx)
		defer rt.Close(ctx)
		wasi_snapshot_preview1.MustInstantiate(ctx, rt)
		var out bytes.Buffer
		mod, err := rt.InstantiateWithConfig(ctx, m, wazero.NewModuleConfig().WithStdout(&out).WithStartFunctions())
		if err != nil {
			return "", err
		}
		if g, ok := mod.ExportedGlobal(fuel.ExportName).(api.MutableGlobal); ok {
			g.Set(budget)
		}
		_, err = mod.ExportedFunction("_start").Call(ctx)
		var exit *sys.ExitError
		if errors.As(err, &exit) && exit.ExitCode() == 0 {
			err = nil
		}
		return out.String(), err
	}
	want, err := run(raw, 0)
	if err != nil || want == "" {
		t.Fatalf("unmetered run: %q %v", want, err)
	}
	got, err := run(metered, 1<<40)
	if err != nil || got != want {
		t.Fatalf("metered run: %q %v, want %q", got, err, want)
	}
	if _, err := run(metered, 10_000); err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("with 10 000 fuel: %v, want a trap", err)
	}
}

// BenchmarkMeteringCost runs the Go probe program with and without fuel
// metering, each compiled once, and reports the metered run's slowdown.
//
//	go test ./infra/wasm/fuel -run '^$' -bench MeteringCost
func BenchmarkMeteringCost(b *testing.B) {
	raw := goProbe(b)
	metered, err := fuel.Instrument(raw)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	var plainNs float64
	for _, v := range []struct {
		name string
		m    []byte
	}{{"plain", raw}, {"metered", metered}} {
		compiled, err := rt.CompileModule(ctx, v.m)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(v.name, func(b *testing.B) {
			for b.Loop() {
				mod, err := rt.InstantiateModule(ctx, compiled, wazero.NewModuleConfig().WithName("").WithStartFunctions())
				if err != nil {
					b.Fatal(err)
				}
				if g, ok := mod.ExportedGlobal(fuel.ExportName).(api.MutableGlobal); ok {
					g.Set(1 << 40)
				}
				_, err = mod.ExportedFunction("_start").Call(ctx)
				var exit *sys.ExitError
				if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 0) {
					b.Fatal(err)
				}
				mod.Close(ctx)
			}
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			if v.name == "plain" {
				plainNs = ns
			} else if plainNs > 0 {
				b.ReportMetric(ns/plainNs, "x-plain")
			}
			b.ReportMetric(float64(len(v.m))/1e6, "MB-module")
		})
	}
}
