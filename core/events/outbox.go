package events

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/fedele-crm/fedele/core/store"
)

// Retention is the default of how long the outbox keeps an event (its
// TTL): the timeline, GET /v1/events and plugin backtests read from it. A
// process may keep them longer (SetEventRetention); dead letters keep this.
const Retention = 30 * 24 * time.Hour

// eventRetention is the process's event retention in nanoseconds; 0 is
// Retention. A process setting, not a tenant's: the table's TTL is one
// cost decision for the whole deployment, and a tenant's setting would
// need a read on every write.
var eventRetention atomic.Int64

// MaxEventRetention bounds SetEventRetention: beyond it the table only
// grows, and a backtest over years is not what the log is for.
const MaxEventRetention = 3 * 366 * 24 * time.Hour

// SetEventRetention sets how long events written from now on are kept; 0
// goes back to Retention. It is for a process's start (`fedele serve
// --event-retention-days`), before any event is written; items already
// stored keep the TTL they were written with. Processed markers keep
// ProcessedTTL whatever it is.
func SetEventRetention(d time.Duration) error {
	if d < 0 || d > MaxEventRetention {
		return fmt.Errorf("event retention must be between 1 day and %d days, not %s", MaxEventRetention/(24*time.Hour), d)
	}
	eventRetention.Store(int64(d))
	return nil
}

// EventRetention is how long events written now are kept.
func EventRetention() time.Duration {
	if d := eventRetention.Load(); d > 0 {
		return time.Duration(d)
	}
	return Retention
}

// PendingShards spreads not-yet-relayed events over several index
// partitions, so that every tenant's writes do not land on one hot
// partition of the pending index.
const PendingShards = 8

// Keys of the outbox. An event item lives in its tenant's partition in id
// (ULID, so time) order; it is in the timeline index of its entity for good,
// and in the pending index until the relay has published it. The pending
// partitions are the one place that mixes tenants: only the relay reads them.
// EventShards spreads a tenant's events over this many partitions (by
// event id), so that one tenant's events are not bound by one partition's
// write ceiling; the tenant's stream merges them (store.QueryMerged).
const EventShards = 8

var eventShards = store.Collection{Name: "event", Shards: EventShards}

// TimelinePK is the timeline partition of one entity.
func TimelinePK(tenant, entityType, id string) string {
	return store.Tenant(tenant).PK("timeline", entityType, id)
}

// EventsPKs are the partitions holding a tenant's events, each in id
// (time) order.
func EventsPKs(tenant string) []string { return eventShards.PKs(tenant) }

// PendingPK is pending shard n.
func PendingPK(n int) string { return store.Global("OUTBOX", "pending", strconv.Itoa(n)) }

// pendingShard spreads by event id, not tenant: one busy tenant's events
// use every pending partition rather than being bound by one.
func pendingShard(eventID string) int { return store.ShardOf(eventID, PendingShards) }

// Index roles of event items.
const (
	PendingIndex  = store.GSI1
	TimelineIndex = store.GSI2
)

// OutboxWrite is the write that records ev in the same transaction as the
// change it describes.
func OutboxWrite(ev Envelope) (store.Write, error) {
	data, err := json.Marshal(ev)
	if err != nil {
		return store.Write{}, fmt.Errorf("encode event %s: %w", ev.Detail.EventID, err)
	}
	d := ev.Detail
	tl := d.Entity
	if ev.Timeline != nil {
		tl = *ev.Timeline
	}
	return store.Write{Op: store.OpPut, Cond: store.Cond{MustNotExist: true}, Item: store.Item{
		Key: store.Key{PK: eventShards.PK(d.Tenant, d.EventID), SK: d.EventID},
		IndexKeys: map[store.Index]store.Key{
			PendingIndex:  {PK: PendingPK(pendingShard(d.EventID)), SK: d.EventID},
			TimelineIndex: {PK: TimelinePK(d.Tenant, tl.Type, tl.ID), SK: d.EventID},
		},
		Version:   1,
		ExpiresAt: d.Time.Add(EventRetention()),
		Data:      data,
	}}, nil
}

// Decode reads the event an outbox item holds.
func Decode(it store.Item) (Envelope, error) {
	var ev Envelope
	if err := json.Unmarshal(it.Data, &ev); err != nil {
		return ev, fmt.Errorf("decode event %s: %w", it.Key, err)
	}
	return ev, nil
}

// IsOutboxItem reports whether a stored item (such as a stream record's new
// image) is an event of the outbox.
func IsOutboxItem(k store.Key) bool {
	t := store.TenantOf(k.PK)
	return t != "" && slices.Contains(eventShards.PKs(t), k.PK)
}
