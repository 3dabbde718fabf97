package wasm

import (
	"context"
	"log/slog"
	"time"

	"github.com/fedele-crm/fedele/core/plugins"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/core/tenancy"
)

// Runtime is the plugin lifecycle and runner on one host, as a server
// wires them: modules in blobs, metadata in st, each tenant's failure
// limit from its settings.
type Runtime struct {
	Host    *Host
	Service *plugins.Service
	Runner  *plugins.Runner
}

// NewRuntime wires a host of cfg to st and blobs. Close the Host when done.
func NewRuntime(st store.Store, blobs plugins.Blobs, cfg Config, log *slog.Logger) (*Runtime, error) {
	host, err := New(cfg)
	if err != nil {
		return nil, err
	}
	now := func() time.Time { return time.Now().UTC() }
	reg := plugins.NewRegistry(st, now)
	engine := NewEngine(host, BlobLoader(blobs))
	tenants := tenancy.NewTenants(st, now)
	runner := plugins.NewRunner(reg, engine, func(ctx context.Context, tenant string) (int, error) {
		t, err := tenants.Get(ctx, tenant)
		return t.FailureLimit(), err
	}, log)
	return &Runtime{Host: host, Service: plugins.NewService(reg, blobs, host, engine), Runner: runner}, nil
}
