package core

import (
	"regexp"
	"slices"
	"time"
)

// Tenant is a company using the CRM. Every stored key begins with its id.
type Tenant struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// DefaultRegion is the ISO 3166-1 region used to read phone numbers
	// written without an international prefix.
	DefaultRegion string `json:"default_region"`
	// CustomFields are the tenant's custom field definitions, kept in the
	// tenant's item so that validating a write costs one read.
	CustomFields []FieldDef `json:"custom_fields,omitempty"`
	// PluginFailureLimit is how many consecutive failed calls disable a
	// plugin version; zero means DefaultPluginFailureLimit.
	PluginFailureLimit int       `json:"plugin_failure_limit,omitempty"`
	Version            int64     `json:"version"`
	CreatedAt          time.Time `json:"created_at"`
}

// DefaultPluginFailureLimit is the PluginFailureLimit of a tenant that set
// none, and MaxPluginFailureLimit the most it may set.
const (
	DefaultPluginFailureLimit = 5
	MaxPluginFailureLimit     = 1000
)

// FailureLimit is the tenant's PluginFailureLimit with its default.
func (t Tenant) FailureLimit() int {
	if t.PluginFailureLimit <= 0 {
		return DefaultPluginFailureLimit
	}
	return t.PluginFailureLimit
}

// Rules returns the validation rules for entity at now.
func (t Tenant) Rules(entity Entity, now time.Time) Rules {
	r := Rules{DefaultRegion: t.DefaultRegion, Now: now}
	for _, d := range t.CustomFields {
		if d.Entity == entity {
			r.Fields = append(r.Fields, d)
		}
	}
	return r
}

var tenantIDPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// ValidTenantID reports whether id can name a tenant: lower-case letters,
// digits and dashes, so that it is safe inside keys, logs and URLs.
func ValidTenantID(id string) bool { return tenantIDPattern.MatchString(id) }

// Scope is a permission an API key carries.
type Scope string

const (
	ScopeRead         Scope = "crm:read"
	ScopeWrite        Scope = "crm:write"
	ScopePluginsAdmin Scope = "plugins:admin"
	ScopeAdmin        Scope = "admin"
)

// Scopes lists every scope.
var Scopes = []Scope{ScopeRead, ScopeWrite, ScopePluginsAdmin, ScopeAdmin}

// ParseScope returns the scope named s.
func ParseScope(s string) (Scope, bool) {
	for _, known := range Scopes {
		if string(known) == s {
			return known, true
		}
	}
	return "", false
}

// Principal is who is calling: one tenant, with the scopes of its credential.
type Principal struct {
	TenantID string
	KeyID    string // the API key's id, or the JWT subject
	Scopes   []Scope
}

// Can reports whether p holds scope. The admin scope implies every other,
// and crm:write implies crm:read.
func (p Principal) Can(scope Scope) bool {
	if slices.Contains(p.Scopes, ScopeAdmin) || slices.Contains(p.Scopes, scope) {
		return true
	}
	return scope == ScopeRead && slices.Contains(p.Scopes, ScopeWrite)
}
