package eventbridge_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/infra/eventbridge"
	"github.com/fedele-crm/fedele/internal/testsupport/fakebus"
)

func envelopes(n int) []events.Envelope {
	evs := make([]events.Envelope, n)
	for i := range evs {
		evs[i] = events.Envelope{Source: events.Source, DetailType: events.ContactCreated, Detail: events.Detail{
			EventID: core.NewID(time.Now()), Tenant: "acme", Time: time.Now().UTC(), Actor: events.Actor{Type: "system", ID: "t"},
			CorrelationID: "c", Entity: events.Entity{Type: "contact", ID: fmt.Sprint(i), Data: json.RawMessage(`{}`)}}}
	}
	return evs
}

func publisher(t *testing.T, bus *fakebus.Bus) *eventbridge.Publisher {
	t.Helper()
	client, err := eventbridge.Connect(context.Background(), bus.URL)
	if err != nil {
		t.Fatal(err)
	}
	return eventbridge.New(client, "fedele", eventbridge.WithRetries(4, time.Millisecond))
}

func TestPublish(t *testing.T) {
	huge := envelopes(1)[0]
	huge.Detail.Entity.Data = json.RawMessage(`"` + strings.Repeat("x", eventbridge.MaxEntryBytes) + `"`)
	cases := []struct {
		name      string
		evs       []events.Envelope
		setup     func(*fakebus.Bus)
		failed    []int // indexes whose error must be non-nil
		wantCalls int
	}{
		{name: "25 events in calls of 10, 10 and 5", evs: envelopes(25), wantCalls: 3},
		{name: "partial failure: only the failed entries are sent again", evs: envelopes(25), wantCalls: 4,
			setup: func(b *fakebus.Bus) {
				b.FailEntry = func(call, i int, _ fakebus.Entry) bool { return call == 1 && (i == 2 || i == 7) }
			}},
		{name: "throttled twice, then accepted", evs: envelopes(5), wantCalls: 3,
			setup: func(b *fakebus.Bus) { b.ThrottleCall = func(call int) bool { return call <= 2 } }},
		{name: "an entry over 256 KB is never sent", evs: append(envelopes(3), huge), failed: []int{3}, wantCalls: 1},
		{name: "an entry that always fails gives up after the budget", evs: envelopes(3), failed: []int{1}, wantCalls: 4,
			setup: func(b *fakebus.Bus) {
				b.FailEntry = func(_, _ int, e fakebus.Entry) bool { return strings.Contains(e.Detail, `"id":"1"`) }
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bus := fakebus.New()
			defer bus.Close()
			if tc.setup != nil {
				tc.setup(bus)
			}
			errs := publisher(t, bus).Publish(context.Background(), tc.evs)
			var failed []int
			var want []string
			for i, err := range errs {
				if err != nil {
					failed = append(failed, i)
				} else {
					want = append(want, tc.evs[i].Detail.EventID)
				}
			}
			if diff := cmp.Diff(tc.failed, failed); diff != "" {
				t.Errorf("failed indexes (-want +got):\n%s\nerrors: %v", diff, errs)
			}
			got := bus.EventIDs()
			slices.Sort(got)
			slices.Sort(want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("accepted exactly once (-want +got):\n%s", diff)
			}
			if bus.Calls() != tc.wantCalls {
				t.Errorf("%d PutEvents calls, want %d", bus.Calls(), tc.wantCalls)
			}
			for _, e := range bus.Accepted() {
				if e.Source != "fedele.crm" || e.EventBusName != "fedele" || e.DetailType != string(events.ContactCreated) {
					t.Errorf("entry on the wire: %+v", e)
				}
			}
		})
	}
	if !errors.Is(publisher(t, fakebus.New()).Publish(context.Background(), []events.Envelope{huge})[0], eventbridge.ErrTooLarge) {
		t.Error("oversized entry's error is not ErrTooLarge")
	}
}

func TestPublishStopsWhenCancelled(t *testing.T) {
	bus := fakebus.New()
	defer bus.Close()
	bus.ThrottleCall = func(int) bool { return true }
	ctx, cancel := context.WithCancel(context.Background())
	client, _ := eventbridge.Connect(ctx, bus.URL)
	p := eventbridge.New(client, "fedele", eventbridge.WithRetries(1000, time.Hour))
	done := make(chan []error)
	go func() { done <- p.Publish(ctx, envelopes(3)) }()
	for bus.Calls() == 0 {
		time.Sleep(time.Millisecond) // polling for the first call
	}
	cancel()
	for i, err := range <-done {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("event %d: %v, want cancelled", i, err)
		}
	}
}
