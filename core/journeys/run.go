package journeys

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/messaging"
	"github.com/fedele-crm/fedele/core/segments"
	"github.com/fedele-crm/fedele/core/store"
)

// Timer kinds.
const (
	StepTimer = "journey.step" // an enrolment's next action is due
	DateTimer = "journey.date" // a contact's date trigger occurs
)

// MaxStepsPerRun bounds the steps one timer runs (a trigger long past
// runs every due step at once, in order); past it, a new timer due now
// continues, so a handler's writes stay within one transaction.
const MaxStepsPerRun = 20

// PausedRetry is how long a step due while its journey is paused is held
// before it is tried again.
const PausedRetry = time.Hour

type stepPayload struct {
	JourneyID   string `json:"journey_id"`
	ContactID   string `json:"contact_id"`
	EnrolmentID string `json:"enrolment_id"`
}

// stepRequest is the timer of e's next action at due, keyed by the
// enrolment, the steps it ran, the step and why (start, wait, hold, more,
// event): scheduling it again (a retried transaction, a redelivered
// event) makes no second timer.
func (s *Service) stepRequest(e *JourneyEnrolment, due time.Time, why string) core.TimerRequest {
	p, _ := json.Marshal(stepPayload{JourneyID: e.JourneyID, ContactID: e.ContactID, EnrolmentID: e.ID})
	return core.TimerRequest{Kind: StepTimer, Subject: e.ContactID, Due: due.UTC(), Payload: p,
		Key: fmt.Sprintf("%s#%d#%s#%s", e.ID, e.StepsRun, e.Step, why)}
}

// run is one pass over an enrolment: the state it ends in and the writes
// that record it.
type run struct {
	s       *Service
	ctx     context.Context
	tenant  string
	now     time.Time
	e       *JourneyEnrolment
	prev    int64
	c       *compiled
	writes  []store.Write
	input   *segments.Input
	tenantT *core.Tenant
	loc     *time.Location
}

func (r *run) event(typ events.Type, d enrolmentEvent) error {
	// The clock read afresh for each event: a send between two events reads
	// a later time, and an id made at an earlier one would sort before it,
	// putting the run's steps out of order on the timeline.
	at := r.s.now()
	if d.At.IsZero() {
		d.At = r.now
	}
	w, err := journeyEvent(r.ctx, r.tenant, typ, at, r.e, d)
	if err == nil {
		r.writes = append(r.writes, w)
	}
	return err
}

// contact reads the contact's evaluation input once per run; ok is false
// when the contact is gone.
func (r *run) contact() (*segments.Input, bool, error) {
	if r.input != nil {
		return r.input, true, nil
	}
	in, ok, err := r.s.segments.Input(r.ctx, r.tenant, r.e.ContactID)
	if err != nil || !ok {
		return nil, ok, err
	}
	r.input = &in
	return r.input, true, nil
}

func (r *run) tenantInfo() (core.Tenant, *time.Location, error) {
	if r.tenantT == nil {
		loc, t, err := r.s.location(r.ctx, r.tenant)
		if err != nil {
			return t, nil, err
		}
		r.tenantT, r.loc = &t, loc
	}
	return *r.tenantT, r.loc, nil
}

