package journeys

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/contacts"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
)

// EnrolmentState is where an enrolment stands.
type EnrolmentState string

const (
	EnrolmentActive    EnrolmentState = "active"
	EnrolmentCompleted EnrolmentState = "completed" // ran past its last step
	EnrolmentExited    EnrolmentState = "exited"    // left early: goal, unsubscribe, deletion, archive, exit step, plugin
)

// EnrolmentStates lists every enrolment state.
var EnrolmentStates = []EnrolmentState{EnrolmentActive, EnrolmentCompleted, EnrolmentExited}

// Exit reasons.
const (
	ExitCompleted      = "completed"
	ExitGoal           = "goal"
	ExitUnsubscribed   = "unsubscribed"
	ExitContactDeleted = "contact_deleted"
	ExitArchived       = "archived"
	ExitStep           = "exit_step"
	ExitPlugin         = "plugin_declined"
)

// ExitReasons lists every exit reason.
var ExitReasons = []string{ExitCompleted, ExitGoal, ExitUnsubscribed, ExitContactDeleted, ExitArchived, ExitStep, ExitPlugin}

// Enrolment is one contact's run through one version of a journey.
type JourneyEnrolment struct {
	ID        string         `json:"id"`
	JourneyID string         `json:"journey_id"`
	ContactID string         `json:"contact_id"`
	Journey   int64          `json:"journey_version" doc:"The version it runs on."`
	State     EnrolmentState `json:"state"` // EnrolmentStates
	// Step is the step it waits at, or runs next.
	Step    string `json:"step,omitempty"`
	Waiting bool   `json:"waiting,omitempty" doc:"It waits at step until next_at."`
	// Trigger is what enrolled it, and TriggerTime its own time (the
	// order's placed_at): the origin of every wait.
	Trigger     TriggerKind `json:"trigger"` // TriggerKinds
	TriggerType string      `json:"trigger_event,omitempty"`
	TriggerTime time.Time   `json:"trigger_time"`
	// At is the journey's own time for the enrolment: the trigger's, then
	// each wait's end — never the time the timer happened to fire.
	At         time.Time `json:"step_time"`
	NextAction StepType  `json:"next_action,omitempty"` // StepTypes
	NextAt     time.Time `json:"next_at,omitzero" doc:"When its next action is due."`
	TimerID    string    `json:"timer_id,omitempty"`
	// Set by a plugin step.
	Variant       string         `json:"variant,omitempty"`
	Fields        map[string]any `json:"fields,omitempty"`
	DelayOverride *int64         `json:"delay_override_seconds,omitempty"`
	Holdout       bool           `json:"holdout,omitempty" doc:"Held out of every send, for the uplift."`
	LastSent      string         `json:"last_sent_step,omitempty" doc:"The last send step: where a conversion is attributed."`
	Converted     bool           `json:"converted,omitempty"`
	// ConvertedOrder, Revenue and Currency: the order that met an order
	// goal and what it counts for now (its net, moved by later refunds and
	// its cancellation; OrderVersion keeps an older event from undoing a
	// newer one).
	ConvertedOrder string    `json:"converted_order_id,omitempty" doc:"The order that met the goal, when the goal is an order event."`
	Revenue        int64     `json:"revenue,omitempty" doc:"Minor units: that order's net now (refunds off; 0 once cancelled or refunded in full)."`
	Currency       string    `json:"currency,omitempty"`
	OrderVersion   int64     `json:"order_version,omitempty" doc:"The order's version the revenue reflects."`
	ExitReason     string    `json:"exit_reason,omitempty"` // ExitReasons
	EnrolledAt     time.Time `json:"enrolled_at"`
	EndedAt        time.Time `json:"ended_at,omitzero"`
	StepsRun       int       `json:"steps_run"`
	// Entry counts the contact's enrolments in the journey, this one
	// included: a re-entry's messages are named apart (step~entry), since
	// messaging sends one message per contact, journey and step.
	Entry   int   `json:"entry"`
	Version int64 `json:"version"`
}

