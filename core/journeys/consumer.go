package journeys

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/commerce"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/messaging"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/segments"
	"github.com/fedele-crm/fedele/core/store"
)

// contactOf is the contact an event is about: its entity, or the contact
// its entity names.
func contactOf(ev events.Envelope) string {
	e := ev.Detail.Entity
	if e.Type == "contact" {
		return e.ID
	}
	var ref struct {
		ContactID string `json:"contact_id"`
	}
	_ = json.Unmarshal(e.Data, &ref) // an entity without one names no contact
	return ref.ContactID
}

// triggerTime is an event's own time: an order's placed_at (a historical
// order ingested today triggers at the time it was placed), a membership
// change's at, else the event's time.
func triggerTime(ev events.Envelope) time.Time {
	var t struct {
		PlacedAt time.Time `json:"placed_at"`
		At       time.Time `json:"at"`
	}
	_ = json.Unmarshal(ev.Detail.Entity.Data, &t)
	switch {
	case !t.PlacedAt.IsZero():
		return t.PlacedAt.UTC()
	case !t.At.IsZero() && ev.DetailType == events.SegmentEntered:
		return t.At.UTC()
	}
	return ev.Detail.Time.UTC()
}

// eventKey is what makes a trigger enrol once: an order placed, or a
// contact created, enrols once per journey even if its event were written
// twice; any other event once per event id (the processed marker already
// holds redeliveries).
func eventKey(ev events.Envelope) string {
	switch ev.DetailType {
	case events.OrderPlaced, events.ContactCreated:
		return string(ev.DetailType) + ":" + ev.Detail.Entity.ID
	}
	return "event:" + ev.Detail.EventID
}

// Consumer is the journeys consumer: for the contact an event is about,
// it first acts on the contact's running enrolments — a goal met converts
// and exits at once (its pending timer cancelled), an awaited event ends a
// wait, an unsubscribe from the journey's channel or the contact's
// deletion exits — and then enrols it in every active journey the event
// triggers (or schedules its date triggers). Everything commits with the
// processed marker, so a redelivered event acts once.
func (s *Service) Consumer() events.Handler {
	return events.Handler{Name: "journeys", Types: Consumed, Handle: s.handle, WritesOnly: true}
}

func (s *Service) handle(ctx context.Context, ev events.Envelope) ([]store.Write, error) {
	tenant, contactID := ev.Detail.Tenant, contactOf(ev)
	if !core.ValidID(contactID) {
		return nil, nil
	}
	ens, err := s.active(ctx, tenant, contactID)
	if err != nil {
		return nil, err
	}
	var writes []store.Write
	touched := map[string]bool{} // journeys whose entry marker this delivery already writes
	var input *segments.Input
	loadInput := func() (*segments.Input, error) {
		if input == nil {
			in, ok, err := s.segments.Input(ctx, tenant, contactID)
			if err != nil || !ok {
				return nil, err
			}
			input = &in
		}
		return input, nil
	}
	for i := range ens {
		e := &ens[i]
		c, err := s.definition(ctx, tenant, e.JourneyID, e.Journey)
		if err != nil {
			return nil, err
		}
		w, err := s.onEvent(ctx, tenant, ev, e, c, loadInput)
		if err != nil {
			return nil, err
		}
		if len(w) > 0 {
			touched[e.JourneyID] = true
			writes = append(writes, w...)
		}
	}
	if ev.DetailType == events.ContactDeleted {
		return s.forget(ctx, tenant, contactID, writes)
	}
	if slices.Contains(orderChanges, ev.DetailType) {
		w, err := s.onOrderChange(ctx, tenant, contactID, ev)
		if err != nil {
			return nil, err
		}
		writes = append(writes, w...)
	}
	js, cs, err := s.live(ctx, tenant)
	if err != nil {
		return nil, err
	}
	for i, j := range js {
		c := cs[i]
		var tr *trigger
		switch c.Trigger.Kind {
		case TriggerEvent:
			if string(ev.DetailType) == c.Trigger.Event && c.filter.match(ev) {
				tr = &trigger{Kind: TriggerEvent, Type: string(ev.DetailType), Time: triggerTime(ev), Key: eventKey(ev), Data: ev.Detail.Entity.Data}
			}
		case TriggerSegment:
			if ev.DetailType == events.SegmentEntered && ev.Detail.Entity.ID == c.Trigger.SegmentID {
				tr = &trigger{Kind: TriggerSegment, Type: string(ev.DetailType), Time: triggerTime(ev), Key: eventKey(ev)}
			}
		case TriggerDate:
			w, err := s.dateWrites(ctx, tenant, j, c, ev)
			if err != nil {
				return nil, err
			}
			writes = append(writes, w...)
		}
		if tr == nil || touched[j.ID] {
			continue
		}
		if len(writes) > store.MaxTxItems-10 {
			s.log.Warn("journey triggers beyond one transaction: the rest are not enrolled", "tenant", tenant, "event_id", ev.Detail.EventID)
			break
		}
		w, _, err := s.enrolWrites(ctx, tenant, j, c, contactID, *tr)
		var no errNotEnrolled
		if errors.As(err, &no) {
			continue
		}
		if err != nil {
			return nil, err
		}
		writes = append(writes, w...)
	}
	return writes, nil
}

