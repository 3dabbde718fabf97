package campaigns

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/messaging"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
)

// Status is where a campaign stands.
type Status string

const (
	Draft     Status = "draft"     // being written; the only status its fields change in
	Scheduled Status = "scheduled" // waiting for its launch time
	Running   Status = "running"   // its launch job is going through the audience
	Paused    Status = "paused"    // launching stopped; resume continues where it stopped
	Completed Status = "completed" // every recipient was decided
	Cancelled Status = "cancelled" // stopped for good; its deferred messages are skipped
)

// Statuses lists every status.
var Statuses = []Status{Draft, Scheduled, Running, Paused, Completed, Cancelled}

// ScheduleKind says when a campaign sends.
type ScheduleKind string

const (
	SendNow       ScheduleKind = "now"        // when scheduled
	SendAt        ScheduleKind = "at"         // at one instant for everyone
	SendLocalTime ScheduleKind = "local_time" // at a date and wall-clock time in each recipient's zone
)

// ScheduleKinds lists every kind of schedule.
var ScheduleKinds = []ScheduleKind{SendNow, SendAt, SendLocalTime}

// Holdout is the variant name of the recipients who receive nothing.
const Holdout = "holdout"

// CampaignSchedule is when a campaign sends.
type CampaignSchedule struct {
	Kind ScheduleKind `json:"kind" enum:"now,at,local_time" doc:"now, at (one instant), or local_time (a date and time in each recipient's zone)."` // ScheduleKinds
	At   time.Time    `json:"at,omitzero" doc:"For at: the instant (RFC 3339)."`
	Date string       `json:"date,omitempty" format:"date" doc:"For local_time: the day (YYYY-MM-DD) in each recipient's zone."`
	Time string       `json:"time,omitempty" pattern:"^([01][0-9]|2[0-3]):[0-5][0-9]$" doc:"For local_time: the wall-clock time (HH:MM) in each recipient's zone."`
}

// CampaignVariant is one version of the message and its share of the
// treated recipients.
type CampaignVariant struct {
	Name     string `json:"name" minLength:"1" maxLength:"64" doc:"Its name in the performance report; not holdout."`
	Template string `json:"template,omitempty" maxLength:"200" doc:"The provider's template for this variant; the campaign's when absent."`
	Share    int    `json:"share" minimum:"1" maximum:"100" doc:"Percent of the treated (non-holdout) recipients; shares add up to 100."`
}

// MergeField is one personalisation field: a value of the contact view
// under a name, or its default when the contact has none.
type MergeField struct {
	Name    string `json:"name" minLength:"1" maxLength:"64" doc:"The name the template uses."`
	Field   string `json:"field" minLength:"1" maxLength:"100" doc:"A contact field: first_name, last_name, full_name, email, phone, city, country, company_id, time_zone, or custom.<key>."`
	Default string `json:"default,omitempty" maxLength:"500" doc:"Used when the contact has no value."`
}

// mergeSources are the contact view's fields a merge field may name (and
// custom.<key>).
var mergeSources = []string{"first_name", "last_name", "full_name", "email", "phone", "city", "country", "company_id", "time_zone"}

// CampaignFields is what a campaign's writers set.
type CampaignFields struct {
	Name        string `json:"name" minLength:"1" maxLength:"200"`
	Description string `json:"description,omitempty" maxLength:"2000"`
	// SegmentID or ListID is the audience, one of the two; read page by
	// page when the campaign launches.
	SegmentID string            `json:"segment_id,omitempty" maxLength:"26" doc:"A dynamic segment of the tenant: its members when the campaign launches."`
	ListID    string            `json:"list_id,omitempty" maxLength:"26" doc:"A static list of the tenant (instead of segment_id)."`
	Channel   messaging.Channel `json:"channel"` // messaging.Channels
	Template  string            `json:"template" minLength:"1" maxLength:"200" doc:"The provider's template reference."`
	Merge     []MergeField      `json:"merge,omitempty" maxItems:"50" doc:"Personalisation fields from the contact view, with defaults."`
	Schedule  CampaignSchedule  `json:"schedule,omitzero" doc:"When it sends; now when absent."`
	Variants  []CampaignVariant `json:"variants,omitempty" maxItems:"10" doc:"A/B variants and their shares; one variant named main, the whole treated group, when absent."`
	// HoldoutPercent of the audience receives nothing and is measured like
	// the rest: the baseline of the uplift.
	HoldoutPercent int                `json:"holdout_percent,omitempty" minimum:"0" maximum:"90" doc:"Percent of the audience held out: enrolled, measured, sent nothing."`
	Priority       messaging.Priority `json:"priority,omitempty" doc:"Passed to the delivery policy: normal (default) or high."`               // messaging.Priorities
	OnCap          messaging.OnCap    `json:"on_cap,omitempty" doc:"Passed to the delivery policy: defer (default) or drop a capped message."` // messaging.OnCaps
}

