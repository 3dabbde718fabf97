package journeys

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"strings"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/messaging"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
)

// counters are one shard of a journey's counts.
type counters struct {
	Enrolled         int64                    `json:"enrolled"`
	Completed        int64                    `json:"completed"`
	Converted        int64                    `json:"converted"`
	HoldoutEnrolled  int64                    `json:"holdout_enrolled"`
	HoldoutConverted int64                    `json:"holdout_converted"`
	Exited           map[string]int64         `json:"exited,omitempty"`
	Revenue          map[string]int64         `json:"revenue,omitempty"`
	Steps            map[string]*stepCounters `json:"steps,omitempty"`
}

type stepCounters struct {
	Reached   int64            `json:"reached"`
	Waiting   int64            `json:"waiting"`
	Requested int64            `json:"requested"`
	Deferred  int64            `json:"deferred"`
	Skipped   int64            `json:"skipped"`
	Delivered int64            `json:"delivered"`
	Opened    int64            `json:"opened"`
	Clicked   int64            `json:"clicked"`
	Converted int64            `json:"converted"`
	Revenue   map[string]int64 `json:"revenue,omitempty"`
}

var countersDoc = record.Doc[counters]{Name: "journey counters"}

func (c *counters) step(id string) *stepCounters {
	if c.Steps == nil {
		c.Steps = map[string]*stepCounters{}
	}
	if c.Steps[id] == nil {
		c.Steps[id] = &stepCounters{}
	}
	return c.Steps[id]
}

// StatsConsumed are the detail types the counters consumer reads.
var StatsConsumed = []events.Type{
	events.JourneyEnrolled, events.JourneyStepStarted, events.JourneyStepCompleted, events.JourneyExited, events.JourneyConverted,
	events.MessageRequested, events.MessageDeferred, events.MessageSkipped, events.MessageDelivered, events.MessageOpened, events.MessageClicked,
}

// StatsConsumer keeps each journey's counters from its own events and
// from the messages its steps requested (the journey is their campaign):
// one shard document per write, chosen by the event's contact, so that
// concurrent deliveries rarely race.
func (s *Service) StatsConsumer() events.Handler {
	return events.Handler{Name: "journey-stats", Types: StatsConsumed, Handle: s.count, WritesOnly: true}
}

func (s *Service) count(ctx context.Context, ev events.Envelope) ([]store.Write, error) {
	tenant := ev.Detail.Tenant
	var journeyID, contactID string
	var apply func(c *counters)
	if ev.Detail.Entity.Type == "journey" {
		var d enrolmentEvent
		if err := json.Unmarshal(ev.Detail.Entity.Data, &d); err != nil {
			return nil, nil
		}
		journeyID, contactID = d.JourneyID, d.ContactID
		apply = func(c *counters) {
			switch ev.DetailType {
			case events.JourneyEnrolled:
				c.Enrolled++
				if d.Holdout {
					c.HoldoutEnrolled++
				}
			case events.JourneyStepStarted:
				c.step(d.Step).Waiting++
			case events.JourneyStepCompleted:
				st := c.step(d.Step)
				st.Reached++
				if d.Waited {
					st.Waiting--
				}
			case events.JourneyExited:
				if d.Reason == ExitCompleted {
					c.Completed++
				}
				if c.Exited == nil {
					c.Exited = map[string]int64{}
				}
				c.Exited[d.Reason]++
				if d.Step != "" {
					c.step(d.Step).Waiting--
				}
			case events.JourneyConverted:
				if d.Holdout {
					c.HoldoutConverted++
					return
				}
				c.Converted++
				if !addRevenue(&c.Revenue, d.Revenue) {
					s.log.WarnContext(ctx, "journey revenue overflows int64: not added", "tenant", tenant, "journey", d.JourneyID)
				}
				if d.Step != "" {
					st := c.step(d.Step)
					st.Converted++
					if !addRevenue(&st.Revenue, d.Revenue) {
						s.log.WarnContext(ctx, "journey step revenue overflows int64: not added", "tenant", tenant, "journey", d.JourneyID)
					}
				}
			}
		}
	} else {
		var m messaging.Message
		if err := json.Unmarshal(ev.Detail.Entity.Data, &m); err != nil || m.CampaignID == "" || m.Step == "" {
			return nil, nil
		}
		if ok, err := s.isJourney(ctx, tenant, m.CampaignID); err != nil || !ok {
			return nil, err
		}
		journeyID, contactID = m.CampaignID, m.ContactID
		step, _, _ := strings.Cut(m.Step, "~") // a re-entry's message counts for its step
		apply = func(c *counters) {
			st := c.step(step)
			switch ev.DetailType {
			case events.MessageRequested:
				st.Requested++
			case events.MessageDeferred:
				st.Deferred++
			case events.MessageSkipped:
				st.Skipped++
			case events.MessageDelivered:
				st.Delivered++
			case events.MessageOpened:
				st.Opened++
			case events.MessageClicked:
				st.Clicked++
			}
		}
	}
	if !core.ValidID(journeyID) {
		return nil, nil
	}
	k := statsShard(tenant, journeyID, contactID)
	c, v, err := countersDoc.Get(ctx, s.store, k)
	if err != nil && core.ErrorCode(err) != core.CodeNotFound {
		return nil, err
	}
	apply(&c)
	w, err := countersDoc.Put(k, v, &c)
	if err != nil {
		return nil, err
	}
	return []store.Write{w}, nil
}