// onEvent is what ev does to one running enrolment: nothing, an exit,
// a conversion, or the end of a wait for an event.
func (s *Service) onEvent(ctx context.Context, tenant string, ev events.Envelope, e *JourneyEnrolment, c *compiled,
	loadInput func() (*segments.Input, error)) ([]store.Write, error) {
	r := &run{s: s, ctx: ctx, tenant: tenant, now: s.now(), e: e, prev: e.Version, c: c}
	switch ev.DetailType {
	case events.ContactDeleted:
		return r.exit(ExitContactDeleted, e.TimerID)
	case events.MessageUnsubscribed:
		var m struct {
			Channel messaging.Channel `json:"channel"`
		}
		_ = json.Unmarshal(ev.Detail.Entity.Data, &m)
		if !c.Exit.KeepOnUnsubscribe && slices.Contains(c.channels, m.Channel) {
			return r.exit(ExitUnsubscribed, e.TimerID)
		}
	}
	if g := c.Goal; g != nil {
		met := false
		var revenue map[string]int64
		switch {
		case g.Event != "":
			met = string(ev.DetailType) == g.Event && c.goalEv.match(ev)
			if met && strings.HasPrefix(string(ev.DetailType), "order.") {
				var o commerce.Order
				if json.Unmarshal(ev.Detail.Entity.Data, &o) == nil && o.Counts() && o.Currency != "" {
					revenue = map[string]int64{o.Currency: o.Net()}
					if !e.Holdout {
						e.ConvertedOrder, e.Revenue, e.Currency, e.OrderVersion = o.ID, o.Net(), o.Currency, o.Version
					}
				}
			}
		case c.goal != nil:
			in, err := loadInput()
			if err != nil {
				return nil, err
			}
			if in != nil {
				loc, _, err := s.location(ctx, tenant)
				if err != nil {
					return nil, err
				}
				met, _ = c.goal.Match(*in, r.now, loc)
			}
		}
		if met {
			e.Converted = true
			if err := r.event(events.JourneyConverted, enrolmentEvent{Step: e.LastSent, Holdout: e.Holdout, Revenue: revenue,
				Outcome: string(ev.DetailType)}); err != nil {
				return nil, err
			}
			return r.exit(ExitGoal, e.TimerID)
		}
	}
	idx, ok := c.index[e.Step]
	if !ok || !e.Waiting {
		return nil, nil
	}
	st := c.Steps[idx]
	if st.Type != StepWaitEvent || string(ev.DetailType) != st.Event || !c.waits[st.ID].match(ev) {
		return nil, nil
	}
	// The awaited event came: the wait ends now, at the event's time, and
	// the next step runs from a new timer due at once.
	cw, cancelled, err := s.timers.CancelWrite(ctx, tenant, e.TimerID)
	if err != nil {
		return nil, err
	}
	if !cancelled {
		return nil, nil // the timeout fired first: it decided
	}
	e.Waiting = false
	e.At = maxTime(e.At, ev.Detail.Time)
	e.StepsRun++
	if err := r.event(events.JourneyStepCompleted, enrolmentEvent{Step: st.ID, StepType: st.Type, Outcome: "event", At: e.At, Waited: true}); err != nil {
		return nil, err
	}
	next := c.next(idx, st.Next)
	if next < 0 {
		w, err := r.exit(ExitCompleted, "")
		return append(w, cw), err
	}
	e.Step, e.NextAction = c.Steps[next].ID, c.Steps[next].Type
	w, err := r.schedule(r.now, "event")
	return append(w, cw), err
}

