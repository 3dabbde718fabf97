// Package worker adapts Lambda's event shapes to core's event machinery:
// EventBridge deliveries to the consumers, scheduled ticks to the outbox
// reconciler. It must never hold consumer logic of its own.
package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/fedele-crm/fedele/core/events"
)

// Handler delivers one EventBridge event to the consumers. An error makes
// Lambda (and EventBridge's retry policy and dead-letter queue) try again;
// the consumers' processed markers make that safe.
func Handler(consumers events.Publisher) func(context.Context, lambdaevents.EventBridgeEvent) error {
	return func(ctx context.Context, in lambdaevents.EventBridgeEvent) error {
		if in.Source != events.Source {
			return fmt.Errorf("event %s from %q: not a Fedele event", in.ID, in.Source)
		}
		var d events.Detail
		if err := json.Unmarshal(in.Detail, &d); err != nil {
			return fmt.Errorf("event %s: detail: %w", in.ID, err)
		}
		if d.EventID == "" || d.Tenant == "" {
			return fmt.Errorf("event %s: detail without event_id or tenant", in.ID)
		}
		ev := events.Envelope{Source: in.Source, DetailType: events.Type(in.DetailType), Detail: d}
		if err := consumers.Publish(ctx, []events.Envelope{ev})[0]; err != nil {
			return fmt.Errorf("event %s: %w", d.EventID, err)
		}
		return nil
	}
}

// Tick runs the outbox reconciler once per scheduled invocation.
func Tick(reconciler *events.Relay, log *slog.Logger) func(context.Context, lambdaevents.EventBridgeEvent) error {
	return func(ctx context.Context, _ lambdaevents.EventBridgeEvent) error {
		n, err := reconciler.Drain(ctx)
		log.Info("outbox reconciled", slog.Int("redriven", n))
		return err
	}
}
