package messaging

import (
	"slices"
	"strings"
	"time"

	"github.com/fedele-crm/fedele/core"
)

// Channel is how a message reaches its recipient; each has its own consent
// (core.Consent) and its own address on the contact.
type Channel string

const (
	Email Channel = "email"
	SMS   Channel = "sms"
	Push  Channel = "push"
	Post  Channel = "post"
	Phone Channel = "phone" // a call list entry for an agent
)

// Channels lists every channel.
var Channels = []Channel{Email, SMS, Push, Post, Phone}

// AllChannels is the channel of a cap that counts every channel.
const AllChannels = "*"

// Status is where a message stands. requested, deferred and skipped are
// the policy's answers; the others come back from the provider.
type Status string

const (
	StatusDeferred     Status = "deferred"
	StatusRequested    Status = "requested"
	StatusSkipped      Status = "skipped"
	StatusDelivered    Status = "delivered"
	StatusOpened       Status = "opened"
	StatusClicked      Status = "clicked"
	StatusBounced      Status = "bounced"
	StatusComplained   Status = "complained"
	StatusUnsubscribed Status = "unsubscribed"
)

// Statuses lists every status.
var Statuses = []Status{StatusDeferred, StatusRequested, StatusSkipped, StatusDelivered, StatusOpened, StatusClicked,
	StatusBounced, StatusComplained, StatusUnsubscribed}

// Reason says why a message was skipped: never silently.
type Reason string

const (
	ReasonNoContact  Reason = "no_contact" // the contact was deleted before the send
	ReasonNoConsent  Reason = "no_consent" // consent for the channel was not granted at the moment of sending
	ReasonNoAddress  Reason = "no_address" // the contact has no address on the channel
	ReasonSuppressed Reason = "suppressed" // the address bounced hard, complained or unsubscribed
	ReasonCapped     Reason = "capped"     // a frequency cap was reached and the sender said drop
	ReasonExpired    Reason = "expired"    // still not sendable when the sender's deadline passed
	ReasonTooManyTry Reason = "deferred_too_often"
	ReasonCancelled  Reason = "campaign_cancelled" // its campaign was cancelled while the message was deferred
)

// Reasons lists every skip reason.
var Reasons = []Reason{ReasonNoContact, ReasonNoConsent, ReasonNoAddress, ReasonSuppressed, ReasonCapped, ReasonExpired, ReasonTooManyTry, ReasonCancelled}

// OnCap is what a sender wants done with a message a frequency cap holds.
type OnCap string

const (
	CapDefer OnCap = "defer" // send at the first time every cap allows
	CapDrop  OnCap = "drop"  // skip it, recorded as capped
)

// OnCaps lists both choices.
var OnCaps = []OnCap{CapDefer, CapDrop}

// Priority ranks a message against a cap's reserved slots: a cap may keep
// its last slots of a window for high-priority messages (a price drop, an
// order problem), so a burst of ordinary ones cannot crowd them out.
type Priority string

const (
	PriorityNormal Priority = "normal"
	PriorityHigh   Priority = "high"
)

// Priorities lists every priority.
var Priorities = []Priority{PriorityNormal, PriorityHigh}

// MaxMergeBytes bounds a message's merge data (a fraction of an item and
// of an EventBridge entry, 256 KB).
const MaxMergeBytes = 32 * 1024

// Request asks for one message to one contact: the one door every sender
// (a campaign step, a journey, an integrator) goes through.
type Request struct {
	ContactID string         `json:"contact_id" minLength:"26" maxLength:"26"`
	Channel   Channel        `json:"channel"` // Channels
	Template  string         `json:"template" minLength:"1" maxLength:"200" doc:"The provider's template reference."`
	Merge     map[string]any `json:"merge,omitempty" doc:"Personalisation data for the template (at most 32 KiB as JSON)."`
	// CampaignID and Step (or Key) name the message: one message at most is
	// requested per contact and name, whatever retries happen.
	CampaignID string `json:"campaign_id,omitempty" maxLength:"64"`
	Variant    string `json:"variant,omitempty" maxLength:"64"`
	Step       string `json:"step,omitempty" maxLength:"64" doc:"The campaign's step; one message per contact, campaign and step."`
	// Key names a message outside campaigns (a transactional one): one per
	// contact and key.
	Key      string   `json:"key,omitempty" maxLength:"200" doc:"Names a message without a campaign: one per contact and key."`
	Priority Priority `json:"priority,omitempty" doc:"normal when absent; high may use a cap's reserved slots."`                                  // Priorities
	OnCap    OnCap    `json:"on_cap,omitempty" doc:"What a frequency cap does to it: defer (the default) to the first allowed time, or drop it."` // OnCaps
	// NotBefore holds a message until then (a scheduled campaign, a local
	// send time computed by the sender).
	NotBefore time.Time `json:"not_before,omitzero" doc:"Not sent before this time (RFC 3339)."`
	// Expires, when set, skips a message still not sendable then (a flash
	// sale's mail deferred past the sale).
	Expires time.Time `json:"expires,omitzero" doc:"Skipped (expired) if still held by caps or quiet hours at this time."`
}

