// Package scoring scores contacts: the tenant's active score plugin decides
// when it has one, and the built-in scorer when it has none or the plugin
// fails. It builds the score contract's records from the CRM's own data —
// the contact as the API returns it, its company, its latest activities —
// and keeps each contact's current score and its history, re-scoring on
// the events that can change a score.
//
// It must never let a plugin's failure fail a caller (plugins.Decide
// always answers), and never react to its own contact.scored events.
package scoring

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/contacts"
	"github.com/fedele-crm/fedele/core/customers"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/plugins"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/core/tenancy"
	"github.com/fedele-crm/fedele/core/timeline"
)

// Record is one contact as the score contract sends it
// (schemas/plugins/score.input.json).
type Record struct {
	Contact    core.Contact  `json:"contact"`
	Company    *core.Company `json:"company"`
	Activities []Activity    `json:"activities,omitempty"`
	// Orders sums up the contact's counted orders, from its customer
	// profile (core/customers).
	Orders customers.OrdersSummary `json:"orders"`
}

// Activity is an activity as the score contract sends it.
type Activity struct {
	Type    string    `json:"type"`
	Channel string    `json:"channel,omitempty"`
	At      time.Time `json:"at"`
}

// Result is a score as the score contract answers it.
type Result struct {
	Score   int      `json:"score"`
	Reasons []string `json:"reasons,omitempty"`
	Tags    []string `json:"tags,omitempty"`
}

// Builtin is the scorer of a tenant without a score plugin, and the
// fallback of one whose plugin fails: fit from the contact's reachability,
// lifecycle stage and company size, plus engagement from its activities,
// each weighing half as much after the half-life — all in the tenant's
// weights.
func Builtin(r Record, now time.Time, w core.ScoringWeights) Result {
	var res Result
	c := r.Contact
	if len(c.Emails) > 0 {
		res.Score += w.Email
	}
	if len(c.Phones) > 0 {
		res.Score += w.Phone
	}
	switch c.LifecycleStage {
	case core.StageMQL:
		res.Score += w.MQL
		res.Reasons = append(res.Reasons, "marketing qualified")
	case core.StageSQL:
		res.Score += w.SQL
		res.Reasons = append(res.Reasons, "sales qualified")
	case core.StageCustomer:
		res.Score += w.Customer
		res.Tags = append(res.Tags, "customer")
	}
	if co := r.Company; co != nil {
		switch {
		case slices.Contains([]string{"1001-5000", "5001-10000", "10001+"}, co.Size):
			res.Score += w.Enterprise
			res.Tags = append(res.Tags, "enterprise")
		case co.Size != "" && co.Size != "1-10":
			res.Score += w.MidSize
		}
	}
	half := float64(max(w.HalfLifeDays, 1))
	engagement := 0.0
	for _, a := range r.Activities {
		weight := 1.0
		if age := now.Sub(a.At).Hours() / 24; age > 0 {
			weight = half / (half + age)
		}
		switch a.Type {
		case "meeting":
			engagement += float64(w.Meeting) * weight
		case "call":
			engagement += float64(w.Call) * weight
		case "email":
			engagement += float64(w.EmailActivity) * weight
		default:
			engagement += float64(w.OtherActivity) * weight
		}
	}
	if engagement >= 10 {
		res.Reasons = append(res.Reasons, "engaged")
	}
	res.Score = min(max(res.Score+int(min(engagement, float64(w.EngagementCap))), 0), 100)
	return res
}

// Scorer scores a tenant's contacts.
type Scorer struct {
	store      store.Store
	tenants    *tenancy.Tenants
	contacts   *contacts.Contacts
	companies  *contacts.Companies
	activities *timeline.Activities
	runner     *plugins.Runner
	now        func() time.Time
	batch      int // contacts per plugin call in re-scoring jobs
	pages      int // batches per step of a job
}

// NewScorer returns a scorer; runner may be nil for a host without plugins.
func NewScorer(s store.Store, contacts *contacts.Contacts, companies *contacts.Companies, activities *timeline.Activities, runner *plugins.Runner, now func() time.Time) *Scorer {
	return &Scorer{store: s, tenants: tenancy.NewTenants(s, now), contacts: contacts, companies: companies, activities: activities,
		runner: runner, now: now, batch: RescoreBatch, pages: RescorePagesPerStep}
}

// Scored is a contact's score and who decided it.
type Scored struct {
	ContactID string              `json:"contact_id"`
	Result                        // the score, its reasons and tags
	DecidedBy core.Decider        `json:"decided_by"`
	Plugin    *plugins.Ref        `json:"plugin,omitempty" doc:"The active score plugin that ran, if one did."`
	Failure   *plugins.RunFailure `json:"plugin_failure,omitempty" doc:"Why the plugin's answer was not used, if it was not."`
	At        time.Time           `json:"at"`
}

