package customers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/jobs"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/core/timers"
)

// SegmentTable is a tenant's segment rules as the API shows them.
type SegmentTable struct {
	Rules     []SegmentRule `json:"rules" minItems:"1" maxItems:"50"`
	Default   bool          `json:"default" doc:"true while the tenant uses the standard table."`
	Version   int64         `json:"version" doc:"0 for the standard table."`
	UpdatedAt time.Time     `json:"updated_at,omitzero"`
}

var tableDoc = record.Doc[SegmentTable]{Name: "rfm segment table", Version: func(t *SegmentTable) *int64 { return &t.Version }}

func tableKey(tenant string) store.Key { return store.Tenant(tenant).Marker("rfm", "segments") }

// Segments is the tenant's segment table: its own, or the standard one.
func (s *RFMScoring) Segments(ctx context.Context, tenant string) (SegmentTable, error) {
	t, _, err := tableDoc.Get(ctx, s.store, tableKey(tenant))
	if core.ErrorCode(err) == core.CodeNotFound {
		return SegmentTable{Rules: DefaultSegments(), Default: true}, nil
	}
	return t, err
}

// PutSegments replaces the tenant's segment table (checked by
// NewSegmentMap) and, in the same transaction, starts the re-map job that
// gives every scored customer its segment under it (its R, F and M stay).
// ifVersion > 0 must be the table's current version.
func (s *RFMScoring) PutSegments(ctx context.Context, tenant string, rules []SegmentRule, ifVersion int64) (SegmentTable, jobs.Job, error) {
	m, err := NewSegmentMap(rules)
	if err != nil {
		return SegmentTable{}, jobs.Job{}, err
	}
	for attempt := 0; ; attempt++ {
		_, version, err := tableDoc.Get(ctx, s.store, tableKey(tenant))
		if err != nil && core.ErrorCode(err) != core.CodeNotFound {
			return SegmentTable{}, jobs.Job{}, err
		}
		if ifVersion > 0 && version != ifVersion {
			return SegmentTable{}, jobs.Job{}, record.Stale("rfm segment table", "segments", ifVersion, version)
		}
		t := SegmentTable{Rules: m.Rules(), UpdatedAt: s.now().UTC()}
		w, err := tableDoc.Put(tableKey(tenant), version, &t)
		if err != nil {
			return t, jobs.Job{}, err
		}
		start, j, err := s.jobs.StartWrites(ctx, tenant, JobRFMRemap, rfmParams{Reason: "segments"})
		if err != nil {
			return t, j, err
		}
		err = s.store.Transact(ctx, append([]store.Write{w}, start...))
		if err == nil {
			return t, j, nil
		}
		if !errors.Is(err, store.ErrConditionFailed) || attempt == record.MaxRetries {
			return t, j, fmt.Errorf("save rfm segment table: %w", record.StoreError(err))
		}
	}
}

// Consumer debounces order changes into jobs: every order event makes
// sure a refresh timer is due at the end of the current window (one timer
// per tenant and window, by its idempotency key) and that the daily timer
// chain exists. It writes nothing of its own: a timer schedule repeated by
// a redelivered event names the same timer.
//
// A process remembers the last window and day it scheduled for each
// tenant, so that a burst of orders costs one conditional put per window,
// not one per order (the store's item for that timer would otherwise be a
// hot key at a few hundred orders a second).
func (s *RFMScoring) Consumer() events.Handler {
	return events.Handler{
		Name:  "rfm",
		Types: []events.Type{events.OrderPlaced, events.OrderUpdated, events.OrderCancelled, events.OrderRefunded},
		Handle: func(ctx context.Context, ev events.Envelope) ([]store.Write, error) {
			tenant := ev.Detail.Tenant
			now := s.now().UTC()
			window := now.Truncate(s.Window)
			daily, err := s.nextDaily(ctx, tenant, now)
			if err != nil {
				return nil, err
			}
			memo := window.Format("20060102T150405") + "|" + daily.Format(time.RFC3339)
			s.mu.Lock()
			seen := s.scheduled[tenant] == memo
			s.mu.Unlock()
			if seen {
				return nil, nil
			}
			if _, err := s.timers.Schedule(ctx, tenant, core.TimerRequest{Kind: TimerRFMRefresh, Due: window.Add(s.Window + s.Settle),
				Key: "orders#" + window.Format("20060102T150405")}); err != nil {
				return nil, err
			}
			if err := s.scheduleDaily(ctx, tenant, daily); err != nil {
				return nil, err
			}
			s.mu.Lock()
			s.scheduled[tenant] = memo
			s.mu.Unlock()
			return nil, nil
		},
	}
}

// nextDaily is when the daily job after now starts: DailyAt past the
// tenant's next midnight.
func (s *RFMScoring) nextDaily(ctx context.Context, tenant string, now time.Time) (time.Time, error) {
	loc, err := s.location(ctx, tenant)
	if err != nil {
		return time.Time{}, err
	}
	l := now.In(loc)
	midnight := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
	at := midnight.Add(s.DailyAt)
	if !at.After(now) {
		at = time.Date(l.Year(), l.Month(), l.Day()+1, 0, 0, 0, 0, loc).Add(s.DailyAt)
	}
	return at.UTC(), nil
}

func (s *RFMScoring) scheduleDaily(ctx context.Context, tenant string, at time.Time) error {
	_, err := s.timers.Schedule(ctx, tenant, core.TimerRequest{Kind: TimerRFMDaily, Due: at, Key: "daily#" + at.Format(time.RFC3339)})
	return err
}

// TimerHandlers are the refresh and daily timers' handlers: each starts a
// job in the timer's own transaction (so a timer fired twice starts one);
// the daily one first schedules the next day's, idempotently by its key.
func (s *RFMScoring) TimerHandlers() []timers.Handler {
	return []timers.Handler{
		{Kind: TimerRFMRefresh, Handle: func(ctx context.Context, t core.Timer) ([]store.Write, error) {
			w, _, err := s.jobs.StartWrites(ctx, t.Tenant, JobRFM, rfmParams{Reason: "orders"})
			return w, err
		}},
		{Kind: TimerRFMDaily, Handle: func(ctx context.Context, t core.Timer) ([]store.Write, error) {
			next, err := s.nextDaily(ctx, t.Tenant, t.Due.Add(time.Minute))
			if err != nil {
				return nil, err
			}
			if err := s.scheduleDaily(ctx, t.Tenant, next); err != nil {
				return nil, err
			}
			w, _, err := s.jobs.StartWrites(ctx, t.Tenant, JobRFM, rfmParams{Reason: "daily"})
			return w, err
		}},
	}
}
