package campaigns

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/commerce"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/messaging"
	"github.com/fedele-crm/fedele/core/money"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
)

// AudienceCounts is what the launch decided for one variant (or the
// holdout): written only by the launch steps, with their progress.
type AudienceCounts struct {
	Enrolled  int64 `json:"enrolled"`
	Declined  int64 `json:"declined"`  // the plugin did not enrol them
	Requested int64 `json:"requested"` // messages asked of the delivery policy
}

type audience struct {
	Variants map[string]*AudienceCounts `json:"variants"`
	Version  int64                      `json:"-"`
}

var audienceDoc = record.Doc[audience]{Name: "campaign audience", Version: func(a *audience) *int64 { return &a.Version }}

func audienceKey(tenant, campaignID string) store.Key {
	return store.Tenant(tenant).Marker("campaign-audience", campaignID)
}

// addAudience is the write adding tally to the campaign's audience counts.
func (s *Service) addAudience(ctx context.Context, tenant, campaignID string, tally map[string]*AudienceCounts) (store.Write, error) {
	a, v, err := audienceDoc.Get(ctx, s.store, audienceKey(tenant, campaignID))
	if err != nil && core.ErrorCode(err) != core.CodeNotFound {
		return store.Write{}, err
	}
	if a.Variants == nil {
		a.Variants = map[string]*AudienceCounts{}
	}
	for name, t := range tally {
		c := a.Variants[name]
		if c == nil {
			c = &AudienceCounts{}
			a.Variants[name] = c
		}
		c.Enrolled += t.Enrolled
		c.Declined += t.Declined
		c.Requested += t.Requested
	}
	return audienceDoc.Put(audienceKey(tenant, campaignID), v, &a)
}

// statShards spreads a variant's counters over partitions by contact, so
// that receipts and conversions arriving together rarely race.
const statShards = 8

// counters are what the consumer counts for a variant, in one shard.
type counters struct {
	Sent         int64            `json:"sent"`
	Skipped      int64            `json:"skipped"`
	Delivered    int64            `json:"delivered"`
	Opened       int64            `json:"opened"`
	Clicked      int64            `json:"clicked"`
	Bounced      int64            `json:"bounced"`
	Complained   int64            `json:"complained"`
	Unsubscribed int64            `json:"unsubscribed"`
	Converted    int64            `json:"converted"`
	Revenue      map[string]int64 `json:"revenue,omitempty"`
	Version      int64            `json:"-"`
}

// addRevenue adds n minor units of currency, checked: false, and nothing
// added, when the sum would overflow.
func (c *counters) addRevenue(currency string, n int64) bool {
	sum, ok := money.Add(c.Revenue[currency], n)
	if !ok {
		return false
	}
	if c.Revenue == nil {
		c.Revenue = map[string]int64{}
	}
	c.Revenue[currency] = sum
	return true
}

var countersDoc = record.Doc[counters]{Name: "campaign counters", Version: func(c *counters) *int64 { return &c.Version }}

func countersKey(tenant, campaignID, variant string, shard int) store.Key {
	return store.Tenant(tenant).Marker("campaign-stats", campaignID, variant, strconv.Itoa(shard))
}

// count is the write applying f to the counters of e's variant and shard.
func (s *Service) count(ctx context.Context, tenant string, e Enrolment, f func(*counters)) (store.Write, error) {
	k := countersKey(tenant, e.CampaignID, e.Variant, store.ShardOf(e.ContactID, statShards))
	c, v, err := countersDoc.Get(ctx, s.store, k)
	if err != nil && core.ErrorCode(err) != core.CodeNotFound {
		return store.Write{}, err
	}
	f(&c)
	return countersDoc.Put(k, v, &c)
}

// MessageEvents are the message events the performance counts.
var MessageEvents = []events.Type{events.MessageRequested, events.MessageSkipped, events.MessageDelivered, events.MessageOpened,
	events.MessageClicked, events.MessageBounced, events.MessageComplained, events.MessageUnsubscribed}

// Consumer keeps the performance counters: message events of campaign
// messages, and the tenant's goal events, which convert a recipient
// enrolled within the attribution window before them, once per campaign.
// Its effects commit with its processed marker: a redelivered event
// counts once.
func (s *Service) Consumer() events.Handler {
	types := slices.Concat(MessageEvents, GoalEvents, RevenueEvents)
	return events.Handler{Name: "campaigns", Types: types, Handle: func(ctx context.Context, ev events.Envelope) ([]store.Write, error) {
		switch {
		case slices.Contains(MessageEvents, ev.DetailType):
			return s.onMessage(ctx, ev)
		case slices.Contains(RevenueEvents, ev.DetailType):
			return s.onOrderChange(ctx, ev)
		}
		return s.onGoal(ctx, ev)
	}, WritesOnly: true}
}

