package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/fedele-crm/fedele/core/store"
)

// MaxDepth bounds automation chains: an event this many automation steps
// from the original change is not delivered to consumers, and is logged.
const MaxDepth = 5

// ProcessedTTL is how long a consumer remembers it handled an event; the
// relay redelivers for much less long than that. It does not follow the
// event log's retention (EventRetention): keeping events a year for
// backtests must not keep a marker per consumer and event a year too.
const ProcessedTTL = 30 * 24 * time.Hour

// Handler is a consumer. Handle returns the store writes that are its
// effect: they commit in one transaction with the consumer's "processed"
// marker, so an event redelivered any number of times has exactly one
// effect. Effects outside the store (calls to other services) happen at
// least once and must be idempotent themselves.
type Handler struct {
	Name   string // stable: it names the processed markers
	Types  []Type // detail types it handles
	Handle func(ctx context.Context, ev Envelope) ([]store.Write, error)
	// GaveUp, when set, is asked for the writes that record a delivery
	// given up on (a job marked failed rather than left running for
	// ever); they commit with the dead-letter record, or are dropped when
	// they cannot (the dead letter must land whatever happens).
	GaveUp func(ctx context.Context, ev Envelope, cause error) []store.Write
	// WritesOnly says Handle's effect is only the writes it returns (what
	// it commits itself is keyed, so doing it again is nothing new): a
	// delivery that returns none then leaves no processed marker. Most
	// events are nothing to most consumers (a segment.entered to a tenant
	// without a segment journey), and the marker was their one write — on
	// the embedded engine one sync to disk per event and consumer. A
	// redelivery runs Handle again; it had no effect to repeat.
	WritesOnly bool
}

// MaxRaces is how many lost races (a condition another writer's commit
// broke: a document's version moved) a delivery retries beyond Attempts.
// A race is no failure: concurrent deliveries for one contact (the AWS
// worker runs them side by side) lose to each other now and then, and
// dead-lettering the loser would lose its update.
const MaxRaces = 12

// Consumers delivers events to registered handlers, idempotently, with
// retries and a dead-letter record for events that keep failing.
type Consumers struct {
	store    store.Store
	log      *slog.Logger
	now      func() time.Time
	handlers map[Type][]Handler
	// Attempts and Backoff bound retries of a failing handler before its
	// event is dead-lettered.
	Attempts int
	Backoff  time.Duration
}

// NewConsumers returns an empty registry on s.
func NewConsumers(s store.Store, log *slog.Logger, now func() time.Time) *Consumers {
	return &Consumers{store: s, log: log, now: now, handlers: map[Type][]Handler{}, Attempts: 3, Backoff: 50 * time.Millisecond}
}

// Register adds a handler for its detail types.
func (c *Consumers) Register(h Handler) {
	for _, t := range h.Types {
		c.handlers[t] = append(c.handlers[t], h)
	}
}

func processedKey(tenant, consumer, eventID string) store.Key {
	return store.Tenant(tenant).Marker("processed", consumer, eventID)
}

// DeadLetterPK is the partition of a tenant's dead-lettered deliveries.
func DeadLetterPK(tenant string) string { return store.Tenant(tenant).PK("deadletter") }

// Publish delivers each event to its handlers; it is the local bus, so
// Consumers is a Publisher. An event's error is non-nil only when it could
// not be delivered or dead-lettered (the store is away): the relay then
// keeps it and delivers it again.
func (c *Consumers) Publish(ctx context.Context, evs []Envelope) []error {
	errs := make([]error, len(evs))
	for i, ev := range evs {
		for _, h := range c.handlers[ev.DetailType] {
			if err := c.deliver(ctx, h, ev); err != nil {
				errs[i] = err
				break
			}
		}
	}
	return errs
}

