// Package worker adapts Lambda's event shapes to core's event machinery:
// EventBridge deliveries to the consumers, scheduled ticks to the outbox
// reconciler. It must never hold consumer logic of its own.
package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/timers"
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

// Reserve is the time a scheduled invocation keeps in hand: draining due
// timers stops between pages when less than this is left before Lambda's
// deadline, and the next minute's tick goes on where it stopped.
const Reserve = 10 * time.Second

// SchedulerTick is the scheduler function's minute: it hands every due
// timer to the worker through timer.due events on pub (leasing each, so
// that a slow handler never delays the drain), then reconciles the outbox.
// It logs how many timers it handed out and how late they were.
func SchedulerTick(svc *timers.Service, pub events.Publisher, reconciler *events.Relay, log *slog.Logger) func(context.Context, lambdaevents.EventBridgeEvent) error {
	tick := Tick(reconciler, log)
	return func(ctx context.Context, in lambdaevents.EventBridgeEvent) error {
		st, terr := svc.Drain(ctx, Reserve, svc.Dispatcher(pub))
		log.Info("due timers handed to the worker", slog.Int("due", st.Read), slog.Int("raced", st.Raced),
			slog.Duration("lateness_p50", timers.Percentile(st.Lateness, 50)), slog.Duration("lateness_p99", timers.Percentile(st.Lateness, 99)))
		return errors.Join(terr, tick(ctx, in))
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
