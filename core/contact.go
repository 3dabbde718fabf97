package core

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Stage is where a contact stands in the customer lifecycle.
type Stage string

const (
	StageSubscriber Stage = "subscriber"
	StageLead       Stage = "lead"
	StageMQL        Stage = "mql" // marketing-qualified lead
	StageSQL        Stage = "sql" // sales-qualified lead
	StageCustomer   Stage = "customer"
	StageEvangelist Stage = "evangelist"
	StageOther      Stage = "other"
)

// Stages lists every lifecycle stage in funnel order.
var Stages = []Stage{StageSubscriber, StageLead, StageMQL, StageSQL, StageCustomer, StageEvangelist, StageOther}

// Source is the channel through which a contact first reached the tenant.
type Source string

// Sources lists every source channel.
var Sources = []Source{"web", "email", "phone", "sms", "chat", "social", "referral", "event", "advertising", "partner", "import", "api", "in_person", "other"}

// The labels of a contact's addresses and numbers. They stay plain strings
// in the types, whose enum tags must match (a test in infra/httpapi holds
// them together).
var (
	EmailLabels = []string{"work", "personal", "other"}
	PhoneLabels = []string{"mobile", "work", "home", "other"}
)

// Limits that keep one contact's item, and the transaction that writes it
// with its markers, inside DynamoDB's limits (400 KB, 100 writes).
const (
	MaxEmails = 10
	MaxPhones = 10
	MaxTags   = 30
)

// Email is one of a contact's addresses; exactly one is primary.
type Email struct {
	Address string `json:"address" doc:"Stored trimmed and lower-cased; unique within the tenant." maxLength:"254"`
	Primary bool   `json:"primary,omitempty"`
	Label   string `json:"label,omitempty" enum:"work,personal,other"` // EmailLabels
}

// Phone is one of a contact's numbers, stored in E.164.
type Phone struct {
	Number string `json:"number" doc:"Any common notation; stored in E.164, read with the tenant's default region when it has no international prefix." maxLength:"64"`
	Label  string `json:"label,omitempty" enum:"mobile,work,home,other"` // PhoneLabels
}

// Address is a postal address.
type Address struct {
	Line1      string `json:"line1,omitempty" maxLength:"200"`
	Line2      string `json:"line2,omitempty" maxLength:"200"`
	City       string `json:"city,omitempty" maxLength:"100"`
	Region     string `json:"region,omitempty" maxLength:"100"`
	PostalCode string `json:"postal_code,omitempty" maxLength:"20"`
	Country    string `json:"country,omitempty" doc:"ISO 3166-1 alpha-2" maxLength:"2"`
}

// ConsentStatus says whether a contact agreed to be reached on a channel.
type ConsentStatus string

const (
	ConsentGranted ConsentStatus = "granted"
	ConsentDenied  ConsentStatus = "denied"
)

// ConsentStatuses lists every consent status.
var ConsentStatuses = []ConsentStatus{ConsentGranted, ConsentDenied}

// ChannelConsent is the consent on one channel: what, when and where from,
// which is what a regulator asks for.
type ChannelConsent struct {
	Status ConsentStatus `json:"status"`
	At     time.Time     `json:"at,omitzero" doc:"When it was given or withdrawn; the time of the write when absent."`
	Source string        `json:"source" doc:"Where it was captured, such as a form or a call." minLength:"1" maxLength:"200"`
}

// Consent holds a contact's consent per channel; an absent channel means
// consent was never asked, which is not consent.
type Consent struct {
	Email *ChannelConsent `json:"email,omitempty"`
	SMS   *ChannelConsent `json:"sms,omitempty"`
	Phone *ChannelConsent `json:"phone,omitempty"`
	Push  *ChannelConsent `json:"push,omitempty"`
	Post  *ChannelConsent `json:"post,omitempty"`
}

func (c *Consent) channels() []struct {
	name string
	cc   *ChannelConsent
} {
	return []struct {
		name string
		cc   *ChannelConsent
	}{{"email", c.Email}, {"sms", c.SMS}, {"phone", c.Phone}, {"push", c.Push}, {"post", c.Post}}
}

// ContactFields is the part of a contact its writers set.
type ContactFields struct {
	FirstName      string         `json:"first_name,omitempty" maxLength:"200"`
	LastName       string         `json:"last_name,omitempty" maxLength:"200"`
	Emails         []Email        `json:"emails,omitempty" maxItems:"10"`
	Phones         []Phone        `json:"phones,omitempty" maxItems:"10"`
	CompanyID      string         `json:"company_id,omitempty" doc:"Id of a company of the same tenant."`
	OwnerID        string         `json:"owner_id,omitempty" maxLength:"26" doc:"The id of a user of the team."`
	Tags           []string       `json:"tags,omitempty" maxItems:"30" doc:"Stored trimmed and lower-cased, without duplicates."`
	Birthday       string         `json:"birthday,omitempty" doc:"YYYY-MM-DD" format:"date"`
	Address        *Address       `json:"address,omitempty"`
	LifecycleStage Stage          `json:"lifecycle_stage,omitempty" doc:"lead when absent"`
	Source         Source         `json:"source,omitempty"`
	Consent        *Consent       `json:"consent,omitempty"`
	Custom         map[string]any `json:"custom,omitempty" doc:"Values of the tenant's custom fields, by key."`
	// ExternalID is the contact's id in another system (a shop's customer
	// id): unique within the tenant, it finds the buyer of an order.
	ExternalID string `json:"external_id,omitempty" maxLength:"200" doc:"The contact's id in another system (a shop's customer id); unique within the tenant; stored trimmed."`
	// TimeZone is where the contact lives (IANA): its quiet hours and local
	// send times are read in it; when empty, one is derived from its phone
	// or country, else the tenant's (core/messaging).
	TimeZone string `json:"time_zone,omitempty" maxLength:"64" doc:"IANA time zone, such as Europe/Rome; when absent, derived from the phone number or country, else the tenant's."`
}