// name is the message's identity within its contact.
func (r *Request) name() string {
	if r.CampaignID != "" {
		return "c#" + r.CampaignID + "#" + r.Step
	}
	return "k#" + r.Key
}

// Normalize validates a request, naming every field at fault.
func (r *Request) Normalize() error {
	var p core.Problems
	if !core.ValidID(r.ContactID) {
		p = append(p, core.FieldError{Path: "contact_id", Message: "must be a contact id", Value: r.ContactID})
	}
	if !slices.Contains(Channels, r.Channel) {
		p = append(p, core.FieldError{Path: "channel", Message: "must be one of email, sms, push, post, phone", Value: string(r.Channel)})
	}
	r.Template = strings.TrimSpace(r.Template)
	text(&p, "template", r.Template, 200)
	if r.Template == "" {
		p.Add("template", "is required")
	}
	for _, f := range []struct {
		path string
		v    *string
		max  int
	}{{"campaign_id", &r.CampaignID, 64}, {"variant", &r.Variant, 64}, {"step", &r.Step, 64}, {"key", &r.Key, 200}} {
		*f.v = strings.TrimSpace(*f.v)
		text(&p, f.path, *f.v, f.max)
		if strings.Contains(*f.v, "#") {
			p = append(p, core.FieldError{Path: f.path, Message: "must not contain #", Value: *f.v})
		}
	}
	switch {
	case r.CampaignID == "" && r.Key == "":
		p.Add("campaign_id", "a message needs a campaign_id (with its step) or a key: without a name it could be sent twice")
	case r.CampaignID != "" && r.Key != "":
		p.Add("key", "give a campaign_id or a key, not both")
	case r.CampaignID == "" && (r.Step != "" || r.Variant != ""):
		p.Add("campaign_id", "step and variant belong to a campaign")
	}
	if r.Priority == "" {
		r.Priority = PriorityNormal
	} else if !slices.Contains(Priorities, r.Priority) {
		p = append(p, core.FieldError{Path: "priority", Message: "must be normal or high", Value: string(r.Priority)})
	}
	if r.OnCap == "" {
		r.OnCap = CapDefer
	} else if !slices.Contains(OnCaps, r.OnCap) {
		p = append(p, core.FieldError{Path: "on_cap", Message: "must be defer or drop", Value: string(r.OnCap)})
	}
	r.NotBefore, r.Expires = r.NotBefore.UTC(), r.Expires.UTC()
	if !r.Expires.IsZero() && !r.NotBefore.IsZero() && !r.Expires.After(r.NotBefore) {
		p.Add("expires", "must be after not_before")
	}
	if n := mergeSize(r.Merge); n < 0 {
		p.Add("merge", "must be encodable as JSON")
	} else if n > MaxMergeBytes {
		p.Add("merge", "is larger than 32 KiB as JSON")
	}
	return p.Err()
}

func text(p *core.Problems, path, s string, max int) {
	switch {
	case len([]rune(s)) > max:
		p.Add(path, "must be at most %d characters", max)
	case strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || r == 0xfffd }):
		p.Add(path, "must be valid text without control characters")
	}
}

// Message is one message to one contact and where it stands.
type Message struct {
	ID        string    `json:"id"`
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Request
	Status Status `json:"status"`                                     // Statuses
	Reason Reason `json:"reason,omitempty" doc:"Why it was skipped."` // Reasons
	// Address is where it goes: the e-mail address, the E.164 number, the
	// contact id for push (the provider knows the devices), the postal
	// address on one line for post.
	Address string `json:"address,omitempty"`
	// TimeZone is the recipient's zone the quiet hours were read in, and
	// where it came from (contact, phone, country, tenant).
	TimeZone       string    `json:"time_zone,omitempty"`
	TimeZoneSource string    `json:"time_zone_source,omitempty" enum:"contact,phone,country,tenant"` // ZoneSources
	DeferredUntil  time.Time `json:"deferred_until,omitzero" doc:"While deferred: when the policy runs again."`
	DeferredBy     string    `json:"deferred_by,omitempty" enum:"not_before,quiet_hours,cap,campaign_paused" doc:"What held it last."` // Holds
	Deferrals      int       `json:"deferrals,omitempty"`
	RequestedAt    time.Time `json:"requested_at,omitzero"`
	// Unsubscribe is the signed one-click unsubscribe of an e-mail (RFC 8058).
	Unsubscribe *Unsubscribe `json:"unsubscribe,omitempty"`
	// IdempotencyKey is what a provider deduplicates sends by: the same
	// for every delivery of the message's events.
	IdempotencyKey string `json:"idempotency_key,omitempty"`
	// Receipts are what the provider reported, oldest first (at most
	// MaxReceipts are kept; the timeline has them all).
	Receipts []Receipt `json:"receipts,omitempty"`
	// LastReceipt is the receipt the latest message.<receipt> event is about.
	LastReceipt *Receipt `json:"last_receipt,omitempty"`

	tenant string // where it is stored, for its index keys
}

