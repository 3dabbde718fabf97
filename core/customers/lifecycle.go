package customers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
)

// State is a contact's customer lifecycle state.
type State string

const (
	StateNone     State = "none" // no order counts (never bought, or every order cancelled or refunded)
	StateNew      State = "new"
	StateActive   State = "active"
	StateDormant  State = "dormant"
	StateInactive State = "inactive"
	StateLost     State = "lost"
)

// States lists every lifecycle state.
var States = []State{StateNone, StateNew, StateActive, StateDormant, StateInactive, StateLost}

// Basis says what the thresholds are measured in.
type Basis string

const (
	BasisDays     Basis = "days"     // fixed numbers of days
	BasisRelative Basis = "relative" // multiples of the tenant's typical time between purchases
)

// Bases lists every basis of the lifecycle rules.
var Bases = []Basis{BasisDays, BasisRelative}

// LifecycleRules are a tenant's lifecycle thresholds. A contact is new for NewDays
// after its first counted order; then, by the time since its last counted
// order, active, dormant (from DormantAfter), inactive, lost. With the
// relative basis, the dormant, inactive and lost thresholds are the
// multipliers times the tenant's typical gap (TypicalGapDays); until that
// is known (no repeat buyer yet) the days thresholds apply.
type LifecycleRules struct {
	Basis             Basis   `json:"basis" doc:"days: the *_days thresholds; relative: the multipliers times the typical gap between purchases."` // Bases
	NewDays           int     `json:"new_days" minimum:"1" maximum:"3650" doc:"A contact is new this many days after its first counted order."`
	DormantAfterDays  int     `json:"dormant_after_days" minimum:"1" maximum:"3650"`
	InactiveAfterDays int     `json:"inactive_after_days" minimum:"1" maximum:"3650"`
	LostAfterDays     int     `json:"lost_after_days" minimum:"1" maximum:"3650"`
	DormantAfter      float64 `json:"dormant_after" minimum:"0.1" maximum:"100" doc:"Relative basis: dormant after this many typical gaps without an order."`
	InactiveAfter     float64 `json:"inactive_after" minimum:"0.1" maximum:"100"`
	LostAfter         float64 `json:"lost_after" minimum:"0.1" maximum:"100"`
	// What the lifecycle job measured: the median of the gaps between
	// consecutive transaction days of the tenant's repeat buyers.
	TypicalGapDays float64   `json:"typical_gap_days,omitempty" readOnly:"true" doc:"Median days between consecutive transaction days of repeat buyers; 0 until measured."`
	RepeatBuyers   int       `json:"repeat_buyers,omitempty" readOnly:"true" doc:"How many contacts the typical gap was measured on."`
	MeasuredAt     time.Time `json:"measured_at,omitzero" readOnly:"true"`
	Version        int64     `json:"version" readOnly:"true"`
}

// DefaultRules are a tenant's rules until it sets its own.
func DefaultRules() LifecycleRules {
	return LifecycleRules{Basis: BasisDays, NewDays: 30, DormantAfterDays: 90, InactiveAfterDays: 180, LostAfterDays: 365,
		DormantAfter: 2, InactiveAfter: 4, LostAfter: 8}
}

var rulesDoc = record.Doc[LifecycleRules]{Name: "lifecycle rules", Version: func(r *LifecycleRules) *int64 { return &r.Version }}

// Normalize checks the rules: thresholds grow from dormant to lost.
func (r *LifecycleRules) Normalize() error {
	var p core.Problems
	if r.Basis == "" {
		r.Basis = BasisDays
	}
	if r.Basis != BasisDays && r.Basis != BasisRelative {
		p.Add("basis", "must be days or relative")
	}
	for _, f := range []struct {
		path string
		v    int
	}{{"new_days", r.NewDays}, {"dormant_after_days", r.DormantAfterDays}, {"inactive_after_days", r.InactiveAfterDays}, {"lost_after_days", r.LostAfterDays}} {
		if f.v < 1 || f.v > 3650 {
			p.Add(f.path, "must be between 1 and 3650")
		}
	}
	if r.DormantAfterDays >= r.InactiveAfterDays {
		p.Add("inactive_after_days", "must be more than dormant_after_days")
	}
	if r.InactiveAfterDays >= r.LostAfterDays {
		p.Add("lost_after_days", "must be more than inactive_after_days")
	}
	for _, f := range []struct {
		path string
		v    float64
	}{{"dormant_after", r.DormantAfter}, {"inactive_after", r.InactiveAfter}, {"lost_after", r.LostAfter}} {
		if math.IsNaN(f.v) || f.v < 0.1 || f.v > 100 {
			p.Add(f.path, "must be between 0.1 and 100")
		}
	}
	if r.DormantAfter >= r.InactiveAfter {
		p.Add("inactive_after", "must be more than dormant_after")
	}
	if r.InactiveAfter >= r.LostAfter {
		p.Add("lost_after", "must be more than inactive_after")
	}
	return p.Err()
}

// thresholds are the rules as durations, and how to say them.
type thresholds struct {
	fresh, dormant, inactive, lost time.Duration
	say                            func(d time.Duration, m float64) string
	dormantM, inactiveM, lostM     float64
}

