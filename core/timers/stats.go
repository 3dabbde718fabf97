package timers

import (
	"context"
	"fmt"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/store"
)

// Stats bounds: counting reads pages, so past these a count says "at
// least" (Capped) rather than reading a million items for a dashboard.
const (
	MaxCounted   = 10_000
	LatenessOver = 1000 // the latest fired timers lateness is measured on
)

// KindOverview is a kind's pending timers.
type KindOverview struct {
	Kind    string `json:"kind"`
	Pending int    `json:"pending" doc:"Pending timers; at least this many when capped."`
	Capped  bool   `json:"capped,omitempty" doc:"More than 10 000 are pending: the count stopped there."`
	// OldestDue is the earliest next try of a pending timer, and
	// OverdueSeconds how far behind it is (0 when it is not yet due).
	OldestDue      time.Time `json:"oldest_due,omitzero"`
	OverdueSeconds float64   `json:"overdue_seconds"`
}

// Overview is how a tenant's timers stand.
type Overview struct {
	Kinds []KindOverview `json:"kinds"`
	// Fired is how many of the latest fired timers (up to 1 000) the
	// lateness percentiles are measured on.
	Fired         int   `json:"fired"`
	LatenessP50MS int64 `json:"lateness_p50_ms"`
	LatenessP99MS int64 `json:"lateness_p99_ms"`
	LatenessMaxMS int64 `json:"lateness_max_ms"`
	// DeadLetters counts the dead-lettered timers kept (30 days), the
	// latest first in LatestDead.
	DeadLetters int          `json:"dead_letters"`
	LatestDead  []core.Timer `json:"latest_dead"`
}

// Stats reads a tenant's timer figures: per registered kind, pending timers
// and the oldest overdue; lateness percentiles of the latest fired; dead
// letters.
func (s *Service) Stats(ctx context.Context, tenant string) (Overview, error) {
	now := s.now()
	out := Overview{Kinds: []KindOverview{}, LatestDead: []core.Timer{}}
	for _, kind := range s.Kinds() {
		ks := KindOverview{Kind: kind}
		pks := pendingIndex.PKs(tenant, kind)
		cursor := ""
		for {
			page, err := store.QueryMerged(ctx, s.store, store.Query{Index: PendingIndex}, pks, store.MaxPageItems, cursor)
			if err != nil {
				return out, fmt.Errorf("count %s timers: %w", kind, err)
			}
			if ks.Pending == 0 && len(page.Items) > 0 {
				if t, err := timerDoc.Decode(page.Items[0]); err == nil {
					ks.OldestDue = t.Next
					ks.OverdueSeconds = max(0, now.Sub(t.Next).Seconds())
				}
			}
			ks.Pending += len(page.Items)
			if cursor = page.Next; cursor == "" {
				break
			}
			if ks.Pending >= MaxCounted {
				ks.Capped = true
				break
			}
		}
		out.Kinds = append(out.Kinds, ks)
	}
	page, err := store.QueryMerged(ctx, s.store, store.Query{Index: FiredIndex, Desc: true}, firedIndex.PKs(tenant), LatenessOver, "")
	if err != nil {
		return out, fmt.Errorf("read fired timers: %w", err)
	}
	var late []time.Duration
	for _, it := range page.Items {
		if t, err := timerDoc.Decode(it); err == nil && !it.Expired(now) {
			late = append(late, time.Duration(t.LatenessMS)*time.Millisecond)
		}
	}
	out.Fired = len(late)
	out.LatenessP50MS = Percentile(late, 50).Milliseconds()
	out.LatenessP99MS = Percentile(late, 99).Milliseconds()
	out.LatenessMaxMS = Percentile(late, 100).Milliseconds()
	cursor := ""
	for {
		page, err := s.store.Query(ctx, store.Query{Index: DeadIndex, PK: store.Tenant(tenant).PK("timer-dead"), Desc: true, Cursor: cursor})
		if err != nil {
			return out, fmt.Errorf("read dead timers: %w", err)
		}
		for _, it := range page.Items {
			if it.Expired(now) {
				continue
			}
			out.DeadLetters++
			if len(out.LatestDead) < 10 {
				if t, err := timerDoc.Decode(it); err == nil {
					out.LatestDead = append(out.LatestDead, t)
				}
			}
		}
		if cursor = page.Next; cursor == "" || out.DeadLetters >= MaxCounted {
			return out, nil
		}
	}
}
