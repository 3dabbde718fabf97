package functions_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/core/timers"
	"github.com/fedele-crm/fedele/internal/testsupport/fakebus"
	"github.com/fedele-crm/fedele/schemas"
)

// TestTimersThroughSchedulerAndWorker is the AWS path of timers: the
// scheduler function's tick hands each due timer to the bus as timer.due
// (and not the ones not yet due, nor the same ones again on the next tick:
// they are leased); the worker function, given each event twice, acts on
// each timer once — its timer.fired event written exactly once.
func TestTimersThroughSchedulerAndWorker(t *testing.T) {
	name, endpoint, _, st := table(t)
	ctx := context.Background()
	a := appOn(t, st)
	const due = 25
	var ids []string
	for i := range due + 1 {
		at := time.Now().Add(-time.Duration(i) * time.Second) // the functions run on the wall clock
		if i == due {
			at = time.Now().Add(time.Hour)
		}
		tm, err := a.Timers.Schedule(ctx, "acme", core.TimerRequest{Kind: timers.KindEmit, Subject: fmt.Sprint("s", i), Due: at})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tm.ID)
	}
	bus := fakebus.New()
	defer bus.Close()
	sched := newRuntime(t)
	sched.start("scheduler", "PUBLIC_URL=https://crm.example.test", "TABLE_NAME="+name, "DYNAMODB_ENDPOINT="+endpoint, "EVENT_BUS_NAME=fedele", "EVENTBRIDGE_ENDPOINT="+bus.URL)
	tick := map[string]any{"version": "0", "id": "tick", "detail-type": "Scheduled Event", "source": "aws.events", "detail": map[string]any{}}
	for range 2 {
		if inv := sched.invoke(tick); inv.errBody != nil {
			t.Fatalf("scheduler error: %s", inv.errBody)
		}
	}
	handed := bus.Accepted()
	if len(handed) != due {
		t.Fatalf("the scheduler handed %d timers to the bus in two ticks, want the %d due, once each", len(handed), due)
	}
	worker := newRuntime(t)
	worker.start("worker", "PUBLIC_URL=https://crm.example.test", "TABLE_NAME="+name, "DYNAMODB_ENDPOINT="+endpoint)
	for _, e := range handed {
		if e.DetailType != string(events.TimerDue) {
			t.Fatalf("the scheduler sent %s", e.DetailType)
		}
		if err := schemas.ValidateEventDetail(e.DetailType, []byte(e.Detail)); err != nil {
			t.Fatalf("timer.due against its schema: %v", err)
		}
		bridge := map[string]any{"version": "0", "id": "eb", "detail-type": e.DetailType, "source": e.Source, "account": "123456789012",
			"time": time.Now().UTC(), "region": "us-east-1", "resources": []string{}, "detail": json.RawMessage(e.Detail)}
		for range 2 { // EventBridge delivers at least once
			if inv := worker.invoke(bridge); inv.errBody != nil {
				t.Fatalf("worker error: %s", inv.errBody)
			}
		}
	}
	for i, id := range ids {
		tm, err := a.Timers.Get(ctx, "acme", id)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]string{true: core.TimerPending, false: core.TimerFired}[i == due]; tm.State != want {
			t.Errorf("timer %d is %s, want %s", i, tm.State, want)
		}
	}
	fired := 0
	for _, it := range pendingOutbox(t, st) {
		ev, err := events.Decode(it)
		if err != nil {
			t.Fatal(err)
		}
		if ev.DetailType == events.TimerFired {
			fired++
			data, _ := json.Marshal(ev.Detail)
			if err := schemas.ValidateEventDetail(string(ev.DetailType), data); err != nil {
				t.Fatalf("timer.fired against its schema: %v", err)
			}
		}
	}
	if fired != due {
		t.Fatalf("%d timer.fired events, want %d: one per timer", fired, due)
	}
}

func pendingOutbox(t *testing.T, st store.Store) []store.Item {
	t.Helper()
	var items []store.Item
	for shard := range events.PendingShards {
		page, err := st.Query(context.Background(), store.Query{Index: events.PendingIndex, PK: events.PendingPK(shard)})
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, page.Items...)
	}
	return items
}