var enrolmentDoc = record.Doc[JourneyEnrolment]{Name: "enrolment", Version: func(e *JourneyEnrolment) *int64 { return &e.Version },
	// An ended enrolment is kept a year for the contact's history.
	TTL: func(e *JourneyEnrolment) time.Time {
		if e.EndedAt.IsZero() {
			return time.Time{}
		}
		return e.EndedAt.Add(366 * 24 * time.Hour)
	}}

// entry is a contact's standing in one journey: the one-active-enrolment
// marker, and what re-entry is decided on.
type entry struct {
	Active    string    `json:"active,omitempty"`
	Entries   int       `json:"entries"`
	LastEntry time.Time `json:"last_entry,omitzero"`
	LastExit  time.Time `json:"last_exit,omitzero"`
}

var entryDoc = record.Doc[entry]{Name: "journey entry"}

// trigger is what asks for an enrolment.
type trigger struct {
	Kind TriggerKind
	Type string    // the event's detail type
	Time time.Time // the trigger's own time
	// Key makes the trigger enrol once per journey whatever deliveries or
	// repeats happen (an order's id, an event's id, a date occurrence).
	Key  string
	Data json.RawMessage // the event's entity data, for the plugin
}

// Event payloads (entity data of journey.* events; schemas/events).
type enrolmentEvent struct {
	JourneyID   string           `json:"journey_id"`
	Version     int64            `json:"journey_version"`
	EnrolmentID string           `json:"enrolment_id"`
	ContactID   string           `json:"contact_id"`
	At          time.Time        `json:"at"`
	Trigger     TriggerKind      `json:"trigger,omitempty"`
	TriggerTime *time.Time       `json:"trigger_time,omitempty"`
	Holdout     bool             `json:"holdout,omitempty"`
	Step        string           `json:"step,omitempty"`
	StepType    StepType         `json:"step_type,omitempty"`
	Outcome     string           `json:"outcome,omitempty"`
	MessageID   string           `json:"message_id,omitempty"`
	Until       *time.Time       `json:"until,omitempty"`
	Reason      string           `json:"reason,omitempty"`
	Waited      bool             `json:"waited,omitempty"`
	Revenue     map[string]int64 `json:"revenue,omitempty"`
}

func journeyEvent(ctx context.Context, tenant string, typ events.Type, now time.Time, e *JourneyEnrolment, d enrolmentEvent) (store.Write, error) {
	d.JourneyID, d.Version, d.EnrolmentID, d.ContactID = e.JourneyID, e.Journey, e.ID, e.ContactID
	if d.At.IsZero() {
		d.At = now
	}
	data, err := json.Marshal(d)
	if err != nil {
		return store.Write{}, err
	}
	ev := events.New(ctx, tenant, typ, now, events.Entity{Type: "journey", ID: e.JourneyID, Data: data})
	ev.Timeline = &events.Entity{Type: "contact", ID: e.ContactID}
	return events.OutboxWrite(ev)
}

// held says whether a contact is in a journey's holdout: a stable hash,
// so the same contact is held out of every enrolment of that journey.
func held(journeyID, contactID string, percent int) bool {
	if percent <= 0 {
		return false
	}
	h := fnv.New32a()
	h.Write([]byte(journeyID + "/" + contactID))
	return int(h.Sum32()%100) < percent
}

// errNotEnrolled says why a trigger enrolled nobody (re-entry refused, a
// repeated trigger): not a failure.
type errNotEnrolled struct{ why string }

func (e errNotEnrolled) Error() string { return "not enrolled: " + e.why }

