package segments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/contacts"
	"github.com/fedele-crm/fedele/core/customers"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/scoring"
	"github.com/fedele-crm/fedele/core/store"
)

// State is a contact's membership state, one document per contact beside
// it, written only by this package: the segments and lists it is in, the
// instant each dynamic segment's answer next flips by time alone (and the
// timer set for it), and when the contact last had each kind of event —
// what did(type, within) reads, so an evaluation never queries the
// timeline.
type State struct {
	In    map[string]time.Time `json:"in,omitempty"`    // segment id → since
	Flips map[string]time.Time `json:"flips,omitempty"` // segment id → next flip
	Seen  map[string]time.Time `json:"seen,omitempty"`  // event type → last time
}

var stateDoc = record.Doc[State]{Name: "segment state"}

func (s *State) init() {
	if s.In == nil {
		s.In = map[string]time.Time{}
	}
	if s.Flips == nil {
		s.Flips = map[string]time.Time{}
	}
	if s.Seen == nil {
		s.Seen = map[string]time.Time{}
	}
}

// loaded is one contact's evaluation input and its state as read.
type loaded struct {
	Input
	State   State
	Version int64 // of the state document; 0 when there is none
}

// inputs reads what evaluating the contacts needs — the contact, its
// company, score, profile and membership state — in batches (GetMany),
// never one request per part per contact. Contacts not found are left out.
func (s *Service) inputs(ctx context.Context, tenant string, ids []string) ([]loaded, error) {
	var keys []store.Key
	for _, id := range ids {
		if !core.ValidID(id) {
			continue
		}
		keys = append(keys, contacts.ContactKey(tenant, id))
	}
	items, err := s.getMany(ctx, keys)
	if err != nil {
		return nil, err
	}
	cs, err := decodeContacts(items)
	if err != nil {
		return nil, err
	}
	return s.inputsOf(ctx, tenant, cs)
}

// inputsOf is inputs for contacts already read (a job's page).
func (s *Service) inputsOf(ctx context.Context, tenant string, cs []core.Contact) ([]loaded, error) {
	var keys []store.Key
	companies := map[string]bool{}
	for _, c := range cs {
		keys = append(keys, scoring.ScoreKey(tenant, c.ID), customers.ProfileKey(tenant, c.ID), stateKey(tenant, c.ID))
		if c.CompanyID != "" && !companies[c.CompanyID] {
			companies[c.CompanyID] = true
			keys = append(keys, contacts.CompanyKey(tenant, c.CompanyID))
		}
	}
	items, err := s.getMany(ctx, keys)
	if err != nil {
		return nil, err
	}
	byKey := make(map[store.Key]store.Item, len(items))
	for _, it := range items {
		byKey[it.Key] = it
	}
	out := make([]loaded, len(cs))
	for i, c := range cs {
		l := loaded{Input: Input{Contact: c, Profile: customers.Profile{ContactID: c.ID}}}
		if it, ok := byKey[scoring.ScoreKey(tenant, c.ID)]; ok {
			var sc scoring.Scored
			if json.Unmarshal(it.Data, &sc) == nil {
				l.Score = &sc.Score
			}
		}
		if it, ok := byKey[customers.ProfileKey(tenant, c.ID)]; ok {
			if err := json.Unmarshal(it.Data, &l.Profile); err != nil {
				return nil, fmt.Errorf("decode profile %s: %w", it.Key, err)
			}
		}
		if it, ok := byKey[stateKey(tenant, c.ID)]; ok {
			if err := json.Unmarshal(it.Data, &l.State); err != nil {
				return nil, fmt.Errorf("decode segment state %s: %w", it.Key, err)
			}
			l.Version = it.Version
		}
		l.State.init()
		l.Seen = l.State.Seen
		if c.CompanyID != "" {
			if it, ok := byKey[contacts.CompanyKey(tenant, c.CompanyID)]; ok {
				var co core.Company
				if json.Unmarshal(it.Data, &co) == nil {
					l.Company = &co
				}
			}
		}
		out[i] = l
	}
	return out, nil
}

func (s *Service) getMany(ctx context.Context, keys []store.Key) ([]store.Item, error) {
	var out []store.Item
	for chunk := range slices.Chunk(keys, store.MaxBatchGetKeys) {
		items, err := s.store.GetMany(ctx, chunk)
		if err != nil {
			return nil, fmt.Errorf("read segment inputs: %w", record.StoreError(err))
		}
		out = append(out, items...)
	}
	return out, nil
}

// membershipEvent is what segment.entered and segment.exited carry.
type membershipEvent struct {
	SegmentID      string    `json:"segment_id"`
	SegmentVersion int64     `json:"segment_version"`
	Kind           Kind      `json:"kind"`
	ContactID      string    `json:"contact_id"`
	At             time.Time `json:"at"`
}

