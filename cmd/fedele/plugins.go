package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/fedele-crm/fedele/core/contacts"
	"github.com/fedele-crm/fedele/core/plugins"
	"github.com/fedele-crm/fedele/core/routing"
	"github.com/fedele-crm/fedele/core/scoring"
	"github.com/fedele-crm/fedele/core/team"
	"github.com/fedele-crm/fedele/core/tenancy"
	"github.com/fedele-crm/fedele/core/timeline"

	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/infra/blobfs"
	"github.com/fedele-crm/fedele/infra/wasm"
)

// scorer scores contacts on the local server's events.
func scorer(st store.Store, runner *plugins.Runner) *scoring.Scorer {
	now := func() time.Time { return time.Now().UTC() }
	tenants := tenancy.NewTenants(st, now)
	return scoring.NewScorer(st, contacts.NewContacts(st, tenants, now), contacts.NewCompanies(st, tenants, now), timeline.NewActivities(st, now), runner, now)
}

// router assigns the local server's new leads.
func router(st store.Store, runner *plugins.Runner) *routing.Router {
	now := func() time.Time { return time.Now().UTC() }
	tenants := tenancy.NewTenants(st, now)
	return routing.NewRouter(st, contacts.NewContacts(st, tenants, now), team.NewUsers(st, now), runner, now)
}

// pluginRuntime wires the plugin lifecycle of the local server: modules in
// a folder of the data folder, compiled code cached beside them.
func pluginRuntime(st store.Store, data string, log *slog.Logger) (*wasm.Runtime, func(), error) {
	blobs, err := blobfs.New(filepath.Join(data, "plugins"))
	if err != nil {
		return nil, nil, fmt.Errorf("plugin folder: %w", err)
	}
	rt, err := wasm.NewRuntime(st, blobs, wasm.Config{CacheDir: filepath.Join(data, "wasm-cache")}, log)
	if err != nil {
		_ = blobs.Close()
		return nil, nil, fmt.Errorf("plugin host: %w", err)
	}
	return rt, func() {
		_ = rt.Host.Close(context.Background())
		_ = blobs.Close()
	}, nil
}