// isJourney says whether a message's campaign id is one of the tenant's
// journeys (campaigns share the field); remembered once seen.
func (s *Service) isJourney(ctx context.Context, tenant, id string) (bool, error) {
	if !core.ValidID(id) {
		return false, nil
	}
	key := tenant + "/" + id
	if _, ok := s.journeyCache.Load(key); ok {
		return true, nil
	}
	_, err := s.store.Get(ctx, journeyKey(tenant, id))
	if errors.Is(err, store.ErrNotFound) {
		return false, nil // a campaign's message, not a journey's
	}
	if err != nil {
		return false, record.StoreError(err)
	}
	s.journeyCache.Store(key, true)
	return true, nil
}

// JourneyStepStats are one step's counts.
type JourneyStepStats struct {
	Step     string   `json:"step"`
	Type     StepType `json:"type,omitempty"` // StepTypes
	Reached  int64    `json:"reached" doc:"Enrolments that completed the step."`
	Waiting  int64    `json:"waiting" doc:"Enrolments waiting at the step now."`
	DropOff  int64    `json:"drop_off" doc:"Enrolments that reached the previous step but not this one, and are not waiting before it."`
	Requests int64    `json:"messages_requested"`
	// The message funnel and the conversions attributed to this step.
	Deferred  int64                  `json:"messages_deferred"`
	Skipped   int64                  `json:"messages_skipped"`
	Delivered int64                  `json:"messages_delivered"`
	Opened    int64                  `json:"messages_opened"`
	Clicked   int64                  `json:"messages_clicked"`
	Converted int64                  `json:"converted"`
	Revenue   []JourneyRevenueAmount `json:"revenue,omitempty"`
}

// JourneyRevenueAmount is revenue in one currency, minor units.
type JourneyRevenueAmount struct {
	Currency string `json:"currency"`
	Minor    int64  `json:"minor"`
}

// JourneyStats are a journey's counts: how many entered, where they are,
// how many left and why, and what each step earned.
type JourneyStats struct {
	JourneyID        string                 `json:"journey_id"`
	Enrolled         int64                  `json:"enrolled"`
	Active           int64                  `json:"active"`
	Completed        int64                  `json:"completed"`
	Converted        int64                  `json:"converted"`
	ConversionRate   float64                `json:"conversion_rate" doc:"converted / enrolled, outside the holdout."`
	Exited           map[string]int64       `json:"exited" doc:"Ended enrolments by reason (completed included)."`
	Revenue          []JourneyRevenueAmount `json:"revenue"`
	HoldoutEnrolled  int64                  `json:"holdout_enrolled"`
	HoldoutConverted int64                  `json:"holdout_converted"`
	HoldoutRate      float64                `json:"holdout_conversion_rate" doc:"The holdout's conversion rate: the uplift is conversion_rate less this."`
	Steps            []JourneyStepStats     `json:"steps" doc:"In the published version's order; steps of older versions after."`
}