func (s *Service) onMessage(ctx context.Context, ev events.Envelope) ([]store.Write, error) {
	var m messaging.Message
	if err := json.Unmarshal(ev.Detail.Entity.Data, &m); err != nil {
		return nil, fmt.Errorf("decode message: %w", err)
	}
	if m.CampaignID == "" || m.Step != Step || !core.ValidID(m.CampaignID) {
		return nil, nil
	}
	tenant := ev.Detail.Tenant
	e, err := s.Enrolment(ctx, tenant, m.CampaignID, m.ContactID)
	if core.ErrorCode(err) == core.CodeNotFound {
		// Not a campaign's recipient: an integrator's message naming a
		// campaign. (A launch writes the enrolment before the message.)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var f func(*counters)
	switch ev.DetailType {
	case events.MessageRequested:
		f = func(c *counters) { c.Sent++ }
	case events.MessageSkipped:
		f = func(c *counters) { c.Skipped++ }
	default:
		r := m.LastReceipt
		if r == nil || !firstOfType(m.Receipts, r.Type) {
			return nil, nil // a second open or click of the same message counts once
		}
		f = func(c *counters) {
			switch r.Type {
			case messaging.ReceiptDelivered:
				c.Delivered++
			case messaging.ReceiptOpened:
				c.Opened++
			case messaging.ReceiptClicked:
				c.Clicked++
			case messaging.ReceiptBounced:
				c.Bounced++
			case messaging.ReceiptComplained:
				c.Complained++
			case messaging.ReceiptUnsubscribed:
				c.Unsubscribed++
			}
		}
	}
	w, err := s.count(ctx, tenant, e, f)
	if err != nil {
		return nil, err
	}
	return []store.Write{w}, nil
}

func firstOfType(rs []messaging.Receipt, t messaging.ReceiptType) bool {
	n := 0
	for _, r := range rs {
		if r.Type == t {
			n++
		}
	}
	return n <= 1
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
	_ = json.Unmarshal(e.Data, &ref)
	return ref.ContactID
}

// MaxCampaignsPerConversion bounds the campaigns one goal event converts
// (two writes each in one transaction).
const MaxCampaignsPerConversion = 40

func (s *Service) onGoal(ctx context.Context, ev events.Envelope) ([]store.Write, error) {
	tenant, contactID := ev.Detail.Tenant, contactOf(ev)
	if !core.ValidID(contactID) {
		return nil, nil
	}
	// The newest enrolments first: a contact in many campaigns converts
	// the latest ones.
	page, err := s.store.Query(ctx, store.Query{PK: enrolmentsPK(tenant, contactID), Desc: true, Limit: 200, Consistent: true})
	if err != nil {
		return nil, fmt.Errorf("enrolments of %s: %w", contactID, record.StoreError(err))
	}
	if len(page.Items) == 0 {
		return nil, nil
	}
	set, err := s.Settings(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if ev.DetailType != set.GoalEvent {
		return nil, nil
	}
	if set.GoalFilter != "" {
		ok, err := s.goalMatches(tenant, set, ev)
		if err != nil || !ok {
			return nil, err // an evaluation error (a missing field) is no conversion
		}
	}
	window := set.window()
	var revenue int64
	var currency string
	var order commerce.Order
	if ev.Detail.Entity.Type == "order" {
		if err := json.Unmarshal(ev.Detail.Entity.Data, &order); err == nil && order.Counts() {
			revenue, currency = order.Net(), order.Currency
		}
	}
	var writes []store.Write
	for _, it := range page.Items {
		e, err := enrolmentDoc.Decode(it)
		if err != nil {
			return nil, err
		}
		e.Version = it.Version
		at := ev.Detail.Time
		if !e.ConvertedAt.IsZero() || at.Before(e.EnrolledAt) || !at.Before(e.EnrolledAt.Add(window)) {
			continue
		}
		e.ConvertedAt = at
		if currency != "" && revenue != 0 {
			e.ConvertedOrder, e.Revenue, e.Currency, e.OrderVersion = ev.Detail.Entity.ID, revenue, currency, order.Version
		}
		ew, err := enrolmentWrite(tenant, &e, e.Version)
		if err != nil {
			return nil, err
		}
		cw, err := s.count(ctx, tenant, e, func(c *counters) {
			c.Converted++
			if currency != "" && revenue != 0 && !c.addRevenue(currency, revenue) {
				s.log.WarnContext(ctx, "campaign revenue overflows int64: not added", "tenant", tenant, "campaign", e.CampaignID)
			}
		})
		if err != nil {
			return nil, err
		}
		writes = append(writes, ew, cw)
		if len(writes) >= 2*MaxCampaignsPerConversion {
			break
		}
	}
	return writes, nil
}

// RevenueEvents are the events after an order's placing that move what it
// brought in: a refund, a cancellation or an edit changes the revenue of
// every campaign it converted.
var RevenueEvents = []events.Type{events.OrderUpdated, events.OrderCancelled, events.OrderRefunded}

// onOrderChange moves the revenue of the campaigns an order converted to
// the order's net now (nothing once it is cancelled or refunded in full);
// the conversion itself stands. An event older than the one last applied
// (by the order's version) changes nothing.
func (s *Service) onOrderChange(ctx context.Context, ev events.Envelope) ([]store.Write, error) {
	var o commerce.Order
	if err := json.Unmarshal(ev.Detail.Entity.Data, &o); err != nil || !core.ValidID(o.ContactID) {
		return nil, nil
	}
	tenant := ev.Detail.Tenant
	page, err := s.store.Query(ctx, store.Query{PK: enrolmentsPK(tenant, o.ContactID), Desc: true, Limit: 200, Consistent: true})
	if err != nil {
		return nil, fmt.Errorf("enrolments of %s: %w", o.ContactID, record.StoreError(err))
	}
	var net int64
	if o.Counts() {
		net = o.Net()
	}
	var writes []store.Write
	for _, it := range page.Items {
		e, err := enrolmentDoc.Decode(it)
		if err != nil {
			return nil, err
		}
		e.Version = it.Version
		if e.ConvertedOrder != o.ID || o.Version <= e.OrderVersion || o.Currency != e.Currency || net == e.Revenue {
			continue
		}
		delta := net - e.Revenue
		e.Revenue, e.OrderVersion = net, o.Version
		ew, err := enrolmentWrite(tenant, &e, e.Version)
		if err != nil {
			return nil, err
		}
		cw, err := s.count(ctx, tenant, e, func(c *counters) {
			if !c.addRevenue(o.Currency, delta) {
				s.log.WarnContext(ctx, "campaign revenue overflows int64: not changed", "tenant", tenant, "campaign", e.CampaignID)
			}
		})
		if err != nil {
			return nil, err
		}
		writes = append(writes, ew, cw)
		if len(writes) >= 2*MaxCampaignsPerConversion {
			break
		}
	}
	return writes, nil
}

// CampaignRevenue is revenue in one currency.
type CampaignRevenue struct {
	Currency string `json:"currency"`
	Amount   int64  `json:"amount" doc:"Minor units: the converting orders' net now (total less refunds; a cancelled order brings nothing)."`
}

// CampaignVariantStats is one variant's (or the holdout's, or all treated
// recipients') performance.
type CampaignVariantStats struct {
	Variant      string `json:"variant" doc:"A variant, holdout, or treated (every variant together)."`
	Enrolled     int64  `json:"enrolled" doc:"Recipients in this group: the denominator of its conversion rate."`
	Declined     int64  `json:"declined" doc:"Contacts of the audience hashed here that the campaign plugin did not enrol."`
	Requested    int64  `json:"requested" doc:"Messages asked of the delivery policy (0 for the holdout)."`
	Sent         int64  `json:"sent" doc:"Messages the policy let go to the provider (message.requested)."`
	Skipped      int64  `json:"skipped" doc:"Messages the policy skipped (no consent, suppressed, capped, cancelled...)."`
	Delivered    int64  `json:"delivered"`
	Opened       int64  `json:"opened" doc:"Messages opened at least once."`
	Clicked      int64  `json:"clicked" doc:"Messages clicked at least once."`
	Bounced      int64  `json:"bounced"`
	Complained   int64  `json:"complained"`
	Unsubscribed int64  `json:"unsubscribed"`
	Converted    int64  `json:"converted" doc:"Recipients with a goal event within the attribution window after their enrolment (once each)."`
	// ConversionRate is converted / enrolled (intention to treat: a
	// treated recipient whose message was skipped still counts, as the
	// holdout's would have).
	ConversionRate float64           `json:"conversion_rate" doc:"converted / enrolled; 0 when none enrolled."`
	Revenue        []CampaignRevenue `json:"revenue,omitempty"`
}

func (v *CampaignVariantStats) add(a *AudienceCounts, c *counters) {
	if a != nil {
		v.Enrolled += a.Enrolled
		v.Declined += a.Declined
		v.Requested += a.Requested
	}
	if c == nil {
		return
	}
	v.Sent += c.Sent
	v.Skipped += c.Skipped
	v.Delivered += c.Delivered
	v.Opened += c.Opened
	v.Clicked += c.Clicked
	v.Bounced += c.Bounced
	v.Complained += c.Complained
	v.Unsubscribed += c.Unsubscribed
	v.Converted += c.Converted
	for cur, amt := range c.Revenue {
		i := slices.IndexFunc(v.Revenue, func(r CampaignRevenue) bool { return r.Currency == cur })
		if i < 0 {
			v.Revenue = append(v.Revenue, CampaignRevenue{Currency: cur})
			i = len(v.Revenue) - 1
		}
		if sum, ok := money.Add(v.Revenue[i].Amount, amt); ok {
			v.Revenue[i].Amount = sum
		}
	}
}

func (v *CampaignVariantStats) finish() {
	if v.Enrolled > 0 {
		v.ConversionRate = float64(v.Converted) / float64(v.Enrolled)
	}
	// A currency whose converting orders were all refunded brings nothing.
	v.Revenue = slices.DeleteFunc(v.Revenue, func(r CampaignRevenue) bool { return r.Amount == 0 })
	slices.SortFunc(v.Revenue, func(a, b CampaignRevenue) int {
		if a.Currency < b.Currency {
			return -1
		}
		if a.Currency > b.Currency {
			return 1
		}
		return 0
	})
}

// CampaignUplift is a group's conversion rate against the holdout's.
type CampaignUplift struct {
	Variant     string  `json:"variant" doc:"treated (every variant together) or a variant."`
	Rate        float64 `json:"rate"`
	HoldoutRate float64 `json:"holdout_rate"`
	Difference  float64 `json:"difference" doc:"rate - holdout_rate, in conversion rate (0.012 is 1.2 points)."`
	// Low and High bound the difference at 95% (Newcombe's hybrid score
	// interval from two Wilson intervals); absent when a group is empty.
	Low         *float64 `json:"low,omitempty" doc:"95% lower bound of the difference."`
	High        *float64 `json:"high,omitempty" doc:"95% upper bound of the difference."`
	Significant bool     `json:"significant" doc:"True only when the 95% interval excludes 0."`
	Note        string   `json:"note" doc:"What the numbers allow one to say, in words."`
}

// CampaignPerformance is a campaign's performance per variant and
// holdout, and its uplift.
type CampaignPerformance struct {
	CampaignID        string                 `json:"campaign_id"`
	Status            Status                 `json:"status" enum:"draft,scheduled,running,paused,completed,cancelled"` // Statuses
	GoalEvent         string                 `json:"goal_event" doc:"What a conversion is (tenant setting)."`
	GoalFilter        string                 `json:"goal_filter,omitempty"`
	AttributionWindow string                 `json:"attribution_window" doc:"How long after enrolment a goal event converts (Go duration)."`
	Groups            []CampaignVariantStats `json:"groups" doc:"Each variant, then holdout, then treated (the variants together)."`
	Uplift            []CampaignUplift       `json:"uplift" doc:"treated against holdout, then each variant when there are several."`
	Method            string                 `json:"method"`
}

const upliftMethod = "Conversion rate = converted / enrolled (intention to treat). Uplift = rate - holdout rate, with a 95% " +
	"Newcombe hybrid score interval (method 10: two Wilson score intervals); significant only when the interval excludes 0. " +
	"No minimum audience: small groups give wide intervals, and the note says so."

// Performance reads a campaign's counters: the audience document and
// every variant's counter shards, in one or two store requests.
func (s *Service) Performance(ctx context.Context, tenant, id string) (CampaignPerformance, error) {
	c, err := s.Get(ctx, tenant, id)
	if err != nil {
		return CampaignPerformance{}, err
	}
	set, err := s.Settings(ctx, tenant)
	if err != nil {
		return CampaignPerformance{}, err
	}
	a, _, err := audienceDoc.Get(ctx, s.store, audienceKey(tenant, id))
	if err != nil && core.ErrorCode(err) != core.CodeNotFound {
		return CampaignPerformance{}, err
	}
	names := make([]string, 0, len(c.Variants)+1)
	for _, v := range c.Variants {
		names = append(names, v.Name)
	}
	names = append(names, Holdout)
	var keys []store.Key
	for _, n := range names {
		for sh := range statShards {
			keys = append(keys, countersKey(tenant, id, n, sh))
		}
	}
	byKey := map[store.Key]store.Item{}
	for chunk := range slices.Chunk(keys, store.MaxBatchGetKeys) {
		items, err := s.store.GetMany(ctx, chunk)
		if err != nil {
			return CampaignPerformance{}, fmt.Errorf("read campaign counters: %w", record.StoreError(err))
		}
		for _, it := range items {
			byKey[it.Key] = it
		}
	}
	out := CampaignPerformance{CampaignID: id, Status: c.Status, GoalEvent: string(set.GoalEvent), GoalFilter: set.GoalFilter,
		AttributionWindow: set.window().String(), Method: upliftMethod}
	treated := CampaignVariantStats{Variant: "treated"}
	var holdout CampaignVariantStats
	for _, n := range names {
		g := CampaignVariantStats{Variant: n}
		g.add(a.Variants[n], nil)
		for sh := range statShards {
			if it, ok := byKey[countersKey(tenant, id, n, sh)]; ok {
				cs, err := countersDoc.Decode(it)
				if err != nil {
					return out, err
				}
				g.add(nil, &cs)
			}
		}
		g.finish()
		if n == Holdout {
			holdout = g
		} else {
			treated.add(&AudienceCounts{Enrolled: g.Enrolled, Declined: g.Declined, Requested: g.Requested},
				&counters{Sent: g.Sent, Skipped: g.Skipped, Delivered: g.Delivered, Opened: g.Opened, Clicked: g.Clicked,
					Bounced: g.Bounced, Complained: g.Complained, Unsubscribed: g.Unsubscribed, Converted: g.Converted, Revenue: revenueMap(g.Revenue)})
		}
		out.Groups = append(out.Groups, g)
	}
	treated.finish()
	out.Groups = append(out.Groups, treated)
	out.Uplift = append(out.Uplift, Uplift(treated.Variant, treated.Converted, treated.Enrolled, holdout.Converted, holdout.Enrolled))
	if len(c.Variants) > 1 {
		for _, g := range out.Groups[:len(c.Variants)] {
			out.Uplift = append(out.Uplift, Uplift(g.Variant, g.Converted, g.Enrolled, holdout.Converted, holdout.Enrolled))
		}
	}
	return out, nil
}

func revenueMap(rs []CampaignRevenue) map[string]int64 {
	m := map[string]int64{}
	for _, r := range rs {
		m[r.Currency] = r.Amount
	}
	return m
}

// z is the normal quantile of a two-sided 95% interval.
const z = 1.959963984540054

// wilson is the 95% Wilson score interval of x successes in n.
func wilson(x, n int64) (lo, hi float64) {
	p, nf := float64(x)/float64(n), float64(n)
	d := 1 + z*z/nf
	center := (p + z*z/(2*nf)) / d
	half := z * math.Sqrt(p*(1-p)/nf+z*z/(4*nf*nf)) / d
	return math.Max(0, center-half), math.Min(1, center+half)
}

// Uplift compares x1 of n1 (treated) with x2 of n2 (holdout): the
// difference of rates and its 95% Newcombe hybrid score interval.
func Uplift(variant string, x1, n1, x2, n2 int64) CampaignUplift {
	u := CampaignUplift{Variant: variant}
	if n1 > 0 {
		u.Rate = float64(x1) / float64(n1)
	}
	if n2 > 0 {
		u.HoldoutRate = float64(x2) / float64(n2)
	}
	u.Difference = u.Rate - u.HoldoutRate
	switch {
	case n2 == 0:
		u.Note = "no holdout recipients: there is no baseline, so no uplift can be claimed"
		return u
	case n1 == 0:
		u.Note = "no treated recipients yet: nothing to compare"
		return u
	}
	l1, h1 := wilson(x1, n1)
	l2, h2 := wilson(x2, n2)
	p1, p2 := u.Rate, u.HoldoutRate
	lo := u.Difference - math.Sqrt((p1-l1)*(p1-l1)+(h2-p2)*(h2-p2))
	hi := u.Difference + math.Sqrt((h1-p1)*(h1-p1)+(p2-l2)*(p2-l2))
	u.Low, u.High = &lo, &hi
	u.Significant = lo > 0 || hi < 0
	switch {
	case u.Significant && lo > 0:
		u.Note = fmt.Sprintf("significant at 95%%: the campaign raised conversion by %.2f to %.2f points", 100*lo, 100*hi)
	case u.Significant:
		u.Note = fmt.Sprintf("significant at 95%%: the campaign lowered conversion by %.2f to %.2f points", -100*hi, -100*lo)
	default:
		u.Note = fmt.Sprintf("not significant: the 95%% interval (%.2f to %.2f points) spans 0, so this difference may be chance (%d treated, %d held out)",
			100*lo, 100*hi, n1, n2)
	}
	return u
}