// Campaign is a one-off campaign and where it stands.
type Campaign struct {
	core.Meta
	CampaignFields
	Status Status `json:"status" enum:"draft,scheduled,running,paused,completed,cancelled" readOnly:"true"` // Statuses
	// JobID is the launch job now or last running (GET /v1/jobs/{id}).
	JobID       string    `json:"job_id,omitempty" readOnly:"true" doc:"The launch job (GET /v1/jobs/{id})."`
	TimerID     string    `json:"timer_id,omitempty" readOnly:"true" doc:"The timer that launches a scheduled campaign."`
	LaunchAt    time.Time `json:"launch_at,omitzero" readOnly:"true" doc:"When the launch job starts (scheduled)."`
	LaunchedAt  time.Time `json:"launched_at,omitzero" readOnly:"true"`
	CompletedAt time.Time `json:"completed_at,omitzero" readOnly:"true"`
}

var campaignKind = record.Type[Campaign]{
	Name: "campaign",
	Key:  campaignKey,
	Meta: func(c *Campaign) *core.Meta { return &c.Meta },
}

var nameRe = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// normalize validates the fields, naming every one at fault, and fills
// the defaults (one variant "main", priority normal, on_cap defer).
func (f *CampaignFields) normalize(now time.Time) error {
	var p core.Problems
	f.Name = strings.TrimSpace(f.Name)
	if f.Name == "" || len([]rune(f.Name)) > 200 {
		p.Add("name", "must be 1-200 characters")
	}
	if len([]rune(f.Description)) > 2000 {
		p.Add("description", "must be at most 2000 characters")
	}
	switch {
	case (f.SegmentID == "") == (f.ListID == ""):
		p.Add("segment_id", "give segment_id or list_id, one of the two")
	case f.SegmentID != "" && !core.ValidID(f.SegmentID):
		p = append(p, core.FieldError{Path: "segment_id", Message: "must be a segment id", Value: f.SegmentID})
	case f.ListID != "" && !core.ValidID(f.ListID):
		p = append(p, core.FieldError{Path: "list_id", Message: "must be a list id", Value: f.ListID})
	}
	if !slices.Contains(messaging.Channels, f.Channel) {
		p = append(p, core.FieldError{Path: "channel", Message: "must be one of email, sms, push, post, phone", Value: string(f.Channel)})
	}
	f.Template = strings.TrimSpace(f.Template)
	if f.Template == "" || len([]rune(f.Template)) > 200 {
		p.Add("template", "must be 1-200 characters")
	}
	seen := map[string]bool{}
	for i, m := range f.Merge {
		path := fmt.Sprintf("merge[%d]", i)
		if !nameRe.MatchString(m.Name) {
			p = append(p, core.FieldError{Path: path + ".name", Message: "must be 1-64 letters, digits, _ . or -", Value: m.Name})
		} else if seen[m.Name] {
			p = append(p, core.FieldError{Path: path + ".name", Message: "is given twice", Value: m.Name})
		}
		seen[m.Name] = true
		key, custom := strings.CutPrefix(m.Field, "custom.")
		if custom && key == "" || !custom && !slices.Contains(mergeSources, m.Field) {
			p = append(p, core.FieldError{Path: path + ".field", Message: "must be one of " + strings.Join(mergeSources, ", ") + " or custom.<key>", Value: m.Field})
		}
		if len([]rune(m.Default)) > 500 {
			p.Add(path+".default", "must be at most 500 characters")
		}
	}
	f.schedule(&p, now)
	if len(f.Variants) == 0 {
		f.Variants = []CampaignVariant{{Name: "main", Share: 100}}
	}
	if len(f.Variants) > 10 {
		p.Add("variants", "at most 10 variants")
	}
	total, names := 0, map[string]bool{}
	for i, v := range f.Variants {
		path := fmt.Sprintf("variants[%d]", i)
		switch {
		case !nameRe.MatchString(v.Name):
			p = append(p, core.FieldError{Path: path + ".name", Message: "must be 1-64 letters, digits, _ . or -", Value: v.Name})
		case v.Name == Holdout:
			p.Add(path+".name", "holdout is the name of the recipients held out")
		case names[v.Name]:
			p = append(p, core.FieldError{Path: path + ".name", Message: "is given twice", Value: v.Name})
		}
		names[v.Name] = true
		if v.Share < 1 || v.Share > 100 {
			p = append(p, core.FieldError{Path: path + ".share", Message: "must be 1-100 (percent)", Value: v.Share})
		}
		total += v.Share
		f.Variants[i].Template = strings.TrimSpace(v.Template)
		if len([]rune(f.Variants[i].Template)) > 200 {
			p.Add(path+".template", "must be at most 200 characters")
		}
	}
	if total != 100 && len(f.Variants) <= 10 {
		p = append(p, core.FieldError{Path: "variants", Message: "shares must add up to 100", Value: total})
	}
	if f.HoldoutPercent < 0 || f.HoldoutPercent > 90 {
		p = append(p, core.FieldError{Path: "holdout_percent", Message: "must be 0-90", Value: f.HoldoutPercent})
	}
	if f.Priority == "" {
		f.Priority = messaging.PriorityNormal
	} else if !slices.Contains(messaging.Priorities, f.Priority) {
		p = append(p, core.FieldError{Path: "priority", Message: "must be normal or high", Value: string(f.Priority)})
	}
	if f.OnCap == "" {
		f.OnCap = messaging.CapDefer
	} else if !slices.Contains(messaging.OnCaps, f.OnCap) {
		p = append(p, core.FieldError{Path: "on_cap", Message: "must be defer or drop", Value: string(f.OnCap)})
	}
	return p.Err()
}