const day = 24 * time.Hour

func (r LifecycleRules) thresholds() thresholds {
	th := thresholds{fresh: time.Duration(r.NewDays) * day, dormant: time.Duration(r.DormantAfterDays) * day,
		inactive: time.Duration(r.InactiveAfterDays) * day, lost: time.Duration(r.LostAfterDays) * day,
		say: func(d time.Duration, _ float64) string { return "no order for " + days(d) }}
	if r.Basis == BasisRelative && r.TypicalGapDays > 0 {
		gap := r.TypicalGapDays
		at := func(m float64) time.Duration { return time.Duration(math.Round(m*gap*24*60)) * time.Minute }
		th.dormant, th.inactive, th.lost = at(r.DormantAfter), at(r.InactiveAfter), at(r.LostAfter)
		th.dormantM, th.inactiveM, th.lostM = r.DormantAfter, r.InactiveAfter, r.LostAfter
		th.say = func(d time.Duration, m float64) string {
			return fmt.Sprintf("no order for %s (%s× the typical %s between purchases)", days(d),
				strconv.FormatFloat(m, 'f', -1, 64), days(time.Duration(gap*float64(day))))
		}
	}
	return th
}

// days says a duration in days, to a tenth.
func days(d time.Duration) string {
	n := d.Hours() / 24
	if n == math.Trunc(n) {
		if n == 1 {
			return "1 day"
		}
		return strconv.FormatFloat(n, 'f', 0, 64) + " days"
	}
	return strconv.FormatFloat(n, 'f', 1, 64) + " days"
}

