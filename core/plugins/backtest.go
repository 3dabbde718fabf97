package plugins

import (
	"context"
	"encoding/json"
	"time"
)

// Replaying a version on recorded input (core/backtest): what DryRun does
// for a caller's batch, for a job that feeds a version the tenant's past.

// Replay runs version v on batch (a JSON array of n records of v's kind)
// as of now: the version's manifest projects the batch and the call runs
// under live limits, with now as the plugin's clock and the seed taken from
// it, so that a replay of the same range answers the same. It records
// nothing — no stats, no failure count, never disabling the version — so a
// backtest cannot disturb live decisions, whether or not v is active.
//
// It answers one raw result per record (an {"error": …} result is the
// plugin declining that record: see Declined). A failure the plugin is to
// blame for is a *RunError; any other error means it could not run at all.
func (s *Service) Replay(ctx context.Context, tenant string, v Version, batch []byte, n int, now time.Time) ([]json.RawMessage, error) {
	a := Active{Name: v.Name, Version: v.Number, ModuleID: v.ModuleID, Fields: v.Fields}
	r := Runner{registry: s.Registry, engine: s.engine, now: func() time.Time { return now }}
	results, _, err := r.call(ctx, tenant, v.Kind, a, func() ([]byte, error) { return batch, nil }, n)
	return results, err
}

// Declined reports whether a result is the plugin declining its record
// (an {"error": …} result): the built-in decides that record live.
func Declined(raw json.RawMessage) bool { return isRecordError(raw) }
