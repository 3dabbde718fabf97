// Package wasm runs tenants' WebAssembly plugins inside the process, on
// extism's go-sdk over wazero, and validates the modules they upload.
//
// Safety comes first. A module runs only in the metered form that
// wasmbin.Instrument gives it at upload, so every call ends within its
// instruction budget whatever the module does; a wall-clock deadline is kept
// only as a backstop. Memory, output and logs are capped per call. The guest
// sees no filesystem, network or environment, and its clock, sleep and
// randomness are the host's: a call can be replayed with the same Now and
// Seed and gives the same answer. Instances are pooled per (tenant, module),
// serve one call at a time, are never shared between tenants and are thrown
// away after any failure, because Go globals and extism vars survive
// between calls on one instance.
//
// Every failure is a *Failure with a Class. This package must never let a
// plugin's failure escape as a panic, and never run a module that is not
// metered.
package wasm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	extism "github.com/extism/go-sdk"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/sys"

	"github.com/fedele-crm/fedele/core/plugins"
	"github.com/fedele-crm/fedele/infra/wasm/wasmbin"
	"github.com/fedele-crm/fedele/schemas"
)

const pageSize = 64 << 10

// Config holds the caps of every call. The zero value of a field takes its
// default.
type Config struct {
	// CacheDir keeps compiled code on disk (wazero's compilation cache), so a
	// new process on the same disk loads a module instead of compiling it.
	// Empty keeps compiled code in memory only.
	CacheDir string

	MemoryPages    uint32 // per instance, in 64 KiB pages; default 1024 (64 MiB)
	MaxOutputBytes int    // default 4 MiB
	MaxLogBytes    int    // default 16 KiB, stdout, stderr and extism logs together
	FuelBase       int64  // fuel for a call, before its records; default 20 million
	FuelPerRecord  int64  // default 200 000
	// Timeout is the wall-clock backstop on the guest's own execution: the
	// call alone, never the compile or the instantiation before it, which a
	// cold process pays on its first call and which are not the plugin's
	// doing. Default 2 s.
	Timeout  time.Duration
	PoolSize int // instances per (tenant, module); default 4
	// CompileInProcess makes Prepare compile in this process instead of in
	// a child bounded in time and memory: for hosts that cannot start one.
	CompileInProcess bool
	// CompileTimeout bounds a compile: the upload's child, and how long a
	// call waits for a module to compile (it was compiled within this at
	// upload). A call that waits longer is unavailable, not the plugin's
	// failure. Default 20 s.
	CompileTimeout time.Duration
	// InstantiateTimeout bounds how long a call waits for a new instance;
	// past it the call is unavailable, not the plugin's failure. Default 5 s.
	InstantiateTimeout time.Duration
	CompileMemory      uint64 // the child's data segment (RLIMIT_DATA); default 1 GiB
	MaxIdle            int    // idle instances kept across all pools; default 64
}

func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.MaxOutputBytes, 4<<20)
	def(&c.MaxLogBytes, 16<<10)
	def(&c.PoolSize, 4)
	def(&c.MaxIdle, 64)
	if c.MemoryPages == 0 {
		c.MemoryPages = 1024
	}
	if c.FuelBase <= 0 {
		c.FuelBase = 20_000_000
	}
	if c.FuelPerRecord <= 0 {
		c.FuelPerRecord = 200_000
	}
	if c.CompileTimeout <= 0 {
		c.CompileTimeout = 20 * time.Second
		if raceBuild {
			c.CompileTimeout *= 20
		}
	}
	if c.InstantiateTimeout <= 0 {
		c.InstantiateTimeout = 5 * time.Second
		if raceBuild {
			c.InstantiateTimeout *= 10
		}
	}
	if c.CompileMemory == 0 {
		c.CompileMemory = 1 << 30
		if raceBuild {
			c.CompileMemory *= 8
		}
	}
	if c.Timeout <= 0 {
		c.Timeout = 2 * time.Second
		if raceBuild {
			// wazero's own Go code runs instrumented too: a first call,
			// which starts the guest's runtime, took over 2 s on a loaded
			// 2-core machine. Fuel, not this backstop, is what the tests
			// hold plugins to.
			c.Timeout *= 10
		}
	}
	return c
}

// Budget is the fuel a call on records records gets.
func (c Config) Budget(records int) int64 {
	c = c.withDefaults()
	return c.FuelBase + c.FuelPerRecord*int64(max(records, 1))
}

// Module is a validated, metered module: what Prepare returns and what a
// version of a plugin stores. ID is the SHA-256 of the bytes the tenant
// uploaded, in hex; Code is their metered form.
type Module struct {
	ID   string
	Kind plugins.Kind
	Code []byte
}