func (f *CampaignFields) schedule(p *core.Problems, now time.Time) {
	s := &f.Schedule
	if s.Kind == "" {
		s.Kind = SendNow
	}
	switch s.Kind {
	case SendNow:
		if !s.At.IsZero() || s.Date != "" || s.Time != "" {
			p.Add("schedule", "now takes no at, date or time")
		}
	case SendAt:
		s.At = s.At.UTC()
		if s.At.IsZero() {
			p.Add("schedule.at", "is required for at")
		} else if s.At.Year() > now.Year()+2 {
			p.Add("schedule.at", "must be within two years")
		}
		if s.Date != "" || s.Time != "" {
			p.Add("schedule", "at takes no date or time")
		}
	case SendLocalTime:
		if !s.At.IsZero() {
			p.Add("schedule.at", "local_time takes a date and time, not at")
		}
		if _, _, err := s.wall(); err != nil {
			p.Add("schedule", "%s", err.Error())
		}
	default:
		*p = append(*p, core.FieldError{Path: "schedule.kind", Message: "must be now, at or local_time", Value: string(s.Kind)})
	}
}

// wall is a local_time schedule's day and minutes after midnight.
func (s CampaignSchedule) wall() (day time.Time, minutes int, err error) {
	day, err = time.Parse(time.DateOnly, s.Date)
	if err != nil {
		return day, 0, fmt.Errorf("date must be YYYY-MM-DD")
	}
	t, err := time.Parse("15:04", s.Time)
	if err != nil {
		return day, 0, fmt.Errorf("time must be HH:MM")
	}
	return day, t.Hour()*60 + t.Minute(), nil
}

// LocalInstant is when a local_time schedule sends in loc: the date and
// time read in that zone (a time a DST gap skips is moved forward by Go's
// rule, an ambiguous one is its first occurrence).
func (s CampaignSchedule) LocalInstant(loc *time.Location) time.Time {
	day, m, err := s.wall()
	if err != nil {
		return time.Time{}
	}
	return time.Date(day.Year(), day.Month(), day.Day(), m/60, m%60, 0, 0, loc).UTC()
}

// earliestZone is the zone where a wall-clock time comes first
// (Kiribati, UTC+14): a local_time launch starts then, so that every
// recipient's own instant is still ahead.
var earliestZone = time.FixedZone("UTC+14", 14*3600)

// launchTime is when the launch job starts.
func (c *Campaign) launchTime(now time.Time) time.Time {
	var at time.Time
	switch c.Schedule.Kind {
	case SendAt:
		at = c.Schedule.At
	case SendLocalTime:
		at = c.Schedule.LocalInstant(earliestZone)
	}
	if at.Before(now) {
		return now
	}
	return at
}

// variantTemplate is the template of a variant.
func (c *Campaign) variantTemplate(name string) string {
	for _, v := range c.Variants {
		if v.Name == name && v.Template != "" {
			return v.Template
		}
	}
	return c.Template
}

func (c *Campaign) hasVariant(name string) bool {
	return slices.ContainsFunc(c.Variants, func(v CampaignVariant) bool { return v.Name == name })
}

// Keys: docs/keys.md maps them.

func campaignKey(tenant, id string) store.Key { return store.Tenant(tenant).Key(id, "campaign") }

func campaignsPK(tenant string) string { return store.Tenant(tenant).PK("campaign") }
