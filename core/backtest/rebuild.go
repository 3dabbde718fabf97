package backtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/commerce"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/plugins"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/scoring"
	"github.com/fedele-crm/fedele/core/store"
)

// Rebuilding a record as it was at an event, from the event log alone:
// the contact's timeline up to that event holds its own states (each
// contact event carries the contact after the change), the activities
// logged on it and its orders; the company's timeline holds the company's.

// Bounds of a rebuild: the score contract's record takes a contact's
// latest activities (as scoring does), and a timeline is read back at
// most this far, so a contact with years of events costs a few queries.
const (
	maxActivities    = 50
	maxTimelineItems = 1000
	maxCompanyItems  = 300
	timelinePage     = 200
)

// rebuild fills dp's record from the contact's and its company's timelines
// up to dp's event, or marks it skipped.
func (s *Service) rebuild(ctx context.Context, tenant string, dp *decisionPoint, st *state) error {
	var (
		contact   *core.Contact
		deleted   bool
		acts      []scoring.Activity
		seenAct   = map[string]bool{}
		orders    = map[string]commerce.Order{}
		orderSeq  []string // newest first
		truncated bool
	)
	read, err := s.walk(ctx, tenant, "contact", dp.contactID, dp.ev.Detail.EventID, maxTimelineItems, func(ev events.Envelope) bool {
		e := ev.Detail.Entity
		switch ev.DetailType {
		case events.ContactCreated, events.ContactUpdated:
			if contact == nil && !deleted {
				var c core.Contact
				if json.Unmarshal(e.Data, &c) == nil {
					c.Score = nil
					contact = &c
				}
			}
		case events.ContactDeleted:
			if contact == nil {
				deleted = true
			}
		case events.ActivityLogged, events.ActivityUpdated, events.ActivityDeleted:
			if seenAct[e.ID] {
				break
			}
			seenAct[e.ID] = true // the newest state of an activity is the first met
			if ev.DetailType == events.ActivityDeleted || len(acts) >= maxActivities {
				break
			}
			var a core.Activity
			if json.Unmarshal(e.Data, &a) == nil && a.ContactID == dp.contactID {
				acts = append(acts, scoring.Activity{Type: a.Type, Channel: a.Channel, At: a.At})
			}
		case events.OrderPlaced, events.OrderUpdated, events.OrderCancelled, events.OrderRefunded:
			if _, ok := orders[e.ID]; ok {
				break
			}
			var o commerce.Order
			if json.Unmarshal(e.Data, &o) == nil {
				orders[e.ID] = o
				orderSeq = append(orderSeq, e.ID)
			}
		}
		return true // orders need the whole timeline kept
	})
	if err != nil {
		return err
	}
	truncated = read >= maxTimelineItems
	switch {
	case deleted:
		bump(&st.Skipped, "contact_deleted")
		return nil
	case contact == nil:
		bump(&st.Skipped, "contact_unknown")
		return nil
	}
	if truncated {
		bump(&st.Approximated, "timeline_truncated")
	}
	dp.rec = input{Record: scoring.Record{Contact: *contact, Activities: acts}}
	dp.orders = len(orders)
	if len(orders) > 0 {
		dp.rec.Orders = summarize(orders, orderSeq)
	}
	if id := contact.CompanyID; id != "" {
		co, err := s.company(ctx, tenant, id, dp.ev.Detail.EventID)
		if err != nil {
			return err
		}
		if co == nil {
			bump(&st.Approximated, "company_unknown")
		}
		dp.rec.Company = co
	}
	dp.ok = true
	return nil
}

// summarize sums the orders that count (core/commerce's Counts) in the
// currency of the newest; orders in other currencies are left out, as the
// contract has one currency.
func summarize(orders map[string]commerce.Order, newestFirst []string) *orderSummary {
	sum := &orderSummary{Currency: orders[newestFirst[0]].Currency}
	for _, id := range newestFirst {
		o := orders[id]
		if !o.Counts() {
			continue
		}
		sum.Count++
		if o.Currency == sum.Currency {
			sum.TotalMinor += o.Net()
		}
		if at := o.PlacedAt; sum.LastOrderAt == nil || at.After(*sum.LastOrderAt) {
			sum.LastOrderAt = &at
		}
	}
	return sum
}

// company is a company as it was at event id, or nil when its timeline
// kept none of its states (or it was deleted by then).
func (s *Service) company(ctx context.Context, tenant, id, at string) (*core.Company, error) {
	var co *core.Company
	gone := false
	_, err := s.walk(ctx, tenant, "company", id, at, maxCompanyItems, func(ev events.Envelope) bool {
		switch ev.DetailType {
		case events.CompanyCreated, events.CompanyUpdated:
			var c core.Company
			if json.Unmarshal(ev.Detail.Entity.Data, &c) == nil {
				co = &c
				return false
			}
		case events.CompanyDeleted:
			gone = true
			return false
		}
		return true
	})
	if gone {
		return nil, err
	}
	return co, err
}

