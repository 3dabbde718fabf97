package events_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/core/store/memstore"
)

func setup(t *testing.T) (*memstore.Store, *events.Consumers) {
	t.Helper()
	st := memstore.New()
	t.Cleanup(func() { st.Close() })
	c := events.NewConsumers(st, slog.New(slog.DiscardHandler), time.Now)
	c.Backoff = time.Millisecond
	return st, c
}

func event(depth int) events.Envelope {
	return events.Envelope{Source: events.Source, DetailType: events.ContactCreated, Detail: events.Detail{
		EventID: core.NewID(time.Now()), Tenant: "acme", Time: time.Now(), Actor: events.Actor{Type: "api_key", ID: "k"},
		CorrelationID: "c", Depth: depth, Entity: events.Entity{Type: "contact", ID: "x", Data: json.RawMessage(`{}`)}}}
}

func TestFailingHandlerIsRetriedThenDeadLettered(t *testing.T) {
	st, c := setup(t)
	calls := 0
	c.Register(events.Handler{Name: "flaky", Types: []events.Type{events.ContactCreated},
		Handle: func(context.Context, events.Envelope) ([]store.Write, error) { calls++; return nil, errors.New("boom") }})
	ev := event(0)
	if errs := c.Publish(context.Background(), []events.Envelope{ev}); errs[0] != nil {
		t.Fatalf("a dead-lettered event is handled: %v", errs[0])
	}
	if calls != c.Attempts {
		t.Errorf("%d calls, want %d attempts", calls, c.Attempts)
	}
	page, err := st.Query(context.Background(), store.Query{PK: events.DeadLetterPK("acme")})
	if err != nil || len(page.Items) != 1 || page.Items[0].SK != "flaky#"+ev.Detail.EventID {
		t.Fatalf("dead letters: %+v %v", page.Items, err)
	}
	// Delivered again, it is not retried: the dead letter stands for it.
	c.Publish(context.Background(), []events.Envelope{ev})
	if calls != c.Attempts {
		t.Errorf("redelivery ran the handler again (%d calls)", calls)
	}
}

// A lost race is retried beyond the attempts (concurrent deliveries for one
// contact must not dead-letter the loser's update), up to MaxRaces; a
// handler that gives up writes what it says beside the dead letter.
func TestRacesAreRetriedAndGivingUpWritesItsRecord(t *testing.T) {
	for _, c := range []struct {
		name      string
		races     int // how many times the handler loses before it wins
		wantCalls int
		dead      bool
	}{
		{"wins after losing more races than attempts", 7, 8, false},
		{"always loses", 1000, 3 + events.MaxRaces, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			st, cs := setup(t)
			cs.Backoff = 0
			calls := 0
			record := store.Key{PK: "T#acme#gaveup", SK: "x"}
			cs.Register(events.Handler{Name: "racy", Types: []events.Type{events.ContactCreated},
				Handle: func(context.Context, events.Envelope) ([]store.Write, error) {
					calls++
					if calls <= c.races {
						return nil, &store.TxCancelledError{Reason: store.ErrConditionFailed}
					}
					return nil, nil
				},
				GaveUp: func(_ context.Context, _ events.Envelope, cause error) []store.Write {
					return []store.Write{{Op: store.OpPut, Item: store.Item{Key: record, Version: 1, Data: []byte(`"` + cause.Error() + `"`)}}}
				}})
			if errs := cs.Publish(context.Background(), []events.Envelope{event(0)}); errs[0] != nil {
				t.Fatal(errs[0])
			}
			if calls != c.wantCalls {
				t.Errorf("%d calls, want %d", calls, c.wantCalls)
			}
			_, err := st.Get(context.Background(), record)
			if gaveUp := err == nil; gaveUp != c.dead {
				t.Errorf("gave-up record written: %v, want %v", gaveUp, c.dead)
			}
		})
	}
}

func TestChainsPastMaxDepthStop(t *testing.T) {
	_, c := setup(t)
	var depths []int
	c.Register(events.Handler{Name: "h", Types: []events.Type{events.ContactCreated},
		Handle: func(_ context.Context, ev events.Envelope) ([]store.Write, error) {
			depths = append(depths, ev.Detail.Depth)
			return nil, nil
		}})
	for d := range events.MaxDepth + 2 {
		c.Publish(context.Background(), []events.Envelope{event(d)})
	}
	if len(depths) != events.MaxDepth {
		t.Errorf("delivered at depths %v, want only below %d", depths, events.MaxDepth)
	}
}

