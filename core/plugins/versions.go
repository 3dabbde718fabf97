package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
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
	StatusShadow   = "shadow"
	StatusDisabled = "disabled"
)

// Version is one immutable upload of a plugin.
type Version struct {
	Name           string    `json:"name"`
	Number         int       `json:"version"`
	Kind           Kind      `json:"kind"`
	ModuleID       string    `json:"sha256"`
	Size           int       `json:"size_bytes"`
	Fields         []string  `json:"fields,omitempty"`
	Status         string    `json:"status"`
	DisabledReason string    `json:"disabled_reason,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
}

// Active is the version a tenant's kind runs, with its run of failures and
// the versions that ran before it, most recent last, for rollback. The
// shadow pointer has the same shape.
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

// Keys. Every key begins with the tenant, as in core/crm (KEYS.md).
func pluginPK(tenant, name string) string { return "T#" + tenant + "#plugin#" + name }

func headKey(tenant, name string) store.Key { return store.Key{PK: pluginPK(tenant, name), SK: "#"} }

func versionKey(tenant, name string, n int) store.Key {
	return store.Key{PK: pluginPK(tenant, name), SK: fmt.Sprintf("v#%06d", n)}
}

func activeKey(tenant string, kind Kind) store.Key {
	return store.Key{PK: "T#" + tenant + "#plugin-active#" + string(kind), SK: "#"}
}

func shadowKey(tenant string, kind Kind) store.Key {
	return store.Key{PK: "T#" + tenant + "#plugin-shadow#" + string(kind), SK: "#"}
}

// indexPK lists a tenant's plugins, one item per name.
func indexPK(tenant string) string { return "T#" + tenant + "#plugins" }

func failuresPK(tenant, name string) string { return pluginPK(tenant, name) + "#failures" }

// head is a plugin: its kind, fixed by its first version, and its count.
type head struct {
	Name   string `json:"name"`
	Kind   Kind   `json:"kind"`
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

// Add records a validated module as the next version of name, with the
// input fields it asked for, and plugin.version_uploaded with it.
func (r *Registry) Add(ctx context.Context, tenant, name string, kind Kind, moduleID string, size int, fields []string) (Version, error) {
	var p core.Problems
	if !ValidName(name) {
		p.Add("name", "must be 1-63 lower-case letters, digits, dashes or underscores")
	}
	if !kind.Valid() {
		p.Add("kind", "must be %s", KindChoice())
	}
	for i, f := range fields {
		if !fieldPattern.MatchString(f) {
			p.Add(fmt.Sprintf("fields[%d]", i), "must be contact or company, or a path within one, such as contact.emails")
		}
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
				Fields: []core.FieldError{{Path: "kind", Message: "must stay " + string(h.Kind) + " for every version of a plugin", Value: kind}}}
		}
		h = head{Name: name, Kind: kind, Latest: h.Latest + 1}
		now := r.now().UTC()
		v := Version{Name: name, Number: h.Latest, Kind: kind, ModuleID: moduleID, Size: size, Fields: fields,
			Status: StatusReady, CreatedAt: now}
		hw, err := putJSON(headKey(tenant, name), hv, h)
		if err != nil {
			return v, err
		}
		vw, err := putJSON(versionKey(tenant, name, v.Number), 0, v)
		if err != nil {
			return v, err
		}
		ev, err := r.event(ctx, tenant, events.PluginVersionUploaded, now, v, 0)
		if err != nil {
			return v, err
		}
		writes := []store.Write{hw, vw, ev}
		if hv == 0 {
			iw, err := putJSON(store.Key{PK: indexPK(tenant), SK: name}, 0, map[string]string{"name": name, "kind": string(kind)})
			if err != nil {
				return v, err
			}
			writes = append(writes, iw)
		}
		err = r.store.Transact(ctx, writes)
		if isRace(err) && attempt < maxRetries {
			continue
		}
		if err != nil {
			return v, fmt.Errorf("add version of plugin %s: %w", name, storeErr(err))
		}
		return v, nil
	}
}

// fieldPattern is a manifest's field path: contact or company, and a path
// within it (see Project).
var fieldPattern = regexp.MustCompile(`^(contact|company)(\.[a-z0-9_]+){0,3}$`)

// Get returns a version, with its status as of now.
func (r *Registry) Get(ctx context.Context, tenant, name string, number int) (Version, error) {
	v, _, err := r.version(ctx, tenant, name, number)
	if err != nil {
		return v, err
	}
	return r.withStatus(ctx, tenant, v), nil
}

// withStatus marks v active or shadow from its kind's pointers.
func (r *Registry) withStatus(ctx context.Context, tenant string, v Version) Version {
	if v.Status == StatusDisabled {
		return v
	}
	if a, _, err := r.Active(ctx, tenant, v.Kind); err == nil && a.Name == v.Name && a.Version == v.Number {
		v.Status = StatusActive
	} else if s, _, err := r.Shadow(ctx, tenant, v.Kind); err == nil && s.Name == v.Name && s.Version == v.Number {
		v.Status = StatusShadow
	}
	return v
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
func (r *Registry) Active(ctx context.Context, tenant string, kind Kind) (Active, int64, error) {
	return r.pointer(ctx, activeKey(tenant, kind), "no active %s plugin", kind)
}

func (r *Registry) pointer(ctx context.Context, k store.Key, missing string, kind Kind) (Active, int64, error) {
	var a Active
	iv, err := r.getJSON(ctx, k, &a)
	if errors.Is(err, store.ErrNotFound) {
		return a, 0, core.Errorf(core.CodeNotFound, missing, kind)
	}
	return a, iv, err
}

// Activate makes a version the one its kind runs, with no failures, and
// re-enables it if it was disabled; plugin.activated records it.
func (r *Registry) Activate(ctx context.Context, tenant, name string, number int) (Version, error) {
	return r.activate(ctx, tenant, name, number, events.PluginActivated, nil)
}

// Rollback makes the version that was active before name's active version
// the active one again, and records plugin.rolled_back. Versions deleted
// since are passed over.
func (r *Registry) Rollback(ctx context.Context, tenant, name string) (Version, error) {
	h, err := r.head(ctx, tenant, name)
	if err != nil {
		return Version{}, err
	}
	a, _, err := r.Active(ctx, tenant, h.Kind)
	if err != nil || a.Name != name {
		return Version{}, core.Errorf(core.CodeConflict, "plugin %s is not the active %s plugin: nothing to roll back", name, h.Kind)
	}
	for i := len(a.History) - 1; i >= 0; i-- {
		prev := a.History[i]
		if _, _, err := r.version(ctx, tenant, prev.Name, prev.Version); core.ErrorCode(err) == core.CodeNotFound {
			continue
		} else if err != nil {
			return Version{}, err
		}
		return r.activate(ctx, tenant, prev.Name, prev.Version, events.PluginRolledBack, a.History[:i])
	}
	return Version{}, core.Errorf(core.CodeConflict, "no version of a %s plugin was active before %s version %d", h.Kind, name, a.Version)
}

// activate points kind at a version. history is the pointer's history
// afterwards; nil appends the version being replaced to it.
func (r *Registry) activate(ctx context.Context, tenant, name string, number int, what events.Type, history []Ref) (Version, error) {
	for attempt := 0; ; attempt++ {
		v, vv, err := r.version(ctx, tenant, name, number)
		if err != nil {
			return v, err
		}
		cur, av, err := r.Active(ctx, tenant, v.Kind)
		if err != nil && core.ErrorCode(err) != core.CodeNotFound {
			return v, err
		}
		hist := history
		if hist == nil {
			hist = cur.History
			if av > 0 && (cur.Name != name || cur.Version != number) {
				hist = append(hist, Ref{Name: cur.Name, Version: cur.Version})
			}
			if len(hist) > maxHistory {
				hist = hist[len(hist)-maxHistory:]
			}
		}
		now := r.now().UTC()
		v.Status, v.DisabledReason = StatusReady, ""
		aw, err := putJSON(activeKey(tenant, v.Kind), av, Active{Name: name, Version: number, ModuleID: v.ModuleID,
			Fields: v.Fields, Since: now, History: hist})
		if err != nil {
			return v, err
		}
		vw, err := putJSON(versionKey(tenant, name, number), vv, v)
		if err != nil {
			return v, err
		}
		v.Status = StatusActive
		prev := 0
		if av > 0 && cur.Name == name {
			prev = cur.Version
		}
		ev, err := r.event(ctx, tenant, what, now, v, prev)
		if err != nil {
			return v, err
		}
		writes := []store.Write{aw, vw, ev}
		// A version cannot shadow itself.
		if s, sv, err := r.Shadow(ctx, tenant, v.Kind); err == nil && s.Name == name && s.Version == number {
			writes = append(writes, store.Write{Op: store.OpDelete, Key: shadowKey(tenant, v.Kind), Cond: store.Cond{Version: sv}})
		}
		err = r.store.Transact(ctx, writes)
		if isRace(err) && attempt < maxRetries {
			continue
		}
		if err != nil {
			return v, fmt.Errorf("activate plugin %s version %d: %w", name, number, storeErr(err))
		}
		return v, nil
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
		if isRace(err) {
			return v, core.Errorf(core.CodeConflict, "the %s shadow changed meanwhile; retry", v.Kind)
		}
		return v, fmt.Errorf("shadow plugin %s version %d: %w", name, number, storeErr(err))
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
		return fmt.Errorf("stop shadow of plugin %s: %w", name, storeErr(err))
	}
	return nil
}

// Delete removes a version that is neither active nor in shadow. It
// answers whether another version of the tenant still uses the module, so
// the caller knows whether its bytes may go.
func (r *Registry) Delete(ctx context.Context, tenant, name string, number int) (moduleInUse bool, err error) {
	v, vv, err := r.version(ctx, tenant, name, number)
	if err != nil {
		return false, err
	}
	if v = r.withStatus(ctx, tenant, v); v.Status == StatusActive || v.Status == StatusShadow {
		return false, core.Errorf(core.CodeConflict, "plugin %s version %d is %s: activate another or stop the shadow first", name, number, v.Status)
	}
	if err := r.store.Delete(ctx, versionKey(tenant, name, number), store.Cond{Version: vv}); err != nil {
		if errors.Is(err, store.ErrConditionFailed) {
			return false, core.Errorf(core.CodeConflict, "plugin %s version %d changed meanwhile; retry", name, number)
		}
		return false, fmt.Errorf("delete plugin %s version %d: %w", name, number, storeErr(err))
	}
	plugins, err := r.List(ctx, tenant)
	if err != nil {
		return true, err // when in doubt, keep the bytes
	}
	for _, p := range plugins {
		vs, err := r.Versions(ctx, tenant, p.Name)
		if err != nil {
			return true, err
		}
		for _, o := range vs {
			if o.ModuleID == v.ModuleID {
				return true, nil
			}
		}
	}
	return false, nil
}

// Plugin is a tenant's plugin: its kind, newest version, and which of its
// versions are active and in shadow (0 for none).
type Plugin struct {
	Name   string `json:"name"`
	Kind   Kind   `json:"kind"`
	Latest int    `json:"latest_version"`
	Active int    `json:"active_version,omitempty"`
	Shadow int    `json:"shadow_version,omitempty"`
}

// List returns a tenant's plugins by name.
func (r *Registry) List(ctx context.Context, tenant string) ([]Plugin, error) {
	var out []Plugin
	cursor := ""
	for {
		page, err := r.store.Query(ctx, store.Query{PK: indexPK(tenant), Cursor: cursor, Limit: 100})
		if err != nil {
			return nil, fmt.Errorf("list plugins: %w", storeErr(err))
		}
		for _, it := range page.Items {
			h, err := r.head(ctx, tenant, it.Key.SK)
			if err != nil {
				return nil, err
			}
			p := Plugin{Name: h.Name, Kind: h.Kind, Latest: h.Latest}
			if a, _, err := r.Active(ctx, tenant, h.Kind); err == nil && a.Name == h.Name {
				p.Active = a.Version
			}
			if s, _, err := r.Shadow(ctx, tenant, h.Kind); err == nil && s.Name == h.Name {
				p.Shadow = s.Version
			}
			out = append(out, p)
		}
		if page.Next == "" {
			return out, nil
		}
		cursor = page.Next
	}
}

// Versions returns a plugin's versions, oldest first, with their status.
func (r *Registry) Versions(ctx context.Context, tenant, name string) ([]Version, error) {
	h, err := r.head(ctx, tenant, name)
	if err != nil {
		return nil, err
	}
	active, _, _ := r.Active(ctx, tenant, h.Kind)
	shadow, _, _ := r.Shadow(ctx, tenant, h.Kind)
	var out []Version
	cursor := ""
	for {
		page, err := r.store.Query(ctx, store.Query{PK: pluginPK(tenant, name), Prefix: "v#", Cursor: cursor, Limit: 100})
		if err != nil {
			return nil, fmt.Errorf("list versions of plugin %s: %w", name, storeErr(err))
		}
		for _, it := range page.Items {
			var v Version
			if err := json.Unmarshal(it.Data, &v); err != nil {
				return nil, fmt.Errorf("decode %s: %w", it.Key, err)
			}
			switch {
			case v.Status == StatusDisabled:
			case active.Name == name && active.Version == v.Number:
				v.Status = StatusActive
			case shadow.Name == name && shadow.Version == v.Number:
				v.Status = StatusShadow
			}
			out = append(out, v)
		}
		if page.Next == "" {
			return out, nil
		}
		cursor = page.Next
	}
}

func (r *Registry) head(ctx context.Context, tenant, name string) (head, error) {
	var h head
	_, err := r.getJSON(ctx, headKey(tenant, name), &h)
	if errors.Is(err, store.ErrNotFound) {
		return h, core.Errorf(core.CodeNotFound, "no plugin %s", name)
	}
	return h, err
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
func (r *Registry) recordFailure(ctx context.Context, tenant string, kind Kind, a Active, limit int, f Failure) (disabled bool, err error) {
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
			ev, err := r.event(ctx, tenant, events.PluginDisabled, now, v, 0)
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
func (r *Registry) resetFailures(ctx context.Context, tenant string, kind Kind, a Active, av int64) error {
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

func (r *Registry) event(ctx context.Context, tenant string, detailType events.Type, at time.Time, v Version, previous int) (store.Write, error) {
	data, err := json.Marshal(struct {
		Version
		Previous int `json:"previous_version,omitempty"`
	}{v, previous})
	if err != nil {
		return store.Write{}, err
	}
	return events.OutboxWrite(events.New(ctx, tenant, detailType, at, events.Entity{Type: "plugin", ID: v.Name, Data: data}))
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