// maxActivities is how many of a contact's latest activities a score reads.
const maxActivities = 50

// record builds a contact's score record: its company and its latest
// activities from the store.
func (s *Scorer) record(ctx context.Context, tenant string, c core.Contact) (Record, error) {
	contactID := c.ID
	rec := Record{Contact: c}
	if c.CompanyID != "" {
		co, err := s.companies.Get(ctx, tenant, c.CompanyID)
		if err != nil && core.ErrorCode(err) != core.CodeNotFound {
			return rec, fmt.Errorf("load company of contact %s: %w", contactID, err)
		}
		if err == nil {
			rec.Company = &co
		}
	}
	acts, _, err := s.activities.List(ctx, tenant, timeline.ActivityFilter{ContactID: c.ID}, maxActivities, "")
	if err != nil {
		return rec, fmt.Errorf("load activities of contact %s: %w", contactID, err)
	}
	for _, a := range acts {
		rec.Activities = append(rec.Activities, Activity{Type: a.Type, Channel: a.Channel, At: a.At})
	}
	p, _, err := customers.GetProfile(ctx, s.store, tenant, c.ID)
	if err != nil {
		return rec, fmt.Errorf("load purchases of contact %s: %w", contactID, err)
	}
	rec.Orders = customers.ContractOrders(p.Purchases)
	return rec, nil
}

// Score scores one contact now, storing nothing.
func (s *Scorer) Score(ctx context.Context, tenant, contactID string) (Scored, error) {
	c, err := s.contacts.Get(ctx, tenant, contactID)
	if err != nil {
		return Scored{}, err
	}
	rec, err := s.record(ctx, tenant, c)
	if err != nil {
		return Scored{}, err
	}
	out, err := s.scoreBatch(ctx, tenant, []Record{rec})
	if err != nil {
		return Scored{}, err
	}
	return out[0], nil
}

// scoreBatch scores records with one plugin call: the contract is
// batch-first so that re-scoring a tenant costs a call per batch.
func (s *Scorer) scoreBatch(ctx context.Context, tenant string, recs []Record) ([]Scored, error) {
	t, err := s.tenants.Get(ctx, tenant)
	if err != nil {
		return nil, err
	}
	now, weights := s.now().UTC(), t.Weights()
	builtin := func(r Record) Result { return Builtin(r, now, weights) }
	out := make([]Scored, len(recs))
	for i, r := range recs {
		out[i] = Scored{ContactID: r.Contact.ID, DecidedBy: core.DecidedByBuiltin, At: now}
	}
	if s.runner == nil {
		for i, r := range recs {
			out[i].Result = builtin(r)
		}
		return out, nil
	}
	results, o := plugins.Decide(ctx, s.runner, tenant, plugins.KindScore, recs, builtin)
	for i := range recs {
		out[i].Result = results[i]
		if o.Plugin != nil {
			out[i].Plugin = &plugins.Ref{Name: o.Plugin.Name, Version: o.Plugin.Version}
		}
		if o.ByPlugin[i] {
			out[i].DecidedBy = core.DecidedByPlugin
		}
		if f := o.Failure; f != nil {
			out[i].Failure = &plugins.RunFailure{Class: f.Class, Message: f.Message, PluginError: f.PluginError}
		}
	}
	return out, nil
}

func scorePK(tenant, contactID string) string {
	return store.Tenant(tenant).PK("contact-score", contactID)
}

// Current returns a contact's stored score; a contact never scored is not
// found.
func (s *Scorer) Current(ctx context.Context, tenant, contactID string) (Scored, int64, error) {
	sc, version, err := scoreDoc.Get(ctx, s.store, scoreKey(tenant, contactID))
	if core.ErrorCode(err) == core.CodeNotFound {
		return sc, 0, core.Errorf(core.CodeNotFound, "contact %s has no score yet", contactID)
	}
	return sc, version, err
}

// scoreDoc is a contact's current score, apart from the contact so that
// scoring never moves the contact's version; its history items are
// written beside it, once each.
var scoreDoc = record.Doc[Scored]{Name: "score"}

func scoreKey(tenant, contactID string) store.Key {
	return store.Key{PK: scorePK(tenant, contactID), SK: store.MarkerSK}
}

// Contact returns a contact showing its current score, both read in one
// store request; a contact never scored is shown without one. A score that
// cannot be read is left out too: the contact is what was asked for.
func (s *Scorer) Contact(ctx context.Context, tenant, contactID string) (core.Contact, error) {
	c, _, err := s.ContactWith(ctx, tenant, contactID)
	return c, err
}