// Stats merges a journey's counter shards.
func (s *Service) Stats(ctx context.Context, tenant, id string) (JourneyStats, error) {
	j, err := s.Get(ctx, tenant, id)
	if err != nil {
		return JourneyStats{}, err
	}
	keys := make([]store.Key, StatShards)
	for i := range keys {
		keys[i] = statsKey(tenant, id, i)
	}
	items, err := s.store.GetMany(ctx, keys)
	if err != nil {
		return JourneyStats{}, record.StoreError(err)
	}
	var all counters
	for _, it := range items {
		c, err := countersDoc.Decode(it)
		if err != nil {
			return JourneyStats{}, err
		}
		all.Enrolled += c.Enrolled
		all.Completed += c.Completed
		all.Converted += c.Converted
		all.HoldoutEnrolled += c.HoldoutEnrolled
		all.HoldoutConverted += c.HoldoutConverted
		addRevenue(&all.Revenue, c.Revenue)
		for r, n := range c.Exited {
			if all.Exited == nil {
				all.Exited = map[string]int64{}
			}
			all.Exited[r] += n
		}
		for id, sc := range c.Steps {
			t := all.step(id)
			t.Reached += sc.Reached
			t.Waiting += sc.Waiting
			t.Requested += sc.Requested
			t.Deferred += sc.Deferred
			t.Skipped += sc.Skipped
			t.Delivered += sc.Delivered
			t.Opened += sc.Opened
			t.Clicked += sc.Clicked
			t.Converted += sc.Converted
			addRevenue(&t.Revenue, sc.Revenue)
		}
	}
	out := JourneyStats{JourneyID: id, Enrolled: all.Enrolled, Completed: all.Completed, Converted: all.Converted,
		Exited: all.Exited, Revenue: amounts(all.Revenue), HoldoutEnrolled: all.HoldoutEnrolled, HoldoutConverted: all.HoldoutConverted,
		Steps: []JourneyStepStats{}}
	if out.Exited == nil {
		out.Exited = map[string]int64{}
	}
	ended := int64(0)
	for _, n := range all.Exited {
		ended += n
	}
	out.Active = all.Enrolled - ended
	if n := all.Enrolled - all.HoldoutEnrolled; n > 0 {
		out.ConversionRate = float64(all.Converted) / float64(n)
	}
	if all.HoldoutEnrolled > 0 {
		out.HoldoutRate = float64(all.HoldoutConverted) / float64(all.HoldoutEnrolled)
	}
	var order []JourneyStep
	if j.Published > 0 {
		if c, err := s.definition(ctx, tenant, id, j.Published); err == nil {
			order = c.Steps
		}
	}
	seen := map[string]bool{}
	var prev *JourneyStepStats
	for _, st := range order {
		seen[st.ID] = true
		ss := stepStats(st.ID, st.Type, all.step(st.ID))
		if prev != nil {
			ss.DropOff = max(0, prev.Reached-ss.Reached-ss.Waiting)
		}
		out.Steps = append(out.Steps, ss)
		prev = &out.Steps[len(out.Steps)-1]
	}
	rest := make([]string, 0)
	for id := range all.Steps {
		if !seen[id] {
			rest = append(rest, id)
		}
	}
	sort.Strings(rest)
	for _, id := range rest {
		out.Steps = append(out.Steps, stepStats(id, "", all.Steps[id]))
	}
	return out, nil
}

func stepStats(id string, t StepType, c *stepCounters) JourneyStepStats {
	return JourneyStepStats{Step: id, Type: t, Reached: c.Reached, Waiting: c.Waiting, Requests: c.Requested, Deferred: c.Deferred,
		Skipped: c.Skipped, Delivered: c.Delivered, Opened: c.Opened, Clicked: c.Clicked, Converted: c.Converted, Revenue: amounts(c.Revenue)}
}

func amounts(m map[string]int64) []JourneyRevenueAmount {
	out := make([]JourneyRevenueAmount, 0, len(m))
	for cur, n := range m {
		if n != 0 { // a currency whose orders were all refunded brings nothing
			out = append(out, JourneyRevenueAmount{Currency: cur, Minor: n})
		}
	}
	slices.SortFunc(out, func(a, b JourneyRevenueAmount) int {
		if a.Currency < b.Currency {
			return -1
		}
		return 1
	})
	return out
}
