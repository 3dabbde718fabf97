package core

import (
	"encoding/json"
	"strings"
	"time"
)

// Timer states. A timer is pending until it is acted on (fired), cancelled,
// or dead-lettered after its handler kept failing; the last three are
// kept 30 days, so that a schedule repeated with the same idempotency key
// finds the timer it made instead of making a second one.
const (
	TimerPending   = "pending"
	TimerFired     = "fired"
	TimerCancelled = "cancelled"
	TimerDead      = "dead"
)

// TimerStates lists every state of a timer.
var TimerStates = []string{TimerPending, TimerFired, TimerCancelled, TimerDead}

// MaxTimerPayload bounds a timer's payload (a fraction of an item).
const MaxTimerPayload = 16 * 1024

// TimerRequest is what a caller schedules: a handler kind, the record it
// is about, when, and what the handler needs then.
type TimerRequest struct {
	Kind    string          `json:"kind" minLength:"1" maxLength:"64"`
	Subject string          `json:"subject,omitempty" maxLength:"200" doc:"The id of the record the timer is about."`
	Due     time.Time       `json:"due"`
	Payload json.RawMessage `json:"payload,omitempty"`
	// Key makes scheduling idempotent: the same kind and key within a
	// tenant make one timer for as long as it is kept.
	Key string `json:"key,omitempty" maxLength:"200"`
}

// Timer is a scheduled action and where it stands.
type Timer struct {
	ID     string `json:"id"`
	Tenant string `json:"tenant"`
	TimerRequest
	State string `json:"state"`
	// Next is when the timer is next tried: its due time, then the retry
	// times of a failing handler.
	Next time.Time `json:"next"`
	// LeasedUntil holds a timer handed to the worker (AWS) out of the due
	// index until then, when it is handed out again if still pending.
	LeasedUntil time.Time `json:"leased_until,omitzero"`
	// Bucket is the minute of the due index the timer is in (yyyymmddhhmm).
	Bucket      string    `json:"bucket,omitempty"`
	Attempts    int       `json:"attempts"`
	LastError   string    `json:"last_error,omitempty"`
	ScheduledAt time.Time `json:"scheduled_at"`
	DoneAt      time.Time `json:"done_at,omitzero" doc:"When it fired, was cancelled or dead-lettered."`
	// LatenessMS is how long after Due it fired.
	LatenessMS int64 `json:"lateness_ms,omitempty"`
	Version    int64 `json:"version"`
}

// Normalize validates a timer request.
func (r *TimerRequest) Normalize() error {
	var p Problems
	r.Kind = strings.TrimSpace(r.Kind)
	if r.Kind == "" {
		p.Add("kind", "is required")
	}
	checkText(&p, "kind", r.Kind, 64)
	checkText(&p, "subject", r.Subject, 200)
	checkText(&p, "key", r.Key, 200)
	if r.Due.IsZero() {
		p.Add("due", "is required")
	}
	r.Due = r.Due.UTC()
	if len(r.Payload) > MaxTimerPayload {
		p.Add("payload", "is larger than 16 KiB")
	} else if len(r.Payload) > 0 && !json.Valid(r.Payload) {
		p.Add("payload", "is not JSON")
	}
	return p.Err()
}