// walk reads the timeline of an entity backwards from event id at
// (inclusive), handing each event to see until it answers false or max
// events were read; it answers how many it read.
func (s *Service) walk(ctx context.Context, tenant, typ, id, at string, max int, see func(events.Envelope) bool) (int, error) {
	q := store.Query{Index: events.TimelineIndex, PK: events.TimelinePK(tenant, typ, id), To: at, Desc: true, Limit: min(timelinePage, max)}
	read := 0
	for {
		page, err := s.store.Query(ctx, q)
		if err != nil {
			return read, fmt.Errorf("read the timeline of %s %s: %w", typ, id, record.StoreError(err))
		}
		for _, it := range page.Items {
			ev, err := events.Decode(it)
			if err != nil {
				return read, err
			}
			read++
			if !see(ev) || read >= max {
				return read, nil
			}
		}
		if page.Next == "" {
			return read, nil
		}
		q.Cursor = page.Next
	}
}

// decide asks the candidate and the baseline for the rebuilt records,
// in batches of at most s.batch records spanning at most an hour: a call
// has one clock, the batch's last event's time, which a record of the
// batch sees at most an hour late — nothing against activities' decay
// over weeks — instead of a call per record.
func (s *Service) decide(ctx context.Context, tenant string, p BacktestParams, points []*decisionPoint, st *state) error {
	var ok []*decisionPoint
	for _, dp := range points {
		if dp.ok {
			ok = append(ok, dp)
		}
	}
	if len(ok) == 0 {
		return nil
	}
	cand, err := s.plugins.Get(ctx, tenant, p.Plugin, p.Version)
	if err != nil {
		if core.ErrorCode(err) == core.CodeNotFound {
			return core.Errorf(core.CodeConflict, "plugin %s version %d was deleted during its backtest", p.Plugin, p.Version)
		}
		return err
	}
	var base *plugins.Version
	if p.Baseline != nil {
		v, err := s.plugins.Get(ctx, tenant, p.Baseline.Name, p.Baseline.Version)
		if err != nil {
			if core.ErrorCode(err) == core.CodeNotFound {
				return core.Errorf(core.CodeConflict, "the baseline, plugin %s version %d, was deleted during the backtest", p.Baseline.Name, p.Baseline.Version)
			}
			return err
		}
		base = &v
	}
	t, err := s.tenants.Get(ctx, tenant)
	if err != nil {
		return err
	}
	weights := t.Weights()
	for start := 0; start < len(ok); {
		end := start + 1
		for end < len(ok) && end-start < s.batch && ok[end].ev.Detail.Time.Sub(ok[start].ev.Detail.Time) <= time.Hour {
			end++
		}
		batch := ok[start:end]
		now := batch[len(batch)-1].ev.Detail.Time
		recs := make([]input, len(batch))
		for i, dp := range batch {
			recs[i] = dp.rec
		}
		builtin := func(r input) int { return scoring.Builtin(r.Record, now, weights).Score }
		cs, err := s.run(ctx, tenant, &cand, recs, now, builtin, &st.Cand.Failures)
		if err != nil {
			return err
		}
		bs, err := s.run(ctx, tenant, base, recs, now, builtin, &st.Base.Failures)
		if err != nil {
			return err
		}
		for i, dp := range batch {
			dp.cand, dp.base = clamp(cs[i]), clamp(bs[i])
			st.Decisions++
			st.Cand.Scores[dp.cand]++
			st.Base.Scores[dp.base]++
			if d := dp.cand - dp.base; d == 0 {
				st.Exact++
				st.Within5++
			} else if d >= -5 && d <= 5 {
				st.Within5++
			}
		}
		start = end
	}
	return nil
}

// run decides recs by version v (the built-in when v is nil), falling back
// to the built-in record by record where the plugin declines and for the
// whole batch when its call fails — what would be applied live — and
// counting each in f. It fails only when the store does.
func (s *Service) run(ctx context.Context, tenant string, v *plugins.Version, recs []input, now time.Time, builtin func(input) int, f *BacktestFailures) ([]int, error) {
	out := make([]int, len(recs))
	for i, r := range recs {
		out[i] = builtin(r)
	}
	if v == nil {
		return out, nil
	}
	batch, err := json.Marshal(recs)
	if err != nil {
		return nil, fmt.Errorf("encode the backtest batch: %w", err)
	}
	results, err := s.plugins.Replay(ctx, tenant, *v, batch, len(recs), now)
	if err != nil {
		class := "unavailable"
		if re, ok := errors.AsType[*plugins.RunError](err); ok {
			class = re.Class
		}
		f.Calls++
		f.Records += len(recs)
		if f.Classes == nil {
			f.Classes = map[string]int{}
		}
		f.Classes[class]++
		return out, nil
	}
	for i, raw := range results {
		var res scoring.Result
		if plugins.Declined(raw) || json.Unmarshal(raw, &res) != nil {
			f.Declined++
			continue
		}
		out[i] = res.Score
	}
	return out, nil
}
