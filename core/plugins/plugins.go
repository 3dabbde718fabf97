// Package plugins is the CRM's side of tenants' plugins: the versions a
// tenant has uploaded and which one is active for each kind, the port a
// sandbox runs them through (Engine), and Decide, which asks the active
// plugin and falls back to the built-in decision whenever it fails.
//
// A failing plugin never blocks or loses the write that asked it: Decide
// always answers, records the failure with its class, and after the
// tenant's limit of consecutive failures disables the version with a
// plugin.disabled event. This package must never import a Wasm runtime:
// infra/wasm implements Engine.
package plugins

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Kind is a kind of plugin: what it decides. Each has an input and an
// output contract in schemas/plugins/ (a test holds the two together) and
// exports a function of the same name.
type Kind string

const (
	KindScore    Kind = "score"
	KindRoute    Kind = "route"
	KindCampaign Kind = "campaign"
)

// Kinds lists every kind of plugin: the API's enum, the engine's exports
// and the CLI's skeletons all come from it.
var Kinds = []Kind{KindScore, KindRoute, KindCampaign}

// Valid reports whether k is a kind of plugin.
func (k Kind) Valid() bool { return slices.Contains(Kinds, k) }

// KindChoice names the kinds for a message: "score, route or campaign".
func KindChoice() string {
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = string(k)
	}
	last := len(names) - 1
	return strings.Join(names[:last], ", ") + " or " + names[last]
}

var namePattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9_-]{0,62})$`)

// ValidName reports whether n can name a plugin: it appears in URLs and keys.
func ValidName(n string) bool { return namePattern.MatchString(n) }

// Engine runs a module in a sandbox. It answers a *RunError for a failure
// the plugin is to blame for, and any other error when it could not run
// the plugin at all (which does not count against the plugin).
type Engine interface {
	Run(ctx context.Context, r Request) (Response, error)
}

// Forgetter is an Engine that keeps modules ready (compiled code, warm
// instances) and can let one go when its version is deleted or disabled.
type Forgetter interface {
	Forget(ctx context.Context, tenant, moduleID string)
}

// Warmer is an Engine that can make a module ready (compiled code, an
// instance) before its first call, so that a cold process's first call
// does not pay for it.
type Warmer interface {
	Warm(ctx context.Context, tenant string, kind Kind, moduleID string) error
}

// Request is one call of a plugin on a batch.
type Request struct {
	Tenant   string
	Kind     Kind
	ModuleID string // SHA-256 of the uploaded module, hex
	Input    []byte // the JSON batch
	Records  int
	Now      time.Time
	Seed     uint64
}

// Response is what a successful call returned and cost.
type Response struct {
	Output      []byte
	Fuel        int64
	Duration    time.Duration
	MemoryBytes uint64
	Logs        []string
}

// RunError is a call that failed because of the plugin.
type RunError struct {
	Class       string // a sandbox's failure class, such as out_of_fuel
	Message     string
	PluginError string
	Logs        []string
	Fuel        int64
	Duration    time.Duration
}

func (e *RunError) Error() string {
	s := fmt.Sprintf("plugin %s: %s", e.Class, e.Message)
	if e.PluginError != "" {
		s += fmt.Sprintf(": plugin said %q", e.PluginError)
	}
	return s
}
