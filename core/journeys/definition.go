package journeys

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/messaging"
	"github.com/fedele-crm/fedele/core/segments"
)

// TriggerKind is what enrols a contact.
type TriggerKind string

const (
	TriggerEvent   TriggerKind = "event"   // an event of a type, with a CEL filter on its entity
	TriggerSegment TriggerKind = "segment" // segment.entered of one segment
	TriggerDate    TriggerKind = "date"    // a date property of the contact, with an offset, yearly
	TriggerAPI     TriggerKind = "api"     // POST /v1/journeys/{id}/enrolments
)

// TriggerKinds lists every trigger kind.
var TriggerKinds = []TriggerKind{TriggerEvent, TriggerSegment, TriggerDate, TriggerAPI}

// StepType is what a step does.
type StepType string

const (
	StepWait       StepType = "wait"        // a duration, from the previous step's time or the trigger's
	StepWaitUntil  StepType = "wait_until"  // a date property of the contact, with an offset
	StepWaitWindow StepType = "wait_window" // the next weekday/time window in the recipient's zone
	StepWaitEvent  StepType = "wait_event"  // an event about the contact, or a timeout
	StepSend       StepType = "send"        // a message through messaging.Request
	StepBranch     StepType = "branch"      // a CEL condition on the contact view
	StepPlugin     StepType = "plugin"      // ask the tenant's campaign plugin
	StepUpdate     StepType = "update"      // tags and custom fields of the contact
	StepExit       StepType = "exit"        // leave the journey here
)

// StepTypes lists every step type.
var StepTypes = []StepType{StepWait, StepWaitUntil, StepWaitWindow, StepWaitEvent, StepSend, StepBranch, StepPlugin, StepUpdate, StepExit}

// ReentryMode says whether a contact may enter a journey again.
type ReentryMode string

const (
	ReentryNever    ReentryMode = "never"    // once per contact, ever (the default)
	ReentryCooldown ReentryMode = "cooldown" // again once the previous enrolment ended at least Cooldown before the trigger
	ReentryAlways   ReentryMode = "always"   // every trigger enrols, even while another enrolment runs
)

// ReentryModes lists every re-entry mode.
var ReentryModes = []ReentryMode{ReentryNever, ReentryCooldown, ReentryAlways}

// Trigger is what enrols a contact in a journey.
type JourneyTrigger struct {
	Kind TriggerKind `json:"kind"` // TriggerKinds
	// Event and Filter: the detail type and a CEL condition over it
	// (`entity` is the event's entity data, `event.type`, `event.time`).
	Event  string `json:"event,omitempty" maxLength:"64" doc:"For kind event: the detail type (order.placed, ...)."`
	Filter string `json:"filter,omitempty" maxLength:"4096" doc:"For kind event: a CEL condition on the event (entity, event.type, event.time)."`
	// SegmentID is the segment whose segment.entered enrols.
	SegmentID string `json:"segment_id,omitempty" maxLength:"26" doc:"For kind segment: the segment or list entered."`
	// Property, Offset and Yearly: a date property (birthday or
	// custom.<key> holding YYYY-MM-DD), at local midnight in the tenant's
	// zone plus Offset, every year when Yearly.
	Property string `json:"property,omitempty" maxLength:"100" doc:"For kind date: birthday or custom.<key> (YYYY-MM-DD)."`
	Offset   string `json:"offset,omitempty" maxLength:"32" doc:"For kind date: added to local midnight of the date (9h, -7d)."`
	Yearly   bool   `json:"yearly,omitempty" doc:"For kind date: every year on the date's month and day (29 February is 28 February in other years)."`
}

