package timers

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/store"
)

// Shard counts. A timer's item lives in its tenant's sharded collection;
// its due-index entry in the minute of its next try, in one of DueShards
// partitions shared by every tenant, because the scheduler reads what is
// due for all tenants at once — as the relay reads the outbox's pending
// shards — and must not list tenants first.
const (
	TimerShards = 16
	DueShards   = 32
)

var (
	timerItems   = store.Collection{Name: "timer", Shards: TimerShards}
	pendingIndex = store.Collection{Name: "timer-pending", Shards: TimerShards}
	firedIndex   = store.Collection{Name: "timer-fired", Shards: TimerShards}
)

// Index roles of timer items.
const (
	DueIndex     = store.GSI1 // pending timers by the minute they are due in, all tenants
	PendingIndex = store.GSI2 // a tenant's pending timers of a kind, by next try
	FiredIndex   = store.GSI3 // a tenant's fired timers, by when they fired
	DeadIndex    = store.GSI4 // a tenant's dead letters, by when they died
)

const minuteLayout = "200601021504"

// dueLayout sorts as time does: fixed width, UTC.
const dueLayout = "20060102T150405.000000000Z"

func minuteOf(t time.Time) string { return t.UTC().Format(minuteLayout) }

func dueSK(t time.Time) string { return t.UTC().Format(dueLayout) }

// timerKey is where a timer is stored.
func timerKey(tenant, id string) store.Key {
	return store.Key{PK: timerItems.PK(tenant, id), SK: id}
}

// DuePK is shard n of the due index's minute (yyyymmddhhmm).
func DuePK(minute string, n int) string {
	return store.Global("TIMER", "due", minute, strconv.Itoa(n))
}

func duePKs(minute string) []string {
	pks := make([]string, DueShards)
	for n := range pks {
		pks[n] = DuePK(minute, n)
	}
	return pks
}

// MinutesPK is the directory of due minutes: one item per minute that may
// hold due-index entries, so that the scheduler visits only minutes with
// timers (never every empty minute of a long downtime) and the local loop
// finds the next due time without scanning the future.
func MinutesPK() string { return store.Global("TIMER", "minutes") }

// keyedID is the id of a timer scheduled with an idempotency key: the same
// kind and key always name the same timer, so scheduling it again is one
// conditional put that fails.
func keyedID(kind, key string) string {
	sum := sha256.Sum256([]byte(kind + "\x00" + key))
	return "k" + hex.EncodeToString(sum[:16])
}

func validID(id string) bool {
	if core.ValidID(id) {
		return true
	}
	if len(id) != 33 || id[0] != 'k' {
		return false
	}
	_, err := hex.DecodeString(id[1:])
	return err == nil
}

// indexKeys place a timer by its state: pending in the due index (its
// bucket, at the later of its next try and its lease) and the tenant's
// pending list; fired in the fired list; dead in the dead letters.
func indexKeys(t *core.Timer) map[store.Index]store.Key {
	switch t.State {
	case core.TimerPending:
		at := t.Next
		if t.LeasedUntil.After(at) {
			at = t.LeasedUntil
		}
		return map[store.Index]store.Key{
			DueIndex:     {PK: DuePK(t.Bucket, store.ShardOf(t.Tenant+"/"+t.ID, DueShards)), SK: dueSK(at) + "#" + t.Tenant + "#" + t.ID},
			PendingIndex: {PK: pendingIndex.PK(t.Tenant, t.ID, t.Kind), SK: dueSK(t.Next) + "#" + t.ID},
		}
	case core.TimerFired:
		return map[store.Index]store.Key{FiredIndex: {PK: firedIndex.PK(t.Tenant, t.ID), SK: dueSK(t.DoneAt) + "#" + t.ID}}
	case core.TimerDead:
		return map[store.Index]store.Key{DeadIndex: {PK: store.Tenant(t.Tenant).PK("timer-dead"), SK: dueSK(t.DoneAt) + "#" + t.ID}}
	}
	return nil
}