type datePayload struct {
	JourneyID  string    `json:"journey_id"`
	ContactID  string    `json:"contact_id"`
	Occurrence time.Time `json:"occurrence"`
}

// dateWrites schedules a contact's next date-trigger occurrence when the
// event creates the contact or changes the date: one timer per (journey,
// contact, occurrence), so a repeated schedule makes none more, and a
// timer whose date changed since finds out when it fires.
func (s *Service) dateWrites(ctx context.Context, tenant string, j Journey, c *compiled, ev events.Envelope) ([]store.Write, error) {
	if ev.Detail.Entity.Type != "contact" {
		return nil, nil
	}
	root, _, _ := strings.Cut(c.Trigger.Property, ".")
	if ev.DetailType != events.ContactCreated && !(ev.DetailType == events.ContactUpdated && slices.Contains(ev.Detail.Changed, root)) {
		return nil, nil
	}
	var ct core.Contact
	if err := json.Unmarshal(ev.Detail.Entity.Data, &ct); err != nil {
		return nil, nil
	}
	loc, _, err := s.location(ctx, tenant)
	if err != nil {
		return nil, err
	}
	w, ok, err := s.nextDate(ctx, tenant, j.ID, c, ct, loc, s.now())
	if err != nil || !ok {
		return nil, err
	}
	return []store.Write{w}, nil
}

// nextDate is the timer of the contact's first occurrence at or after
// from; ok is false when there is none (no date, a one-off date past) or
// it is scheduled already (by the back-fill, or a date changed and changed
// back).
func (s *Service) nextDate(ctx context.Context, tenant, journeyID string, c *compiled, ct core.Contact, loc *time.Location, from time.Time) (store.Write, bool, error) {
	req, ok := dateRequest(journeyID, c, ct, loc, from)
	if !ok {
		return store.Write{}, false, nil
	}
	_, w, ok, err := s.timers.ScheduleWriteOnce(ctx, tenant, req)
	return w, ok, err
}

// dateRequest is the timer of the contact's first occurrence at or after
// from, keyed by (journey, contact, occurrence) so that every path that
// schedules it — the consumer, the timer itself, a publish's back-fill —
// makes one.
func dateRequest(journeyID string, c *compiled, ct core.Contact, loc *time.Location, from time.Time) (core.TimerRequest, bool) {
	y, m, d, ok := dateOf(ct, c.Trigger.Property)
	if !ok {
		return core.TimerRequest{}, false
	}
	off, _ := parseOffset(c.Trigger.Offset)
	occ := nextOccurrence(y, m, d, c.Trigger.Yearly, off, loc, from)
	if occ.Before(from) {
		return core.TimerRequest{}, false
	}
	p, _ := json.Marshal(datePayload{JourneyID: journeyID, ContactID: ct.ID, Occurrence: occ})
	return core.TimerRequest{Kind: DateTimer, Subject: ct.ID, Due: occ, Payload: p,
		Key: journeyID + "#" + ct.ID + "#" + occ.Format(time.RFC3339)}, true
}

