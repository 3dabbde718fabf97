package timers

import (
	"context"
	"encoding/json"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/store"
)

// KindEmit is the built-in kind that, when due, writes a timer.fired event
// carrying the timer's subject and payload: "tell me at that time" for
// anything that consumes events (a scheduled campaign step, an SLA
// warning), with the event in the same transaction as the firing.
const KindEmit = "emit"

// FiredDetail is the entity data of a timer.fired event.
type FiredDetail struct {
	Kind    string          `json:"kind"`
	Subject string          `json:"subject"`
	Due     string          `json:"due"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// EmitHandler is KindEmit's handler.
func EmitHandler() Handler {
	return Handler{Kind: KindEmit, Handle: func(ctx context.Context, t core.Timer) ([]store.Write, error) {
		data, err := json.Marshal(FiredDetail{Kind: t.Kind, Subject: t.Subject, Due: t.Due.Format(dueRFC), Payload: t.Payload})
		if err != nil {
			return nil, err
		}
		// The event's time is the timer's due time: what it announces, and a
		// deterministic id base for a retried handler.
		ev := events.New(ctx, t.Tenant, events.TimerFired, t.Due, events.Entity{Type: "timer", ID: t.ID, Data: data})
		w, err := events.OutboxWrite(ev)
		return []store.Write{w}, err
	}}
}

const dueRFC = "2006-01-02T15:04:05.999999999Z07:00"
