package plugins

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

// A plugin's failed calls: kept for a while, and counted against the
// tenant's limit until the active version is disabled.

// Failure is one failed call, kept for FailureRetention.
type Failure struct {
	Version     int       `json:"version"`
	Class       string    `json:"class"`
	Message     string    `json:"message"`
	PluginError string    `json:"plugin_error,omitempty"`
	Logs        []string  `json:"logs,omitempty"`
	At          time.Time `json:"at"`
}

// FailureRetention is how long failures are kept.
const FailureRetention = 30 * 24 * time.Hour

// Failures lists a plugin's recent failures, newest first.
func (r *Registry) Failures(ctx context.Context, tenant, name string, limit int) ([]Failure, error) {
	page, err := r.store.Query(ctx, store.Query{PK: failuresPK(tenant, name), Desc: true, Limit: limit})
	if err != nil {
		return nil, fmt.Errorf("list failures of plugin %s: %w", name, record.StoreError(err))
	}
	out := make([]Failure, 0, len(page.Items))
	for _, it := range page.Items {
		var f Failure
		if err := json.Unmarshal(it.Data, &f); err != nil {
			return nil, fmt.Errorf("decode failure %s: %w", it.Key, err)
		}
		out = append(out, f)
	}
	return out, nil
}

// recordFailure counts a failed call of the active version a against its
// limit: under it, the count goes up; at it, the version is disabled, the
// kind left without an active plugin, and plugin.disabled recorded in the
// same transaction. A pointer that moved on meanwhile (another activation)
// only gets the failure kept.
func (r *Registry) recordFailure(ctx context.Context, tenant string, kind Kind, a Active, limit int, f Failure) (disabled bool, err error) {
	now := r.now().UTC()
	f.At = now
	fw, err := putJSON(store.Key{PK: failuresPK(tenant, a.Name), SK: record.SortTime(now) + "#" + core.NewID(now)}, 0, f)
	if err != nil {
		return false, err
	}
	fw.Item.ExpiresAt = now.Add(FailureRetention)
	for attempt := 0; ; attempt++ {
		cur, av, err := r.Active(ctx, tenant, kind)
		if core.ErrorCode(err) == core.CodeNotFound || (err == nil && (cur.Name != a.Name || cur.Version != a.Version)) {
			return false, r.store.Transact(ctx, []store.Write{fw})
		}
		if err != nil {
			return false, err
		}
		cur.Failures++
		writes := []store.Write{fw}
		if cur.Failures < limit {
			aw, err := putJSON(activeKey(tenant, kind), av, cur)
			if err != nil {
				return false, err
			}
			writes = append(writes, aw)
		} else {
			v, vv, err := r.version(ctx, tenant, a.Name, a.Version)
			if err != nil {
				return false, err
			}
			v.Status = StatusDisabled
			v.DisabledReason = fmt.Sprintf("%d consecutive failures, the last %s: %s", cur.Failures, f.Class, f.Message)
			vw, err := putJSON(versionKey(tenant, a.Name, a.Version), vv, v)
			if err != nil {
				return false, err
			}
			ev, err := r.event(ctx, tenant, events.PluginDisabled, now, v, 0, nil)
			if err != nil {
				return false, err
			}
			writes = append(writes, store.Write{Op: store.OpDelete, Key: activeKey(tenant, kind), Cond: store.Cond{Version: av}}, vw, ev)
		}
		err = r.store.Transact(ctx, writes)
		if record.IsRace(err) && attempt < maxRetries {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("record failure of plugin %s version %d: %w", a.Name, a.Version, record.StoreError(err))
		}
		return cur.Failures >= limit, nil
	}
}

// resetFailures ends a run of failures after a successful call.
func (r *Registry) resetFailures(ctx context.Context, tenant string, kind Kind, a Active, av int64) error {
	a.Failures = 0
	w, err := putJSON(activeKey(tenant, kind), av, a)
	if err != nil {
		return err
	}
	err = r.store.Transact(ctx, []store.Write{w})
	if record.IsRace(err) {
		return nil // someone else moved the pointer: their write stands
	}
	return record.StoreError(err)
}
