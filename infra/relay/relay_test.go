package relay_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/infra/relay"
)

// image renders an item the way the stream delivers it to Lambda (the
// DynamoDB JSON of the table's attributes).
func image(it store.Item) map[string]any {
	img := map[string]any{"pk": map[string]string{"S": it.PK}, "sk": map[string]string{"S": it.SK},
		"v": map[string]string{"N": strconv.FormatInt(it.Version, 10)}}
	if len(it.Data) > 0 {
		img["doc"] = map[string]string{"B": base64.StdEncoding.EncodeToString(it.Data)}
	}
	for ix, k := range it.IndexKeys {
		img[string(ix)+"pk"], img[string(ix)+"sk"] = map[string]string{"S": k.PK}, map[string]string{"S": k.SK}
	}
	return img
}

type failing struct {
	fail map[string]bool // event ids to fail
	got  []string
}

func (f *failing) Publish(_ context.Context, evs []events.Envelope) []error {
	errs := make([]error, len(evs))
	for i, ev := range evs {
		if f.fail[ev.Detail.EventID] {
			errs[i] = errors.New("bus said no")
			continue
		}
		f.got = append(f.got, ev.Detail.EventID)
	}
	return errs
}

func TestStreamHandlerReportsExactlyTheFailures(t *testing.T) {
	var records []map[string]any
	var ids []string
	for i := range 5 {
		ev := events.Envelope{Source: events.Source, DetailType: events.ContactCreated, Detail: events.Detail{
			EventID: core.NewID(time.Now()), Tenant: "acme", Time: time.Now().UTC(), Actor: events.Actor{Type: "system", ID: "t"},
			CorrelationID: "c", Entity: events.Entity{Type: "contact", ID: fmt.Sprint(i), Data: json.RawMessage(`{}`)}}}
		w, err := events.OutboxWrite(ev)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ev.Detail.EventID)
		records = append(records, map[string]any{"eventID": fmt.Sprint("r", i), "eventName": "INSERT",
			"dynamodb": map[string]any{"SequenceNumber": fmt.Sprint(100 + i), "NewImage": image(w.Item)}})
	}
	// Not outbox items, or not insertions: ignored.
	records = append(records,
		map[string]any{"eventID": "contact", "eventName": "INSERT", "dynamodb": map[string]any{"SequenceNumber": "200",
			"NewImage": image(store.Item{Key: store.Key{PK: "T#acme#contact", SK: "x"}, Version: 1, Data: []byte("{}")})}},
		map[string]any{"eventID": "modify", "eventName": "MODIFY", "dynamodb": map[string]any{"SequenceNumber": "201",
			"NewImage": records[0]["dynamodb"].(map[string]any)["NewImage"]}},
	)
	raw, _ := json.Marshal(map[string]any{"Records": records})
	var batch lambdaevents.DynamoDBEvent
	if err := json.Unmarshal(raw, &batch); err != nil {
		t.Fatal(err)
	}
	pub := &failing{fail: map[string]bool{ids[1]: true, ids[3]: true}}
	h := &relay.StreamHandler{Publisher: pub, Log: slog.New(slog.DiscardHandler)}
	resp, err := h.Handle(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	if diff := cmp.Diff([]string{"101", "103"}, failed); diff != "" {
		t.Errorf("batch item failures (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{ids[0], ids[2], ids[4]}, pub.got); diff != "" {
		t.Errorf("published (-want +got):\n%s", diff)
	}
}
