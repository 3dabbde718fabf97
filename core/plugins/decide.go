package plugins

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/fedele-crm/fedele/core"
)

// Runner asks tenants' active plugins for decisions.
type Runner struct {
	registry *Registry
	engine   Engine
	limit    func(ctx context.Context, tenant string) (int, error)
	now      func() time.Time
	log      *slog.Logger
}

// NewRunner returns a runner over the registry's versions. limit gives a
// tenant's number of consecutive failures that disables a version.
func NewRunner(reg *Registry, engine Engine, limit func(ctx context.Context, tenant string) (int, error), log *slog.Logger) *Runner {
	if log == nil {
		log = slog.Default()
	}
	return &Runner{registry: reg, engine: engine, limit: limit, now: reg.now, log: log}
}

// Outcome says who decided a batch.
type Outcome struct {
	Plugin   *Active   // the version that ran, nil when none is active
	Failure  *RunError // why the plugin's answer was not used, if it was not
	Disabled bool      // this failure disabled the version
	Fuel     int64
	Duration time.Duration
	// ByPlugin marks each record the plugin decided; the others fell to the
	// built-in (the whole batch when the call failed, single records when
	// the plugin answered an error for them).
	ByPlugin []bool
}

// Decide asks the tenant's active plugin of kind to decide each record of
// batch, and the built-in where it does not. It always answers: a plugin
// that fails — or a store that cannot record it — costs the plugin its
// say, never the caller its write.
func Decide[In, Out any](ctx context.Context, r *Runner, tenant, kind string, batch []In, builtin func(In) Out) ([]Out, Outcome) {
	out := make([]Out, len(batch))
	o := r.ask(ctx, tenant, kind, batch, len(batch), func(i int, raw json.RawMessage) bool {
		return json.Unmarshal(raw, &out[i]) == nil
	})
	for i, by := range o.ByPlugin {
		if !by {
			out[i] = builtin(batch[i])
		}
	}
	return out, o
}

// ask runs the active plugin on batch and hands each result it gave to
// take, which says whether it could use it.
func (r *Runner) ask(ctx context.Context, tenant, kind string, batch any, n int, take func(int, json.RawMessage) bool) Outcome {
	o := Outcome{ByPlugin: make([]bool, n)}
	if n == 0 {
		return o
	}
	a, av, err := r.registry.Active(ctx, tenant, kind)
	if err != nil {
		if core.ErrorCode(err) != core.CodeNotFound {
			r.log.WarnContext(ctx, "plugin lookup failed; the built-in decides", "tenant", tenant, "kind", kind, "err", err)
		}
		return o
	}
	o.Plugin = &a
	input, err := json.Marshal(batch)
	if err != nil {
		r.log.ErrorContext(ctx, "encode plugin input", "tenant", tenant, "kind", kind, "err", err)
		return o
	}
	now := r.now()
	res, err := r.engine.Run(ctx, Request{Tenant: tenant, Kind: kind, ModuleID: a.ModuleID, Input: input,
		Records: n, Now: now, Seed: uint64(now.UnixNano())})
	o.Fuel, o.Duration = res.Fuel, res.Duration
	if err != nil {
		r.failed(ctx, tenant, kind, a, err, &o)
		return o
	}
	var results []json.RawMessage
	if err := json.Unmarshal(res.Output, &results); err != nil || len(results) != n {
		// The engine checks the contract; this is a broken engine.
		r.failed(ctx, tenant, kind, a, &RunError{Class: "contract", Message: "output is not one result per record"}, &o)
		return o
	}
	for i, raw := range results {
		if !isRecordError(raw) { // an error is the plugin declining this record
			o.ByPlugin[i] = take(i, raw)
		}
	}
	if a.Failures > 0 {
		if err := r.registry.resetFailures(ctx, tenant, kind, a, av); err != nil {
			r.log.WarnContext(ctx, "reset plugin failures", "tenant", tenant, "plugin", a.Name, "err", err)
		}
	}
	return o
}

func isRecordError(raw json.RawMessage) bool {
	var probe struct {
		Error *string `json:"error"`
	}
	return bytes.Contains(raw, []byte(`"error"`)) && json.Unmarshal(raw, &probe) == nil && probe.Error != nil
}

// failed records a failed call. An engine that could not run the plugin at
// all (no module, a host shutting down) is not the plugin's fault and does
// not count against it.
func (r *Runner) failed(ctx context.Context, tenant, kind string, a Active, err error, o *Outcome) {
	re, ok := errors.AsType[*RunError](err)
	if !ok {
		o.Failure = &RunError{Class: "unavailable", Message: err.Error()}
		r.log.WarnContext(ctx, "plugin could not run; the built-in decides", "tenant", tenant, "plugin", a.Name, "version", a.Version, "err", err)
		return
	}
	o.Failure = re
	limit, lerr := r.limit(ctx, tenant)
	if lerr != nil || limit <= 0 {
		limit = core.DefaultPluginFailureLimit
	}
	// Keep recording even if the caller's context ends: the failure count
	// is what disables a broken version.
	ctx = context.WithoutCancel(ctx)
	disabled, err := r.registry.recordFailure(ctx, tenant, kind, a, limit, Failure{Version: a.Version, Class: re.Class,
		Message: re.Message, PluginError: re.PluginError, Logs: re.Logs})
	o.Disabled = disabled
	attrs := []any{"tenant", tenant, "plugin", a.Name, "version", a.Version, "class", re.Class, "failures", a.Failures + 1, "limit", limit}
	if err != nil {
		r.log.ErrorContext(ctx, "record plugin failure", append(attrs, "err", err)...)
		return
	}
	if disabled {
		r.log.WarnContext(ctx, "plugin disabled after consecutive failures", attrs...)
		return
	}
	r.log.InfoContext(ctx, "plugin failed; the built-in decides", attrs...)
}