// Call is one plugin call.
type Call struct {
	Tenant  string
	Module  *Module
	Input   []byte // the JSON batch
	Records int    // how many records Input holds
	Now     time.Time
	Seed    uint64 // the guest's randomness
}

// Result is what a call returned and what it cost. A failed call fills it
// as far as it got.
type Result struct {
	Output []byte
	Fuel   int64
	// Duration is the guest's own execution, what the deadline holds it to;
	// Setup is the compiling and instantiating before it, which a warm
	// module and a pooled instance skip.
	Duration    time.Duration
	Setup       time.Duration
	MemoryBytes uint64
	Logs        []string
}

// Host compiles, pools and calls plugins.
type Host struct {
	cfg   Config
	cache wazero.CompilationCache

	mu       sync.Mutex
	compiled map[string]*compiledEntry
	pools    map[poolKey]*pool
	closed   bool
	idle     atomic.Int64

	allowUnmetered bool // for the benchmark that prices the metering, only
}

type compiledEntry struct {
	// ready is closed when the compile has ended, cp or err set: the compile
	// runs on its own, so a caller can stop waiting at its bound and the
	// next call finds the work done.
	ready chan struct{}
	cp    *extism.CompiledPlugin
	err   error

	// Closing compiled code while a call runs it would pull the code from
	// under the call: Forget only marks the entry, and the last call out
	// closes it. Both fields are guarded by Host.mu.
	inflight  int
	forgotten bool
}

// New returns a host with cfg's caps.
func New(cfg Config) (*Host, error) {
	cfg = cfg.withDefaults()
	h := &Host{cfg: cfg, compiled: map[string]*compiledEntry{}, pools: map[poolKey]*pool{}}
	if cfg.CacheDir != "" {
		c, err := wazero.NewCompilationCacheWithDir(cfg.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("compilation cache in %s: %w", cfg.CacheDir, err)
		}
		h.cache = c
	} else {
		h.cache = wazero.NewCompilationCache()
	}
	return h, nil
}

// Config returns the host's caps, defaults filled in.
func (h *Host) Config() Config { return h.cfg }

// Close releases every instance and compiled module.
func (h *Host) Close(ctx context.Context) error {
	h.mu.Lock()
	h.closed = true
	pools, compiled := h.pools, h.compiled
	h.pools, h.compiled = map[poolKey]*pool{}, map[string]*compiledEntry{}
	h.mu.Unlock()
	for _, p := range pools {
		p.drain(ctx)
	}
	var errs []error
	for _, e := range compiled {
		<-e.ready // a compile under way is bounded; its code must not outlive the host
		if e.cp != nil {
			errs = append(errs, e.cp.Close(ctx))
		}
	}
	errs = append(errs, h.cache.Close(ctx))
	return errors.Join(errs...)
}

// Forget drops the compiled module and every pooled instance of id, as when
// a version is deleted or disabled. Calls running it finish first.
func (h *Host) Forget(ctx context.Context, id string) {
	h.mu.Lock()
	var drop []*pool
	for k, p := range h.pools {
		if k.module == id {
			p.forgotten.Store(true) // instances in use are closed on release
			drop = append(drop, p)
			delete(h.pools, k)
		}
	}
	e := h.compiled[id]
	delete(h.compiled, id)
	closeNow := false
	if e != nil {
		e.forgotten = true
		closeNow = e.inflight == 0
	}
	h.mu.Unlock()
	for _, p := range drop {
		p.drain(ctx)
	}
	if closeNow && e.cp != nil {
		_ = e.cp.Close(ctx)
	}
}

// done ends a call's hold on compiled code, closing it if it was forgotten
// meanwhile.
func (h *Host) done(ctx context.Context, e *compiledEntry) {
	h.mu.Lock()
	e.inflight--
	closeNow := e.forgotten && e.inflight == 0
	h.mu.Unlock()
	if closeNow && e.cp != nil {
		_ = e.cp.Close(context.WithoutCancel(ctx))
	}
}

func (h *Host) runtimeConfig() wazero.RuntimeConfig {
	return wazero.NewRuntimeConfigCompiler().
		WithCompilationCache(h.cache).
		WithMemoryLimitPages(h.cfg.MemoryPages)
}

// compile returns the compiled form of m, compiling it once per ID.
func (h *Host) compile(ctx context.Context, m *Module) (*extism.CompiledPlugin, error) {
	e, err := h.hold(ctx, m)
	if e != nil {
		h.done(ctx, e)
	}
	if err != nil {
		return nil, err
	}
	return e.cp, nil
}

// hold compiles m once per ID and holds its compiled code for a call; the
// caller hands it back with done, error or not. It waits for the compile
// at most CompileTimeout: past that, or when ctx ends, the host is
// unavailable (the call is not made, and the plugin is not to blame) while
// the compile goes on for the next call.
func (h *Host) hold(ctx context.Context, m *Module) (*compiledEntry, error) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, fail(ClassUnavailable, nil, "the plugin host is closed")
	}
	e, ok := h.compiled[m.ID]
	if !ok {
		e = &compiledEntry{ready: make(chan struct{}), inflight: 1} // the compile's own hold
		h.compiled[m.ID] = e
		go h.build(context.WithoutCancel(ctx), m, e)
	}
	e.inflight++
	h.mu.Unlock()
	bound := time.NewTimer(h.cfg.CompileTimeout)
	defer bound.Stop()
	select {
	case <-e.ready:
		return e, e.err
	case <-ctx.Done():
		return e, fail(ClassUnavailable, ctx.Err(), "waited for module %s to compile: %v", m.ID, ctx.Err())
	case <-bound.C:
		return e, fail(ClassUnavailable, nil, "module %s took over %s to compile; it goes on compiling for the next call", m.ID, h.cfg.CompileTimeout)
	}
}

// build compiles m into e, then hands back the compile's hold.
func (h *Host) build(ctx context.Context, m *Module, e *compiledEntry) {
	defer h.done(ctx, e)
	defer close(e.ready)
	defer func() {
		if e.err != nil {
			h.mu.Lock()
			if h.compiled[m.ID] == e {
				delete(h.compiled, m.ID) // a later call may try again
			}
			h.mu.Unlock()
		}
	}()
	if !wasmbin.Metered(m.Code) && !h.allowUnmetered {
		e.err = fail(ClassLimit, nil, "module %s is not metered; only modules from Prepare run", m.ID)
		return
	}
	manifest := extism.Manifest{
		Wasm: []extism.Wasm{extism.WasmData{Data: m.Code, Name: "main"}},
		// Every field set: a ManifestMemory with only MaxPages zeroes the
		// others, and a zero is a cap too.
		Memory: &extism.ManifestMemory{
			MaxPages:             h.cfg.MemoryPages,
			MaxHttpResponseBytes: 0,
			MaxVarBytes:          64 << 10,
		},
	}
	cp, err := extism.NewCompiledPlugin(listenerContext(ctx), manifest, extism.PluginConfig{
		RuntimeConfig: h.runtimeConfig(),
		EnableWasi:    true,
	}, bulkFunctions())
	if err != nil {
		e.err = fail(ClassCompile, err, "compile module %s: %v", m.ID, err)
		return
	}
	e.cp = cp
}

// Warm compiles m and readies one instance of it for tenant, so that the
// tenant's first call neither compiles nor instantiates. It is for a
// process's start, off any call's path.
func (h *Host) Warm(ctx context.Context, tenant string, m *Module) error {
	e, err := h.hold(ctx, m)
	if e != nil {
		defer h.done(ctx, e)
	}
	if err != nil {
		return err
	}
	p, err := h.pool(poolKey{tenant: tenant, module: m.ID}, e.cp)
	if err != nil {
		return err
	}
	inst, err := p.acquire(ctx)
	if err != nil {
		return err
	}
	p.release(ctx, inst, true)
	return nil
}

