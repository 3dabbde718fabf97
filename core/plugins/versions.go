package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/store"
)

// Statuses of a version. Which version is active is not a status stored on
// the version but the kind's Active pointer, so that activating one version
// is one write however many others there are.
const (
	StatusReady    = "ready"
	StatusActive   = "active"
	StatusDisabled = "disabled"
)

// Version is one immutable upload of a plugin.
type Version struct {
	Name           string    `json:"name"`
	Number         int       `json:"version"`
	Kind           string    `json:"kind"`
	ModuleID       string    `json:"sha256"`
	Size           int       `json:"size_bytes"`
	Status         string    `json:"status"`
	DisabledReason string    `json:"disabled_reason,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
}

// Active is the version a tenant's kind runs, with its run of failures.
type Active struct {
	Name     string    `json:"name"`
	Version  int       `json:"version"`
	ModuleID string    `json:"sha256"`
	Failures int       `json:"consecutive_failures"`
	Since    time.Time `json:"since"`
}

// Failure is one failed call, kept for FailureRetention.
type Failure struct {
	Version     int       `json:"version"`
	Class       string    `json:"class"`
	Message     string    `json:"message"`
	PluginError string    `json:"plugin_error,omitempty"`
	Logs        []string  `json:"logs,omitempty"`
	At          time.Time `json:"at"`
}

// FailureRetention is how long failures are kept.
const FailureRetention = 30 * 24 * time.Hour

// Events of a plugin's life.
const (
	EventDisabled = "plugin.disabled"
)

// Keys. Every key begins with the tenant, as in core/crm (KEYS.md).
func pluginPK(tenant, name string) string { return "T#" + tenant + "#plugin#" + name }

func headKey(tenant, name string) store.Key { return store.Key{PK: pluginPK(tenant, name), SK: "#"} }

func versionKey(tenant, name string, n int) store.Key {
	return store.Key{PK: pluginPK(tenant, name), SK: fmt.Sprintf("v#%06d", n)}
}

func activeKey(tenant, kind string) store.Key {
	return store.Key{PK: "T#" + tenant + "#plugin-active#" + kind, SK: "#"}
}

func failuresPK(tenant, name string) string { return pluginPK(tenant, name) + "#failures" }

// head is a plugin: its kind, fixed by its first version, and its count.
type head struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	Latest int    `json:"latest"`
}

// Registry stores a tenant's plugin versions and its active ones.
type Registry struct {
	store store.Store
	now   func() time.Time
}

// NewRegistry returns the registry in s.
func NewRegistry(s store.Store, now func() time.Time) *Registry {
	return &Registry{store: s, now: now}
}

const maxRetries = 5

// Add records a validated module as the next version of name.
func (r *Registry) Add(ctx context.Context, tenant, name, kind, moduleID string, size int) (Version, error) {
	var p core.Problems
	if !ValidName(name) {
		p.Add("name", "must be 1-63 lower-case letters, digits, dashes or underscores")
	}
	if !ValidKind(kind) {
		p.Add("kind", "must be score, route or campaign")
	}
	if err := p.Err(); err != nil {
		return Version{}, err
	}
	for attempt := 0; ; attempt++ {
		var h head
		hv, err := r.getJSON(ctx, headKey(tenant, name), &h)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return Version{}, err
		}
		if hv > 0 && h.Kind != kind {
			return Version{}, &core.Error{Code: core.CodeConflict, Message: fmt.Sprintf("plugin %s is a %s plugin", name, h.Kind),
				Fields: []core.FieldError{{Path: "kind", Message: "must stay " + h.Kind + " for every version of a plugin", Value: kind}}}
		}
		h = head{Name: name, Kind: kind, Latest: h.Latest + 1}
		v := Version{Name: name, Number: h.Latest, Kind: kind, ModuleID: moduleID, Size: size,
			Status: StatusReady, CreatedAt: r.now().UTC()}
		hw, err := putJSON(headKey(tenant, name), hv, h)
		if err != nil {
			return v, err
		}
		vw, err := putJSON(versionKey(tenant, name, v.Number), 0, v)
		if err != nil {
			return v, err
		}
		err = r.store.Transact(ctx, []store.Write{hw, vw})
		if isRace(err) && attempt < maxRetries {
			continue
		}
		if err != nil {
			return v, fmt.Errorf("add version of plugin %s: %w", name, storeErr(err))
		}
		return v, nil
	}
}

// Get returns a version, with its status as of now.
func (r *Registry) Get(ctx context.Context, tenant, name string, number int) (Version, error) {
	v, _, err := r.version(ctx, tenant, name, number)
	if err != nil {
		return v, err
	}
	if a, _, err := r.Active(ctx, tenant, v.Kind); err == nil && a.Name == name && a.Version == number {
		v.Status = StatusActive
	}
	return v, nil
}

func (r *Registry) version(ctx context.Context, tenant, name string, number int) (Version, int64, error) {
	var v Version
	iv, err := r.getJSON(ctx, versionKey(tenant, name, number), &v)
	if errors.Is(err, store.ErrNotFound) {
		return v, 0, core.Errorf(core.CodeNotFound, "plugin %s has no version %d", name, number)
	}
	return v, iv, err
}

// Active returns the active version of kind, with its item's version for
// a conditional write; a kind with none is not found.
func (r *Registry) Active(ctx context.Context, tenant, kind string) (Active, int64, error) {
	var a Active
	iv, err := r.getJSON(ctx, activeKey(tenant, kind), &a)
	if errors.Is(err, store.ErrNotFound) {
		return a, 0, core.Errorf(core.CodeNotFound, "no active %s plugin", kind)
	}
	return a, iv, err
}

// Activate makes a version the one its kind runs, with no failures, and
// re-enables it if it was disabled.
func (r *Registry) Activate(ctx context.Context, tenant, name string, number int) (Version, error) {
	for attempt := 0; ; attempt++ {
		v, vv, err := r.version(ctx, tenant, name, number)
		if err != nil {
			return v, err
		}
		_, av, err := r.Active(ctx, tenant, v.Kind)
		if err != nil && core.ErrorCode(err) != core.CodeNotFound {
			return v, err
		}
		v.Status, v.DisabledReason = StatusReady, ""
		aw, err := putJSON(activeKey(tenant, v.Kind), av, Active{Name: name, Version: number, ModuleID: v.ModuleID, Since: r.now().UTC()})
		if err != nil {
			return v, err
		}
		vw, err := putJSON(versionKey(tenant, name, number), vv, v)
		if err != nil {
			return v, err
		}
		err = r.store.Transact(ctx, []store.Write{aw, vw})
		if isRace(err) && attempt < maxRetries {
			continue
		}
		if err != nil {
			return v, fmt.Errorf("activate plugin %s version %d: %w", name, number, storeErr(err))
		}
		v.Status = StatusActive
		return v, nil
	}
}

// Failures lists a plugin's recent failures, newest first.
func (r *Registry) Failures(ctx context.Context, tenant, name string, limit int) ([]Failure, error) {
	page, err := r.store.Query(ctx, store.Query{PK: failuresPK(tenant, name), Desc: true, Limit: limit})
	if err != nil {
		return nil, fmt.Errorf("list failures of plugin %s: %w", name, storeErr(err))
	}
	out := make([]Failure, 0, len(page.Items))
	for _, it := range page.Items {
		var f Failure
		if err := json.Unmarshal(it.Data, &f); err != nil {
			return nil, fmt.Errorf("decode failure %s: %w", it.Key, err)
		}
		out = append(out, f)
	}
	return out, nil
}

// recordFailure counts a failed call of the active version a against its
// limit: under it, the count goes up; at it, the version is disabled, the
// kind left without an active plugin, and plugin.disabled recorded in the
// same transaction. A pointer that moved on meanwhile (another activation)
// only gets the failure kept.
func (r *Registry) recordFailure(ctx context.Context, tenant, kind string, a Active, limit int, f Failure) (disabled bool, err error) {
	now := r.now().UTC()
	f.At = now
	fw, err := putJSON(store.Key{PK: failuresPK(tenant, a.Name), SK: sortTime(now) + "#" + core.NewID(now)}, 0, f)
	if err != nil {
		return false, err
	}
	fw.Item.ExpiresAt = now.Add(FailureRetention)
	for attempt := 0; ; attempt++ {
		cur, av, err := r.Active(ctx, tenant, kind)
		if core.ErrorCode(err) == core.CodeNotFound || (err == nil && (cur.Name != a.Name || cur.Version != a.Version)) {
			return false, r.store.Transact(ctx, []store.Write{fw})
		}
		if err != nil {
			return false, err
		}
		cur.Failures++
		writes := []store.Write{fw}
		if cur.Failures < limit {
			aw, err := putJSON(activeKey(tenant, kind), av, cur)
			if err != nil {
				return false, err
			}
			writes = append(writes, aw)
		} else {
			v, vv, err := r.version(ctx, tenant, a.Name, a.Version)
			if err != nil {
				return false, err
			}
			v.Status = StatusDisabled
			v.DisabledReason = fmt.Sprintf("%d consecutive failures, the last %s: %s", cur.Failures, f.Class, f.Message)
			vw, err := putJSON(versionKey(tenant, a.Name, a.Version), vv, v)
			if err != nil {
				return false, err
			}
			ev, err := r.event(ctx, tenant, EventDisabled, now, v)
			if err != nil {
				return false, err
			}
			writes = append(writes, store.Write{Op: store.OpDelete, Key: activeKey(tenant, kind), Cond: store.Cond{Version: av}}, vw, ev)
		}
		err = r.store.Transact(ctx, writes)
		if isRace(err) && attempt < maxRetries {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("record failure of plugin %s version %d: %w", a.Name, a.Version, storeErr(err))
		}
		return cur.Failures >= limit, nil
	}
}

// resetFailures ends a run of failures after a successful call.
func (r *Registry) resetFailures(ctx context.Context, tenant, kind string, a Active, av int64) error {
	a.Failures = 0
	w, err := putJSON(activeKey(tenant, kind), av, a)
	if err != nil {
		return err
	}
	err = r.store.Transact(ctx, []store.Write{w})
	if isRace(err) {
		return nil // someone else moved the pointer: their write stands
	}
	return storeErr(err)
}

func (r *Registry) event(ctx context.Context, tenant, detailType string, at time.Time, v Version) (store.Write, error) {
	c := events.CauseFrom(ctx)
	data, err := json.Marshal(v)
	if err != nil {
		return store.Write{}, err
	}
	id := core.NewID(at)
	corr := c.CorrelationID
	if corr == "" {
		corr = id
	}
	return events.OutboxWrite(events.Envelope{Source: events.Source, DetailType: detailType, Detail: events.Detail{
		EventID: id, Tenant: tenant, Time: at, Actor: c.Actor,
		CausationID: c.CausationID, CorrelationID: corr, Depth: c.Depth,
		Entity: events.Entity{Type: "plugin", ID: v.Name, Data: data},
	}})
}

func (r *Registry) getJSON(ctx context.Context, k store.Key, v any) (int64, error) {
	it, err := r.store.Get(ctx, k)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return 0, err
		}
		return 0, fmt.Errorf("load %s: %w", k, storeErr(err))
	}
	if err := json.Unmarshal(it.Data, v); err != nil {
		return 0, fmt.Errorf("decode %s: %w", k, err)
	}
	return it.Version, nil
}

// putJSON is the conditional write of v at k over version prev (0: must not
// exist yet).
func putJSON(k store.Key, prev int64, v any) (store.Write, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return store.Write{}, fmt.Errorf("encode %s: %w", k, err)
	}
	cond := store.Cond{Version: prev}
	if prev == 0 {
		cond = store.Cond{MustNotExist: true}
	}
	return store.Write{Op: store.OpPut, Item: store.Item{Key: k, Version: prev + 1, Data: data}, Cond: cond}, nil
}

func isRace(err error) bool {
	if tx, ok := errors.AsType[*store.TxCancelledError](err); ok {
		return errors.Is(tx.Reason, store.ErrConditionFailed)
	}
	return errors.Is(err, store.ErrConditionFailed)
}

func storeErr(err error) error {
	if errors.Is(err, store.ErrThrottled) || errors.Is(err, store.ErrUnavailable) {
		return &core.Error{Code: core.CodeUnavailable, Message: "the store is busy; retry"}
	}
	return err
}

func sortTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }
