package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/fedele-crm/fedele/core/crm"
	"github.com/fedele-crm/fedele/core/plugins"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/infra/blobfs"
	"github.com/fedele-crm/fedele/infra/wasm"
)

// pluginRuntime wires the plugin lifecycle and runner of the local server:
// modules in a folder of the data folder, compiled code cached beside them.
func pluginRuntime(st store.Store, data string, log *slog.Logger) (*plugins.Service, *plugins.Runner, func(), error) {
	host, err := wasm.New(wasm.Config{CacheDir: filepath.Join(data, "wasm-cache")})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("plugin host: %w", err)
	}
	blobs, err := blobfs.New(filepath.Join(data, "plugins"))
	if err != nil {
		_ = host.Close(context.Background())
		return nil, nil, nil, fmt.Errorf("plugin folder: %w", err)
	}
	now := func() time.Time { return time.Now().UTC() }
	reg := plugins.NewRegistry(st, now)
	engine := wasm.NewEngine(host, wasm.BlobLoader(blobs))
	tenants := crm.NewTenants(st, now)
	runner := plugins.NewRunner(reg, engine, func(ctx context.Context, tenant string) (int, error) {
		t, err := tenants.Get(ctx, tenant)
		return t.FailureLimit(), err
	}, log)
	closeAll := func() {
		_ = host.Close(context.Background())
		_ = blobs.Close()
	}
	return plugins.NewService(reg, blobs, host, engine), runner, closeAll, nil
}
