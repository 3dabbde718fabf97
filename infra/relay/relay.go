// Package relay is the production outbox relay: the handler of the table's
// DynamoDB stream that publishes each new outbox event to the bus
// (EventBridge), reporting the records it could not publish so that Lambda
// retries exactly those (ReportBatchItemFailures).
//
// It must never write to the table and never publish anything but outbox
// items: the event source mapping filters the stream to them, and the
// handler checks again.
package relay

import (
	"context"
	"log/slog"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/infra/dynamo"
)

// StreamHandler publishes the outbox events of a stream batch.
type StreamHandler struct {
	Publisher events.Publisher
	Log       *slog.Logger
}

// Handle publishes the batch's new outbox items and returns the records
// that failed. A record that cannot be read as an event is logged and
// skipped: retrying it would block its shard for good.
func (h *StreamHandler) Handle(ctx context.Context, batch lambdaevents.DynamoDBEvent) (lambdaevents.DynamoDBEventResponse, error) {
	var (
		evs  []events.Envelope
		seqs []string
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
		evs, seqs = append(evs, ev), append(seqs, rec.Change.SequenceNumber)
	}
	var resp lambdaevents.DynamoDBEventResponse
	if len(evs) == 0 {
		return resp, nil
	}
	for i, err := range h.Publisher.Publish(ctx, evs) {
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