// dateTimer enrols a contact on its date's occurrence — when the date is
// still the one the timer was made for on the journey's published
// trigger — and schedules the next year's.
func (s *Service) dateTimer(ctx context.Context, t core.Timer) ([]store.Write, error) {
	var p datePayload
	if err := json.Unmarshal(t.Payload, &p); err != nil {
		return nil, nil
	}
	j, err := s.Get(ctx, t.Tenant, p.JourneyID)
	if core.ErrorCode(err) == core.CodeNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if j.Status == StatusArchived || j.Published == 0 {
		return nil, nil
	}
	c, err := s.definition(ctx, t.Tenant, j.ID, j.Published)
	if err != nil {
		return nil, err
	}
	if c.Trigger.Kind != TriggerDate {
		return nil, nil
	}
	ct, err := s.contacts.Get(ctx, t.Tenant, p.ContactID)
	if core.ErrorCode(err) == core.CodeNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	loc, _, err := s.location(ctx, t.Tenant)
	if err != nil {
		return nil, err
	}
	y, m, d, ok := dateOf(ct, c.Trigger.Property)
	if !ok {
		return nil, nil
	}
	off, _ := parseOffset(c.Trigger.Offset)
	if occ := nextOccurrence(y, m, d, c.Trigger.Yearly, off, loc, p.Occurrence.Add(-time.Second)); !occ.Equal(p.Occurrence) {
		// The date or the trigger changed since: this occurrence is not
		// one; the right one is scheduled (once, by its key).
		w, ok, err := s.nextDate(ctx, t.Tenant, j.ID, c, ct, loc, s.now())
		if err != nil || !ok {
			return nil, err
		}
		return []store.Write{w}, nil
	}
	var writes []store.Write
	if c.Trigger.Yearly {
		w, ok, err := s.nextDate(ctx, t.Tenant, j.ID, c, ct, loc, p.Occurrence.Add(time.Minute))
		if err != nil {
			return nil, err
		}
		if ok {
			writes = append(writes, w)
		}
	}
	if j.Status != StatusActive {
		return writes, nil // paused: this year's occurrence passes
	}
	w, _, err := s.enrolWrites(ctx, t.Tenant, j, c, ct.ID, trigger{Kind: TriggerDate, Type: "date:" + c.Trigger.Property,
		Time: p.Occurrence, Key: "date:" + p.Occurrence.Format(time.RFC3339)})
	var no errNotEnrolled
	if errors.As(err, &no) {
		return writes, nil
	}
	if err != nil {
		return nil, err
	}
	return append(writes, w...), nil
}

// forget deletes what the journeys keep of a deleted contact — its
// enrolments, running or ended, and its entry markers — in the transaction
// that exits its running ones: their exit's writes of those documents
// become deletes, while the journey.exited events (and so the counters,
// which are aggregates, not the person) stay. Beyond one transaction, the
// ended enrolments' deletes commit first, on their own: a delete done
// twice is still one.
func (s *Service) forget(ctx context.Context, tenant, contactID string, writes []store.Write) ([]store.Write, error) {
	at := map[store.Key]int{}
	for i, w := range writes {
		if w.Op == store.OpPut {
			at[w.Item.Key] = i
		}
	}
	var extra []store.Write
	del := func(k store.Key, version int64) {
		if i, ok := at[k]; ok {
			cond := writes[i].Cond
			if cond.MustNotExist {
				cond = store.Cond{}
			}
			writes[i] = store.Write{Op: store.OpDelete, Key: k, Cond: cond}
			return
		}
		extra = append(extra, store.Write{Op: store.OpDelete, Key: k, Cond: store.Cond{Version: version}})
	}
	journeys := map[string]bool{}
	if err := s.eachEnrolment(ctx, tenant, contactID, func(it store.Item, e JourneyEnrolment) error {
		del(it.Key, it.Version)
		journeys[e.JourneyID] = true
		return nil
	}); err != nil {
		return nil, err
	}
	for id := range journeys {
		del(entryKey(tenant, id, contactID), 0)
	}
	for len(writes)+len(extra) > store.MaxTxItems-1 { // the processed marker joins them
		n := min(len(extra), store.MaxTxItems, len(writes)+len(extra)-(store.MaxTxItems-1))
		if n == 0 {
			break
		}
		if err := s.store.Transact(ctx, extra[:n]); err != nil {
			return nil, fmt.Errorf("forget enrolments of %s: %w", contactID, record.StoreError(err))
		}
		extra = extra[n:]
	}
	return append(writes, extra...), nil
}