// stepTimer acts on an enrolment's due action: it ends the wait it was
// at, then runs every step already due, in order, until one must wait
// (its timer is scheduled) or the journey ends. Sends go through
// messaging.Request, which commits on its own and is idempotent per
// (contact, journey, step): a retried timer never sends twice.
func (s *Service) stepTimer(ctx context.Context, t core.Timer) ([]store.Write, error) {
	var p stepPayload
	if err := json.Unmarshal(t.Payload, &p); err != nil {
		return nil, nil // not ours to understand: nothing to do
	}
	key := EnrolmentKey(t.Tenant, p.ContactID, p.JourneyID, p.EnrolmentID)
	e, v, err := enrolmentDoc.Get(ctx, s.store, key)
	if core.ErrorCode(err) == core.CodeNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if e.State != EnrolmentActive || e.TimerID != t.ID {
		return nil, nil // exited, or moved on: a stale timer
	}
	r := &run{s: s, ctx: ctx, tenant: t.Tenant, now: s.now(), e: &e, prev: v}
	j, err := s.Get(ctx, t.Tenant, e.JourneyID)
	if core.ErrorCode(err) == core.CodeNotFound {
		return r.exit(ExitArchived, "")
	}
	if err != nil {
		return nil, err
	}
	switch j.Status {
	case StatusArchived:
		return r.exit(ExitArchived, "")
	case StatusPaused:
		// Held: the same action is tried again later.
		e.StepsRun++
		return r.hold(r.now.Add(PausedRetry), "hold")
	}
	if r.c, err = s.definition(ctx, t.Tenant, e.JourneyID, e.Journey); err != nil {
		return nil, err
	}
	idx, ok := r.c.index[e.Step]
	if !ok {
		return r.exit(ExitCompleted, "")
	}
	if e.Waiting {
		// The wait at idx ended at its due time: the journey's time moves
		// there, not to the time the timer happened to fire.
		if !e.NextAt.IsZero() {
			e.At = e.NextAt
		}
		st := r.c.Steps[idx]
		next := r.c.next(idx, st.Next)
		outcome := "waited"
		if st.Type == StepWaitEvent {
			outcome = "timeout"
			if st.OnTimeout != "" {
				next = r.c.index[st.OnTimeout]
			}
		}
		e.Waiting = false
		e.StepsRun++
		if err := r.event(events.JourneyStepCompleted, enrolmentEvent{Step: st.ID, StepType: st.Type, Outcome: outcome, At: e.At, Waited: true}); err != nil {
			return nil, err
		}
		idx = next
		if idx >= 0 {
			idx, err = r.migrate(j, idx)
			if err != nil {
				return nil, err
			}
		}
	}
	return r.steps(idx)
}

// migrate moves the enrolment onto the journey's published version when
// that version's rule maps the step it is about to run.
func (r *run) migrate(j Journey, idx int) (int, error) {
	if j.Published <= r.e.Journey {
		return idx, nil
	}
	pc, err := r.s.definition(r.ctx, r.tenant, j.ID, j.Published)
	if err != nil {
		return idx, err
	}
	m := pc.Migrate
	if m == nil || m.FromVersion != r.e.Journey {
		return idx, nil
	}
	to, ok := m.Steps[r.c.Steps[idx].ID]
	if !ok {
		return idx, nil
	}
	r.e.Journey, r.c = j.Published, pc
	return pc.index[to], nil
}

// steps runs from step idx until a wait or the end.
func (r *run) steps(idx int) ([]store.Write, error) {
	e := r.e
	for n := 0; ; n++ {
		if idx < 0 {
			return r.exit(ExitCompleted, "")
		}
		st := r.c.Steps[idx]
		e.Step, e.NextAction = st.ID, st.Type
		if n == MaxStepsPerRun {
			return r.schedule(r.now, "more") // continue in a new transaction
		}
		next := r.c.next(idx, st.Next)
		outcome, msgID := "", ""
		switch st.Type {
		case StepWait, StepWaitUntil, StepWaitWindow, StepWaitEvent:
			due, skip, err := r.due(st)
			if err != nil {
				return nil, err
			}
			if skip {
				outcome = "no_date"
				break
			}
			if due.After(r.now) {
				e.Waiting = true
				until := due
				if err := r.event(events.JourneyStepStarted, enrolmentEvent{Step: st.ID, StepType: st.Type, At: e.At, Until: &until}); err != nil {
					return nil, err
				}
				return r.schedule(due, "wait")
			}
			// Already due (a trigger from the past): the wait is over at its
			// own time, and the next step runs now.
			e.At = due
			outcome = "already_due"
			if st.Type == StepWaitEvent {
				outcome = "timeout"
				if st.OnTimeout != "" {
					next = r.c.index[st.OnTimeout]
				}
			}
		case StepSend:
			var err error
			if outcome, msgID, err = r.send(st); err != nil {
				return nil, err
			}
		case StepBranch:
			in, ok, err := r.contact()
			if err != nil {
				return nil, err
			}
			if !ok {
				return r.exit(ExitContactDeleted, "")
			}
			_, loc, err := r.tenantInfo()
			if err != nil {
				return nil, err
			}
			yes, err := r.c.branches[st.ID].Match(*in, r.now, loc)
			if err != nil {
				yes = false // an evaluation fault (a cost overrun) takes the else path
			}
			outcome = "else"
			if yes {
				outcome = "then"
				if st.Then != "" {
					next = r.c.index[st.Then]
				}
			} else if st.Else != "" {
				next = r.c.index[st.Else]
			} else {
				next = -1
			}
		case StepPlugin:
			enrol, err := r.decide(st)
			if err != nil {
				return nil, err
			}
			if !enrol {
				e.StepsRun++
				if err := r.event(events.JourneyStepCompleted, enrolmentEvent{Step: st.ID, StepType: st.Type, Outcome: "declined", At: e.At}); err != nil {
					return nil, err
				}
				return r.exit(ExitPlugin, "")
			}
			outcome = "enrol"
			if e.Variant != "" {
				outcome = "variant:" + e.Variant
			}
		case StepUpdate:
			var err error
			if outcome, err = r.update(st); err != nil {
				return nil, err
			}
		case StepExit:
			e.StepsRun++
			if err := r.event(events.JourneyStepCompleted, enrolmentEvent{Step: st.ID, StepType: st.Type, Outcome: "exit", At: e.At}); err != nil {
				return nil, err
			}
			return r.exit(ExitStep, "")
		}
		e.StepsRun++
		if err := r.event(events.JourneyStepCompleted, enrolmentEvent{Step: st.ID, StepType: st.Type, Outcome: outcome, MessageID: msgID, At: e.At}); err != nil {
			return nil, err
		}
		idx = next
	}
}

