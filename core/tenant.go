package core

import (
	"fmt"
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
	// TimeZone is the tenant's IANA time zone: where its days, months and
	// business hours begin (reports, cohorts, and a recipient's quiet hours
	// when the contact has no zone of its own). UTC when empty.
	TimeZone string `json:"time_zone,omitempty"`
	// CustomFields are the tenant's custom field definitions, kept in the
	// tenant's item so that validating a write costs one read.
	CustomFields []FieldDef `json:"custom_fields,omitempty"`
	// PluginFailureLimit is how many consecutive failed calls disable a
	// plugin version; zero means DefaultPluginFailureLimit.
	PluginFailureLimit int `json:"plugin_failure_limit,omitempty"`
	// RoutingStrategy is how the built-in router picks an owner: one of
	// RoutingStrategies, "territory" when empty.
	RoutingStrategy string `json:"routing_strategy,omitempty"`
	// ScoringWeights tune the built-in scorer; nil keeps the defaults.
	ScoringWeights *ScoringWeights `json:"scoring_weights,omitempty"`
	// RateLimits are the tenant's request budgets; nil, or a part nil,
	// keeps DefaultRateLimits.
	RateLimits *RateLimits `json:"rate_limits,omitempty"`
	Version    int64       `json:"version"`
	CreatedAt  time.Time   `json:"created_at"`
}

