// Package relay is the production outbox relay: the handler of the table's
// DynamoDB stream that publishes each new outbox event to the bus
// (EventBridge), reporting the records it could not publish so that Lambda
// retries exactly those (ReportBatchItemFailures).
//
// It must never publish anything but outbox items (the event source mapping
// filters the stream to them, and the handler checks again), and its only
// write is taking a published event out of the pending index, so that the
// scheduler's reconciler re-drives only what the stream did not deliver.
package relay

import (
	"context"
	"errors"
	"log/slog"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/infra/dynamo"
)

// StreamHandler publishes the outbox events of a stream batch.
type StreamHandler struct {
	Publisher events.Publisher
	Log       *slog.Logger
	// Store, when set, is where published events are marked relayed.
	Store store.Store
}

// Handle publishes the batch's new outbox items and returns the records
// that failed. A record that cannot be read as an event is logged and
// skipped: retrying it would block its shard for good.
func (h *StreamHandler) Handle(ctx context.Context, batch lambdaevents.DynamoDBEvent) (lambdaevents.DynamoDBEventResponse, error) {
	var (
		evs   []events.Envelope
		items []store.Item
		seqs  []string
	)
	for _, rec := range batch.Records {
		if rec.EventName != string(lambdaevents.DynamoDBOperationTypeInsert) {
			continue // an event is inserted once; later changes are the relay's bookkeeping
		}
		it, err := dynamo.ItemFromImage(rec.Change.NewImage)
		if err != nil || !events.IsOutboxItem(it.Key) {
			if err != nil {
				h.Log.Error("unreadable stream record", slog.String("record", rec.EventID), slog.String("error", err.Error()))
			}
			continue
		}
		ev, err := events.Decode(it)
		if err != nil {
			h.Log.Error("unreadable outbox event", slog.String("record", rec.EventID), slog.String("error", err.Error()))
			continue
		}
		evs, items, seqs = append(evs, ev), append(items, it), append(seqs, rec.Change.SequenceNumber)
	}
	var resp lambdaevents.DynamoDBEventResponse
	if len(evs) == 0 {
		return resp, nil
	}
	for i, err := range h.Publisher.Publish(ctx, evs) {
		if errors.Is(err, events.ErrUndeliverable) {
			// Reporting it would retry the shard from here until the
			// dead-letter queue takes the batch: record it and go on.
			h.Log.Error("event undeliverable", slog.String("event_id", evs[i].Detail.EventID), slog.String("error", err.Error()))
			if h.Store != nil {
				if derr := events.DeadLetterUndeliverable(ctx, h.Store, "relay", evs[i], err); derr != nil {
					h.Log.Error("dead-letter", slog.String("event_id", evs[i].Detail.EventID), slog.String("error", derr.Error()))
				}
			}
			err = nil
		}
		if err == nil && h.Store != nil {
			// Published; failing to mark it only means the reconciler
			// publishes it again later (at least once).
			if merr := events.MarkRelayed(ctx, h.Store, items[i]); merr != nil {
				h.Log.Warn("mark relayed", slog.String("event_id", evs[i].Detail.EventID), slog.String("error", merr.Error()))
			}
		}
		if err == nil {
			continue
		}
		d := evs[i].Detail
		h.Log.Error("publish failed; the stream will retry", slog.String("event_id", d.EventID), slog.String("tenant", d.Tenant),
			slog.String("error", err.Error()))
		resp.BatchItemFailures = append(resp.BatchItemFailures, lambdaevents.DynamoDBBatchItemFailure{ItemIdentifier: seqs[i]})
	}
	return resp, nil
}