// Meta is what the store assigns to every record.
type Meta struct {
	ID        string    `json:"id"`
	Version   int64     `json:"version" doc:"Increases by one on every change; the ETag."`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Contact is a person the tenant deals with.
type Contact struct {
	Meta
	ContactFields
	// Score is the contact's current lead score, shown when one contact is
	// read; it is kept apart (core/scoring) and never stored here.
	Score *ContactScore `json:"score,omitempty" readOnly:"true"`
}

// Decider is who decided a score: the tenant's plugin or the built-in scorer.
type Decider string

const (
	DecidedByPlugin  Decider = "plugin"
	DecidedByBuiltin Decider = "builtin"
)

// Deciders lists who can decide a score.
var Deciders = []Decider{DecidedByPlugin, DecidedByBuiltin}

// ContactScore is a contact's current score as the contact shows it.
type ContactScore struct {
	Score     int       `json:"score"`
	Reasons   []string  `json:"reasons,omitempty"`
	Tags      []string  `json:"tags,omitempty"`
	DecidedBy Decider   `json:"decided_by"`
	At        time.Time `json:"at"`
}

// PrimaryEmail returns the primary address, or "".
func (c *ContactFields) PrimaryEmail() string {
	for _, e := range c.Emails {
		if e.Primary {
			return e.Address
		}
	}
	return ""
}

// Identified reports whether the fields say who the contact is: a first or
// last name, an e-mail address or a phone number. A contact with none of
// them cannot be told apart from any other, nor reached.
func (f *ContactFields) Identified() bool {
	return strings.TrimSpace(f.FirstName) != "" || strings.TrimSpace(f.LastName) != "" ||
		len(f.Emails) > 0 || len(f.Phones) > 0 || strings.TrimSpace(f.ExternalID) != ""
}

// Rules is what validation needs to know of the tenant.
type Rules struct {
	DefaultRegion string     // for phone numbers without a prefix
	Fields        []FieldDef // the tenant's custom fields for the entity
	Now           time.Time  // fills consent times and bounds birthdays
}

// Normalize puts a contact's fields in stored form and validates them,
// reporting every field at fault. It mutates f only on fields it can read;
// callers discard f when it returns an error.
func (f *ContactFields) Normalize(r Rules) error {
	var p Problems
	f.FirstName = strings.TrimSpace(f.FirstName)
	f.LastName = strings.TrimSpace(f.LastName)
	checkText(&p, "first_name", f.FirstName, 200)
	checkText(&p, "last_name", f.LastName, 200)

	if len(f.Emails) > MaxEmails {
		p.Add("emails", "at most %d e-mail addresses", MaxEmails)
	}
	primaries := 0
	for i := range f.Emails {
		e := &f.Emails[i]
		path := fmt.Sprintf("emails[%d]", i)
		norm, err := NormalizeEmail(e.Address)
		if err != nil {
			p = append(p, FieldError{Path: path + ".address", Message: err.Error(), Value: e.Address})
			continue
		}
		e.Address = norm
		if slices.IndexFunc(f.Emails[:i], func(o Email) bool { return o.Address == norm }) >= 0 {
			p.Add(path+".address", "appears twice")
		}
		if e.Primary {
			primaries++
		}
		if e.Label != "" && !slices.Contains(EmailLabels, e.Label) {
			p.Add(path+".label", "must be work, personal or other")
		}
	}
	switch {
	case primaries > 1:
		p.Add("emails", "only one address can be primary")
	case primaries == 0 && len(f.Emails) > 0:
		f.Emails[0].Primary = true // the first address is primary unless told otherwise
	}

	if len(f.Phones) > MaxPhones {
		p.Add("phones", "at most %d phone numbers", MaxPhones)
	}
	for i := range f.Phones {
		ph := &f.Phones[i]
		path := fmt.Sprintf("phones[%d]", i)
		norm, err := NormalizePhone(ph.Number, r.DefaultRegion)
		if err != nil {
			p = append(p, FieldError{Path: path + ".number", Message: err.Error() + " (E.164, or national in the tenant's region)", Value: ph.Number})
			continue
		}
		ph.Number = norm
		if ph.Label != "" && !slices.Contains(PhoneLabels, ph.Label) {
			p.Add(path+".label", "must be mobile, work, home or other")
		}
	}

	if f.CompanyID != "" && !ValidID(f.CompanyID) {
		p.Add("company_id", "must be a company id")
	}
	f.OwnerID = strings.TrimSpace(f.OwnerID)
	if f.OwnerID != "" && !ValidID(f.OwnerID) {
		// An owner is a member of the team (the store checks it exists), as
		// on deals and activities: free text here would route and report
		// leads to nobody.
		p = append(p, FieldError{Path: "owner_id", Message: "must be the id (ULID) of a user of the team", Value: f.OwnerID})
	}
	if !f.Identified() {
		p.Add("", "a contact needs a name, an e-mail address or a phone number: otherwise nobody can tell who it is")
	}

	f.Tags = normalizeTags(&p, f.Tags)

	if f.Birthday != "" {
		d, err := time.Parse(time.DateOnly, f.Birthday)
		switch {
		case err != nil:
			p.Add("birthday", "must be a date YYYY-MM-DD")
		// A day of slack: "today" somewhere east of UTC is tomorrow in UTC.
		case d.Year() < 1900 || d.After(r.Now.AddDate(0, 0, 1)):
			p.Add("birthday", "must be between 1900-01-01 and today")
		}
	}
	if f.Address != nil {
		checkAddress(&p, "address", f.Address)
	}
	if f.LifecycleStage == "" {
		f.LifecycleStage = StageLead
	} else if !slices.Contains(Stages, f.LifecycleStage) {
		p.Add("lifecycle_stage", "must be one of %v", Stages)
	}
	if f.Source != "" && !slices.Contains(Sources, f.Source) {
		p.Add("source", "must be one of %v", Sources)
	}
	if f.Consent != nil {
		for _, ch := range f.Consent.channels() {
			if ch.cc == nil {
				continue
			}
			path := "consent." + ch.name
			if ch.cc.Status != ConsentGranted && ch.cc.Status != ConsentDenied {
				p.Add(path+".status", "must be granted or denied")
			}
			ch.cc.Source = strings.TrimSpace(ch.cc.Source)
			if ch.cc.Source == "" {
				p.Add(path+".source", "is required: say where consent was captured")
			}
			checkText(&p, path+".source", ch.cc.Source, 200)
			if ch.cc.At.IsZero() {
				ch.cc.At = r.Now
			} else if ch.cc.At.After(r.Now.Add(time.Minute)) {
				p.Add(path+".at", "cannot be in the future")
			}
			ch.cc.At = ch.cc.At.UTC()
		}
	}
	f.Custom = dropNulls(f.Custom)
	checkCustom(&p, f.Custom, r.Fields)
	f.ExternalID = strings.TrimSpace(f.ExternalID)
	checkText(&p, "external_id", f.ExternalID, 200)
	if f.TimeZone = strings.TrimSpace(f.TimeZone); f.TimeZone != "" {
		if err := CheckTimeZone(f.TimeZone); err != nil {
			p = append(p, FieldError{Path: "time_zone", Message: err.Error(), Value: f.TimeZone})
		}
	}
	return p.Err()
}

func normalizeTags(p *Problems, tags []string) []string {
	out := tags[:0]
	for i, raw := range tags {
		t, ok := NormalizeTag(raw)
		if !ok {
			p.Add(fmt.Sprintf("tags[%d]", i), "must be 1-64 characters, without # or control characters")
			continue
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if len(out) > MaxTags { // counted after de-duplication
		p.Add("tags", "at most %d different tags", MaxTags)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// NormalizeTag trims and lower-cases a tag and checks it: tags are compared
// case-insensitively everywhere, and # is reserved for keys.
func NormalizeTag(raw string) (string, bool) {
	if !utf8.ValidString(raw) {
		return "", false
	}
	t := strings.ToLower(strings.TrimSpace(raw))
	if t == "" || utf8.RuneCountInString(t) > 64 || strings.ContainsFunc(t, isControl) || strings.Contains(t, "#") {
		return "", false
	}
	return t, true
}

func checkAddress(p *Problems, path string, a *Address) {
	for _, f := range []struct {
		name string
		v    *string
		max  int
	}{{"line1", &a.Line1, 200}, {"line2", &a.Line2, 200}, {"city", &a.City, 100}, {"region", &a.Region, 100}, {"postal_code", &a.PostalCode, 20}} {
		*f.v = strings.TrimSpace(*f.v)
		checkText(p, path+"."+f.name, *f.v, f.max)
	}
	if a.Country != "" {
		c, err := NormalizeRegion(a.Country)
		if err != nil {
			*p = append(*p, FieldError{Path: path + ".country", Message: "must be an ISO 3166-1 alpha-2 code", Value: a.Country})
		}
		a.Country = c
	}
}

func checkText(p *Problems, path, s string, max int) {
	switch {
	case !utf8.ValidString(s):
		p.Add(path, "must be valid UTF-8")
	case utf8.RuneCountInString(s) > max:
		p.Add(path, "must be at most %d characters", max)
	case strings.ContainsFunc(s, isControl):
		p.Add(path, "must not contain control characters")
	}
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }
