package plugins

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
)

// Which version of a kind runs: the active pointer, the shadow beside it,
// and the history of activations a rollback walks back.

// Active is the version a tenant's kind runs, with its run of failures and
// the versions that ran before it, most recent last: every plugin's
// activations of the kind in one list, from which a rollback takes the
// named plugin's own. The shadow pointer has the same shape.
type Active struct {
	Name     string    `json:"name"`
	Version  int       `json:"version"`
	ModuleID string    `json:"sha256"`
	Fields   []string  `json:"fields,omitempty"`
	Failures int       `json:"consecutive_failures"`
	Since    time.Time `json:"since"`
	History  []Ref     `json:"history,omitempty"`
}

// Ref names a version.
type Ref struct {
	Name    string `json:"name"`
	Version int    `json:"version"`
}

// maxHistory is how many activations back a rollback can go.
const maxHistory = 20

// Active returns the active version of kind, with its item's version for
// a conditional write; a kind with none is not found.
func (r *Registry) Active(ctx context.Context, tenant string, kind Kind) (Active, int64, error) {
	return r.pointer(ctx, activeKey(tenant, kind), "no active %s plugin", kind)
}

func (r *Registry) pointer(ctx context.Context, k store.Key, missing string, kind Kind) (Active, int64, error) {
	var a Active
	iv, err := getJSON(ctx, r.store, k, &a)
	if errors.Is(err, store.ErrNotFound) {
		return a, 0, core.Errorf(core.CodeNotFound, missing, kind)
	}
	return a, iv, err
}

// Activation is a version just made active, and the one it took over from.
type Activation struct {
	Version
	// Replaced is the version that ran before, if one did. Its Name differs
	// from Version's when the activation took the kind over from another
	// plugin: that plugin no longer runs.
	Replaced *Ref `json:"replaced,omitempty"`
}

// Activate makes a version the one its kind runs, with no failures, and
// re-enables it if it was disabled; plugin.activated records it.
func (r *Registry) Activate(ctx context.Context, tenant, name string, number int) (Activation, error) {
	v, _, err := r.version(ctx, tenant, name, number)
	if err != nil {
		return Activation{Version: v}, err
	}
	return r.activate(ctx, tenant, name, v.Kind, events.PluginActivated, func(cur Active, present bool) (int, []Ref, error) {
		hist := cur.History
		if present && (cur.Name != name || cur.Version != number) {
			hist = append(slices.Clone(hist), Ref{Name: cur.Name, Version: cur.Version})
		}
		if len(hist) > maxHistory {
			hist = hist[len(hist)-maxHistory:]
		}
		return number, hist, nil
	})
}

// Rollback makes the version of name that was active before its active
// one the active one again, and records plugin.rolled_back. It never
// leaves name: the kind's history interleaves every plugin's activations,
// and those of other plugins are passed over (and kept, for their own
// rollbacks), as are versions deleted since. A plugin with no earlier
// version in the history is a conflict.
func (r *Registry) Rollback(ctx context.Context, tenant, name string) (Activation, error) {
	h, err := r.head(ctx, tenant, name)
	if err != nil {
		return Activation{}, err
	}
	return r.activate(ctx, tenant, name, h.Kind, events.PluginRolledBack, func(cur Active, present bool) (int, []Ref, error) {
		if !present || cur.Name != name {
			return 0, nil, core.Errorf(core.CodeConflict, "plugin %s is not the active %s plugin: nothing to roll back", name, h.Kind)
		}
		hist := slices.Clone(cur.History)
		for i := len(hist) - 1; i >= 0; i-- {
			prev := hist[i]
			if prev.Name != name {
				continue
			}
			hist = slices.Delete(hist, i, i+1)
			if _, _, err := r.version(ctx, tenant, name, prev.Version); core.ErrorCode(err) == core.CodeNotFound {
				continue
			} else if err != nil {
				return 0, nil, err
			}
			return prev.Version, hist, nil
		}
		return 0, nil, core.Errorf(core.CodeConflict, "plugin %s has no version that was active before its version %d", name, cur.Version)
	})
}

// activate points kind at a version of name. choose picks the version and
// the pointer's history afterwards from the pointer as it is (present is
// false when the kind has none); it runs again when a concurrent change
// makes the write retry, so it always decides on what it replaces.
func (r *Registry) activate(ctx context.Context, tenant, name string, kind Kind, what events.Type,
	choose func(cur Active, present bool) (int, []Ref, error)) (Activation, error) {
	for attempt := 0; ; attempt++ {
		cur, av, err := r.Active(ctx, tenant, kind)
		if err != nil && core.ErrorCode(err) != core.CodeNotFound {
			return Activation{}, err
		}
		number, hist, err := choose(cur, av > 0)
		if err != nil {
			return Activation{}, err
		}
		v, vv, err := r.version(ctx, tenant, name, number)
		if err != nil {
			return Activation{Version: v}, err
		}
		now := r.now().UTC()
		v.Status, v.DisabledReason = StatusReady, ""
		aw, err := putJSON(activeKey(tenant, v.Kind), av, Active{Name: name, Version: number, ModuleID: v.ModuleID,
			Fields: v.Fields, Since: now, History: hist})
		if err != nil {
			return Activation{Version: v}, err
		}
		vw, err := putJSON(versionKey(tenant, name, number), vv, v)
		if err != nil {
			return Activation{Version: v}, err
		}
		v.Status = StatusActive
		out := Activation{Version: v}
		if av > 0 && (cur.Name != name || cur.Version != number) {
			out.Replaced = &Ref{Name: cur.Name, Version: cur.Version}
		}
		prev := 0
		if av > 0 && cur.Name == name {
			prev = cur.Version
		}
		ev, err := r.event(ctx, tenant, what, now, v, prev, out.Replaced)
		if err != nil {
			return out, err
		}
		writes := []store.Write{aw, vw, ev}
		// A version cannot shadow itself.
		if s, sv, err := r.Shadow(ctx, tenant, v.Kind); err == nil && s.Name == name && s.Version == number {
			writes = append(writes, store.Write{Op: store.OpDelete, Key: shadowKey(tenant, v.Kind), Cond: store.Cond{Version: sv}})
		}
		err = r.store.Transact(ctx, writes)
		if record.IsRace(err) && attempt < maxRetries {
			continue
		}
		if err != nil {
			return out, fmt.Errorf("activate plugin %s version %d: %w", name, number, record.StoreError(err))
		}
		return out, nil
	}
}

// Shadow returns the version of kind that runs beside the active one.
func (r *Registry) Shadow(ctx context.Context, tenant string, kind Kind) (Active, int64, error) {
	return r.pointer(ctx, shadowKey(tenant, kind), "no %s plugin in shadow", kind)
}

// StartShadow runs a version beside its kind's active one on live calls,
// with its answers recorded and compared, never applied.
func (r *Registry) StartShadow(ctx context.Context, tenant, name string, number int) (Version, error) {
	v, _, err := r.version(ctx, tenant, name, number)
	if err != nil {
		return v, err
	}
	if v.Status == StatusDisabled {
		return v, core.Errorf(core.CodeConflict, "plugin %s version %d is disabled", name, number)
	}
	if a, _, err := r.Active(ctx, tenant, v.Kind); err == nil && a.Name == name && a.Version == number {
		return v, core.Errorf(core.CodeConflict, "plugin %s version %d is the active one: it cannot shadow itself", name, number)
	}
	_, sv, err := r.Shadow(ctx, tenant, v.Kind)
	if err != nil && core.ErrorCode(err) != core.CodeNotFound {
		return v, err
	}
	w, err := putJSON(shadowKey(tenant, v.Kind), sv, Active{Name: name, Version: number, ModuleID: v.ModuleID, Fields: v.Fields, Since: r.now().UTC()})
	if err != nil {
		return v, err
	}
	if err := r.store.Transact(ctx, []store.Write{w}); err != nil {
		if record.IsRace(err) {
			return v, core.Errorf(core.CodeConflict, "the %s shadow changed meanwhile; retry", v.Kind)
		}
		return v, fmt.Errorf("shadow plugin %s version %d: %w", name, number, record.StoreError(err))
	}
	v.Status = StatusShadow
	return v, nil
}

// StopShadow ends name's shadow run, if it has one.
func (r *Registry) StopShadow(ctx context.Context, tenant, name string) error {
	h, err := r.head(ctx, tenant, name)
	if err != nil {
		return err
	}
	s, sv, err := r.Shadow(ctx, tenant, h.Kind)
	if err != nil || s.Name != name {
		return core.Errorf(core.CodeNotFound, "plugin %s has no version in shadow", name)
	}
	err = r.store.Delete(ctx, shadowKey(tenant, h.Kind), store.Cond{Version: sv})
	if err != nil && !errors.Is(err, store.ErrConditionFailed) {
		return fmt.Errorf("stop shadow of plugin %s: %w", name, record.StoreError(err))
	}
	return nil
}
