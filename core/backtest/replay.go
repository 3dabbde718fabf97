package backtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/commerce"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/jobs"
	"github.com/fedele-crm/fedele/core/plugins"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/scoring"
	"github.com/fedele-crm/fedele/core/store"
)

// state is where the next step starts, and the sums so far: counts of
// scores, never the scores themselves, so it stays a few kilobytes.
type state struct {
	Phase  string    `json:"phase"` // "" replaying events, "rank" reading contacts' labels
	Cursor string    `json:"cursor,omitempty"`
	Until  time.Time `json:"until"`

	Events       int            `json:"events"`
	Decisions    int            `json:"decisions"`
	Skipped      map[string]int `json:"skipped,omitempty"`
	Approximated map[string]int `json:"approximated,omitempty"`
	Within5      int            `json:"within5"`
	Exact        int            `json:"exact"`
	Cand         side           `json:"cand"`
	Base         side           `json:"base"`
	Contacts     int            `json:"contacts"`
	Positives    int            `json:"positives"`
}

// side is one decider's sums.
type side struct {
	Scores   Scores           `json:"scores"`
	Failures BacktestFailures `json:"failures"`
	Ranked   Labelled         `json:"ranked"`
}

// contactScore is a contact's score for the ranking, kept per job while
// the events are replayed (one document per contact: a job's state cannot
// hold every contact) and read back once they are.
type contactScore struct {
	Cand int       `json:"cand"`
	Base int       `json:"base"`
	At   time.Time `json:"at"`
	// Orders is how many orders the contact had placed by then: a first
	// order is only one after none.
	Orders   int       `json:"orders"`
	Positive bool      `json:"positive"`
	Expires  time.Time `json:"expires"`
}

// scratchKeep is how long a job's contact documents outlive their last
// write: long enough for any job to finish reading them.
const scratchKeep = 7 * 24 * time.Hour

var scratchDoc = record.Doc[contactScore]{Name: "backtest contact", TTL: func(c *contactScore) time.Time { return c.Expires }}

func scratchPK(tenant, jobID string) string { return store.Tenant(tenant).PK("backtest", jobID) }

func scratchKey(tenant, jobID, contactID string) store.Key {
	return store.Key{PK: scratchPK(tenant, jobID), SK: contactID}
}

func (s *Service) step(ctx context.Context, tenant string, j *jobs.Job, raw json.RawMessage) (json.RawMessage, bool, []store.Write, error) {
	var p BacktestParams
	if err := json.Unmarshal(j.Params, &p); err != nil {
		return nil, false, nil, fmt.Errorf("decode backtest params: %w", err)
	}
	var st state
	if raw != nil {
		if err := json.Unmarshal(raw, &st); err != nil {
			return nil, false, nil, fmt.Errorf("decode backtest state: %w", err)
		}
	}
	now := s.now().UTC()
	if st.Until.IsZero() {
		// Fixed at the first step: outcomes are read up to then however
		// long the job takes, so every step reads the same range.
		st.Until = p.To.AddDate(0, 0, p.WindowDays)
		if lim := now.Add(-settle); st.Until.After(lim) {
			st.Until = lim
		}
	}
	done := false
	var err error
	if st.Phase == "" {
		err = s.replayPage(ctx, tenant, j.ID, p, &st)
	} else {
		done, err = s.rankPage(ctx, tenant, j.ID, &st)
	}
	if err != nil {
		return nil, false, nil, err
	}
	j.Done = st.Events
	if done {
		j.Total = st.Events
	}
	res := s.result(p, &st, done, now)
	if j.Result, err = json.Marshal(res); err != nil {
		return nil, false, nil, err
	}
	next, err := json.Marshal(st)
	return next, done, nil, err
}

// decisionPoint is an event a score reacts to, its contact, and the record
// rebuilt as of then.
type decisionPoint struct {
	ev        events.Envelope
	contactID string
	rec       input
	orders    int
	ok        bool
	cand      int
	base      int
}

// input is the score contract's record as the backtest sends it: what
// scoring sends, and the contact's orders as of then.
type input struct {
	scoring.Record
	Orders *orderSummary `json:"orders,omitempty"`
}

type orderSummary struct {
	Count       int        `json:"count"`
	TotalMinor  int64      `json:"total_minor"`
	Currency    string     `json:"currency,omitempty"`
	LastOrderAt *time.Time `json:"last_order_at"`
}