// enrolWrites are the writes that enrol contactID in j on c: the entry
// marker over the version read, the trigger marker, the enrolment, its
// event and its first timer (due at the trigger's time, so a trigger from
// the past runs its due steps at once). errNotEnrolled when the
// re-entry policy or an earlier identical trigger says no.
func (s *Service) enrolWrites(ctx context.Context, tenant string, j Journey, c *compiled, contactID string, tr trigger) ([]store.Write, *JourneyEnrolment, error) {
	now := s.now()
	var writes []store.Write
	if tr.Key != "" {
		k := triggerKey(tenant, j.ID, tr.Key)
		if _, err := s.store.Get(ctx, k); err == nil {
			return nil, nil, errNotEnrolled{"this trigger enrolled before"}
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, nil, record.StoreError(err)
		}
		writes = append(writes, store.Write{Op: store.OpPut, Cond: store.Cond{MustNotExist: true},
			Item: store.Item{Key: k, Version: 1, Data: []byte(`{}`), ExpiresAt: now.Add(400 * 24 * time.Hour)}})
	}
	en, v, err := entryDoc.Get(ctx, s.store, entryKey(tenant, j.ID, contactID))
	if err != nil && core.ErrorCode(err) != core.CodeNotFound {
		return nil, nil, err
	}
	switch c.Reentry.Mode {
	case "", ReentryNever:
		if en.Entries > 0 {
			return nil, nil, errNotEnrolled{"entered before and re-entry is never"}
		}
	case ReentryCooldown:
		if en.Active != "" {
			return nil, nil, errNotEnrolled{"an enrolment is running"}
		}
		if !en.LastExit.IsZero() && tr.Time.Before(c.cooldown.after(en.LastExit, time.UTC)) {
			return nil, nil, errNotEnrolled{"within the cooldown"}
		}
	}
	e := &JourneyEnrolment{ID: core.NewID(now), JourneyID: j.ID, ContactID: contactID, Journey: j.Published, State: EnrolmentActive,
		Step: c.Steps[0].ID, Trigger: tr.Kind, TriggerType: tr.Type, TriggerTime: tr.Time.UTC(), At: tr.Time.UTC(),
		NextAction: c.Steps[0].Type, NextAt: maxTime(tr.Time, now), Holdout: held(j.ID, contactID, c.HoldoutPercent), EnrolledAt: now}
	if c.Reentry.Mode != ReentryAlways {
		en.Active = e.ID
	}
	en.Entries++
	en.LastEntry = tr.Time.UTC()
	e.Entry = en.Entries
	ew, err := entryDoc.Put(entryKey(tenant, j.ID, contactID), v, &en)
	if err != nil {
		return nil, nil, err
	}
	// A journey that opens with a wait still to come waits from here: its
	// timer is that wait's end, not a hop through a timer due now.
	due, why := tr.Time, "start"
	first := c.Steps[0]
	if first.Type == StepWait {
		loc, _, err := s.location(ctx, tenant)
		if err != nil {
			return nil, nil, err
		}
		d, _ := parseDuration(first.Delay)
		if end := d.after(e.TriggerTime, loc); end.After(now) {
			due, why = end, "wait"
			e.Waiting, e.NextAt = true, end
		}
	}
	tm, tw, err := s.timers.ScheduleWrite(ctx, tenant, s.stepRequest(e, due, why))
	if err != nil {
		return nil, nil, err
	}
	e.TimerID = tm.ID
	w, err := enrolmentDoc.Put(EnrolmentKey(tenant, contactID, j.ID, e.ID), 0, e)
	if err != nil {
		return nil, nil, err
	}
	tt := e.TriggerTime
	evw, err := journeyEvent(ctx, tenant, events.JourneyEnrolled, now, e, enrolmentEvent{Trigger: tr.Kind, TriggerTime: &tt, Holdout: e.Holdout})
	if err != nil {
		return nil, nil, err
	}
	writes = append(writes, ew, w, tw, evw)
	if e.Waiting {
		// Made after enrolled, so that its id sorts after it on the timeline.
		until := e.NextAt
		sw, err := journeyEvent(ctx, tenant, events.JourneyStepStarted, s.now(), e, enrolmentEvent{Step: first.ID, StepType: first.Type, At: e.At, Until: &until})
		if err != nil {
			return nil, nil, err
		}
		writes = append(writes, sw)
	}
	return writes, e, nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a.UTC()
	}
	return b.UTC()
}

// JourneyEnrolRequest is an enrolment asked for through the API.
type JourneyEnrolRequest struct {
	ContactID string    `json:"contact_id" minLength:"26" maxLength:"26"`
	At        time.Time `json:"at,omitzero" doc:"The trigger's own time (RFC 3339); now when absent. Waits count from it."`
	// Key makes the call idempotent: the same key enrols once.
	Key string `json:"key,omitempty" maxLength:"200" doc:"Enrols once per journey and key, whatever retries happen."`
}

