package tenancy

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
)

// Tenants is the repository of tenants and their settings.
type Tenants struct {
	store store.Store
	now   func() time.Time
	// at, when not 0, is the only version a change applies to (AtVersion).
	at int64
}

// AtVersion returns the tenants whose changes apply only to a tenant still
// at version (0: any), the If-Match of a settings or custom-field change.
// The check is made on the version each attempt reads and the write is
// guarded by that version, so a change cannot land on a newer tenant.
func (ts *Tenants) AtVersion(version int64) *Tenants {
	c := *ts
	c.at = version
	return &c
}

// NewTenants returns the tenants in s.
func NewTenants(s store.Store, now func() time.Time) *Tenants {
	return &Tenants{store: s, now: now}
}

var tenantDoc = record.Doc[core.Tenant]{Name: "tenant", Version: func(t *core.Tenant) *int64 { return &t.Version }}

// Get returns a tenant. A principal's tenant always exists (keys are made
// for existing tenants), so not found here means a broken credential.
func (ts *Tenants) Get(ctx context.Context, id string) (core.Tenant, error) {
	t, _, err := tenantDoc.Get(ctx, ts.store, TenantKey(id))
	if core.ErrorCode(err) == core.CodeNotFound {
		return t, core.Errorf(core.CodeNotFound, "tenant %s not found", id)
	}
	return t, err
}

// Create stores a new tenant; an existing id is a conflict.
func (ts *Tenants) Create(ctx context.Context, id, name, region string) (core.Tenant, error) {
	var p core.Problems
	if !core.ValidTenantID(id) {
		p.Add("tenant", "must be 1-63 lower-case letters, digits or dashes")
	}
	region, err := core.NormalizeRegion(region)
	if err != nil {
		p.Add("default_region", "%v", err)
	}
	if err := p.Err(); err != nil {
		return core.Tenant{}, err
	}
	t := core.Tenant{ID: id, Name: name, DefaultRegion: region, CreatedAt: ts.now().UTC()}
	if err := tenantDoc.Create(ctx, ts.store, TenantKey(id), &t); core.ErrorCode(err) == core.CodeConflict {
		return t, core.Errorf(core.CodeConflict, "tenant %s already exists", id)
	} else if err != nil {
		return t, err
	}
	return t, nil
}

// Update applies change to a tenant's settings with optimistic concurrency.
func (ts *Tenants) Update(ctx context.Context, id string, change func(*core.Tenant) error) (core.Tenant, error) {
	// A missing tenant is said as such; change's own not-found (a custom
	// field that is not defined, say) passes through as it is.
	var changeErr error
	t, err := tenantDoc.Update(ctx, ts.store, TenantKey(id), false, func(t *core.Tenant, _ bool) error {
		if ts.at != 0 && t.Version != ts.at {
			return record.Stale("tenant", id, ts.at, t.Version)
		}
		if changeErr = change(t); changeErr != nil {
			return changeErr
		}
		t.ID = id
		return nil
	})
	if err != nil && changeErr == nil && core.ErrorCode(err) == core.CodeNotFound {
		return t, core.Errorf(core.CodeNotFound, "tenant %s not found", id)
	}
	return t, err
}

// SetRegion changes the default region for phone numbers.
func (ts *Tenants) SetRegion(ctx context.Context, id, region string) (core.Tenant, error) {
	return ts.SetSettings(ctx, id, Settings{DefaultRegion: &region})
}

// Settings are the tenant settings a caller may change; nil leaves one as
// it is.
type Settings struct {
	DefaultRegion      *string
	TimeZone           *string
	PluginFailureLimit *int
	ScoringWeights     *core.ScoringWeights
	RoutingStrategy    *string
	// RateLimits replaces the parts it names (tenant, api_key).
	RateLimits *core.RateLimits
}

