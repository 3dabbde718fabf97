package timeline

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
)

// DayStats is how many events of each type a tenant had on one UTC day: a
// KPI feed (contacts created, lost, changed) every team can read.
type DayStats struct {
	Day    string         `json:"day" doc:"YYYY-MM-DD, UTC"`
	Counts map[string]int `json:"counts" doc:"Events by detail type."`
}

var dayDoc = record.Doc[DayStats]{Name: "daily stats"}

// StatsConsumer counts events per day. Its increment commits with the
// consumer's processed marker, so a redelivered event is counted once.
func StatsConsumer(s store.Store) events.Handler {
	return events.Handler{
		Name: "daily-stats",
		Types: []events.Type{events.ContactCreated, events.ContactUpdated, events.ContactDeleted,
			events.CompanyCreated, events.CompanyUpdated, events.CompanyDeleted},
		Handle: func(ctx context.Context, ev events.Envelope) ([]store.Write, error) {
			key := store.Key{PK: statsPK(ev.Detail.Tenant), SK: ev.Detail.Time.UTC().Format(time.DateOnly)}
			day, version, err := dayDoc.Get(ctx, s, key)
			if core.ErrorCode(err) == core.CodeNotFound {
				day = DayStats{Day: key.SK}
			} else if err != nil {
				return nil, err
			}
			if day.Counts == nil {
				day.Counts = map[string]int{}
			}
			day.Counts[string(ev.DetailType)]++
			// A concurrent increment fails this write's condition; the
			// consumer framework then runs the handler again on fresh counts.
			w, err := dayDoc.Put(key, version, &day)
			return []store.Write{w}, err
		},
	}
}

// DailyStats returns a tenant's counts for the days from..to (inclusive).
func DailyStats(ctx context.Context, s store.Store, tenant, from, to string) ([]DayStats, error) {
	var p core.Problems
	for name, v := range map[string]string{"from": from, "to": to} {
		if _, err := time.Parse(time.DateOnly, v); err != nil {
			p = append(p, core.FieldError{Path: name, Message: "must be a date YYYY-MM-DD", Value: v})
		}
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	if from > to {
		return nil, &core.Error{Code: core.CodeInvalid, Message: "validation failed",
			Fields: []core.FieldError{{Path: "from", Message: "must not be after to"}}}
	}
	out := []DayStats{}
	q := store.Query{PK: statsPK(tenant), From: from, To: to, Consistent: true}
	for {
		page, err := s.Query(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("read stats: %w", record.StoreError(err))
		}
		for _, it := range page.Items {
			var d DayStats
			if err := json.Unmarshal(it.Data, &d); err != nil {
				return nil, fmt.Errorf("decode stats %s: %w", it.Key, err)
			}
			out = append(out, d)
		}
		if page.Next == "" {
			return out, nil
		}
		q.Cursor = page.Next
	}
}
