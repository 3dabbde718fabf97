package events

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"

	"github.com/fedele-crm/fedele/core/store"
)

// Retention is how long the outbox keeps an event (its TTL): the timeline
// and GET /v1/events read from it.
const Retention = 30 * 24 * time.Hour

// PendingShards spreads not-yet-relayed events over several index
// partitions, so that every tenant's writes do not land on one hot
// partition of the pending index.
const PendingShards = 8

// Keys of the outbox. An event item lives in its tenant's partition in id
// (ULID, so time) order; it is in the timeline index of its entity for good,
// and in the pending index until the relay has published it. The pending
// partitions are the one place that mixes tenants: only the relay reads them.
func eventsPK(tenant string) string { return store.Tenant(tenant).PK("event") }

// TimelinePK is the timeline partition of one entity.
func TimelinePK(tenant, entityType, id string) string {
	return store.Tenant(tenant).PK("timeline", entityType, id)
}

// EventsPK is the partition holding a tenant's events in order.
func EventsPK(tenant string) string { return eventsPK(tenant) }

// PendingPK is pending shard n.
func PendingPK(n int) string { return store.Global("OUTBOX", "pending", strconv.Itoa(n)) }

func pendingShard(tenant string) int {
	h := fnv.New32a()
	h.Write([]byte(tenant))
	return int(h.Sum32() % PendingShards)
}

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
		Key: store.Key{PK: eventsPK(d.Tenant), SK: d.EventID},
		IndexKeys: map[store.Index]store.Key{
			PendingIndex:  {PK: PendingPK(pendingShard(d.Tenant)), SK: d.EventID},
			TimelineIndex: {PK: TimelinePK(d.Tenant, tl.Type, tl.ID), SK: d.EventID},
		},
		Version:   1,
		ExpiresAt: d.Time.Add(Retention),
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
	return t != "" && k.PK == eventsPK(t)
}