// check refuses a request the API would not take, and sets its time to
// now when it has none.
func (r JourneyEnrolRequest) check(now time.Time) (JourneyEnrolRequest, error) {
	var p core.Problems
	if !core.ValidID(r.ContactID) {
		p = append(p, core.FieldError{Path: "contact_id", Message: "must be a contact id", Value: r.ContactID})
	}
	if r.At.IsZero() {
		r.At = now
	} else if r.At.After(now.Add(366 * 24 * time.Hour)) {
		p.Add("at", "must be within a year from now")
	}
	if len(r.Key) > 200 {
		p.Add("key", "must be at most 200 characters")
	}
	return r, p.Err()
}

// Enrol enrols a contact through the API (any trigger kind: a journey of
// kind api only takes these). A refusal by the re-entry policy or a key
// used before is a conflict.
func (s *Service) Enrol(ctx context.Context, tenant, journeyID string, r JourneyEnrolRequest) (JourneyEnrolment, error) {
	r, err := r.check(s.now())
	if err != nil {
		return JourneyEnrolment{}, err
	}
	j, err := s.Get(ctx, tenant, journeyID)
	if err != nil {
		return JourneyEnrolment{}, err
	}
	if j.Status != StatusActive {
		return JourneyEnrolment{}, core.Errorf(core.CodeConflict, "journey %s is %s: it enrols nobody", journeyID, j.Status)
	}
	if _, err := s.contacts.Get(ctx, tenant, r.ContactID); err != nil {
		if core.ErrorCode(err) == core.CodeNotFound {
			return JourneyEnrolment{}, core.Invalid("contact_id", "names no contact", r.ContactID)
		}
		return JourneyEnrolment{}, err
	}
	c, err := s.definition(ctx, tenant, j.ID, j.Published)
	if err != nil {
		return JourneyEnrolment{}, err
	}
	key := ""
	if r.Key != "" {
		key = "api:" + r.Key
	}
	for attempt := 0; ; attempt++ {
		writes, e, err := s.enrolWrites(ctx, tenant, j, c, r.ContactID, trigger{Kind: TriggerAPI, Time: r.At, Key: key})
		var no errNotEnrolled
		if errors.As(err, &no) {
			return JourneyEnrolment{}, core.Errorf(core.CodeConflict, "contact %s is not enrolled: %s", r.ContactID, no.why)
		}
		if err != nil {
			return JourneyEnrolment{}, err
		}
		err = s.store.Transact(ctx, writes)
		if err == nil {
			return *e, nil
		}
		if !errors.Is(err, store.ErrConditionFailed) || attempt == record.MaxRetries {
			return JourneyEnrolment{}, fmt.Errorf("enrol: %w", record.StoreError(err))
		}
	}
}

// ContactEnrolments lists a contact's enrolments (every journey), newest
// journey-and-enrolment id last.
func (s *Service) ContactEnrolments(ctx context.Context, tenant, contactID string, limit int, cursor string) ([]JourneyEnrolment, string, error) {
	if err := record.CheckLimit(limit); err != nil {
		return nil, "", err
	}
	if !core.ValidID(contactID) {
		return nil, "", core.Errorf(core.CodeNotFound, "contact %s not found", contactID)
	}
	sc := ""
	if cursor != "" {
		var err error
		if sc, err = record.DecodeListCursor(cursor, tenant, "contact-journeys/"+contactID); err != nil {
			return nil, "", err
		}
	}
	page, err := s.store.Query(ctx, store.Query{PK: enrolmentsPK(tenant, contactID), Limit: limit, Cursor: sc})
	if err != nil {
		return nil, "", fmt.Errorf("contact enrolments: %w", record.StoreError(err))
	}
	out := make([]JourneyEnrolment, 0, len(page.Items))
	for _, it := range page.Items {
		e, err := enrolmentDoc.Decode(it)
		if err != nil {
			return nil, "", err
		}
		e.Version = it.Version
		out = append(out, e)
	}
	next := ""
	if page.Next != "" {
		next = record.EncodeListCursor(page.Next, tenant, "contact-journeys/"+contactID)
	}
	return out, next, nil
}