// replayPage reads the next page of the tenant's events in [from, until],
// decides the records of those the kind reacts to, and applies every
// event to the contacts' ranking documents, in order.
func (s *Service) replayPage(ctx context.Context, tenant, jobID string, p BacktestParams, st *state) error {
	if !st.Until.After(p.From) {
		// A range that starts in the last seconds (or later): no event of
		// it has settled yet, so there is nothing to replay — not a query
		// whose bounds are upside down.
		st.Phase = "rank"
		return nil
	}
	q := store.Query{From: core.FirstIDAt(p.From), To: core.FirstIDAt(st.Until), Consistent: true}
	page, err := store.QueryMerged(ctx, s.store, q, events.EventsPKs(tenant), s.page, st.Cursor)
	if err != nil {
		return fmt.Errorf("read events: %w", record.StoreError(err))
	}
	evs := make([]events.Envelope, 0, len(page.Items))
	for _, it := range page.Items {
		ev, err := events.Decode(it)
		if err != nil {
			return err
		}
		if ev.Detail.Tenant != tenant {
			continue // never: the partitions are the tenant's; but never trust a replay with another's
		}
		evs = append(evs, ev)
	}
	st.Events += len(evs)

	// The decisions, rebuilt as of their events and decided in batches.
	var points []*decisionPoint
	for _, ev := range evs {
		if ev.Detail.Time.Before(p.To) && slices.Contains(decisionTypes, ev.DetailType) {
			if id := subject(ev); id != "" {
				points = append(points, &decisionPoint{ev: ev, contactID: id})
			}
		}
	}
	for _, dp := range points {
		if err := s.rebuild(ctx, tenant, dp, st); err != nil {
			return err
		}
	}
	if err := s.decide(ctx, tenant, p, points, st); err != nil {
		return err
	}

	// The contacts' ranking documents, updated event by event.
	touched := map[string]bool{}
	for _, ev := range evs {
		if id := subject(ev); id != "" {
			touched[id] = true
		}
	}
	docs, versions, err := s.loadScratch(ctx, tenant, jobID, touched)
	if err != nil {
		return err
	}
	changed := map[string]bool{}
	window := time.Duration(p.WindowDays) * 24 * time.Hour
	byEvent := map[string]*decisionPoint{}
	for _, dp := range points {
		if dp.ok {
			byEvent[dp.ev.Detail.EventID] = dp
		}
	}
	for _, ev := range evs {
		id := subject(ev)
		if id == "" {
			continue
		}
		// An outcome first: an order that re-scores its contact is still
		// the outcome of the score before it.
		if c, ok := docs[id]; ok && !c.Positive {
			if at, is := outcomeAt(ev, p.Outcome, c.Orders); is && at.After(c.At) && !at.After(c.At.Add(window)) {
				c.Positive = true
				changed[id] = true
			}
		}
		if dp := byEvent[ev.Detail.EventID]; dp != nil {
			// A contact with its outcome keeps the score it had before it.
			if c, ok := docs[id]; !ok || !c.Positive {
				docs[id] = &contactScore{Cand: dp.cand, Base: dp.base, At: ev.Detail.Time, Orders: dp.orders}
				changed[id] = true
			}
		}
	}
	if err := s.saveScratch(ctx, tenant, jobID, docs, versions, changed); err != nil {
		return err
	}
	st.Cursor = page.Next
	if st.Cursor == "" {
		st.Phase = "rank"
	}
	return nil
}

// subject is the contact an event is about, or "" when it is none's:
// a contact's own events, an activity or an order on a contact, a deal of
// a contact.
func subject(ev events.Envelope) string {
	d := ev.Detail.Entity
	switch d.Type {
	case "contact":
		return d.ID
	case "activity", "deal", "order":
		var ref struct {
			ContactID string `json:"contact_id"`
		}
		if json.Unmarshal(d.Data, &ref) == nil {
			return ref.ContactID
		}
	}
	return ""
}

// outcomeAt says whether ev is an outcome of the kind asked for, and when
// it happened: a won deal at its event's time; a first order (the contact
// had none when scored) when it was placed, which for an order imported
// later is its own time, not the import's.
func outcomeAt(ev events.Envelope, want Outcome, ordersBefore int) (time.Time, bool) {
	switch {
	case ev.DetailType == events.DealWon && want != OutcomeFirstOrder:
		return ev.Detail.Time, true
	case ev.DetailType == events.OrderPlaced && want != OutcomeWonDeal && ordersBefore == 0:
		var o commerce.Order
		if json.Unmarshal(ev.Detail.Entity.Data, &o) == nil && !o.PlacedAt.IsZero() {
			return o.PlacedAt, true
		}
		return ev.Detail.Time, true
	}
	return time.Time{}, false
}

