package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
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
// say, never the caller its write. A version in shadow then runs on the
// same batch; its answers are compared with what was applied and recorded,
// never used.
func Decide[In, Out any](ctx context.Context, r *Runner, tenant string, kind Kind, batch []In, builtin func(In) Out) ([]Out, Outcome) {
	out := make([]Out, len(batch))
	// Encoded only once a version is found to run: most tenants have none,
	// and a decision without a plugin should cost no JSON.
	input := sync.OnceValues(func() ([]byte, error) { return json.Marshal(batch) })
	o := r.ask(ctx, tenant, kind, input, len(batch), func(i int, raw json.RawMessage) bool {
		return json.Unmarshal(raw, &out[i]) == nil
	})
	for i, by := range o.ByPlugin {
		if !by {
			out[i] = builtin(batch[i])
		}
	}
	r.shadow(ctx, tenant, kind, input, func(i int) json.RawMessage {
		b, _ := json.Marshal(out[i])
		return b
	}, len(batch))
	return out, o
}

// ask runs the active plugin on input and hands each result it gave to
// take, which says whether it could use it.
func (r *Runner) ask(ctx context.Context, tenant string, kind Kind, input func() ([]byte, error), n int, take func(int, json.RawMessage) bool) Outcome {
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
	results, res, err := r.call(ctx, tenant, kind, a, input, n)
	o.Fuel, o.Duration = res.Fuel, res.Duration
	r.stats(ctx, tenant, a, n, res, err)
	if err != nil {
		r.failed(ctx, tenant, kind, a, err, &o)
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

// call runs one version on a batch, sending only the fields its manifest
// asks for, and splits its output into one result per record.
func (r *Runner) call(ctx context.Context, tenant string, kind Kind, a Active, encode func() ([]byte, error), n int) ([]json.RawMessage, Response, error) {
	input, err := encode()
	if err != nil {
		return nil, Response{}, fmt.Errorf("encode plugin input: %w", err)
	}
	if len(a.Fields) > 0 {
		projected, err := Project(input, a.Fields)
		if err != nil {
			return nil, Response{}, err
		}
		input = projected
	}
	now := r.now()
	res, err := r.engine.Run(ctx, Request{Tenant: tenant, Kind: kind, ModuleID: a.ModuleID, Input: input,
		Records: n, Now: now, Seed: uint64(now.UnixNano())})
	if err != nil {
		return nil, res, err
	}
	var results []json.RawMessage
	if err := json.Unmarshal(res.Output, &results); err != nil || len(results) != n {
		// The engine checks the contract; this is a broken engine.
		return nil, res, &RunError{Class: "contract", Message: "output is not one result per record"}
	}
	return results, res, nil
}

func (r *Runner) stats(ctx context.Context, tenant string, a Active, n int, res Response, err error) {
	class := ""
	if err != nil {
		class = "unavailable"
		if re, ok := errors.AsType[*RunError](err); ok {
			class = re.Class
			res.Fuel, res.Duration = re.Fuel, re.Duration
		}
	}
	if err := r.registry.recordCall(context.WithoutCancel(ctx), tenant, Ref{a.Name, a.Version}, n, res.Duration, res.Fuel, class); err != nil {
		r.log.WarnContext(ctx, "record plugin stats", "tenant", tenant, "plugin", a.Name, "version", a.Version, "err", err)
	}
}

// shadow runs the kind's shadow version, if there is one, and compares its
// decisions with the applied ones.
func (r *Runner) shadow(ctx context.Context, tenant string, kind Kind, input func() ([]byte, error), applied func(int) json.RawMessage, n int) {
	s, _, err := r.registry.Shadow(ctx, tenant, kind)
	if err != nil || n == 0 {
		return
	}
	ref := Ref{s.Name, s.Version}
	results, res, err := r.call(ctx, tenant, kind, s, input, n)
	r.stats(ctx, tenant, s, n, res, err)
	now := r.now().UTC()
	err = r.registry.recordComparison(context.WithoutCancel(ctx), tenant, ref, func(c *Comparison) {
		c.Runs++
		if err != nil {
			c.Failures++
			return
		}
		for i, raw := range results {
			if isRecordError(raw) {
				continue
			}
			c.Records++
			mine, theirs := decision(kind, raw), applied(i)
			if decision(kind, theirs) == mine {
				c.Agreed++
				continue
			}
			c.Disagreed++
			c.Samples = append(c.Samples, Disagreement{At: now, Applied: theirs, Shadow: raw})
		}
	})
	if err != nil {
		r.log.WarnContext(ctx, "record shadow comparison", "tenant", tenant, "plugin", s.Name, "version", s.Version, "err", err)
	}
}

// decision is the part of a result that matters for agreement: a score, an
// assignment, an enrolment — not the wording of reasons.
func decision(kind Kind, raw json.RawMessage) string {
	var d struct {
		Score    *float64 `json:"score"`
		Assignee string   `json:"assignee"`
		Queue    string   `json:"queue"`
		Enrol    *bool    `json:"enrol"`
		Variant  string   `json:"variant"`
	}
	if json.Unmarshal(raw, &d) != nil {
		return string(raw)
	}
	switch kind {
	case KindScore:
		if d.Score == nil {
			return ""
		}
		b, _ := json.Marshal(*d.Score)
		return string(b)
	case KindRoute:
		return d.Assignee + "\x00" + d.Queue
	default:
		return strings.Join([]string{boolString(d.Enrol), d.Variant}, "\x00")
	}
}

func boolString(b *bool) string {
	if b == nil {
		return ""
	}
	if *b {
		return "true"
	}
	return "false"
}

func isRecordError(raw json.RawMessage) bool {
	var probe struct {
		Error *string `json:"error"`
	}
	return json.Unmarshal(raw, &probe) == nil && probe.Error != nil
}

// failed records a failed call. An engine that could not run the plugin at
// all (no module, a host shutting down) is not the plugin's fault and does
// not count against it.
func (r *Runner) failed(ctx context.Context, tenant string, kind Kind, a Active, err error, o *Outcome) {
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
		if f, ok := r.engine.(Forgetter); ok {
			f.Forget(ctx, tenant, a.ModuleID)
		}
		return
	}
	r.log.InfoContext(ctx, "plugin failed; the built-in decides", attrs...)
}
