package journeys

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/contacts"
	"github.com/fedele-crm/fedele/core/jobs"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
)

// DatesJob is the job a publish starts when it brings in a date trigger:
// it schedules the next occurrence for every contact that already has the
// date. Without it a birthday journey published today would greet only
// the contacts created or edited after it, and the customers a tenant
// already has never.
const DatesJob = "journey_dates"

// DatesPage is how many contacts one step of the job reads.
const DatesPage = 200

type datesParams struct {
	JourneyID string `json:"journey_id"`
	Version   int64  `json:"version"`
}

type datesState struct {
	Cursor    string `json:"cursor,omitempty"`
	Scheduled int    `json:"scheduled"`
}

// DatesResult is what a finished DatesJob reports.
type DatesResult struct {
	Contacts   int  `json:"contacts"`
	Scheduled  int  `json:"scheduled" doc:"Contacts whose next occurrence was scheduled (the others have no such date, or a one-off date past)."`
	Superseded bool `json:"superseded,omitempty" doc:"Another version was published, or the journey archived, before the job finished: that version's job (if any) does the rest."`
}

// datesChanged reports whether publishing next instead of prev moves any
// contact's occurrences (a back-fill is then due).
func datesChanged(prev *JourneyTrigger, next JourneyTrigger) bool {
	if next.Kind != TriggerDate {
		return false
	}
	return prev == nil || prev.Kind != TriggerDate || prev.Property != next.Property || prev.Offset != next.Offset ||
		prev.Yearly != next.Yearly
}

// datesStep schedules one page of the tenant's contacts' occurrences. The
// timers are keyed by (journey, contact, occurrence), so a step delivered
// twice, or a contact the consumer scheduled meanwhile, makes no second
// one.
func (s *Service) datesStep(ctx context.Context, tenant string, j *jobs.Job, raw json.RawMessage) (json.RawMessage, bool, []store.Write, error) {
	var p datesParams
	if err := json.Unmarshal(j.Params, &p); err != nil {
		return nil, false, nil, fmt.Errorf("decode %s params: %w", j.Kind, err)
	}
	var st datesState
	if raw != nil {
		if err := json.Unmarshal(raw, &st); err != nil {
			return nil, false, nil, fmt.Errorf("decode %s state: %w", j.Kind, err)
		}
	}
	jr, err := s.Get(ctx, tenant, p.JourneyID)
	if core.ErrorCode(err) == core.CodeNotFound || err == nil && (jr.Published != p.Version || jr.Status == StatusArchived) {
		j.Result, _ = json.Marshal(DatesResult{Contacts: j.Done, Scheduled: st.Scheduled, Superseded: true})
		return nil, true, nil, nil
	}
	if err != nil {
		return nil, false, nil, err
	}
	c, err := s.definition(ctx, tenant, jr.ID, p.Version)
	if err != nil {
		return nil, false, nil, err
	}
	loc, _, err := s.location(ctx, tenant)
	if err != nil {
		return nil, false, nil, err
	}
	page, err := store.QueryMerged(ctx, s.store, store.Query{}, contacts.ContactPKs(tenant), DatesPage, st.Cursor)
	if err != nil {
		return nil, false, nil, fmt.Errorf("contacts page: %w", record.StoreError(err))
	}
	now := s.now()
	var reqs []core.TimerRequest
	for _, it := range page.Items {
		var ct core.Contact
		if err := json.Unmarshal(it.Data, &ct); err != nil {
			return nil, false, nil, fmt.Errorf("decode contact %s: %w", it.Key, err)
		}
		if req, ok := dateRequest(jr.ID, c, ct, loc, now); ok {
			reqs = append(reqs, req)
		}
	}
	if len(reqs) > 0 {
		if _, err := s.timers.ScheduleMany(ctx, tenant, reqs); err != nil {
			return nil, false, nil, fmt.Errorf("schedule date timers: %w", err)
		}
	}
	j.Done += len(page.Items)
	st.Scheduled += len(reqs)
	if page.Next == "" {
		j.Result, _ = json.Marshal(DatesResult{Contacts: j.Done, Scheduled: st.Scheduled})
		return nil, true, nil, nil
	}
	st.Cursor = page.Next
	next, err := json.Marshal(st)
	return next, false, nil, err
}