// Holds are what may defer a message: its own time, quiet hours, a cap,
// its campaign being paused.
var Holds = []string{"not_before", "quiet_hours", "cap", HoldPaused}

// HoldPaused defers a held message of a paused campaign: it waits,
// rechecked every PausedRecheck, and goes through the whole policy again
// once the campaign is resumed.
const HoldPaused = "campaign_paused"

// Unsubscribe is what a provider puts in an e-mail's headers.
type Unsubscribe struct {
	URL string `json:"url" doc:"The signed one-click unsubscribe link."`
	// ListUnsubscribe and ListUnsubscribePost are the header values
	// (RFC 2369, RFC 8058).
	ListUnsubscribe     string `json:"list_unsubscribe"`
	ListUnsubscribePost string `json:"list_unsubscribe_post"`
}

// ReceiptType is what a provider reports about a message.
type ReceiptType string

const (
	ReceiptDelivered    ReceiptType = "delivered"
	ReceiptOpened       ReceiptType = "opened"
	ReceiptClicked      ReceiptType = "clicked"
	ReceiptBounced      ReceiptType = "bounced"
	ReceiptComplained   ReceiptType = "complained"
	ReceiptUnsubscribed ReceiptType = "unsubscribed"
)

// ReceiptTypes lists every receipt type.
var ReceiptTypes = []ReceiptType{ReceiptDelivered, ReceiptOpened, ReceiptClicked, ReceiptBounced, ReceiptComplained, ReceiptUnsubscribed}

// Bounce says whether a bounce is final.
type Bounce string

const (
	BounceHard Bounce = "hard"
	BounceSoft Bounce = "soft"
)

// Bounces lists both kinds.
var Bounces = []Bounce{BounceHard, BounceSoft}

// MaxReceipts is how many receipts a message keeps (its timeline keeps all).
const MaxReceipts = 50

// Receipt is one report from the provider.
type Receipt struct {
	Type ReceiptType `json:"type"` // ReceiptTypes
	At   time.Time   `json:"at,omitzero" doc:"When it happened at the provider (RFC 3339); the time received when absent."`
	URL  string      `json:"url,omitempty" maxLength:"2048" doc:"The link clicked."`
	// Bounce is hard or soft, for a bounce.
	Bounce Bounce `json:"bounce,omitempty" doc:"For a bounce: hard (the address is suppressed) or soft."` // Bounces
	// ProviderEventID makes a receipt idempotent: the same id for the same
	// message and type is taken once.
	ProviderEventID string `json:"provider_event_id,omitempty" maxLength:"200" doc:"The provider's id of the report; a repeated one is taken once."`
}

// Normalize validates a receipt; now fills a missing time.
func (r *Receipt) Normalize(now time.Time) error {
	var p core.Problems
	if !slices.Contains(ReceiptTypes, r.Type) {
		p = append(p, core.FieldError{Path: "type", Message: "must be one of delivered, opened, clicked, bounced, complained, unsubscribed", Value: string(r.Type)})
	}
	if r.At.IsZero() {
		r.At = now
	} else if r.At.After(now.Add(5 * time.Minute)) {
		p = append(p, core.FieldError{Path: "at", Message: "cannot be in the future", Value: r.At.Format(time.RFC3339)})
	}
	r.At = r.At.UTC()
	r.URL = strings.TrimSpace(r.URL)
	text(&p, "url", r.URL, 2048)
	switch {
	case r.Type == ReceiptClicked && r.URL == "":
		p.Add("url", "is required for a click")
	case r.Type != ReceiptClicked && r.URL != "":
		p.Add("url", "belongs to a click")
	}
	switch {
	case r.Type == ReceiptBounced && !slices.Contains(Bounces, r.Bounce):
		p = append(p, core.FieldError{Path: "bounce", Message: "a bounce is hard or soft", Value: string(r.Bounce)})
	case r.Type != ReceiptBounced && r.Bounce != "":
		p.Add("bounce", "belongs to a bounce")
	}
	r.ProviderEventID = strings.TrimSpace(r.ProviderEventID)
	text(&p, "provider_event_id", r.ProviderEventID, 200)
	return p.Err()
}

// Outcome is what a Request did: the message, and whether it was there
// before (a repeated request changes nothing and answers the first one's
// outcome).
type Outcome struct {
	Message   Message `json:"message"`
	Duplicate bool    `json:"duplicate" doc:"The message was requested before: nothing was done again."`
}
