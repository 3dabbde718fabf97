package wasm

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	extism "github.com/extism/go-sdk"
	"github.com/tetratelabs/wazero"
)

type poolKey struct{ tenant, module string }

// pool holds the instances of one module for one tenant. slots bounds how
// many exist at once, in use or idle, so one tenant's burst cannot take
// every core or all the memory.
type pool struct {
	h     *Host
	cp    *extism.CompiledPlugin
	slots chan struct{}

	mu   sync.Mutex
	idle []*instance

	forgotten atomic.Bool // Host.Forget took it out of the host
}

type instance struct {
	plugin *extism.Plugin
	cur    *run
}

func (h *Host) pool(k poolKey, cp *extism.CompiledPlugin) (*pool, error) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, fail(ClassUnavailable, nil, "the plugin host is closed")
	}
	// A call holds the compiled code it found; Forget may have dropped that
	// code since (a failed upload of the same bytes forgets them, say). Such
	// a call runs on a pool of its own that nothing else finds, closing its
	// instances on release — it must not register a pool on code that closes
	// when its last call ends, or every later call would instantiate on a
	// closed runtime.
	if cur := h.compiled[k.module]; cur == nil || cur.cp != cp {
		h.mu.Unlock()
		p := &pool{h: h, cp: cp, slots: make(chan struct{}, h.cfg.PoolSize)}
		p.forgotten.Store(true)
		return p, nil
	}
	p, ok := h.pools[k]
	var stale *pool
	if ok && p.cp != cp {
		stale, ok = p, false // made on code since forgotten
		stale.forgotten.Store(true)
	}
	if !ok {
		p = &pool{h: h, cp: cp, slots: make(chan struct{}, h.cfg.PoolSize)}
		h.pools[k] = p
	}
	h.mu.Unlock()
	if stale != nil {
		stale.drain(context.Background())
	}
	return p, nil
}

func (p *pool) acquire(ctx context.Context) (*instance, error) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fail(ClassUnavailable, ctx.Err(), "waited for a free instance: %v", ctx.Err())
	}
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		inst := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		p.h.idle.Add(-1)
		return inst, nil
	}
	p.mu.Unlock()
	return p.instantiateWithin(ctx, p.h.cfg.InstantiateTimeout)
}

// instantiateWithin makes an instance in the slot acquire took, waiting
// at most bound (or until ctx ends): past it the host is unavailable and
// the plugin not to blame. An instance that arrives late is closed, and
// its slot held until then, so the pool's bound still counts it.
func (p *pool) instantiateWithin(ctx context.Context, bound time.Duration) (*instance, error) {
	type made struct {
		inst *instance
		err  error
	}
	ch := make(chan made, 1)
	go func() {
		inst, err := p.instantiate(context.WithoutCancel(ctx))
		ch <- made{inst, err}
	}()
	timer := time.NewTimer(bound)
	defer timer.Stop()
	var why string
	select {
	case m := <-ch:
		if m.err != nil {
			<-p.slots
		}
		return m.inst, m.err
	case <-ctx.Done():
		why = ctx.Err().Error()
	case <-timer.C:
		why = "took over " + bound.String()
	}
	go func() {
		if m := <-ch; m.inst != nil {
			_ = m.inst.plugin.Close(context.WithoutCancel(ctx))
		}
		<-p.slots
	}()
	return nil, fail(ClassUnavailable, ctx.Err(), "instantiating the module %s", why)
}

// release keeps a healthy instance for the next call and throws any other
// away: after a trap its memory and globals are whatever the failure left.
func (p *pool) release(ctx context.Context, inst *instance, healthy bool) {
	defer func() { <-p.slots }()
	if healthy && !p.forgotten.Load() && int(p.h.idle.Load()) < p.h.cfg.MaxIdle {
		p.mu.Lock()
		p.idle = append(p.idle, inst)
		p.mu.Unlock()
		p.h.idle.Add(1)
		return
	}
	_ = inst.plugin.Close(context.WithoutCancel(ctx))
}

func (p *pool) drain(ctx context.Context) {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	p.h.idle.Add(-int64(len(idle)))
	for _, inst := range idle {
		_ = inst.plugin.Close(ctx)
	}
}

// instantiate makes an instance whose world is the host's: no filesystem,
// arguments or environment; a clock that starts at the call's Now and
// advances only when the guest sleeps or reads it; sleep that costs no
// time; randomness from the call's seed; stdout and stderr into the logs.
func (p *pool) instantiate(ctx context.Context) (*instance, error) {
	inst := &instance{}
	cfg := wazero.NewModuleConfig().
		WithStdout(stream{inst, "stdout: "}).
		WithStderr(stream{inst, "stderr: "}).
		WithWalltime(func() (int64, int32) {
			r := inst.cur
			if r == nil {
				return 0, 0
			}
			t := r.now.Add(time.Duration(r.slept))
			return t.Unix(), int32(t.Nanosecond())
		}, 1).
		WithNanotime(func() int64 {
			r := inst.cur
			if r == nil {
				return 0
			}
			r.ticks++
			return r.slept + r.ticks*1000
		}, 1).
		WithNanosleep(func(ns int64) {
			r := inst.cur
			if r == nil || ns <= 0 {
				return
			}
			r.slept += ns
			if r.slept > r.timeout {
				r.overslept = true
				// Unwinds the guest: wazero turns a host function's panic
				// into the call's error.
				panic(fmt.Errorf("slept past the deadline"))
			}
		}).
		WithOsyield(func() {}).
		WithRandSource(randSource{inst})
	plugin, err := p.cp.Instance(ctx, extism.PluginInstanceConfig{ModuleConfig: cfg})
	if err != nil {
		msg := firstLine(err.Error())
		switch {
		case strings.Contains(msg, "not instantiated"), strings.Contains(msg, "import"):
			return nil, fail(ClassLimit, err, "imports what the host does not provide: %s", msg)
		case strings.Contains(msg, "start function"):
			// Its tank is empty until a call fills it: a start function
			// runs out of fuel at once.
			return nil, fail(ClassLimit, err, "its start function ran before any call: %s", msg)
		}
		return nil, fail(ClassTrap, err, "instantiate: %s", msg)
	}
	plugin.SetLogger(func(level extism.LogLevel, msg string) {
		if r := inst.cur; r != nil {
			r.logs.add(level.String() + ": " + msg)
		}
	})
	inst.plugin = plugin
	return inst, nil
}

type randSource struct{ inst *instance }

func (s randSource) Read(b []byte) (int, error) {
	if r := s.inst.cur; r != nil {
		return r.rng.Read(b)
	}
	clear(b)
	return len(b), nil
}