// due is when a wait step ends, counted from the journey's time (never
// the firing time); skip is true for a wait on a date the contact lacks.
func (r *run) due(st JourneyStep) (due time.Time, skip bool, err error) {
	e := r.e
	switch st.Type {
	case StepWait, StepWaitEvent:
		_, loc, err := r.tenantInfo()
		if err != nil {
			return due, false, err
		}
		from := e.At
		if st.SinceTrigger {
			from = e.TriggerTime
		}
		d, _ := parseDuration(st.Delay)
		if e.DelayOverride != nil && st.Type == StepWait {
			// A plugin's delay override replaces the next wait's delay once.
			d = duration{fixed: time.Duration(*e.DelayOverride) * time.Second}
			e.DelayOverride = nil
		}
		return d.after(from, loc), false, nil
	case StepWaitUntil:
		in, ok, err := r.contact()
		if err != nil || !ok {
			return due, true, err
		}
		_, loc, err := r.tenantInfo()
		if err != nil {
			return due, false, err
		}
		y, m, d, ok := dateOf(in.Contact, st.Property)
		if !ok {
			return due, true, nil
		}
		off, _ := parseOffset(st.Offset)
		t := onDay(y, m, d, loc, off)
		if t.Before(e.At) {
			// A date before the journey's time: its next anniversary.
			t = nextOccurrence(y, m, d, true, off, loc, e.At)
		}
		return t, false, nil
	case StepWaitWindow:
		in, ok, err := r.contact()
		if err != nil || !ok {
			return due, true, err
		}
		t, _, err := r.tenantInfo()
		if err != nil {
			return due, false, err
		}
		zone, _ := messaging.RecipientZone(in.Contact, t)
		from, _ := clockMinutes(st.From)
		to, _ := clockMinutes(st.To)
		// A window is about the recipient's day: counted from now when the
		// journey's time is past, so a late trigger is not sent at night.
		return windowStart(maxTime(e.At, r.now), st.Days, from, to, zone), false, nil
	}
	return due, false, nil
}

// send asks messaging for the step's message: the journey is the
// "campaign", the step its step, so a retried timer never sends twice.
// A holdout enrolment sends nothing.
func (r *run) send(st JourneyStep) (outcome, messageID string, err error) {
	e := r.e
	e.LastSent = st.ID
	if e.Holdout {
		return "held_out", "", nil
	}
	merge := maps.Clone(st.Merge)
	if len(e.Fields) > 0 {
		if merge == nil {
			merge = map[string]any{}
		}
		maps.Copy(merge, e.Fields)
	}
	name := st.ID
	if e.Entry > 1 {
		name = fmt.Sprintf("%s~%d", st.ID, e.Entry)
	}
	out, err := r.s.delivery.Request(r.ctx, r.tenant, messaging.Request{ContactID: e.ContactID, Channel: st.Channel,
		Template: st.Template, Merge: merge, CampaignID: e.JourneyID, Step: name, Variant: e.Variant})
	if core.ErrorCode(err) == core.CodeInvalid {
		return "invalid", "", nil // a merge too large or the like: permanent, recorded, not retried
	}
	if err != nil {
		return "", "", fmt.Errorf("journey %s step %s: %w", e.JourneyID, st.ID, err)
	}
	return string(out.Message.Status), out.Message.ID, nil
}

