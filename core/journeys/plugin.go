package journeys

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/fedele-crm/fedele/core/plugins"
)

// campaignInput is one record of the campaign plugin's batch
// (schemas/plugins/campaign.input.json).
type campaignInput struct {
	Contact  json.RawMessage `json:"contact"`
	Trigger  campaignTrigger `json:"trigger"`
	Campaign campaignRef     `json:"campaign"`
}

type campaignTrigger struct {
	DetailType string    `json:"detail_type"`
	Time       time.Time `json:"time"`
}

type campaignRef struct {
	ID       string   `json:"id"`
	Name     string   `json:"name,omitempty"`
	Variants []string `json:"variants,omitempty"`
}

// campaignDecision is the plugin's answer (campaign.output.json).
type campaignDecision struct {
	Enrol        bool           `json:"enrol"`
	Variant      string         `json:"variant,omitempty"`
	Fields       map[string]any `json:"fields,omitempty"`
	DelaySeconds *int64         `json:"delay_seconds,omitempty"`
}

// builtinDecision enrols, with a variant chosen by a stable hash of the
// contact: what decides when no plugin is active or it fails.
func builtinDecision(in campaignInput, contactID string) campaignDecision {
	d := campaignDecision{Enrol: true}
	if n := len(in.Campaign.Variants); n > 0 {
		h := 0
		for _, b := range []byte(contactID) {
			h = (h*31 + int(b)) % 1_000_003
		}
		d.Variant = in.Campaign.Variants[h%n]
	}
	return d
}

// decide asks the tenant's campaign plugin about the enrolment (the
// built-in decides when there is none, or it fails).
func (r *run) decide(st JourneyStep) (bool, error) {
	e := r.e
	in, ok, err := r.contact()
	if err != nil {
		return false, err
	}
	if !ok {
		return false, nil
	}
	cj, _ := json.Marshal(in.Contact)
	j, err := r.s.Get(r.ctx, r.tenant, e.JourneyID)
	if err != nil {
		return false, err
	}
	trig := string(e.TriggerType)
	if trig == "" {
		trig = string(e.Trigger)
	}
	batch := []campaignInput{{Contact: cj, Trigger: campaignTrigger{DetailType: trig, Time: e.TriggerTime},
		Campaign: campaignRef{ID: e.JourneyID, Name: j.Name, Variants: st.Variants}}}
	builtin := func(ci campaignInput) campaignDecision { return builtinDecision(ci, e.ContactID) }
	var d campaignDecision
	if r.s.runner == nil {
		d = builtin(batch[0])
	} else {
		out, _ := plugins.Decide(r.ctx, r.s.runner, r.tenant, plugins.KindCampaign, batch, builtin)
		d = out[0]
	}
	if len(st.Variants) > 0 && d.Variant != "" && !slices.Contains(st.Variants, d.Variant) {
		d.Variant = builtin(batch[0]).Variant // a variant not offered is not taken
	}
	e.Variant, e.Fields = d.Variant, d.Fields
	if d.DelaySeconds != nil && *d.DelaySeconds >= 0 && *d.DelaySeconds <= 366*24*3600 {
		e.DelayOverride = d.DelaySeconds
	}
	return d.Enrol, nil
}
