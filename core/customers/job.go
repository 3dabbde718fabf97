package customers

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/jobs"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
)

// LifecycleJobKind is the job that measures a tenant's typical gap
// between purchases (relative basis) and moves every contact to the state
// its rules give, rescheduling each one's timer: run when the rules
// change, and daily for the relative basis (the typical gap moves as
// customers buy). The rfm and btyd jobs are other kinds.
const LifecycleJobKind = "customer-lifecycle"

// TypicalGapTimerKind is the daily timer that starts the measuring job of
// a tenant on the relative basis; the job schedules the next one.
const TypicalGapTimerKind = "customer-typical-gap"

// maxGapDays caps a gap in the job's histogram (longer gaps count as it).
const maxGapDays = 3650

type jobParams struct {
	Measure bool `json:"measure"` // measure the typical gap first
	Apply   bool `json:"apply"`   // re-evaluate every contact even when the gap did not move
}

type jobState struct {
	Phase  string      `json:"phase"` // measure, apply
	Cursor string      `json:"cursor,omitempty"`
	Gaps   map[int]int `json:"gaps,omitempty"` // days between consecutive transaction days → how many
	Buyers int         `json:"buyers,omitempty"`
	Moved  int         `json:"moved,omitempty"`
}

// JobResult is what a lifecycle job found.
type JobResult struct {
	TypicalGapDays float64 `json:"typical_gap_days,omitempty"`
	RepeatBuyers   int     `json:"repeat_buyers,omitempty"`
	Moved          int     `json:"moved" doc:"Contacts whose state or next timer the job changed."`
}

// lifecycleStep is one step: a page of profiles measured or re-evaluated.
// A step delivered twice redoes idempotent work: measuring restarts from
// the state the last committed step left, and re-evaluating a contact the
// rules already placed writes nothing.
func (c *Customers) lifecycleStep(ctx context.Context, tenant string, j *jobs.Job, raw json.RawMessage) (json.RawMessage, bool, []store.Write, error) {
	var params jobParams
	if len(j.Params) > 0 {
		if err := json.Unmarshal(j.Params, &params); err != nil {
			return nil, false, nil, &core.Error{Code: core.CodeInvalid, Message: "lifecycle job params: " + err.Error()}
		}
	}
	var st jobState
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &st); err != nil {
			return nil, false, nil, fmt.Errorf("lifecycle job state: %w", err)
		}
	}
	if st.Phase == "" {
		st.Phase = "apply"
		if params.Measure {
			st.Phase = "measure"
		}
	}
	limit := c.page
	if st.Phase == "measure" {
		limit = 5 * c.page // reading only
	}
	page, err := store.QueryMerged(ctx, c.store, store.Query{}, ProfilePKs(tenant), limit, st.Cursor)
	if err != nil {
		return nil, false, nil, fmt.Errorf("list profiles: %w", record.StoreError(err))
	}
	rules, err := c.Rules(ctx, tenant)
	if err != nil {
		return nil, false, nil, err
	}
	for _, it := range page.Items {
		p, err := ProfileDoc.Decode(it)
		if err != nil {
			return nil, false, nil, err
		}
		j.Done++
		if st.Phase == "measure" {
			st.measure(p.Purchases)
			continue
		}
		moved, err := c.reevaluate(ctx, tenant, p.ContactID, rules)
		if err != nil {
			return nil, false, nil, err
		}
		if moved {
			st.Moved++
		}
	}
	st.Cursor = page.Next
	if st.Cursor != "" {
		return encode(st), false, nil, nil
	}
	result := JobResult{Moved: st.Moved}
	if st.Phase == "measure" {
		gap := median(st.Gaps)
		next, err := rulesDoc.Update(ctx, c.store, rulesKey(tenant), true, func(r *LifecycleRules, exists bool) error {
			if !exists {
				*r = DefaultRules()
			}
			r.TypicalGapDays, r.RepeatBuyers, r.MeasuredAt = gap, st.Buyers, c.now()
			return nil
		})
		if err != nil {
			return nil, false, nil, err
		}
		result.TypicalGapDays, result.RepeatBuyers = gap, st.Buyers
		if params.Apply || gap != rules.TypicalGapDays {
			j.Result, _ = json.Marshal(result)
			return encode(jobState{Phase: "apply"}), false, nil, nil
		}
		rules = next
	} else if j.Result != nil {
		var before JobResult
		if json.Unmarshal(j.Result, &before) == nil {
			result.TypicalGapDays, result.RepeatBuyers = before.TypicalGapDays, before.RepeatBuyers
		}
	}
	j.Result, _ = json.Marshal(result)
	if rules.Basis == BasisRelative {
		// Tomorrow's measure, once per tenant and day whatever starts jobs.
		due := c.now().Add(24 * time.Hour)
		if _, err := c.timers.Schedule(ctx, tenant, core.TimerRequest{Kind: TypicalGapTimerKind, Due: due,
			Key: "typical-gap#" + due.Format(time.DateOnly)}); err != nil {
			return nil, false, nil, err
		}
	}
	return nil, true, nil, nil
}