// changeWrites are the writes of a contact entering (in) or leaving a
// segment at at: the member item and the event, on the contact's timeline.
func changeWrites(ctx context.Context, tenant string, sg Segment, contactID string, in bool, at time.Time) ([]store.Write, error) {
	typ := events.SegmentExited
	w := store.Write{Op: store.OpDelete, Key: memberKey(tenant, sg.ID, contactID)}
	if in {
		typ = events.SegmentEntered
		data, err := json.Marshal(Member{ContactID: contactID, Since: at})
		if err != nil {
			return nil, err
		}
		w = store.Write{Op: store.OpPut, Item: store.Item{Key: memberKey(tenant, sg.ID, contactID), Version: 1, Data: data}}
	}
	data, err := json.Marshal(membershipEvent{SegmentID: sg.ID, SegmentVersion: sg.Version, Kind: sg.Kind, ContactID: contactID, At: at})
	if err != nil {
		return nil, err
	}
	ev := events.New(ctx, tenant, typ, at, events.Entity{Type: "segment", ID: sg.ID, Data: data})
	ev.Timeline = &events.Entity{Type: "contact", ID: contactID}
	ew, err := events.OutboxWrite(ev)
	if err != nil {
		return nil, err
	}
	return []store.Write{w, ew}, nil
}

// FlipTimer is the timer kind that re-evaluates a contact when a
// time-relative segment's answer flips.
const FlipTimer = "segment.flip"

type flipPayload struct {
	SegmentID string    `json:"segment_id"`
	ContactID string    `json:"contact_id"`
	At        time.Time `json:"at"`
}

// evaluate re-evaluates one contact against segs at now and returns the
// writes that record what changed (members, events, its state) and the
// flips to schedule. The state's write is guarded by the version read, so
// two evaluations of one contact racing cannot both commit.
func (s *Service) evaluate(ctx context.Context, tenant string, l loaded, segs []Segment, now time.Time, loc *time.Location, all bool) ([]store.Write, []flipPayload, error) {
	st := l.State
	before, _ := json.Marshal(st)
	var writes []store.Write
	var flips []flipPayload
	live := map[string]bool{}
	for _, sg := range segs {
		live[sg.ID] = true
		p, err := s.program(tenant, sg)
		if err != nil {
			s.log.Warn("segment does not compile: skipped", "tenant", tenant, "segment", sg.ID, "error", err.Error())
			continue
		}
		res, err := p.Evaluate(l.Input, now, loc)
		if err != nil {
			return nil, nil, fmt.Errorf("evaluate segment %s for %s: %w", sg.ID, l.Contact.ID, err)
		}
		_, was := st.In[sg.ID]
		if res.Match != was {
			w, err := changeWrites(ctx, tenant, sg, l.Contact.ID, res.Match, now)
			if err != nil {
				return nil, nil, err
			}
			writes = append(writes, w...)
			if res.Match {
				st.In[sg.ID] = now
			} else {
				delete(st.In, sg.ID)
			}
		}
		if res.Flip.IsZero() {
			delete(st.Flips, sg.ID)
		} else if !st.Flips[sg.ID].Equal(res.Flip) {
			st.Flips[sg.ID] = res.Flip
			flips = append(flips, flipPayload{SegmentID: sg.ID, ContactID: l.Contact.ID, At: res.Flip})
		}
	}
	if all {
		// Dynamic segments deleted since: forget them (their members'
		// partitions are no longer read).
		for id := range st.Flips {
			if !live[id] {
				delete(st.Flips, id)
			}
		}
	}
	after, _ := json.Marshal(st)
	if string(after) != string(before) || l.Version == 0 && len(writes) > 0 {
		w, err := stateDoc.Put(stateKey(tenant, l.Contact.ID), l.Version, &st)
		if err != nil {
			return nil, nil, err
		}
		writes = append([]store.Write{w}, writes...)
	}
	return writes, flips, nil
}

// schedule sets the flip timers, one per (segment, contact, instant), 100
// a transaction: a repeated evaluation that finds the same flip finds the
// same timer. A timer whose flip was replaced fires for nothing (its
// handler sees the state names another instant), which is cheaper than
// cancelling it.
func (s *Service) schedule(ctx context.Context, tenant string, flips []flipPayload) error {
	if len(flips) == 0 {
		return nil
	}
	reqs := make([]core.TimerRequest, 0, len(flips))
	seen := map[string]bool{}
	for _, f := range flips {
		key := f.SegmentID + "/" + f.ContactID + "/" + f.At.UTC().Format(time.RFC3339Nano)
		if seen[key] {
			continue // a contact evaluated again after its group failed
		}
		seen[key] = true
		payload, err := json.Marshal(f)
		if err != nil {
			return err
		}
		reqs = append(reqs, core.TimerRequest{Kind: FlipTimer, Subject: f.ContactID, Due: f.At, Payload: payload, Key: key})
	}
	if _, err := s.timers.ScheduleMany(ctx, tenant, reqs); err != nil {
		return fmt.Errorf("schedule segment flips: %w", err)
	}
	return nil
}