func (s *Service) loadScratch(ctx context.Context, tenant, jobID string, ids map[string]bool) (map[string]*contactScore, map[string]int64, error) {
	docs, versions := map[string]*contactScore{}, map[string]int64{}
	keys := make([]store.Key, 0, len(ids))
	for id := range ids {
		keys = append(keys, scratchKey(tenant, jobID, id))
	}
	slices.SortFunc(keys, func(a, b store.Key) int { return compare(a.SK, b.SK) })
	for chunk := range slices.Chunk(keys, 100) {
		items, err := s.store.GetMany(ctx, chunk)
		if err != nil {
			return nil, nil, fmt.Errorf("load backtest contacts: %w", record.StoreError(err))
		}
		for _, it := range items {
			c, err := scratchDoc.Decode(it)
			if err != nil {
				return nil, nil, err
			}
			docs[it.Key.SK], versions[it.Key.SK] = &c, it.Version
		}
	}
	return docs, versions, nil
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// saveScratch writes the changed documents. They are written apart from
// the job's progress (a step may change more than a transaction holds),
// and that is safe at least once: a step delivered again replays the same
// events over them, and each document ends where the same events put it.
func (s *Service) saveScratch(ctx context.Context, tenant, jobID string, docs map[string]*contactScore, versions map[string]int64, changed map[string]bool) error {
	ids := make([]string, 0, len(changed))
	for id := range changed {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	expires := s.now().UTC().Add(scratchKeep)
	var writes []store.Write
	for _, id := range ids {
		c := docs[id]
		c.Expires = expires
		w, err := scratchDoc.Put(scratchKey(tenant, jobID, id), versions[id], c)
		if err != nil {
			return err
		}
		writes = append(writes, w)
	}
	for chunk := range slices.Chunk(writes, store.MaxTxItems) {
		if err := s.store.Transact(ctx, chunk); err != nil {
			return fmt.Errorf("store backtest contacts: %w", record.StoreError(err))
		}
	}
	return nil
}

// rankPage reads a page of the contacts' ranking documents into the
// labelled counts; it is done after the last.
func (s *Service) rankPage(ctx context.Context, tenant, jobID string, st *state) (bool, error) {
	page, err := s.store.Query(ctx, store.Query{PK: scratchPK(tenant, jobID), Cursor: st.Cursor, Limit: s.page, Consistent: true})
	if errors.Is(err, store.ErrBadCursor) {
		return false, core.Errorf(core.CodeConflict, "the backtest lost its place among its contacts: start it again")
	}
	if err != nil {
		return false, fmt.Errorf("read backtest contacts: %w", record.StoreError(err))
	}
	for _, it := range page.Items {
		c, err := scratchDoc.Decode(it)
		if err != nil {
			return false, err
		}
		st.Contacts++
		if c.Positive {
			st.Positives++
		}
		st.Cand.Ranked.Add(c.Cand, c.Positive)
		st.Base.Ranked.Add(c.Base, c.Positive)
	}
	st.Cursor = page.Next
	return page.Next == "", nil
}

// result is the job's result from its sums.
func (s *Service) result(p BacktestParams, st *state, done bool, now time.Time) BacktestResult {
	r := BacktestResult{From: p.From, To: p.To, OutcomesUntil: st.Until, EventsRead: st.Events, Decisions: st.Decisions,
		Skipped: st.Skipped, Approximated: st.Approximated,
		Candidate: st.Cand.decider(&plugins.Ref{Name: p.Plugin, Version: p.Version}),
		Baseline:  st.Base.decider(p.Baseline),
		Shift:     BacktestShift{KS: KS(&st.Base.Scores, &st.Cand.Scores), PSI: PSI(&st.Base.Scores, &st.Cand.Scores)},
		Notes:     notes(p, st.Until, now)}
	if st.Decisions > 0 {
		r.Agreement = BacktestAgreement{Within5: float64(st.Within5) / float64(st.Decisions), Exact: float64(st.Exact) / float64(st.Decisions)}
	}
	if done {
		r.Ranking = &BacktestRanking{Outcome: p.Outcome, WindowDays: p.WindowDays, Contacts: st.Contacts, Positives: st.Positives}
		for _, d := range []struct {
			sd  *side
			out *BacktestDecider
		}{{&st.Cand, &r.Candidate}, {&st.Base, &r.Baseline}} {
			if auc, ok := d.sd.Ranked.AUC(); ok {
				d.out.AUC = &auc
			}
			if lift, ok := d.sd.Ranked.TopDecileLift(); ok {
				d.out.TopDecileLift = &lift
			}
		}
		if st.Contacts > 0 && (st.Positives == 0 || st.Positives == st.Contacts) {
			r.Notes = append(r.Notes, "every ranked contact had the same label: AUC and lift need contacts with and without the outcome")
		}
	}
	return r
}

func (sd *side) decider(ref *plugins.Ref) BacktestDecider {
	d := BacktestDecider{DecidedBy: core.DecidedByBuiltin, Histogram: sd.Scores.Bins10(), Failures: sd.Failures}
	if ref != nil {
		d.DecidedBy, d.Plugin = core.DecidedByPlugin, ref
	}
	d.Mean, d.StdDev = sd.Scores.MeanStd()
	return d
}

func bump(m *map[string]int, key string) {
	if *m == nil {
		*m = map[string]int{}
	}
	(*m)[key]++
}