func (c *Consumers) deliver(ctx context.Context, h Handler, ev Envelope) error {
	d := ev.Detail
	log := c.log.With(slog.String("consumer", h.Name), slog.String("event_id", d.EventID), slog.String("tenant", d.Tenant),
		slog.String("detail_type", string(ev.DetailType)))
	switch {
	case d.Actor.Type == "automation" && d.Actor.ID == h.Name:
		return nil // its own effect: reacting would loop
	case d.Depth >= MaxDepth:
		log.Warn("automation chain too deep: not delivered", slog.Int("depth", d.Depth), slog.String("correlation_id", d.CorrelationID))
		return nil
	}
	marker := processedKey(d.Tenant, h.Name, d.EventID)
	if _, err := c.store.Get(ctx, marker); err == nil {
		return nil // handled before
	} else if !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("check %s handled %s: %w", h.Name, d.EventID, err)
	}
	hctx := WithCause(ctx, Cause{Actor: Actor{Type: "automation", ID: h.Name}, CausationID: d.EventID,
		CorrelationID: d.CorrelationID, Depth: d.Depth + 1})
	var lastErr error
	races := 0
	for attempt := 0; attempt < c.Attempts+races; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(c.backoff(attempt)):
			}
		}
		writes, err := h.Handle(hctx, ev)
		if err == nil && len(writes) == 0 && h.WritesOnly {
			return nil
		}
		if err == nil {
			writes = append(writes, store.Write{Op: store.OpPut, Cond: store.Cond{MustNotExist: true},
				Item: store.Item{Key: marker, Version: 1, ExpiresAt: c.now().Add(ProcessedTTL)}})
			err = c.store.Transact(ctx, writes)
			var tc *store.TxCancelledError
			if errors.As(err, &tc) && tc.Index == len(writes)-1 {
				return nil // another delivery of the same event won: its effect stands, ours is void
			}
			if err == nil {
				return nil
			}
		}
		lastErr = err
		if errors.Is(err, store.ErrConditionFailed) && races < MaxRaces {
			races++
			log.Info("consumer lost a race: retrying", slog.Int("attempt", attempt+1), slog.String("error", err.Error()))
			continue
		}
		log.Warn("consumer failed", slog.Int("attempt", attempt+1), slog.String("error", err.Error()))
	}
	return c.deadLetter(ctx, h, ev, marker, lastErr)
}

// backoff is the wait before an attempt: doubling from Backoff, capped at
// 32×, with jitter (½ to 1½ of it) so that racing deliveries spread out
// instead of colliding again in step.
func (c *Consumers) backoff(attempt int) time.Duration {
	d := c.Backoff << min(attempt-1, 5)
	return d/2 + rand.N(d+1)
}

// deadLetter records a delivery that kept failing and marks the event
// handled for this consumer, so one bad event cannot stall the others.
func (c *Consumers) deadLetter(ctx context.Context, h Handler, ev Envelope, marker store.Key, cause error) error {
	d := ev.Detail
	data := fmt.Appendf(nil, `{"consumer":%q,"event_id":%q,"detail_type":%q,"error":%q,"at":%q}`,
		h.Name, d.EventID, ev.DetailType, cause.Error(), c.now().UTC().Format(time.RFC3339Nano))
	writes := []store.Write{
		{Op: store.OpPut, Item: store.Item{Key: store.Key{PK: DeadLetterPK(d.Tenant), SK: h.Name + "#" + d.EventID}, Version: 1,
			ExpiresAt: c.now().Add(Retention), Data: data}},
		{Op: store.OpPut, Cond: store.Cond{MustNotExist: true}, Item: store.Item{Key: marker, Version: 1, ExpiresAt: c.now().Add(ProcessedTTL)}},
	}
	var err error
	if h.GaveUp != nil {
		if extra := h.GaveUp(ctx, ev, cause); len(extra) > 0 {
			if err = c.store.Transact(ctx, append(writes, extra...)); err == nil {
				c.log.Error("event dead-lettered", slog.String("consumer", h.Name), slog.String("event_id", d.EventID),
					slog.String("tenant", d.Tenant), slog.String("error", cause.Error()))
				return nil
			}
			c.log.Warn("gave-up writes did not commit: dead-lettering without them", slog.String("consumer", h.Name),
				slog.String("event_id", d.EventID), slog.String("error", err.Error()))
		}
	}
	err = c.store.Transact(ctx, writes)
	if err != nil {
		return fmt.Errorf("dead-letter %s for %s: %w", d.EventID, h.Name, err)
	}
	c.log.Error("event dead-lettered", slog.String("consumer", h.Name), slog.String("event_id", d.EventID),
		slog.String("tenant", d.Tenant), slog.String("error", cause.Error()))
	return nil
}