// Step is one step of a journey. Next names the step that follows (the
// next one in the list when empty); the journey ends after the last.
type JourneyStep struct {
	ID   string   `json:"id" minLength:"1" maxLength:"48" doc:"Unique within the version; names messages and counters."`
	Type StepType `json:"type"` // StepTypes
	Next string   `json:"next,omitempty" maxLength:"64" doc:"The step that follows; the next in the list when empty."`
	// Wait: Delay counts from the previous step's time, or from the
	// trigger's when SinceTrigger ("1d, 1w, 3mo after the order").
	Delay        string `json:"delay,omitempty" maxLength:"32" doc:"For wait and wait_event (its timeout): 30m, 36h, 1d, 2w, 3mo, 1y."`
	SinceTrigger bool   `json:"since_trigger,omitempty" doc:"For wait: count the delay from the trigger's own time rather than the previous step's."`
	// WaitUntil: Property and Offset, as the date trigger's.
	Property string `json:"property,omitempty" maxLength:"100" doc:"For wait_until: birthday or custom.<key>."`
	Offset   string `json:"offset,omitempty" maxLength:"32" doc:"For wait_until: added to the date's local midnight."`
	// WaitWindow: weekdays (mon..sun, all when empty) and a local time
	// range, in the recipient's zone.
	Days []string `json:"days,omitempty" maxItems:"7" doc:"For wait_window: mon, tue, wed, thu, fri, sat, sun."`
	From string   `json:"from,omitempty" maxLength:"5" doc:"For wait_window: HH:MM, local."`
	To   string   `json:"to,omitempty" maxLength:"5" doc:"For wait_window: HH:MM, local (exclusive)."`
	// WaitEvent: Event and Filter as the event trigger's; Delay is the
	// timeout, after which the journey goes to OnTimeout (Next when empty).
	Event     string `json:"event,omitempty" maxLength:"64" doc:"For wait_event: the detail type awaited."`
	Filter    string `json:"filter,omitempty" maxLength:"4096" doc:"For wait_event: a CEL condition on the event."`
	OnTimeout string `json:"on_timeout,omitempty" maxLength:"64" doc:"For wait_event: the step after the timeout."`
	// Send.
	Channel  messaging.Channel `json:"channel,omitempty" doc:"For send."` // messaging.Channels
	Template string            `json:"template,omitempty" maxLength:"200" doc:"For send: the provider's template."`
	Merge    map[string]any    `json:"merge,omitempty" doc:"For send: personalisation data."`
	// Branch: Condition over the contact view; Then (Next when empty)
	// when true, Else when false.
	Condition string `json:"condition,omitempty" maxLength:"4096" doc:"For branch: a CEL condition on the contact view (docs/segments.md)."`
	Then      string `json:"then,omitempty" maxLength:"64"`
	Else      string `json:"else,omitempty" maxLength:"64"`
	// Plugin: the variants offered to the campaign plugin.
	Variants []string `json:"variants,omitempty" maxItems:"20" doc:"For plugin: the variants the plugin chooses from."`
	// Update.
	AddTags    []string       `json:"add_tags,omitempty" maxItems:"30" doc:"For update."`
	RemoveTags []string       `json:"remove_tags,omitempty" maxItems:"30" doc:"For update."`
	Fields     map[string]any `json:"fields,omitempty" doc:"For update: custom field values by key."`
}

// Goal ends an enrolment as a conversion: a CEL condition on the contact
// view, or an event (type and filter) about the contact.
type JourneyGoal struct {
	Condition string `json:"condition,omitempty" maxLength:"4096" doc:"A CEL condition on the contact view."`
	Event     string `json:"event,omitempty" maxLength:"64" doc:"A detail type whose event about the contact meets the goal."`
	Filter    string `json:"filter,omitempty" maxLength:"4096" doc:"A CEL condition on that event."`
}

// Reentry is a journey's re-entry policy.
type JourneyReentry struct {
	Mode     ReentryMode `json:"mode,omitempty" doc:"never (the default), cooldown or always."` // ReentryModes
	Cooldown string      `json:"cooldown,omitempty" maxLength:"32" doc:"For cooldown: how long after the previous enrolment ended (90d)."`
}

// Exit is a journey's exit policy beyond its goal. A contact always exits
// when deleted.
type JourneyExit struct {
	// OnUnsubscribe exits a contact who unsubscribes from any channel the
	// journey sends on (the default: true).
	KeepOnUnsubscribe bool `json:"keep_on_unsubscribe,omitempty" doc:"Keep contacts who unsubscribe from the journey's channels (they exit by default)."`
}

// Migration moves enrolments of an older version onto this one: an
// enrolment of FromVersion whose next step is a key of Steps continues at
// that value's step here when its current wait ends. Enrolments whose next
// step is not named finish on their own version.
type JourneyMigration struct {
	FromVersion int64             `json:"from_version" minimum:"1"`
	Steps       map[string]string `json:"steps" doc:"Old step id → new step id."`
}

// Definition is one immutable version of a journey.
type JourneyDefinition struct {
	Trigger JourneyTrigger    `json:"trigger"`
	Steps   []JourneyStep     `json:"steps" minItems:"1" maxItems:"50"`
	Goal    *JourneyGoal      `json:"goal,omitempty"`
	Exit    JourneyExit       `json:"exit,omitzero"`
	Reentry JourneyReentry    `json:"reentry,omitzero"`
	Migrate *JourneyMigration `json:"migrate,omitempty"`
	// HoldoutPercent keeps that share of enrolments from every send (they
	// still run, and their conversions are counted apart).
	HoldoutPercent int `json:"holdout_percent,omitempty" minimum:"0" maximum:"50" doc:"The share of enrolments held out of every send, for the journey's uplift."`
}

// MaxSteps bounds a version's steps.
const MaxSteps = 50

