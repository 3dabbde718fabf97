package events_test

import (
	"context"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/store"
)

// Events follow the process's retention; processed markers keep theirs.
func TestEventRetention(t *testing.T) {
	at := time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)
	ttl := func() time.Duration {
		w, err := events.OutboxWrite(events.New(context.Background(), "acme", events.ContactCreated, at, events.Entity{Type: "contact", ID: "c"}))
		if err != nil {
			t.Fatal(err)
		}
		return w.Item.ExpiresAt.Sub(at)
	}
	t.Cleanup(func() { _ = events.SetEventRetention(0) })
	for _, tc := range []struct {
		set  time.Duration
		want time.Duration
		bad  bool
	}{
		{0, events.Retention, false},
		{400 * 24 * time.Hour, 400 * 24 * time.Hour, false},
		{-time.Hour, 400 * 24 * time.Hour, true}, // refused: the last setting stands
		{events.MaxEventRetention + time.Hour, 400 * 24 * time.Hour, true},
		{0, 30 * 24 * time.Hour, false},
	} {
		if err := events.SetEventRetention(tc.set); (err != nil) != tc.bad {
			t.Errorf("SetEventRetention(%s): %v", tc.set, err)
		}
		if got := ttl(); got != tc.want || events.EventRetention() != tc.want {
			t.Errorf("after SetEventRetention(%s): events kept %s (%s), want %s", tc.set, got, events.EventRetention(), tc.want)
		}
	}

	// A consumer's marker keeps 30 days however long events are kept.
	if err := events.SetEventRetention(400 * 24 * time.Hour); err != nil {
		t.Fatal(err)
	}
	st, cs := setup(t)
	cs.Register(events.Handler{Name: "h", Types: []events.Type{events.ContactCreated},
		Handle: func(context.Context, events.Envelope) ([]store.Write, error) { return nil, nil }})
	ev := events.New(context.Background(), "acme", events.ContactCreated, at, events.Entity{Type: "contact", ID: "c"})
	if errs := cs.Publish(context.Background(), []events.Envelope{ev}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	page, err := st.Query(context.Background(), store.Query{PK: store.Tenant("acme").PK("processed", "h", ev.Detail.EventID)})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("marker: %v %v", page.Items, err)
	}
	if got := time.Until(page.Items[0].ExpiresAt); got > events.ProcessedTTL || got < events.ProcessedTTL-time.Hour {
		t.Errorf("marker kept %s, want %s", got, events.ProcessedTTL)
	}
}