// SetSettings changes the settings s names, all or none.
func (ts *Tenants) SetSettings(ctx context.Context, id string, s Settings) (core.Tenant, error) {
	var p core.Problems
	var region string
	if s.DefaultRegion != nil {
		r, err := core.NormalizeRegion(*s.DefaultRegion)
		if err != nil {
			p.Add("default_region", "%v", err)
		}
		region = r
	}
	if z := s.TimeZone; z != nil {
		if err := core.CheckTimeZone(*z); err != nil {
			p = append(p, core.FieldError{Path: "time_zone", Message: err.Error(), Value: *z})
		}
	}
	if l := s.PluginFailureLimit; l != nil && (*l < 1 || *l > core.MaxPluginFailureLimit) {
		p.Add("plugin_failure_limit", "must be between 1 and %d", core.MaxPluginFailureLimit)
	}
	if r := s.RoutingStrategy; r != nil && !slices.Contains(core.RoutingStrategies, *r) {
		p = append(p, core.FieldError{Path: "routing_strategy", Message: "must be round_robin, least_loaded or territory", Value: *r})
	}
	if w := s.ScoringWeights; w != nil {
		if err := w.Check(); err != nil {
			var ce *core.Error
			if errors.As(err, &ce) {
				p = append(p, ce.Fields...)
			}
		}
	}
	if r := s.RateLimits; r != nil {
		if err := r.Check(); err != nil {
			var ce *core.Error
			if errors.As(err, &ce) {
				p = append(p, ce.Fields...)
			}
		}
	}
	if err := p.Err(); err != nil {
		return core.Tenant{}, err
	}
	return ts.Update(ctx, id, func(t *core.Tenant) error {
		if r := s.RateLimits; r != nil {
			merged := core.RateLimits{}
			if t.RateLimits != nil {
				merged = *t.RateLimits
			}
			if r.Tenant != nil {
				l := *r.Tenant
				merged.Tenant = &l
			}
			if r.APIKey != nil {
				l := *r.APIKey
				merged.APIKey = &l
			}
			t.RateLimits = &merged
		}
		if s.ScoringWeights != nil {
			w := *s.ScoringWeights
			t.ScoringWeights = &w
		}
		if s.RoutingStrategy != nil {
			t.RoutingStrategy = *s.RoutingStrategy
		}
		if s.DefaultRegion != nil {
			t.DefaultRegion = region
		}
		if s.PluginFailureLimit != nil {
			t.PluginFailureLimit = *s.PluginFailureLimit
		}
		if s.TimeZone != nil {
			t.TimeZone = *s.TimeZone
		}
		return nil
	})
}

// PutField defines or redefines a custom field.
func (ts *Tenants) PutField(ctx context.Context, id string, d core.FieldDef) (core.Tenant, error) {
	if err := d.Validate(); err != nil {
		return core.Tenant{}, err
	}
	return ts.Update(ctx, id, func(t *core.Tenant) error {
		i := slices.IndexFunc(t.CustomFields, func(o core.FieldDef) bool { return o.Entity == d.Entity && o.Key == d.Key })
		if i >= 0 {
			t.CustomFields[i] = d
			return nil
		}
		if len(t.Rules(d.Entity, time.Time{}).Fields) >= core.MaxFieldDefs {
			return core.Errorf(core.CodeConflict, "a tenant can define at most %d custom fields per entity", core.MaxFieldDefs)
		}
		t.CustomFields = append(t.CustomFields, d)
		return nil
	})
}

// DeleteField removes a custom field definition. Stored values stay on their
// records until the record is next written (see core.DropStaleCustom).
func (ts *Tenants) DeleteField(ctx context.Context, id string, entity core.Entity, key string) (core.Tenant, error) {
	return ts.Update(ctx, id, func(t *core.Tenant) error {
		i := slices.IndexFunc(t.CustomFields, func(o core.FieldDef) bool { return o.Entity == entity && o.Key == key })
		if i < 0 {
			return core.Errorf(core.CodeNotFound, "no %s custom field %q", entity, key)
		}
		t.CustomFields = slices.Delete(t.CustomFields, i, i+1)
		return nil
	})
}