// stateAt is a summary's state at now, why, when the purchases say it
// began, and when time alone changes it next (zero: never). The recency
// states win over new: a new customer whose last order is past the
// dormant threshold is dormant. The start is the order or the threshold's
// minute, not the moment Fedele saw it: a year of history loaded today
// has customers lost since March, and a journey waiting "90 days after
// becoming dormant" counts from then.
func stateAt(p Purchases, th thresholds, now time.Time) (State, string, time.Time, time.Time) {
	if p.Orders <= 0 {
		return StateNone, "no order counts", now, time.Time{}
	}
	since := now.Sub(p.LastOrderAt)
	switch {
	case since >= th.lost:
		return StateLost, th.say(th.lost, th.lostM), p.LastOrderAt.Add(th.lost), time.Time{}
	case since >= th.inactive:
		return StateInactive, th.say(th.inactive, th.inactiveM), p.LastOrderAt.Add(th.inactive), p.LastOrderAt.Add(th.lost)
	case since >= th.dormant:
		return StateDormant, th.say(th.dormant, th.dormantM), p.LastOrderAt.Add(th.dormant), p.LastOrderAt.Add(th.inactive)
	}
	dormantAt := p.LastOrderAt.Add(th.dormant)
	newUntil := p.FirstOrderAt.Add(th.fresh)
	if now.Before(newUntil) {
		return StateNew, "first order", p.FirstOrderAt, earliest(newUntil, dormantAt)
	}
	began := p.LastOrderAt
	if p.Orders == 1 || newUntil.After(began) {
		began = newUntil // active since it stopped being new
	}
	return StateActive, "ordered within " + days(th.dormant), began, dormantAt
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// LifecycleTimerKind is the timer that moves a contact's state when time
// alone changes it.
const LifecycleTimerKind = "customer-lifecycle"

// Changed is the entity data of contact.lifecycle_changed.
type Changed struct {
	ContactID string `json:"contact_id"`
	From      State  `json:"from"`
	To        State  `json:"to"`
	Why       string `json:"why"`
	// At is when the state began: the order's time, or the minute its
	// threshold passed, even when Fedele learns of it later (history
	// loaded today); now when the rules changed since.
	At time.Time `json:"at"`
}

// evaluate brings p's lifecycle to what its purchases say now: on a
// change of state the contact.lifecycle_changed event, and when the next
// time-caused change moves, the timer of it (the old one cancelled unless
// it is firing, which is the caller's). The writes go with p's own put.
func (c *Customers) evaluate(ctx context.Context, tenant string, p *Profile, rules LifecycleRules, firing string) ([]store.Write, error) {
	now := c.now()
	state, why, began, next := stateAt(p.Purchases, rules.thresholds(), now)
	cur := Lifecycle{State: string(StateNone)}
	if p.Lifecycle != nil {
		cur = *p.Lifecycle
	}
	var writes []store.Write
	l := cur
	if from := State(cur.State); from != state {
		switch {
		case state == StateActive && (from == StateDormant || from == StateInactive || from == StateLost):
			why = "ordered again"
		case state == StateActive && from == StateNew:
			why = "new for " + days(rules.thresholds().fresh)
		}
		// The change is dated when the purchases say it happened, never
		// before the state it leaves began (rules changed since) nor
		// after now.
		at := began
		if at.Before(cur.Since) || at.After(now) {
			at = now
		}
		data, err := json.Marshal(Changed{ContactID: p.ContactID, From: State(cur.State), To: state, Why: why, At: at})
		if err != nil {
			return nil, err
		}
		ev := events.New(ctx, tenant, events.ContactLifecycleChanged, now, events.Entity{Type: "contact", ID: p.ContactID, Data: data})
		w, err := events.OutboxWrite(ev)
		if err != nil {
			return nil, err
		}
		writes = append(writes, w)
		l.State, l.Since, l.Why = string(state), at, why
	} else if state != StateActive && state != StateNone {
		// The same state, for the reason the rules give now (they may
		// have changed); begun later than we thought when history arrives
		// out of order (a later order of a customer dormant since the
		// earlier one, still dormant). Active keeps the reason it became
		// active for ("ordered again").
		l.Why = why
		if began.After(cur.Since) && !began.After(now) {
			l.Since = began
		}
	}
	if !next.Equal(cur.Next) || next.IsZero() != (cur.TimerID == "") || cur.TimerID == firing && firing != "" {
		if cur.TimerID != "" && cur.TimerID != firing {
			w, ok, err := c.timers.CancelWrite(ctx, tenant, cur.TimerID)
			if err != nil {
				return nil, err
			}
			if ok {
				writes = append(writes, w)
			}
		}
		l.Next, l.TimerID = next, ""
		if !next.IsZero() {
			t, w, err := c.timers.ScheduleWrite(ctx, tenant, core.TimerRequest{Kind: LifecycleTimerKind, Subject: p.ContactID, Due: next})
			if err != nil {
				return nil, err
			}
			l.TimerID = t.ID
			writes = append(writes, w)
		}
	}
	if p.Lifecycle == nil && state == StateNone {
		return writes, nil // never bought: no lifecycle to show
	}
	p.Lifecycle = &l
	return writes, nil
}

// lifecycleDue is the lifecycle timer's handler: the state the profile is
// in now, and the next timer. A timer the profile no longer names (an
// order moved the next change meanwhile) does nothing.
func (c *Customers) lifecycleDue(ctx context.Context, t core.Timer) ([]store.Write, error) {
	p, v, err := GetProfile(ctx, c.store, t.Tenant, t.Subject)
	if err != nil {
		return nil, err
	}
	if v == 0 || p.Lifecycle == nil || p.Lifecycle.TimerID != t.ID {
		return nil, nil
	}
	rules, err := c.Rules(ctx, t.Tenant)
	if err != nil {
		return nil, err
	}
	writes, err := c.evaluate(ctx, t.Tenant, &p, rules, t.ID)
	if err != nil {
		return nil, err
	}
	pw, err := ProfileDoc.Put(ProfileKey(t.Tenant, t.Subject), v, &p)
	if err != nil {
		return nil, err
	}
	return append([]store.Write{pw}, writes...), nil
}

// LifecycleRules returns a tenant's lifecycle rules, the defaults when it has set
// none.
func (c *Customers) Rules(ctx context.Context, tenant string) (LifecycleRules, error) {
	r, _, err := rulesDoc.Get(ctx, c.store, rulesKey(tenant))
	if core.ErrorCode(err) == core.CodeNotFound {
		return DefaultRules(), nil
	}
	return r, err
}

// SetRules replaces a tenant's lifecycle rules (at ifVersion when > 0)
// and starts the job that measures the typical gap (relative basis) and
// moves every contact to the state the new rules give, rescheduling its
// timer. It returns the rules and the job's id.
func (c *Customers) SetRules(ctx context.Context, tenant string, in LifecycleRules, ifVersion int64) (LifecycleRules, string, error) {
	if err := in.Normalize(); err != nil {
		return in, "", err
	}
	for attempt := 0; ; attempt++ {
		cur, v, err := rulesDoc.Get(ctx, c.store, rulesKey(tenant))
		if err != nil && core.ErrorCode(err) != core.CodeNotFound {
			return in, "", err
		}
		if ifVersion > 0 && v != ifVersion {
			return in, "", record.Stale("lifecycle rules", tenant, ifVersion, v)
		}
		next := in
		next.TypicalGapDays, next.RepeatBuyers, next.MeasuredAt = cur.TypicalGapDays, cur.RepeatBuyers, cur.MeasuredAt
		w, err := rulesDoc.Put(rulesKey(tenant), v, &next)
		if err != nil {
			return in, "", err
		}
		jw, j, err := c.jobs.StartWrites(ctx, tenant, LifecycleJobKind, jobParams{Measure: next.Basis == BasisRelative, Apply: true})
		if err != nil {
			return in, "", err
		}
		err = c.store.Transact(ctx, append([]store.Write{w}, jw...))
		if err == nil {
			return next, j.ID, nil
		}
		var tc *store.TxCancelledError
		if !(errors.As(err, &tc) && tc.Index == 0 && record.IsRace(err)) || ifVersion > 0 || attempt == record.MaxRetries {
			if record.IsRace(err) {
				return in, "", record.Stale("lifecycle rules", tenant, ifVersion, -1)
			}
			return in, "", fmt.Errorf("store lifecycle rules: %w", record.StoreError(err))
		}
	}
}