// Location is the tenant's time zone, UTC when unset or unknown (a zone
// is checked when it is set, so unknown means the zone database changed).
func (t Tenant) Location() *time.Location {
	if t.TimeZone == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(t.TimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// CheckTimeZone reports whether name is an IANA time zone this process knows.
func CheckTimeZone(name string) error {
	if name == "" || name == "Local" {
		return fmt.Errorf("must be an IANA time zone such as Europe/Rome")
	}
	if _, err := time.LoadLocation(name); err != nil {
		return fmt.Errorf("unknown time zone %q: must be an IANA time zone such as Europe/Rome", name)
	}
	return nil
}

// ScoringWeights are the points the built-in scorer gives. Fit: a contact
// with an e-mail address, a phone number, in a stage, at a company of a
// size. Engagement: each activity by type, weighing half as much after
// HalfLifeDays, up to EngagementCap in all.
type ScoringWeights struct {
	Email         int `json:"email" minimum:"0" maximum:"100"`
	Phone         int `json:"phone" minimum:"0" maximum:"100"`
	MQL           int `json:"mql" minimum:"0" maximum:"100"`
	SQL           int `json:"sql" minimum:"0" maximum:"100"`
	Customer      int `json:"customer" minimum:"0" maximum:"100"`
	Enterprise    int `json:"enterprise" minimum:"0" maximum:"100" doc:"Companies of over 1000 employees."`
	MidSize       int `json:"mid_size" minimum:"0" maximum:"100" doc:"Companies of 11 to 1000 employees."`
	Meeting       int `json:"meeting" minimum:"0" maximum:"100"`
	Call          int `json:"call" minimum:"0" maximum:"100"`
	EmailActivity int `json:"email_activity" minimum:"0" maximum:"100"`
	OtherActivity int `json:"other_activity" minimum:"0" maximum:"100"`
	EngagementCap int `json:"engagement_cap" minimum:"0" maximum:"100"`
	HalfLifeDays  int `json:"half_life_days" minimum:"1" maximum:"3650"`
}

// RoutingStrategies are the built-in router's: members in turn; the least
// loaded (open leads against capacity); or the least loaded among those
// whose territory is the lead's country, all of them when none is.
var RoutingStrategies = []string{"round_robin", "least_loaded", "territory"}

// Routing is the tenant's RoutingStrategy with its default.
func (t Tenant) Routing() string {
	if t.RoutingStrategy == "" {
		return "territory"
	}
	return t.RoutingStrategy
}

// DefaultScoringWeights are the built-in scorer's weights of a tenant that
// set none.
var DefaultScoringWeights = ScoringWeights{Email: 15, Phone: 10, MQL: 20, SQL: 30, Customer: 25, Enterprise: 30, MidSize: 15,
	Meeting: 10, Call: 6, EmailActivity: 3, OtherActivity: 2, EngagementCap: 30, HalfLifeDays: 30}

// Weights is the tenant's ScoringWeights with the defaults.
func (t Tenant) Weights() ScoringWeights {
	if t.ScoringWeights == nil {
		return DefaultScoringWeights
	}
	return *t.ScoringWeights
}

// Check validates weights, reporting every one at fault.
func (w ScoringWeights) Check() error {
	var p Problems
	for name, v := range map[string]int{"email": w.Email, "phone": w.Phone, "mql": w.MQL, "sql": w.SQL, "customer": w.Customer,
		"enterprise": w.Enterprise, "mid_size": w.MidSize, "meeting": w.Meeting, "call": w.Call, "email_activity": w.EmailActivity,
		"other_activity": w.OtherActivity, "engagement_cap": w.EngagementCap} {
		if v < 0 || v > 100 {
			p.Add("scoring_weights."+name, "must be between 0 and 100")
		}
	}
	if w.HalfLifeDays < 1 || w.HalfLifeDays > 3650 {
		p.Add("scoring_weights.half_life_days", "must be between 1 and 3650")
	}
	return p.Err()
}

// RateLimit is a token bucket: Rate requests a second on average, Burst
// at once.
type RateLimit struct {
	Rate  int `json:"rate" minimum:"1" maximum:"10000" doc:"Requests a second, on average."`
	Burst int `json:"burst" minimum:"1" maximum:"20000" doc:"Requests at once, after a pause: the bucket's size."`
}

// RateLimits are a tenant's budgets: for the whole tenant, and for each of
// its API keys (or JWT subjects) on its own.
type RateLimits struct {
	Tenant *RateLimit `json:"tenant,omitempty" doc:"For every request of the tenant together (default 100/s, burst 200)."`
	APIKey *RateLimit `json:"api_key,omitempty" doc:"For each API key on its own (default 50/s, burst 100)."`
}

// DefaultRateLimits are those of a tenant that set none: the tenant's
// match API Gateway's default stage throttling in template.yaml, and one
// key gets half, so that one runaway job cannot starve the others.
var DefaultRateLimits = struct{ Tenant, APIKey RateLimit }{
	Tenant: RateLimit{Rate: 100, Burst: 200},
	APIKey: RateLimit{Rate: 50, Burst: 100},
}

// MaxRateLimit bounds what a tenant may set.
var MaxRateLimit = RateLimit{Rate: 10_000, Burst: 20_000}

// Limits are the tenant's RateLimits with the defaults.
func (t Tenant) Limits() (tenant, apiKey RateLimit) {
	tenant, apiKey = DefaultRateLimits.Tenant, DefaultRateLimits.APIKey
	if r := t.RateLimits; r != nil {
		if r.Tenant != nil {
			tenant = *r.Tenant
		}
		if r.APIKey != nil {
			apiKey = *r.APIKey
		}
	}
	return tenant, apiKey
}

// Check validates limits, reporting every one at fault.
func (r RateLimits) Check() error {
	var p Problems
	for name, l := range map[string]*RateLimit{"tenant": r.Tenant, "api_key": r.APIKey} {
		if l == nil {
			continue
		}
		if l.Rate < 1 || l.Rate > MaxRateLimit.Rate {
			p.Add("rate_limits."+name+".rate", "must be between 1 and %d", MaxRateLimit.Rate)
		}
		if l.Burst < 1 || l.Burst > MaxRateLimit.Burst {
			p.Add("rate_limits."+name+".burst", "must be between 1 and %d", MaxRateLimit.Burst)
		}
	}
	return p.Err()
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
	// ScopeMessageReceipts is a delivery provider's: it reports receipts
	// (POST /v1/messages/{id}/events) and can do nothing else.
	ScopeMessageReceipts Scope = "messages:receipts"
)

// Scopes lists every scope.
var Scopes = []Scope{ScopeRead, ScopeWrite, ScopePluginsAdmin, ScopeAdmin, ScopeMessageReceipts}

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
