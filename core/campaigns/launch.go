package campaigns

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/contacts"
	"github.com/fedele-crm/fedele/core/customers"
	"github.com/fedele-crm/fedele/core/jobs"
	"github.com/fedele-crm/fedele/core/messaging"
	"github.com/fedele-crm/fedele/core/plugins"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
)

// Step is the messaging step of a one-off campaign's message: messaging
// requests one message per (recipient, campaign, step), whatever retries.
const Step = "launch"

// Assign is where the hash of campaign and contact puts a recipient: the
// holdout or one of the variants, by their shares. It reads nothing but
// its arguments, so a retried step, a resumed launch or a test assigns
// the same.
func Assign(campaignID, contactID string, holdoutPercent int, variants []CampaignVariant) string {
	sum := sha256.Sum256([]byte(campaignID + "/" + contactID))
	bucket := int(binary.BigEndian.Uint64(sum[:8]) % 10000)
	h := holdoutPercent * 100
	if bucket < h {
		return Holdout
	}
	// The rest, spread over the variants by their shares of 100.
	pos, span, acc := bucket-h, 10000-h, 0
	for _, v := range variants {
		acc += v.Share
		if pos*100 < acc*span {
			return v.Name
		}
	}
	return variants[len(variants)-1].Name
}

// CampaignPluginRecord is what the campaign plugin is given per recipient
// (schemas/plugins/campaign.input.json).
type CampaignPluginRecord struct {
	Contact  json.RawMessage    `json:"contact"`
	Trigger  pluginTrigger      `json:"trigger"`
	Campaign pluginCampaign     `json:"campaign"`
	Orders   pluginOrderSummary `json:"orders"`
	// hashed is the built-in's variant; holdout never reaches a plugin's
	// choice of variant.
	hashed string
}

type pluginTrigger struct {
	DetailType string         `json:"detail_type"`
	Time       time.Time      `json:"time"`
	Data       map[string]any `json:"data"`
}

type pluginCampaign struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Variants []string `json:"variants"`
}

type pluginOrderSummary struct {
	Count       int        `json:"count"`
	TotalMinor  int64      `json:"total_minor"`
	Currency    string     `json:"currency,omitempty"`
	LastOrderAt *time.Time `json:"last_order_at"`
}

// CampaignDecision is a plugin's answer for one recipient
// (schemas/plugins/campaign.output.json), or the built-in's.
type CampaignDecision struct {
	Enrol        bool           `json:"enrol"`
	Variant      string         `json:"variant,omitempty"`
	Fields       map[string]any `json:"fields,omitempty"`
	DelaySeconds *int64         `json:"delay_seconds,omitempty"`
}

// builtin is the fallback: everyone enrolled, the hashed variant, no delay.
func builtin(r CampaignPluginRecord) CampaignDecision {
	return CampaignDecision{Enrol: true, Variant: r.hashed}
}

// launchState is where the next step starts.
type launchState struct {
	Cursor  string `json:"cursor,omitempty"`
	Decided int    `json:"decided"`
}