// Consumed are the detail types the membership consumer re-evaluates on:
// everything that changes a contact, its score, profile or history.
var Consumed = []events.Type{
	events.ContactCreated, events.ContactUpdated, events.ContactDeleted, events.ContactScored, events.ContactAssigned,
	events.ActivityLogged, events.ActivityUpdated,
	events.OrderPlaced, events.OrderUpdated, events.OrderCancelled, events.OrderRefunded,
	events.ContactLifecycleChanged,
	events.DealCreated, events.DealWon, events.DealLost,
}

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

// Consumer keeps membership live: for the contact an event is about, it
// records the event's time (for did) and re-evaluates every dynamic
// segment of the tenant on the contact's current data (not the event's
// copy, so events out of order cannot leave a stale answer). A deleted
// contact leaves every segment and list it was in.
func (s *Service) Consumer() events.Handler {
	return events.Handler{Name: "segments", Types: Consumed, Handle: func(ctx context.Context, ev events.Envelope) ([]store.Write, error) {
		tenant, id := ev.Detail.Tenant, contactOf(ev)
		if !core.ValidID(id) {
			return nil, nil
		}
		if ev.DetailType == events.ContactDeleted {
			return s.forget(ctx, tenant, id)
		}
		writes, flips, err := s.reevaluate(ctx, tenant, id, func(st *State) {
			typ, at := string(ev.DetailType), ev.Detail.Time
			if at.After(st.Seen[typ]) {
				st.Seen[typ] = at
			}
		})
		if err != nil {
			return nil, err
		}
		return writes, s.schedule(ctx, tenant, flips)
	}}
}

// reevaluate is one contact against all of its tenant's dynamic segments,
// after touch updates its state.
func (s *Service) reevaluate(ctx context.Context, tenant, contactID string, touch func(*State)) ([]store.Write, []flipPayload, error) {
	ins, err := s.inputs(ctx, tenant, []string{contactID})
	if err != nil || len(ins) == 0 {
		return nil, nil, err // a contact gone since is the delete's business
	}
	l := ins[0]
	before, _ := json.Marshal(l.State)
	if touch != nil {
		touch(&l.State)
	}
	segs, err := s.dynamic(ctx, tenant)
	if err != nil {
		return nil, nil, err
	}
	t, err := s.tenants.Get(ctx, tenant)
	if err != nil {
		return nil, nil, err
	}
	writes, flips, err := s.evaluate(ctx, tenant, l, segs, s.now(), t.Location(), true)
	if err != nil {
		return nil, nil, err
	}
	if after, _ := json.Marshal(l.State); len(writes) == 0 && string(after) != string(before) {
		// Only what it did changed (did() may read it later).
		w, err := stateDoc.Put(stateKey(tenant, contactID), l.Version, &l.State)
		if err != nil {
			return nil, nil, err
		}
		writes = append(writes, w)
	}
	return writes, flips, nil
}

// forget takes a deleted contact out of everything it was in.
func (s *Service) forget(ctx context.Context, tenant, contactID string) ([]store.Write, error) {
	st, version, err := stateDoc.Get(ctx, s.store, stateKey(tenant, contactID))
	if core.ErrorCode(err) == core.CodeNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	writes := []store.Write{stateDoc.DeleteWrite(stateKey(tenant, contactID), version)}
	now := s.now()
	for id := range st.In {
		sg, err := segmentKind.Get(ctx, s.store, tenant, id)
		if core.ErrorCode(err) == core.CodeNotFound {
			writes = append(writes, store.Write{Op: store.OpDelete, Key: memberKey(tenant, id, contactID)})
			continue
		}
		if err != nil {
			return nil, err
		}
		w, err := changeWrites(ctx, tenant, sg, contactID, false, now)
		if err != nil {
			return nil, err
		}
		writes = append(writes, w...)
	}
	if len(writes) > store.MaxTxItems-1 {
		return nil, fmt.Errorf("contact %s is in too many segments to leave in one transaction", contactID)
	}
	return writes, nil
}

// flipTimer re-evaluates a contact when a segment's answer flips; a timer
// whose instant is no longer the one the state expects does nothing.
func (s *Service) flipTimer(ctx context.Context, t core.Timer) ([]store.Write, error) {
	var f flipPayload
	if err := json.Unmarshal(t.Payload, &f); err != nil {
		return nil, fmt.Errorf("decode segment flip: %w", err)
	}
	st, _, err := stateDoc.Get(ctx, s.store, stateKey(t.Tenant, f.ContactID))
	if core.ErrorCode(err) == core.CodeNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if at, ok := st.Flips[f.SegmentID]; !ok || !at.Equal(f.At) {
		return nil, nil // replaced by a later evaluation
	}
	writes, flips, err := s.reevaluate(ctx, t.Tenant, f.ContactID, nil)
	if err != nil {
		return nil, err
	}
	if err := s.schedule(ctx, t.Tenant, flips); err != nil {
		return nil, err
	}
	if len(writes) > store.MaxTxItems-1 {
		return nil, errors.New("segment flip: too many changes for one transaction")
	}
	return writes, nil
}
