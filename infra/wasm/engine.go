package wasm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/fedele-crm/fedele/core/plugins"
)

// Engine runs core/plugins' requests on a Host. A module's metered bytes
// are loaded the first time a tenant's request names them, and kept: the
// host compiles a module once, but needs its bytes again after Forget.
type Engine struct {
	host *Host
	load func(ctx context.Context, tenant, moduleID string) ([]byte, error)

	mu      sync.Mutex
	modules map[string]*Module
}

// NewEngine returns an engine that finds modules' metered bytes with load,
// which must only answer modules of that tenant.
func NewEngine(h *Host, load func(ctx context.Context, tenant, moduleID string) ([]byte, error)) *Engine {
	return &Engine{host: h, load: load, modules: map[string]*Module{}}
}

// BlobLoader loads modules from where core/plugins stores them.
func BlobLoader(blobs plugins.Blobs) func(ctx context.Context, tenant, moduleID string) ([]byte, error) {
	return func(ctx context.Context, tenant, moduleID string) ([]byte, error) {
		return blobs.Get(ctx, plugins.ModuleKey(tenant, moduleID))
	}
}

var _ plugins.Engine = (*Engine)(nil)

// Run calls the module. A failure the plugin is to blame for is a
// *plugins.RunError; the host being unavailable, or the module missing, is
// not.
func (e *Engine) Run(ctx context.Context, r plugins.Request) (plugins.Response, error) {
	m, err := e.module(ctx, r.Tenant, r.ModuleID, r.Kind)
	if err != nil {
		return plugins.Response{}, err
	}
	res, err := e.host.Run(ctx, Call{Tenant: r.Tenant, Module: m, Input: r.Input, Records: r.Records, Now: r.Now, Seed: r.Seed})
	out := plugins.Response{Output: res.Output, Fuel: res.Fuel, Duration: res.Duration, MemoryBytes: res.MemoryBytes, Logs: res.Logs}
	if f, ok := errors.AsType[*Failure](err); ok && f.Class != ClassUnavailable {
		return out, &plugins.RunError{Class: string(f.Class), Message: f.Message, PluginError: f.PluginError,
			Logs: f.Logs, Fuel: res.Fuel, Duration: res.Duration}
	}
	return out, err
}

// module is keyed by tenant and id together: a tenant's request finds only
// what its own loader answered, even for bytes another tenant uploaded too.
func (e *Engine) module(ctx context.Context, tenant, id string, kind plugins.Kind) (*Module, error) {
	key := tenant + "\x00" + id + "\x00" + string(kind)
	e.mu.Lock()
	m := e.modules[key]
	e.mu.Unlock()
	if m != nil {
		return m, nil
	}
	code, err := e.load(ctx, tenant, id)
	if err != nil {
		return nil, fmt.Errorf("load module %s: %w", id, err)
	}
	m = &Module{ID: id, Kind: kind, Code: code}
	e.mu.Lock()
	e.modules[key] = m
	e.mu.Unlock()
	return m, nil
}

// Forget drops a tenant's module: its bytes here, and the host's compiled
// code and instances of it (shared bytes of other tenants compile again
// from the on-disk cache on their next call).
func (e *Engine) Forget(ctx context.Context, tenant, moduleID string) {
	prefix := tenant + "\x00" + moduleID + "\x00"
	e.mu.Lock()
	for k := range e.modules {
		if strings.HasPrefix(k, prefix) {
			delete(e.modules, k)
		}
	}
	e.mu.Unlock()
	e.host.Forget(ctx, moduleID)
}

var _ plugins.Forgetter = (*Engine)(nil)

// Warm loads a tenant's module and has the host compile it and ready an
// instance (Host.Warm), so that its first call pays neither.
func (e *Engine) Warm(ctx context.Context, tenant string, kind plugins.Kind, moduleID string) error {
	m, err := e.module(ctx, tenant, moduleID, kind)
	if err != nil {
		return err
	}
	return e.host.Warm(ctx, tenant, m)
}

var _ plugins.Warmer = (*Engine)(nil)

// Validate is Prepare for core/plugins: a refusal is a *plugins.RunError
// naming its class.
func (h *Host) Validate(ctx context.Context, kind plugins.Kind, raw []byte) (plugins.Module, error) {
	m, err := h.Prepare(ctx, kind, raw)
	if f, ok := errors.AsType[*Failure](err); ok && f.Class != ClassUnavailable {
		return plugins.Module{}, &plugins.RunError{Class: string(f.Class), Message: f.Message, PluginError: f.PluginError, Logs: f.Logs}
	}
	if err != nil {
		return plugins.Module{}, err
	}
	return plugins.Module{ID: m.ID, Code: m.Code}, nil
}

var _ plugins.Validator = (*Host)(nil)