// launchStep decides the next StepRecipients recipients of the audience:
// the hash assigns each, the plugin (or the built-in) decides, enrolled
// ones are recorded and, but for the holdout, asked of the delivery policy
// at their send time. The audience counts commit with the step's progress,
// so a step taken twice counts once.
func (s *Service) launchStep(ctx context.Context, tenant string, j *jobs.Job, raw json.RawMessage) (json.RawMessage, bool, []store.Write, error) {
	var p launchParams
	if err := json.Unmarshal(j.Params, &p); err != nil {
		return nil, false, nil, fmt.Errorf("decode launch params: %w", err)
	}
	var st launchState
	if raw == nil {
		raw = p.From
	}
	if raw != nil {
		if err := json.Unmarshal(raw, &st); err != nil {
			return nil, false, nil, fmt.Errorf("decode launch state: %w", err)
		}
	}
	c, err := s.Get(ctx, tenant, p.CampaignID)
	if core.ErrorCode(err) == core.CodeNotFound {
		return nil, true, nil, nil
	}
	if err != nil {
		return nil, false, nil, err
	}
	switch c.Status {
	case Running:
	case Paused:
		// Pause cancels the job first; a step still arriving stops here,
		// failing the job with its state kept for resume.
		return nil, false, nil, core.Errorf(core.CodeConflict, "campaign %s is paused", c.ID)
	default:
		return raw, true, nil, nil // cancelled or completed
	}
	ten, err := s.tenants.Get(ctx, tenant)
	if err != nil {
		return nil, false, nil, err
	}
	var ids []string
	cursor := st.Cursor
	for len(ids) < s.StepRecipients {
		ms, next, err := s.segments.Members(ctx, tenant, c.audience(), min(record.MaxLimit, s.StepRecipients-len(ids)), cursor)
		if err != nil {
			return nil, false, nil, err
		}
		for _, m := range ms {
			ids = append(ids, m.ContactID)
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	now := s.now()
	tally, err := s.decideAll(ctx, tenant, &c, ten, ids, now)
	if err != nil {
		return nil, false, nil, err
	}
	writes := []store.Write{}
	if len(tally) > 0 {
		w, err := s.addAudience(ctx, tenant, c.ID, tally)
		if err != nil {
			return nil, false, nil, err
		}
		writes = append(writes, w)
	}
	st.Cursor, st.Decided = cursor, st.Decided+len(ids)
	j.Done = st.Decided
	next, _ := json.Marshal(st)
	if cursor != "" {
		return next, false, writes, nil
	}
	_, cw, err := campaignKind.Change(ctx, s.store, tenant, c.ID, s.now, func(c Campaign) (Campaign, error) {
		if c.Status == Running {
			c.Status, c.CompletedAt = Completed, now
		}
		return c, nil
	})
	if err != nil {
		return nil, false, nil, err
	}
	j.Total = st.Decided
	j.Result, _ = json.Marshal(map[string]int{"decided": st.Decided})
	return next, true, append(writes, cw...), nil
}

// recipient is one contact being decided.
type recipient struct {
	contact  core.Contact
	profile  customers.Profile
	hashed   string
	decision CampaignDecision
	byPlugin bool
}

// decideAll decides ids and sends to the enrolled, and tallies the
// audience by variant.
func (s *Service) decideAll(ctx context.Context, tenant string, c *Campaign, ten core.Tenant, ids []string, now time.Time) (map[string]*AudienceCounts, error) {
	rs, err := s.load(ctx, tenant, ids)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(c.Variants))
	for i, v := range c.Variants {
		names[i] = v.Name
	}
	recs := make([]CampaignPluginRecord, len(rs))
	for i := range rs {
		r := &rs[i]
		r.hashed = Assign(c.ID, r.contact.ID, c.HoldoutPercent, c.Variants)
		recs[i] = CampaignPluginRecord{hashed: r.hashed,
			Trigger:  pluginTrigger{DetailType: "campaign.launch", Time: now, Data: map[string]any{"campaign_id": c.ID}},
			Campaign: pluginCampaign{ID: c.ID, Name: c.Name, Variants: names}, Orders: orderSummary(r.profile)}
		recs[i].Contact, _ = json.Marshal(r.contact)
	}
	decisions := make([]CampaignDecision, len(recs))
	byPlugin := make([]bool, len(recs))
	if s.runner != nil && len(recs) > 0 {
		for chunk := 0; chunk < len(recs); chunk += 500 {
			end := min(chunk+500, len(recs))
			ds, o := plugins.Decide(ctx, s.runner, tenant, plugins.KindCampaign, recs[chunk:end], builtin)
			copy(decisions[chunk:end], ds)
			copy(byPlugin[chunk:end], o.ByPlugin)
		}
	} else {
		for i, r := range recs {
			decisions[i] = builtin(r)
		}
	}
	// Decide every recipient, then write the enrolments in transactions
	// of a hundred (before the messages: their events, which the
	// performance counts by enrolment, then always find it), then ask for
	// the messages, a few at once.
	tally := map[string]*AudienceCounts{}
	tallyOf := func(variant string) *AudienceCounts {
		if tally[variant] == nil {
			tally[variant] = &AudienceCounts{}
		}
		return tally[variant]
	}
	var enrols []Enrolment
	var reqs []messaging.Request
	for i := range rs {
		r := &rs[i]
		r.decision, r.byPlugin = decisions[i], byPlugin[i]
		if !r.decision.Enrol {
			tallyOf(r.hashed).Declined++
			continue
		}
		e, req := s.enrolment(c, ten, r, now)
		enrols = append(enrols, e)
		tallyOf(e.Variant).Enrolled++
		if e.Variant != Holdout {
			reqs = append(reqs, req)
			tallyOf(e.Variant).Requested++
		}
	}
	if err := s.putEnrolments(ctx, tenant, enrols); err != nil {
		return nil, err
	}
	errs := make([]error, len(reqs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(s.Workers, 1))
	for i, req := range reqs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if _, err := s.delivery.Request(ctx, tenant, req); err != nil {
				errs[i] = fmt.Errorf("request message of campaign %s to %s: %w", c.ID, req.ContactID, err)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return tally, nil
}

// load reads the contacts and their profiles, 50 a request; a contact
// deleted since it joined the audience is left out.
func (s *Service) load(ctx context.Context, tenant string, ids []string) ([]recipient, error) {
	out := make([]recipient, 0, len(ids))
	for chunk := range slices.Chunk(ids, store.MaxBatchGetKeys/2) {
		keys := make([]store.Key, 0, 2*len(chunk))
		for _, id := range chunk {
			if core.ValidID(id) {
				keys = append(keys, contacts.ContactKey(tenant, id), customers.ProfileKey(tenant, id))
			}
		}
		items, err := s.store.GetMany(ctx, keys)
		if err != nil {
			return nil, fmt.Errorf("read recipients: %w", record.StoreError(err))
		}
		byKey := make(map[store.Key]store.Item, len(items))
		for _, it := range items {
			byKey[it.Key] = it
		}
		for _, id := range chunk {
			it, ok := byKey[contacts.ContactKey(tenant, id)]
			if !ok {
				continue
			}
			var r recipient
			if err := json.Unmarshal(it.Data, &r.contact); err != nil {
				return nil, fmt.Errorf("decode contact %s: %w", id, err)
			}
			if pi, ok := byKey[customers.ProfileKey(tenant, id)]; ok {
				if r.profile, err = customers.ProfileDoc.Decode(pi); err != nil {
					return nil, err
				}
			}
			out = append(out, r)
		}
	}
	return out, nil
}

func orderSummary(p customers.Profile) pluginOrderSummary {
	o := pluginOrderSummary{Count: p.Purchases.Orders}
	if !p.Purchases.LastOrderAt.IsZero() {
		t := p.Purchases.LastOrderAt
		o.LastOrderAt = &t
	}
	// The summary's one currency is the one most spent in (the contract
	// has a single total).
	for _, r := range p.Purchases.Revenue {
		if r.Amount > o.TotalMinor {
			o.TotalMinor, o.Currency = r.Amount, r.Currency
		}
	}
	return o
}

// enrolment is one enrolled recipient's record and, outside the holdout,
// the message to ask for at its send time.
func (s *Service) enrolment(c *Campaign, ten core.Tenant, r *recipient, now time.Time) (Enrolment, messaging.Request) {
	variant := r.hashed
	if variant != Holdout && r.decision.Variant != "" && c.hasVariant(r.decision.Variant) {
		variant = r.decision.Variant
	}
	e := Enrolment{CampaignID: c.ID, ContactID: r.contact.ID, Variant: variant, EnrolledAt: now, DecidedBy: core.DecidedByBuiltin}
	if r.byPlugin {
		e.DecidedBy = core.DecidedByPlugin
	}
	if variant == Holdout {
		return e, messaging.Request{}
	}
	at := now
	switch c.Schedule.Kind {
	case SendAt:
		at = c.Schedule.At
	case SendLocalTime:
		loc, _ := messaging.RecipientZone(r.contact, ten)
		at = c.Schedule.LocalInstant(loc)
	}
	if d := r.decision.DelaySeconds; d != nil && *d > 0 {
		at = at.Add(time.Duration(*d) * time.Second)
	}
	req := messaging.Request{ContactID: r.contact.ID, Channel: c.Channel, Template: c.variantTemplate(variant),
		Merge: mergeData(c.Merge, r.contact, r.decision.Fields), CampaignID: c.ID, Variant: variant, Step: Step,
		Priority: c.Priority, OnCap: c.OnCap}
	if at.After(now) {
		req.NotBefore, e.SendAt = at, at
	}
	return e, req
}

// mergeData is the message's personalisation: each merge field's value
// from the contact (its default when empty), then the plugin's fields.
func mergeData(fields []MergeField, c core.Contact, extra map[string]any) map[string]any {
	if len(fields) == 0 && len(extra) == 0 {
		return nil
	}
	out := make(map[string]any, len(fields)+len(extra))
	for _, f := range fields {
		v := contactValue(c, f.Field)
		if v == nil || v == "" {
			v = f.Default
		}
		out[f.Name] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

func contactValue(c core.Contact, field string) any {
	switch field {
	case "first_name":
		return c.FirstName
	case "last_name":
		return c.LastName
	case "full_name":
		return strings.TrimSpace(c.FirstName + " " + c.LastName)
	case "email":
		return c.PrimaryEmail()
	case "phone":
		if len(c.Phones) > 0 {
			return c.Phones[0].Number
		}
	case "city":
		if c.Address != nil {
			return c.Address.City
		}
	case "country":
		if c.Address != nil {
			return c.Address.Country
		}
	case "company_id":
		return c.CompanyID
	case "time_zone":
		return c.TimeZone
	}
	if key, ok := strings.CutPrefix(field, "custom."); ok {
		return c.Custom[key]
	}
	return nil
}