// update changes the contact's tags and custom fields through
// core/contacts, so its events follow; setting a value is idempotent,
// so a retried timer changes nothing more.
func (r *run) update(st JourneyStep) (string, error) {
	_, err := r.s.contacts.Update(r.ctx, r.tenant, r.e.ContactID, 0, func(f *core.ContactFields) error {
		for _, t := range st.AddTags {
			if !slices.Contains(f.Tags, t) {
				f.Tags = append(f.Tags, t)
			}
		}
		f.Tags = slices.DeleteFunc(f.Tags, func(t string) bool { return slices.Contains(st.RemoveTags, t) })
		if len(st.Fields) > 0 {
			if f.Custom == nil {
				f.Custom = map[string]any{}
			}
			maps.Copy(f.Custom, st.Fields)
		}
		return nil
	})
	switch core.ErrorCode(err) {
	case "":
		return "updated", nil
	case core.CodeInvalid:
		return "invalid", nil // the tenant's rules refuse it (an unknown field): recorded, not retried
	case core.CodeNotFound:
		return "no_contact", nil
	}
	return "", err
}

// schedule ends the run waiting for due: the enrolment's timer is a new
// one keyed by (enrolment, steps run, step).
func (r *run) schedule(due time.Time, why string) ([]store.Write, error) {
	r.e.NextAt = due.UTC()
	return r.hold(due, why)
}

// hold is schedule keeping the enrolment's next_at: a paused journey's
// wait still ends at its own time when the journey resumes.
func (r *run) hold(due time.Time, why string) ([]store.Write, error) {
	e := r.e
	tm, tw, err := r.s.timers.ScheduleWrite(r.ctx, r.tenant, r.s.stepRequest(e, due, why))
	if err != nil {
		return nil, err
	}
	e.TimerID = tm.ID
	w, err := enrolmentDoc.Put(EnrolmentKey(r.tenant, e.ContactID, e.JourneyID, e.ID), r.prev, e)
	if err != nil {
		return nil, err
	}
	return append([]store.Write{w, tw}, r.writes...), nil
}

// exit ends the enrolment for reason (completed when it ran out of
// steps), releasing its entry marker; cancel is its pending timer to
// cancel when the exit does not come from that timer.
func (r *run) exit(reason, cancel string) ([]store.Write, error) {
	e := r.e
	waitingAt := ""
	if e.Waiting {
		waitingAt = e.Step
	}
	e.State, e.ExitReason, e.EndedAt, e.Waiting, e.NextAt, e.NextAction = EnrolmentExited, reason, r.now, false, time.Time{}, ""
	if reason == ExitCompleted {
		e.State = EnrolmentCompleted
	}
	writes := []store.Write{}
	w, err := enrolmentDoc.Put(EnrolmentKey(r.tenant, e.ContactID, e.JourneyID, e.ID), r.prev, e)
	if err != nil {
		return nil, err
	}
	writes = append(writes, w)
	if cancel != "" {
		cw, ok, err := r.s.timers.CancelWrite(r.ctx, r.tenant, cancel)
		if err != nil {
			return nil, err
		}
		if ok {
			writes = append(writes, cw)
		}
	}
	en, v, err := entryDoc.Get(r.ctx, r.s.store, entryKey(r.tenant, e.JourneyID, e.ContactID))
	if err != nil && core.ErrorCode(err) != core.CodeNotFound {
		return nil, err
	}
	if en.Active == e.ID {
		en.Active = ""
	}
	en.LastExit = r.now
	ew, err := entryDoc.Put(entryKey(r.tenant, e.JourneyID, e.ContactID), v, &en)
	if err != nil {
		return nil, err
	}
	writes = append(writes, ew)
	if err := r.event(events.JourneyExited, enrolmentEvent{Reason: reason, Step: waitingAt}); err != nil {
		return nil, err
	}
	return append(writes, r.writes...), nil
}