// stepID leaves room in messaging's 64-character step for a re-entry's
// ~<entry>.
var stepID = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,47}$`)

// Weekdays are the names wait_window accepts.
var Weekdays = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// compiled is a definition ready to run: its expressions compiled once.
type compiled struct {
	JourneyDefinition
	filter   *eventFilter
	goal     *segments.Program
	goalEv   *eventFilter
	branches map[string]*segments.Program
	waits    map[string]*eventFilter
	index    map[string]int
	channels []messaging.Channel
	cooldown duration
}

// compile validates d and compiles its expressions; a fault is a 422
// naming the field (with the expression's position).
func compile(d JourneyDefinition) (*compiled, error) {
	var p core.Problems
	c := &compiled{JourneyDefinition: d, branches: map[string]*segments.Program{}, waits: map[string]*eventFilter{}, index: map[string]int{}}
	add := func(err error) {
		if e, ok := err.(*core.Error); ok && len(e.Fields) > 0 {
			p = append(p, e.Fields...)
		} else if err != nil {
			p.Add("", "%v", err)
		}
	}
	t := d.Trigger
	switch t.Kind {
	case TriggerEvent:
		if err := checkEventType("trigger.event", t.Event); err != nil {
			add(err)
		} else if t.Filter != "" {
			f, err := compileFilter("trigger.filter", t.Filter)
			add(err)
			c.filter = f
		}
	case TriggerSegment:
		if !core.ValidID(t.SegmentID) {
			p = append(p, core.FieldError{Path: "trigger.segment_id", Message: "must be a segment id", Value: t.SegmentID})
		}
	case TriggerDate:
		add(checkProperty("trigger.property", t.Property))
		if _, err := parseOffset(t.Offset); err != nil {
			p = append(p, core.FieldError{Path: "trigger.offset", Message: err.Error(), Value: t.Offset})
		}
	case TriggerAPI:
	default:
		p = append(p, core.FieldError{Path: "trigger.kind", Message: "must be event, segment, date or api", Value: string(t.Kind)})
	}
	if len(d.Steps) == 0 || len(d.Steps) > MaxSteps {
		p.Add("steps", "must hold 1 to %d steps", MaxSteps)
	}
	for i, s := range d.Steps {
		at := fmt.Sprintf("steps[%d]", i)
		if !stepID.MatchString(s.ID) {
			p = append(p, core.FieldError{Path: at + ".id", Message: "must be 1-48 of a-z, 0-9, _ and -", Value: s.ID})
		} else if _, dup := c.index[s.ID]; dup {
			p = append(p, core.FieldError{Path: at + ".id", Message: "is used by another step", Value: s.ID})
		}
		c.index[s.ID] = i
	}
	refs := func(path, id string) {
		if id == "" {
			return
		}
		if _, ok := c.index[id]; !ok {
			p = append(p, core.FieldError{Path: path, Message: "names no step of this version", Value: id})
		}
	}
	for i, s := range d.Steps {
		at := fmt.Sprintf("steps[%d]", i)
		refs(at+".next", s.Next)
		switch s.Type {
		case StepWait:
			if dd, err := parseDuration(s.Delay); err != nil || dd.zero() {
				p = append(p, core.FieldError{Path: at + ".delay", Message: "must be a duration such as 30m, 1d, 2w, 3mo, 1y", Value: s.Delay})
			}
		case StepWaitUntil:
			add(checkProperty(at+".property", s.Property))
			if _, err := parseOffset(s.Offset); err != nil {
				p = append(p, core.FieldError{Path: at + ".offset", Message: err.Error(), Value: s.Offset})
			}
		case StepWaitWindow:
			for j, day := range s.Days {
				if !slices.Contains(Weekdays, strings.ToLower(day)) {
					p = append(p, core.FieldError{Path: fmt.Sprintf("%s.days[%d]", at, j), Message: "must be one of mon, tue, wed, thu, fri, sat, sun", Value: day})
				}
			}
			from, err1 := clockMinutes(s.From)
			to, err2 := clockMinutes(s.To)
			if err1 != nil {
				p = append(p, core.FieldError{Path: at + ".from", Message: "must be HH:MM", Value: s.From})
			}
			if err2 != nil {
				p = append(p, core.FieldError{Path: at + ".to", Message: "must be HH:MM", Value: s.To})
			}
			if err1 == nil && err2 == nil && from >= to {
				p = append(p, core.FieldError{Path: at + ".to", Message: "must be after from", Value: s.To})
			}
		case StepWaitEvent:
			if err := checkEventType(at+".event", s.Event); err != nil {
				add(err)
			} else {
				f, err := compileFilter(at+".filter", s.Filter)
				add(err)
				c.waits[s.ID] = f
			}
			if dd, err := parseDuration(s.Delay); err != nil || dd.zero() {
				p = append(p, core.FieldError{Path: at + ".delay", Message: "the timeout must be a duration such as 3d", Value: s.Delay})
			}
			refs(at+".on_timeout", s.OnTimeout)
		case StepSend:
			if !slices.Contains(messaging.Channels, s.Channel) {
				p = append(p, core.FieldError{Path: at + ".channel", Message: "must be one of email, sms, push, post, phone", Value: string(s.Channel)})
			} else if !slices.Contains(c.channels, s.Channel) {
				c.channels = append(c.channels, s.Channel)
			}
			if strings.TrimSpace(s.Template) == "" {
				p.Add(at+".template", "is required")
			}
		case StepBranch:
			prg, err := segments.Compile(at+".condition", s.Condition)
			add(err)
			c.branches[s.ID] = prg
			refs(at+".then", s.Then)
			refs(at+".else", s.Else)
		case StepPlugin, StepExit:
		case StepUpdate:
			if len(s.AddTags)+len(s.RemoveTags)+len(s.Fields) == 0 {
				p.Add(at, "an update changes at least one tag or field")
			}
		default:
			p = append(p, core.FieldError{Path: at + ".type", Message: "must be one of " + joinTypes(), Value: string(s.Type)})
		}
	}
	if g := d.Goal; g != nil {
		switch {
		case g.Condition != "" && g.Event != "":
			p.Add("goal", "give a condition or an event, not both")
		case g.Condition != "":
			prg, err := segments.Compile("goal.condition", g.Condition)
			add(err)
			c.goal = prg
		case g.Event != "":
			if err := checkEventType("goal.event", g.Event); err != nil {
				add(err)
			} else {
				f, err := compileFilter("goal.filter", g.Filter)
				add(err)
				c.goalEv = f
			}
		default:
			p.Add("goal", "a goal needs a condition or an event")
		}
	}
	switch d.Reentry.Mode {
	case "", ReentryNever, ReentryAlways:
	case ReentryCooldown:
		cd, err := parseDuration(d.Reentry.Cooldown)
		if err != nil || cd.zero() {
			p = append(p, core.FieldError{Path: "reentry.cooldown", Message: "must be a duration such as 90d", Value: d.Reentry.Cooldown})
		}
		c.cooldown = cd
	default:
		p = append(p, core.FieldError{Path: "reentry.mode", Message: "must be never, cooldown or always", Value: string(d.Reentry.Mode)})
	}
	if d.HoldoutPercent < 0 || d.HoldoutPercent > 50 {
		p.Add("holdout_percent", "must be 0 to 50")
	}
	if m := d.Migrate; m != nil {
		if m.FromVersion < 1 {
			p.Add("migrate.from_version", "must be a version number")
		}
		for from, to := range m.Steps {
			if !stepID.MatchString(from) {
				p = append(p, core.FieldError{Path: "migrate.steps", Message: "names a step id that cannot exist", Value: from})
			}
			refs("migrate.steps."+from, to)
		}
	}
	return c, p.Err()
}

func joinTypes() string {
	s := make([]string, len(StepTypes))
	for i, t := range StepTypes {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// Consumed are the detail types the journeys consumer acts on: what can
// trigger a journey, meet a goal, end a wait or make a contact exit. A
// journey names only these.
var Consumed = []events.Type{
	events.ContactCreated, events.ContactUpdated, events.ContactDeleted, events.ContactScored, events.ContactLifecycleChanged,
	events.ActivityLogged, events.DealWon,
	events.OrderPlaced, events.OrderUpdated, events.OrderCancelled, events.OrderRefunded,
	events.SegmentEntered, events.SegmentExited,
	events.MessageRequested, events.MessageDelivered, events.MessageOpened, events.MessageClicked, events.MessageUnsubscribed,
}

func checkEventType(path, typ string) error {
	if !slices.Contains(Consumed, events.Type(typ)) {
		names := make([]string, len(Consumed))
		for i, t := range Consumed {
			names[i] = string(t)
		}
		return core.Invalid(path, "must be one of "+strings.Join(names, ", "), typ)
	}
	return nil
}

func checkProperty(path, prop string) error {
	if prop == "birthday" {
		return nil
	}
	if k, ok := strings.CutPrefix(prop, "custom."); ok && k != "" && len(k) <= 64 {
		return nil
	}
	return core.Invalid(path, "must be birthday or custom.<key> (a YYYY-MM-DD field)", prop)
}

func clockMinutes(s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, err
	}
	return t.Hour()*60 + t.Minute(), nil
}

// next is the step after step i when it does not name one: -1 at the end.
func (c *compiled) next(i int, id string) int {
	if id != "" {
		return c.index[id]
	}
	if i+1 < len(c.Steps) {
		return i + 1
	}
	return -1
}
