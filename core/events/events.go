// Package events is Fedele's event catalogue and the machinery around it
// that is independent of any bus: the envelope (mirroring EventBridge), the
// cause an event carries so automation cannot loop, the consumer registry
// with idempotent delivery, and the ports a relay publishes through.
//
// It must never import the AWS SDK or a bus client: EventBridge lives in
// infra/eventbridge, the stream handler in infra/relay.
package events

import (
	"context"
	"encoding/json"
	"time"

	"github.com/fedele-crm/fedele/core"
)

// Source is the EventBridge source of every Fedele event.
const Source = "fedele.crm"

// Envelope is one event as EventBridge carries it.
type Envelope struct {
	Source     string `json:"source"`
	DetailType Type   `json:"detail-type"`
	Detail     Detail `json:"detail"`
	// Timeline names the record whose timeline shows the event when that is
	// not the event's own entity: an activity shows on its contact's. It is
	// where the outbox indexes the event, not part of the event.
	Timeline *Entity `json:"-"`
}

// Actor is who or what caused a change.
type Actor struct {
	Type string `json:"type"` // api_key, jwt, system, automation
	ID   string `json:"id"`   // the key id, the subject, or the consumer's name
}

// Detail is an event's payload.
type Detail struct {
	EventID string    `json:"event_id"` // a ULID
	Tenant  string    `json:"tenant"`
	Time    time.Time `json:"time"`
	Actor   Actor     `json:"actor"`
	// CausationID is the event whose handling caused this change (empty for
	// a change a person or integrator made); CorrelationID ties together
	// everything one request set off.
	CausationID   string `json:"causation_id,omitempty"`
	CorrelationID string `json:"correlation_id"`
	// Depth counts the automation steps between the original change and this
	// event; consumers stop a chain past MaxDepth.
	Depth  int    `json:"depth"`
	Entity Entity `json:"entity"`
	// Changed lists the top-level fields that differ from before the change
	// (empty for creations and deletions).
	Changed []string `json:"changed,omitempty"`
	// MergedIDs is for a contact merge, which nothing emits yet: it stays
	// so the API's event schema does not change until merging is built.
	MergedIDs []string `json:"merged_ids,omitempty"`
}

// Entity names the record an event is about, with its state after the
// change (before it, for a deletion).
type Entity struct {
	Type string          `json:"type"` // contact, company
	ID   string          `json:"id"`
	Data json.RawMessage `json:"data"`
}

// Cause is what a change carries about why it happened; repositories copy
// it into the events they write.
type Cause struct {
	Actor         Actor
	CausationID   string
	CorrelationID string
	Depth         int
}

type causeKey struct{}

// WithCause returns ctx carrying c.
func WithCause(ctx context.Context, c Cause) context.Context {
	return context.WithValue(ctx, causeKey{}, c)
}

// CauseFrom returns the cause in ctx, or a system cause when there is none.
func CauseFrom(ctx context.Context) Cause {
	if c, ok := ctx.Value(causeKey{}).(Cause); ok {
		return c
	}
	return Cause{Actor: Actor{Type: "system", ID: "fedele"}}
}

// New makes the envelope of an event about entity, carrying the cause in
// ctx (a new correlation when there is none). Its id is a new ULID at at.
func New(ctx context.Context, tenant string, detailType Type, at time.Time, entity Entity) Envelope {
	c := CauseFrom(ctx)
	id := core.NewID(at)
	corr := c.CorrelationID
	if corr == "" {
		corr = id
	}
	return Envelope{Source: Source, DetailType: detailType, Detail: Detail{
		EventID: id, Tenant: tenant, Time: at.UTC(), Actor: c.Actor,
		CausationID: c.CausationID, CorrelationID: corr, Depth: c.Depth, Entity: entity,
	}}
}

// Publisher delivers events to a bus. It returns one error per event, nil
// for each one delivered, so that a caller retries exactly the failures.
type Publisher interface {
	Publish(ctx context.Context, evs []Envelope) []error
}
