package wasm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLeadscoreThroughTheHost(t *testing.T) {
	ctx := context.Background()
	h := newHost(t, Config{CacheDir: t.TempDir()})
	m, err := h.Prepare(ctx, "score", readFile(t, "testdata", "plugins", "leadscore.wasm"))
	if err != nil {
		t.Fatalf("prepare leadscore: %v", err)
	}
	call := Call{Tenant: "t1", Module: m, Input: scoreInput(3), Records: 3, Now: testNow, Seed: 7}
	first, err := h.Run(ctx, call)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	var got []struct {
		Score   int      `json:"score"`
		Reasons []string `json:"reasons"`
		Tags    []string `json:"tags"`
	}
	if err := json.Unmarshal(first.Output, &got); err != nil {
		t.Fatalf("output %s: %v", first.Output, err)
	}
	if len(got) != 3 || got[0].Score != 80 || !slicesContain(got[0].Tags, "enterprise") {
		t.Errorf("scores = %+v, want 3 of 80 (55 fit + 25 engagement, by hand) with the enterprise tag", got)
	}
	if first.Fuel <= 0 || first.Fuel > h.Config().Budget(3) || first.MemoryBytes == 0 {
		t.Errorf("fuel %d of %d, memory %d: the call was not measured", first.Fuel, h.Config().Budget(3), first.MemoryBytes)
	}
	// The clock is the host's: the same call replays to the same answer and
	// the same cost, on a warm instance as on a fresh one.
	again, err := h.Run(ctx, call)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Output, first.Output) {
		t.Errorf("replay answered %s, first %s", again.Output, first.Output)
	}
	later := call
	later.Now = testNow.AddDate(1, 0, 0)
	aged, err := h.Run(ctx, later)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(aged.Output, first.Output) {
		t.Errorf("a year later the activities did not decay: %s", aged.Output)
	}
}

func slicesContain(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// The compilation cache is on disk: the upload's compile (in the child)
// fills it, and a new host — a new process on the same disk — runs the
// module from it. That loading is faster than compiling is measured, not
// asserted: BenchmarkCompile, 54 ms against 1.3 s here.
func TestCompilationCacheSurvivesTheHost(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	raw := readFile(t, "testdata", "plugins", "leadscore.wasm")
	h1 := newHost(t, Config{CacheDir: dir})
	m, err := h1.Prepare(ctx, "score", raw)
	if err != nil {
		t.Fatal(err)
	}
	_ = h1.Close(ctx)
	var files int
	_ = filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files++
		}
		return nil
	})
	if files == 0 {
		t.Fatalf("nothing in the compilation cache %s after an upload", dir)
	}
	h2 := newHost(t, Config{CacheDir: dir})
	if _, err := h2.Run(ctx, Call{Tenant: "t1", Module: m, Input: scoreInput(1), Records: 1, Now: testNow}); err != nil {
		t.Fatalf("run from the cache: %v", err)
	}
}