func encode(st jobState) json.RawMessage {
	b, _ := json.Marshal(st) // plain fields cannot fail
	return b
}

// measure adds a profile's gaps between consecutive transaction days
// (only the listed days: folded ones are too old to matter).
func (st *jobState) measure(p Purchases) {
	if len(p.Days) < 2 {
		return
	}
	st.Buyers++
	if st.Gaps == nil {
		st.Gaps = map[int]int{}
	}
	prev, err := time.Parse(time.DateOnly, p.Days[0].Date)
	for _, d := range p.Days[1:] {
		at, perr := time.Parse(time.DateOnly, d.Date)
		if err == nil && perr == nil {
			gap := min(int(at.Sub(prev).Hours()/24+0.5), maxGapDays)
			st.Gaps[gap]++
		}
		prev, err = at, perr
	}
}

// median of a histogram of gaps (the mean of the two middle ones for an
// even count); 0 when empty.
func median(h map[int]int) float64 {
	n := 0
	for _, c := range h {
		n += c
	}
	if n == 0 {
		return 0
	}
	keys := make([]int, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	at := func(i int) int { // the i-th gap (0-based) in order
		for _, k := range keys {
			if i < h[k] {
				return k
			}
			i -= h[k]
		}
		return keys[len(keys)-1]
	}
	if n%2 == 1 {
		return float64(at(n / 2))
	}
	return float64(at(n/2-1)+at(n/2)) / 2
}

// reevaluate moves one contact to the state rules give now, committing
// on its own (re-read on a lost race); moved says whether anything changed.
func (c *Customers) reevaluate(ctx context.Context, tenant, contactID string, rules LifecycleRules) (bool, error) {
	for attempt := 0; ; attempt++ {
		p, v, err := GetProfile(ctx, c.store, tenant, contactID)
		if err != nil || v == 0 {
			return false, err
		}
		before := p.Lifecycle
		writes, err := c.evaluate(ctx, tenant, &p, rules, "")
		if err != nil {
			return false, err
		}
		if len(writes) == 0 && (before == nil) == (p.Lifecycle == nil) && (before == nil || *before == *p.Lifecycle) {
			return false, nil
		}
		pw, err := ProfileDoc.Put(ProfileKey(tenant, contactID), v, &p)
		if err != nil {
			return false, err
		}
		err = c.store.Transact(ctx, append([]store.Write{pw}, writes...))
		if err == nil {
			return true, nil
		}
		if !record.IsRace(err) || attempt == record.MaxRetries {
			return false, fmt.Errorf("lifecycle of contact %s: %w", contactID, record.StoreError(err))
		}
	}
}

// typicalGapDue starts the daily measuring job of a tenant still on the
// relative basis; a tenant back on days lets the chain end.
func (c *Customers) typicalGapDue(ctx context.Context, t core.Timer) ([]store.Write, error) {
	rules, err := c.Rules(ctx, t.Tenant)
	if err != nil || rules.Basis != BasisRelative {
		return nil, err
	}
	writes, _, err := c.jobs.StartWrites(ctx, t.Tenant, LifecycleJobKind, jobParams{Measure: true})
	return writes, err
}