// active are a contact's running enrolments, with the versions read.
func (s *Service) active(ctx context.Context, tenant, contactID string) ([]JourneyEnrolment, error) {
	var out []JourneyEnrolment
	q := store.Query{PK: enrolmentsPK(tenant, contactID), Limit: 1000}
	for {
		page, err := s.store.Query(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("contact enrolments: %w", record.StoreError(err))
		}
		for _, it := range page.Items {
			e, err := enrolmentDoc.Decode(it)
			if err != nil {
				return nil, err
			}
			if e.State == EnrolmentActive {
				e.Version = it.Version
				out = append(out, e)
			}
		}
		if page.Next == "" {
			return out, nil
		}
		q.Cursor = page.Next
	}
}

// EnrolChunk is how many enrolments EnrolMany commits in one transaction
// (each is five or six writes: entry, trigger marker, enrolment, timer,
// its events).
const EnrolChunk = 16

// EnrolMany enrols many contacts in one journey at once — a trigger that
// matches a whole audience, POST /v1/journeys/{id}/enrolments/batch —
// committing EnrolChunk enrolments a transaction instead of one; a chunk
// that loses a race (or names one contact twice) is retried one by one.
// It answers one result per request, each as Enrol would have: the
// enrolment, a conflict when the re-entry policy or a used key refused it,
// invalid for a request Enrol refuses or a contact that does not exist in
// the tenant. The error is for the whole call: no such journey, one that
// enrols nobody, the store.
func (s *Service) EnrolMany(ctx context.Context, tenant, journeyID string, reqs []JourneyEnrolRequest) ([]record.BatchResult[JourneyEnrolment], error) {
	j, err := s.Get(ctx, tenant, journeyID)
	if err != nil {
		return nil, err
	}
	if j.Status != StatusActive {
		return nil, core.Errorf(core.CodeConflict, "journey %s is %s: it enrols nobody", journeyID, j.Status)
	}
	c, err := s.definition(ctx, tenant, j.ID, j.Published)
	if err != nil {
		return nil, err
	}
	out := make([]record.BatchResult[JourneyEnrolment], len(reqs))
	now := s.now()
	for start := 0; start < len(reqs); start += EnrolChunk {
		end := min(start+EnrolChunk, len(reqs))
		chunk := make([]JourneyEnrolRequest, end-start)
		keys := make([]store.Key, 0, end-start)
		seen := map[string]bool{}
		for i := start; i < end; i++ {
			r, err := reqs[i].check(now)
			chunk[i-start], out[i].Err = r, err
			if err == nil && !seen[r.ContactID] {
				seen[r.ContactID] = true
				keys = append(keys, contacts.ContactKey(tenant, r.ContactID))
			}
		}
		found, err := s.store.GetMany(ctx, keys)
		if err != nil {
			return out, record.StoreError(err)
		}
		exists := map[store.Key]bool{}
		for _, it := range found {
			exists[it.Key] = true
		}
		var writes []store.Write
		var in []int
		for i := start; i < end; i++ {
			r := chunk[i-start]
			if out[i].Err != nil {
				continue
			}
			if !exists[contacts.ContactKey(tenant, r.ContactID)] {
				out[i].Err = core.Invalid("contact_id", "names no contact", r.ContactID)
				continue
			}
			key := ""
			if r.Key != "" {
				key = "api:" + r.Key
			}
			w, e, err := s.enrolWrites(ctx, tenant, j, c, r.ContactID, trigger{Kind: TriggerAPI, Time: r.At, Key: key})
			var no errNotEnrolled
			if errors.As(err, &no) {
				out[i].Err = core.Errorf(core.CodeConflict, "contact %s is not enrolled: %s", r.ContactID, no.why)
				continue
			}
			if err != nil {
				return out, err
			}
			writes = append(writes, w...)
			out[i].Record = *e
			in = append(in, i)
		}
		if len(writes) == 0 {
			continue
		}
		err = s.store.Transact(ctx, writes)
		if err == nil {
			continue
		}
		if !errors.Is(err, store.ErrConditionFailed) && !errors.Is(err, store.ErrInvalid) {
			return out, fmt.Errorf("enrol: %w", record.StoreError(err))
		}
		// A race, or one contact twice in the chunk: one by one.
		for _, i := range in {
			out[i].Record, out[i].Err = s.Enrol(ctx, tenant, journeyID, chunk[i-start])
		}
	}
	return out, nil
}