// Instances keep state between calls (Go globals, extism vars), so a
// tenant's instance never serves another tenant and a failed one is thrown
// away.
func TestInstancesAreNeverShared(t *testing.T) {
	ctx := context.Background()
	h := newHost(t, Config{CompileInProcess: true, PoolSize: 1})
	m := metered(t, "score", readFile(t, "testdata", "hostile", "stateful.wasm"))
	call := func(tenant string, input []byte) (string, error) {
		res, err := h.Run(ctx, Call{Tenant: tenant, Module: m, Input: input, Records: 1, Now: testNow})
		return string(res.Output), err
	}
	small := []byte(`[{"contact":{"id":"c1"}}]`)
	big := []byte(`[{"contact":{"id":"` + strings.Repeat("x", 2000) + `"}}]`)
	var got []string
	for _, step := range []struct {
		tenant string
		input  []byte
	}{{"a", small}, {"a", small}, {"b", small}, {"a", small}, {"a", big}, {"a", small}, {"b", small}} {
		out, err := call(step.tenant, step.input)
		if err != nil {
			out = string(ClassOf(err))
		}
		got = append(got, step.tenant+":"+out)
	}
	want := []string{
		`a:[{"score":1}]`, `a:[{"score":2}]`, `b:[{"score":1}]`, `a:[{"score":3}]`,
		"a:trap", `a:[{"score":1}]`, `b:[{"score":2}]`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

func TestRunRefusesUnmeteredModules(t *testing.T) {
	h := newHost(t, Config{CompileInProcess: true})
	raw := readFile(t, "testdata", "hostile", "infinite_loop.wasm")
	_, err := h.Run(context.Background(), Call{Tenant: "t", Module: &Module{ID: "x", Kind: "score", Code: raw}, Input: []byte("[]")})
	if ClassOf(err) != ClassLimit {
		t.Fatalf("an unmetered module ran: %v", err)
	}
}

func TestLogsAreCapped(t *testing.T) {
	ctx := context.Background()
	h := newHost(t, Config{CompileInProcess: true, MaxLogBytes: 1000})
	m := metered(t, "score", readFile(t, "testdata", "hostile", "chatty.wasm"))
	res, err := h.Run(ctx, Call{Tenant: "t", Module: m, Input: []byte(`[{"contact":{"id":"c"}}]`), Records: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Logs) < 10 || res.Logs[0] != "stdout: hello from the plugin" {
		t.Fatalf("logs %q: the plugin's stdout was not kept", res.Logs)
	}
	if size := len(strings.Join(res.Logs, "")); size > 1000+64 || res.Logs[len(res.Logs)-1] != "(logs cut at the cap)" {
		t.Errorf("%d bytes of logs ending %q: not cut at the cap", size, res.Logs[len(res.Logs)-1])
	}
}

func TestConcurrentCallsOfOneTenantShareThePool(t *testing.T) {
	ctx := context.Background()
	h := newHost(t, Config{CacheDir: t.TempDir(), PoolSize: 2})
	m, err := h.Prepare(ctx, "score", readFile(t, "testdata", "plugins", "leadscore.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			res, err := h.Run(ctx, Call{Tenant: "t", Module: m, Input: scoreInput(2), Records: 2, Now: testNow})
			if err == nil && !bytes.HasPrefix(res.Output, []byte(`[{"score":`)) {
				err = fmt.Errorf("call %d: output %s", i, res.Output)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if busy, idle := h.inUse("t"); busy != 0 || idle > 2 {
		t.Errorf("after the calls: %d busy, %d idle, want 0 and at most the pool size", busy, idle)
	}
}

// The guest's randomness is the call's seed: the same seed replays the same
// answer, and the seeds a host hands out differ.
func TestRandomnessIsTheHosts(t *testing.T) {
	ctx := context.Background()
	h := newHost(t, Config{CompileInProcess: true})
	m := metered(t, "score", readFile(t, "testdata", "hostile", "random_score.wasm"))
	in := []byte(`[{"contact":{"id":"c"}}]`)
	answers := map[string]bool{}
	for seed := range uint64(8) {
		var first string
		for range 2 {
			res, err := h.Run(ctx, Call{Tenant: "t", Module: m, Input: in, Records: 1, Seed: seed})
			if err != nil {
				t.Fatal(err)
			}
			if first == "" {
				first = string(res.Output)
			} else if string(res.Output) != first {
				t.Fatalf("seed %d answered %s, then %s", seed, first, res.Output)
			}
		}
		answers[first] = true
	}
	if len(answers) < 4 {
		t.Errorf("8 seeds gave %d answers: the randomness is not the seed's", len(answers))
	}
}

// A plugin's memory goes back when its instance is thrown away: after many
// calls that each grow an instance to the cap, the host's heap is where it
// was (wazero's linear memory is Go memory).
func TestHostileMemoryIsReturned(t *testing.T) {
	ctx := context.Background()
	h := newHost(t, Config{CompileInProcess: true})
	m := metered(t, "score", readFile(t, "testdata", "hostile", "memory_growth.wasm"))
	fixture, n, _ := Fixture("score")
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	run := func() {
		if _, err := h.Run(ctx, Call{Tenant: "t", Module: m, Input: fixture, Records: n}); ClassOf(err) != ClassMemory {
			t.Fatalf("err = %v", err)
		}
	}
	run() // compile once
	before := heap()
	for range 10 {
		run()
	}
	after := heap()
	capBytes := uint64(h.Config().MemoryPages) * pageSize
	if after > before+capBytes {
		t.Errorf("heap grew from %d MiB to %d MiB over 10 calls that each reached the %d MiB cap", before>>20, after>>20, capBytes>>20)
	}
}

// Forgetting a module while a call runs it lets the call finish on its
// code, and the next call compiles it again.
func TestForgetWhileRunning(t *testing.T) {
	ctx := context.Background()
	h := newHost(t, Config{CompileInProcess: true, FuelBase: 3_000_000_000})
	m := metered(t, "score", readFile(t, "testdata", "hostile", "infinite_loop.wasm"))
	fixture, n, _ := Fixture("score")
	done := make(chan error, 1)
	go func() {
		_, err := h.Run(ctx, Call{Tenant: "t", Module: m, Input: fixture, Records: n})
		done <- err
	}()
	deadline := time.Now().Add(30 * time.Second)
	for busy, _ := h.inUse("t"); busy == 0; busy, _ = h.inUse("t") {
		if time.Now().After(deadline) {
			t.Fatal("the call never started")
		}
		runtime.Gosched()
	}
	h.Forget(ctx, m.ID)
	if err := <-done; ClassOf(err) != ClassFuel {
		t.Fatalf("the running call: %v", err)
	}
	if busy, idle := h.inUse("t"); busy+idle != 0 {
		t.Errorf("%d busy, %d idle after Forget", busy, idle)
	}
	if _, err := h.Run(ctx, Call{Tenant: "t", Module: m, Input: fixture, Records: n}); ClassOf(err) != ClassFuel {
		t.Fatalf("after Forget: %v", err)
	}
}

// A call that held compiled code before Forget dropped it must not leave a
// pool on that code for later calls: the code closes when its last call
// ends, and every call after would instantiate on a closed runtime. (The
// hostile corpus met it: the upload of a module whose fixture run fails
// forgets the bytes a flooding tenant was running.)
func TestForgetBetweenHoldAndPool(t *testing.T) {
	ctx := context.Background()
	h := newHost(t, Config{CompileInProcess: true})
	m := metered(t, "score", readFile(t, "testdata", "plugins", "leadscore.wasm"))
	in := scoreInput(2)
	if _, err := h.Run(ctx, Call{Tenant: "t", Module: m, Input: in, Records: 2, Now: testNow}); err != nil {
		t.Fatal(err)
	}
	// The interleaving, step by step: a call holds the code, Forget drops
	// it, the call then asks for its pool, runs and ends.
	e, err := h.hold(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	h.Forget(ctx, m.ID)
	p, err := h.pool(poolKey{tenant: "t", module: m.ID}, e.cp)
	if err != nil {
		t.Fatal(err)
	}
	if !p.forgotten.Load() {
		t.Error("a pool on forgotten code keeps its instances")
	}
	h.mu.Lock()
	registered := h.pools[poolKey{tenant: "t", module: m.ID}] == p
	h.mu.Unlock()
	if registered {
		t.Error("a pool on forgotten code was registered for later calls")
	}
	h.done(ctx, e) // the last hold: the old code closes now
	for i := range 3 {
		if _, err := h.Run(ctx, Call{Tenant: "t", Module: m, Input: in, Records: 2, Now: testNow}); err != nil {
			t.Fatalf("call %d after the old code closed: %v", i, err)
		}
	}
}