func TestHandlerSeesItsCause(t *testing.T) {
	_, c := setup(t)
	var got events.Cause
	c.Register(events.Handler{Name: "h", Types: []events.Type{events.ContactCreated},
		Handle: func(ctx context.Context, ev events.Envelope) ([]store.Write, error) {
			got = events.CauseFrom(ctx)
			return nil, nil
		}})
	ev := event(2)
	c.Publish(context.Background(), []events.Envelope{ev})
	want := events.Cause{Actor: events.Actor{Type: "automation", ID: "h"}, CausationID: ev.Detail.EventID, CorrelationID: "c", Depth: 3}
	if got != want {
		t.Errorf("cause %+v, want %+v", got, want)
	}
}

type refusing struct{}

func (refusing) Publish(_ context.Context, evs []events.Envelope) []error {
	errs := make([]error, len(evs))
	for i := range errs {
		errs[i] = fmt.Errorf("too big for the bus: %w", events.ErrUndeliverable)
	}
	return errs
}

// TestUndeliverableEventsAreDeadLetteredNotRetried: an event the bus refuses
// for good must not stay pending, where it would hold its shard forever.
func TestUndeliverableEventsAreDeadLetteredNotRetried(t *testing.T) {
	st, _ := setup(t)
	ctx := context.Background()
	ev := event(0)
	w, err := events.OutboxWrite(ev)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Transact(ctx, []store.Write{w}); err != nil {
		t.Fatal(err)
	}
	relay := &events.Relay{Store: st, Publisher: refusing{}, Log: slog.New(slog.DiscardHandler)}
	if n, err := relay.Drain(ctx); err != nil || n != 1 {
		t.Fatalf("drain: %d, %v", n, err)
	}
	if n, err := relay.Drain(ctx); err != nil || n != 0 {
		t.Fatalf("second drain: %d, %v: the event is still pending", n, err)
	}
	page, err := st.Query(ctx, store.Query{PK: events.DeadLetterPK("acme")})
	if err != nil || len(page.Items) != 1 || page.Items[0].SK != "relay#"+ev.Detail.EventID {
		t.Fatalf("dead letters: %+v %v", page.Items, err)
	}
}

// A WritesOnly handler with nothing to do leaves no processed marker (its
// one write saved), so a redelivery runs it again; one with writes is
// marked and acts once. A handler without WritesOnly is marked either way.
func TestWritesOnlyHandlersLeaveNoMarkerWhenIdle(t *testing.T) {
	st, c := setup(t)
	calls := map[string]int{}
	idle := true
	for _, h := range []struct {
		name       string
		writesOnly bool
	}{{"writes-only", true}, {"marked", false}} {
		c.Register(events.Handler{Name: h.name, Types: []events.Type{events.ContactCreated}, WritesOnly: h.writesOnly,
			Handle: func(_ context.Context, ev events.Envelope) ([]store.Write, error) {
				calls[h.name]++
				if idle {
					return nil, nil
				}
				return []store.Write{{Op: store.OpPut, Item: store.Item{Key: store.Key{PK: "T#acme#effect", SK: h.name + "#" + fmt.Sprint(calls[h.name])}, Version: 1}}}, nil
			}})
	}
	ev := event(0)
	markers := func() int {
		n := 0
		for _, name := range []string{"writes-only", "marked"} {
			if _, err := st.Get(context.Background(), store.Tenant("acme").Marker("processed", name, ev.Detail.EventID)); err == nil {
				n++
			}
		}
		return n
	}
	c.Publish(context.Background(), []events.Envelope{ev})
	if m := markers(); m != 1 {
		t.Fatalf("%d processed markers after an idle delivery, want 1 (the handler without WritesOnly)", m)
	}
	idle = false
	c.Publish(context.Background(), []events.Envelope{ev})
	c.Publish(context.Background(), []events.Envelope{ev})
	want := map[string]int{"writes-only": 2, "marked": 1}
	if fmt.Sprint(calls) != fmt.Sprint(want) {
		t.Fatalf("calls %v, want %v", calls, want)
	}
	page, err := st.Query(context.Background(), store.Query{PK: "T#acme#effect"})
	if err != nil || len(page.Items) != 1 || page.Items[0].SK != "writes-only#2" {
		t.Fatalf("effects: %+v %v", page.Items, err)
	}
}