// ContactWith is Contact, with the items at also that exist read in the
// same store request (a customer profile shown beside the score).
func (s *Scorer) ContactWith(ctx context.Context, tenant, contactID string, also ...store.Key) (core.Contact, []store.Item, error) {
	sk := scoreKey(tenant, contactID)
	c, items, err := s.contacts.GetWith(ctx, tenant, contactID, append([]store.Key{sk}, also...)...)
	if err != nil {
		return c, nil, err
	}
	var rest []store.Item
	for _, it := range items {
		if it.Key != sk {
			rest = append(rest, it)
			continue
		}
		var sc Scored
		if json.Unmarshal(it.Data, &sc) == nil {
			c.Score = &core.ContactScore{Score: sc.Score, Reasons: sc.Reasons, Tags: sc.Tags, DecidedBy: sc.DecidedBy, At: sc.At}
		}
	}
	return c, rest, nil
}

// History returns a contact's scores, newest first.
func (s *Scorer) History(ctx context.Context, tenant, contactID string, limit int) ([]Scored, error) {
	page, err := s.store.Query(ctx, store.Query{PK: scorePK(tenant, contactID), Prefix: "h#", Desc: true, Limit: limit})
	if err != nil {
		return nil, fmt.Errorf("score history of contact %s: %w", contactID, err)
	}
	out := make([]Scored, 0, len(page.Items))
	for _, it := range page.Items {
		var sc Scored
		if err := json.Unmarshal(it.Data, &sc); err != nil {
			return nil, err
		}
		out = append(out, sc)
	}
	return out, nil
}

// Rescore scores a contact and returns the writes that keep the result —
// current score, history, contact.scored — or none when it has not
// changed. They are a consumer's effect, committed with its marker.
func (s *Scorer) Rescore(ctx context.Context, tenant, contactID string) ([]store.Write, error) {
	sc, err := s.Score(ctx, tenant, contactID)
	if core.ErrorCode(err) == core.CodeNotFound {
		return nil, nil // deleted meanwhile: nothing to score
	}
	if err != nil {
		return nil, err
	}
	return s.keep(ctx, tenant, sc)
}

// keep returns the writes that store sc, or none when the contact's
// current score is the same.
func (s *Scorer) keep(ctx context.Context, tenant string, sc Scored) ([]store.Write, error) {
	contactID := sc.ContactID
	cur, version, err := s.Current(ctx, tenant, contactID)
	if err != nil && core.ErrorCode(err) != core.CodeNotFound {
		return nil, err
	}
	if version > 0 && cur.Score == sc.Score && slices.Equal(cur.Reasons, sc.Reasons) && slices.Equal(cur.Tags, sc.Tags) &&
		cur.DecidedBy == sc.DecidedBy && (cur.Plugin == nil) == (sc.Plugin == nil) {
		return nil, nil
	}
	current, err := scoreDoc.Put(scoreKey(tenant, contactID), version, &sc)
	if err != nil {
		return nil, err
	}
	history, err := scoreDoc.Put(store.Key{PK: scorePK(tenant, contactID), SK: "h#" + record.SortTime(sc.At) + "#" + core.NewID(sc.At)}, 0, &sc)
	if err != nil {
		return nil, err
	}
	writes := []store.Write{current, history}
	data := current.Item.Data
	ev, err := events.OutboxWrite(events.New(ctx, tenant, events.ContactScored, sc.At, events.Entity{Type: "contact", ID: contactID, Data: data}))
	if err != nil {
		return nil, err
	}
	return append(writes, ev), nil
}

// Consumer re-scores a contact on the events that can change its score:
// its creation and changes, activities logged on it, and its orders
// placed (read from its profile, which the purchases consumer, delivered
// before this one, has just brought up to date). It never sees
// contact.scored: a score does not change a score.
func (s *Scorer) Consumer() events.Handler {
	return events.Handler{
		Name:  "scoring",
		Types: []events.Type{events.ContactCreated, events.ContactUpdated, events.ActivityLogged, events.OrderPlaced},
		Handle: func(ctx context.Context, ev events.Envelope) ([]store.Write, error) {
			contactID := ev.Detail.Entity.ID
			if ev.DetailType == events.ActivityLogged || ev.DetailType == events.OrderPlaced {
				var a struct {
					ContactID string `json:"contact_id"`
				}
				if err := json.Unmarshal(ev.Detail.Entity.Data, &a); err != nil || a.ContactID == "" {
					return nil, nil // a company's activity, or an order without a buyer, scores no contact
				}
				contactID = a.ContactID
			}
			return s.Rescore(ctx, ev.Detail.Tenant, contactID)
		},
	}
}