// Run calls c.Module's function for its kind on c.Input.
func (h *Host) Run(ctx context.Context, c Call) (Result, error) {
	setup := time.Now()
	var res Result
	if c.Module == nil || !c.Module.Kind.Valid() {
		return res, fail(ClassMissingExport, nil, "no module, or no such kind")
	}
	e, err := h.hold(ctx, c.Module)
	if e != nil {
		defer h.done(ctx, e)
	}
	if err != nil {
		return res, err
	}
	p, err := h.pool(poolKey{tenant: c.Tenant, module: c.Module.ID}, e.cp)
	if err != nil {
		return res, err
	}
	inst, err := p.acquire(ctx)
	if err != nil {
		return res, err
	}
	healthy := false
	defer func() { p.release(ctx, inst, healthy) }()

	budget := h.cfg.Budget(c.Records)
	st := &callState{remaining: budget, input: c.Input, maxOutput: uint64(h.cfg.MaxOutputBytes)}
	r := &run{now: c.Now, timeout: h.cfg.Timeout.Nanoseconds(), logs: logBuf{max: h.cfg.MaxLogBytes}}
	r.rng = rand.NewChaCha8(seedBytes(c.Seed))
	inst.cur = r
	defer func() { inst.cur = nil }()

	// The deadline's clock starts here: what came before is the host's.
	start := time.Now()
	res.Setup = start.Sub(setup)
	rc, out, callErr := inst.plugin.CallWithContext(withCall(ctx, st), string(c.Module.Kind), c.Input)
	st.settle()
	if st.output != nil {
		out = st.output
	}
	res.Fuel = budget - st.remaining
	res.Duration = time.Since(start)
	res.MemoryBytes = uint64(st.peakPages) * pageSize
	res.Logs = r.logs.lines
	if f := h.classify(inst, st, r, rc, callErr); f != nil {
		f.Logs, f.Fuel = res.Logs, res.Fuel
		return res, f
	}
	if !st.tankSeen && !h.allowUnmetered {
		return res, &Failure{Class: ClassLimit, Message: "the module ran without its fuel tank", Logs: res.Logs}
	}
	if st.outputLen > uint64(h.cfg.MaxOutputBytes) || len(out) > h.cfg.MaxOutputBytes {
		return res, &Failure{Class: ClassOutputSize, Fuel: res.Fuel, Logs: res.Logs,
			Message: fmt.Sprintf("output of %d bytes, over the cap of %d", max(st.outputLen, uint64(len(out))), h.cfg.MaxOutputBytes)}
	}
	if res.Duration > h.cfg.Timeout {
		return res, &Failure{Class: ClassTimeout, Fuel: res.Fuel, Logs: res.Logs,
			Message: fmt.Sprintf("took %s, over the deadline of %s", res.Duration.Round(time.Millisecond), h.cfg.Timeout)}
	}
	if c.Module.Kind == plugins.KindScore && scoreOutputOK(out, c.Records) {
		// proven within the contract without building a document
	} else if err := schemas.ValidatePluginOutput(string(c.Module.Kind), out, c.Records); err != nil {
		return res, &Failure{Class: ClassContract, Message: err.Error(), Err: err, Fuel: res.Fuel, Logs: res.Logs}
	}
	if err := checkDecisions(c.Module.Kind, c.Input, out); err != nil {
		return res, &Failure{Class: ClassContract, Message: err.Error(), Err: err, Fuel: res.Fuel, Logs: res.Logs}
	}
	res.Output = out
	healthy = true
	return res, nil
}

func (h *Host) classify(inst *instance, st *callState, r *run, rc uint32, err error) *Failure {
	switch {
	case r.overslept:
		return fail(ClassTimeout, err, "slept past the deadline of %s", time.Duration(r.timeout))
	case st.outOfFuel:
		return fail(ClassFuel, err, "used its budget of fuel")
	case err == nil && rc == 0:
		return nil
	}
	nearCap := uint64(st.peakPages)*10 >= uint64(h.cfg.MemoryPages)*9
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		if nearCap || r.logs.contains("out of memory") {
			return fail(ClassMemory, err, "ran out of memory (%d MiB cap)", h.cfg.MemoryPages/16)
		}
		return fail(ClassTrap, err, "exited with code %d", exit.ExitCode())
	}
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	if pe := inst.plugin.GetError(); pe != "" && (err == nil || msg == pe) {
		f := fail(ClassPluginError, err, "returned code %d", rc)
		f.PluginError = pe
		return f
	}
	if err == nil {
		return fail(ClassPluginError, nil, "returned code %d", rc)
	}
	if strings.HasPrefix(msg, "unknown function") {
		return fail(ClassMissingExport, err, "%s", msg)
	}
	if nearCap {
		return fail(ClassMemory, err, "ran out of memory (%d MiB cap): %s", h.cfg.MemoryPages/16, firstLine(msg))
	}
	return fail(ClassTrap, err, "%s", firstLine(msg))
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

func seedBytes(seed uint64) [32]byte {
	var b [32]byte
	for i := range 4 {
		s := seed + uint64(i)*0x9E3779B97F4A7C15
		for j := range 8 {
			b[i*8+j] = byte(s >> (8 * j))
		}
	}
	return b
}

// run is the state of the current call that the instance's clock, sleep,
// randomness and output streams read: wazero asks for them without a
// context, so they hang off the instance.
type run struct {
	now       time.Time
	slept     int64 // nanoseconds the guest slept, on the virtual clock
	ticks     int64
	timeout   int64
	overslept bool
	rng       *rand.ChaCha8
	logs      logBuf
}

// logBuf keeps log lines up to a byte cap.
type logBuf struct {
	max, size int
	lines     []string
	cut       bool
}

func (l *logBuf) add(line string) {
	if l.cut {
		return
	}
	line = strings.TrimRight(line, "\n")
	if l.size+len(line) > l.max {
		l.cut = true
		l.lines = append(l.lines, "(logs cut at the cap)")
		return
	}
	l.size += len(line)
	l.lines = append(l.lines, line)
}

func (l *logBuf) contains(s string) bool {
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			return true
		}
	}
	return false
}

// stream is a guest's stdout or stderr, kept as log lines.
type stream struct {
	inst   *instance
	prefix string
}

func (s stream) Write(p []byte) (int, error) {
	if r := s.inst.cur; r != nil {
		for line := range bytes.Lines(p) {
			r.logs.add(s.prefix + string(line))
		}
	}
	return len(p), nil
}
