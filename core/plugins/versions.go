package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/record"
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
	// Revision is the stored version's own version, which changes when it
	// is disabled; with Status (from the kind's pointers) it is everything
	// that can change in a version, so the two make its ETag. Not stored.
	Revision int64 `json:"-"`
}

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
		hv, err := getJSON(ctx, r.store, headKey(tenant, name), &h)
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
			Status: StatusReady, CreatedAt: now, Revision: 1}
		hw, err := putJSON(headKey(tenant, name), hv, h)
		if err != nil {
			return v, err
		}
		vw, err := putJSON(versionKey(tenant, name, v.Number), 0, v)
		if err != nil {
			return v, err
		}
		ev, err := r.event(ctx, tenant, events.PluginVersionUploaded, now, v, 0, nil)
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
		if record.IsRace(err) && attempt < maxRetries {
			continue
		}
		if err != nil {
			return v, fmt.Errorf("add version of plugin %s: %w", name, record.StoreError(err))
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
	iv, err := getJSON(ctx, r.store, versionKey(tenant, name, number), &v)
	if errors.Is(err, store.ErrNotFound) {
		return v, 0, core.Errorf(core.CodeNotFound, "plugin %s has no version %d", name, number)
	}
	v.Revision = iv
	return v, iv, err
}

// Delete removes a version that is neither active nor in shadow, and
// still at revision (0: any). It answers whether another version of the
// tenant still uses the module, so the caller knows whether its bytes may
// go.
func (r *Registry) Delete(ctx context.Context, tenant, name string, number int, revision int64) (moduleInUse bool, err error) {
	v, vv, err := r.version(ctx, tenant, name, number)
	if err != nil {
		return false, err
	}
	if revision != 0 && vv != revision {
		return false, record.Stale(fmt.Sprintf("plugin %s version", name), strconv.Itoa(number), revision, vv)
	}
	if v = r.withStatus(ctx, tenant, v); v.Status == StatusActive || v.Status == StatusShadow {
		return false, core.Errorf(core.CodeConflict, "plugin %s version %d is %s: activate another or stop the shadow first", name, number, v.Status)
	}
	ev, err := r.event(ctx, tenant, events.PluginVersionDeleted, r.now().UTC(), v, 0, nil)
	if err != nil {
		return false, err
	}
	del := record.Doc[Version]{Name: "plugin version"}.DeleteWrite(versionKey(tenant, name, number), vv)
	if err := r.store.Transact(ctx, []store.Write{del, ev}); err != nil {
		if record.IsRace(err) {
			return false, core.Errorf(core.CodeConflict, "plugin %s version %d changed meanwhile; retry", name, number)
		}
		return false, fmt.Errorf("delete plugin %s version %d: %w", name, number, record.StoreError(err))
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
			return nil, fmt.Errorf("list plugins: %w", record.StoreError(err))
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
			return nil, fmt.Errorf("list versions of plugin %s: %w", name, record.StoreError(err))
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
	_, err := getJSON(ctx, r.store, headKey(tenant, name), &h)
	if errors.Is(err, store.ErrNotFound) {
		return h, core.Errorf(core.CodeNotFound, "no plugin %s", name)
	}
	return h, err
}

func (r *Registry) event(ctx context.Context, tenant string, detailType events.Type, at time.Time, v Version, previous int, replaced *Ref) (store.Write, error) {
	data, err := json.Marshal(struct {
		Version
		Previous int  `json:"previous_version,omitempty"`
		Replaced *Ref `json:"replaced,omitempty"`
	}{v, previous, replaced})
	if err != nil {
		return store.Write{}, err
	}
	return events.OutboxWrite(events.New(ctx, tenant, detailType, at, events.Entity{Type: "plugin", ID: v.Name, Data: data}))
}
