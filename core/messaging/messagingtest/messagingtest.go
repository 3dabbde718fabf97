// Package messagingtest holds the delivery scenarios every engine must
// pass (the "tests that must exist" about sending): consent
// revoked between scheduling and sending, a capped message deferred and
// then sent, quiet hours across DST changes in two time zones, and a
// double delivery of the same event requesting one message. Each runs on
// a store it is given, with a fake clock; core/messaging runs them on the
// in-memory store and app on the embedded file and DynamoDB Local.
//
// It is for tests only and must never be imported by production code.
package messagingtest

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/clock"
	"github.com/fedele-crm/fedele/core/contacts"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/messaging"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/core/tenancy"
	"github.com/fedele-crm/fedele/core/timers"
)

// T0 is when every scenario starts: a Tuesday, 10:00 UTC, outside any
// quiet hours in Europe and America.
var T0 = time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)

// Rig is the delivery service on a store with a fake clock.
type Rig struct {
	St       store.Store
	Clock    *clock.Fake
	Tenants  *tenancy.Tenants
	Contacts *contacts.Contacts
	Timers   *timers.Service
	Delivery *messaging.Delivery
}

// NewRig builds a rig on st with tenants acme (Europe/Rome) and globex
// (America/New_York).
func NewRig(t testing.TB, st store.Store) *Rig {
	t.Helper()
	r := &Rig{St: st, Clock: clock.NewFake(T0)}
	now := func() time.Time { return r.Clock.Now().UTC() }
	r.Tenants = tenancy.NewTenants(st, now)
	r.Contacts = contacts.NewContacts(st, r.Tenants, now)
	r.Timers = timers.New(st, r.Clock, slog.New(slog.DiscardHandler))
	r.Delivery = messaging.New(st, r.Tenants, r.Contacts, r.Timers, now, "https://crm.example.com")
	r.Timers.Register(r.Delivery.TimerHandler())
	ctx := context.Background()
	for id, zone := range map[string]string{"acme": "Europe/Rome", "globex": "America/New_York"} {
		if _, err := r.Tenants.Create(ctx, id, id, "IT"); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Tenants.Update(ctx, id, func(tn *core.Tenant) error { tn.TimeZone = zone; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// Contact makes a contact of tenant consenting to e-mail and SMS.
func (r *Rig) Contact(t testing.TB, tenant, email, zone string) core.Contact {
	t.Helper()
	granted := &core.ChannelConsent{Status: core.ConsentGranted, Source: "signup form"}
	c, err := r.Contacts.Create(context.Background(), tenant, core.ContactFields{FirstName: "Ada",
		Emails: []core.Email{{Address: email}}, Phones: []core.Phone{{Number: "+393471234567", Label: "mobile"}},
		TimeZone: zone, Consent: &core.Consent{Email: granted, SMS: granted}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// SetPolicy sets tenant's delivery policy.
func (r *Rig) SetPolicy(t testing.TB, tenant string, p messaging.Policy) {
	t.Helper()
	if _, err := r.Delivery.SetPolicy(context.Background(), tenant, p, 0); err != nil {
		t.Fatal(err)
	}
}

// Request asks for a message and fails the test on an error.
func (r *Rig) Request(t testing.TB, tenant string, req messaging.Request) messaging.Outcome {
	t.Helper()
	out, err := r.Delivery.Request(context.Background(), tenant, req)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Drain fires the timers due now.
func (r *Rig) Drain(t testing.TB) timers.DrainStats {
	t.Helper()
	st, err := r.Timers.Drain(context.Background(), 0, r.Timers.FireAll)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// Message reads a message.
func (r *Rig) Message(t testing.TB, tenant, id string) messaging.Message {
	t.Helper()
	m, err := r.Delivery.Get(context.Background(), tenant, id)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Timeline counts the events of each type on a contact's timeline.
func (r *Rig) Timeline(t testing.TB, tenant, contactID string) map[events.Type]int {
	t.Helper()
	out := map[events.Type]int{}
	cursor := ""
	for {
		p, err := r.St.Query(context.Background(), store.Query{Index: events.TimelineIndex,
			PK: events.TimelinePK(tenant, "contact", contactID), Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range p.Items {
			ev, err := events.Decode(it)
			if err != nil {
				t.Fatal(err)
			}
			out[ev.DetailType]++
		}
		if cursor = p.Next; cursor == "" {
			return out
		}
	}
}

func campaign(contactID, step string) messaging.Request {
	return messaging.Request{ContactID: contactID, Channel: messaging.Email, Template: "spring-sale",
		CampaignID: "spring", Variant: "a", Step: step, Merge: map[string]any{"first_name": "Ada"}}
}

// ConsentRevoked: a message scheduled for later (a campaign's send time)
// is deferred with consent granted; consent is withdrawn before it is due;
// when its timer fires the whole policy runs again and it is skipped,
// recorded as no_consent — never sent.
func ConsentRevoked(t *testing.T, st store.Store) {
	r := NewRig(t, st)
	ctx := context.Background()
	c := r.Contact(t, "acme", "ada@example.com", "Europe/Rome")
	req := campaign(c.ID, "1")
	req.NotBefore = T0.Add(2 * time.Hour)
	out := r.Request(t, "acme", req)
	if out.Message.Status != messaging.StatusDeferred || out.Message.DeferredBy != "not_before" || !out.Message.DeferredUntil.Equal(req.NotBefore) {
		t.Fatalf("scheduled: %+v, want deferred by not_before to %v", out.Message, req.NotBefore)
	}
	if _, err := r.Contacts.Update(ctx, "acme", c.ID, 0, func(f *core.ContactFields) error {
		f.Consent.Email = &core.ChannelConsent{Status: core.ConsentDenied, Source: "preference centre"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	r.Clock.Advance(time.Hour)
	if st := r.Drain(t); st.Fired != 0 {
		t.Fatalf("fired an hour early: %+v", st)
	}
	r.Clock.Advance(time.Hour)
	if st := r.Drain(t); st.Fired != 1 {
		t.Fatalf("at its time: %+v, want one fired", st)
	}
	m := r.Message(t, "acme", out.Message.ID)
	if m.Status != messaging.StatusSkipped || m.Reason != messaging.ReasonNoConsent {
		t.Fatalf("after consent was withdrawn: %s (%s), want skipped (no_consent)", m.Status, m.Reason)
	}
	tl := r.Timeline(t, "acme", c.ID)
	if tl[events.MessageRequested] != 0 || tl[events.MessageSkipped] != 1 || tl[events.MessageDeferred] != 1 {
		t.Fatalf("timeline %v: want one deferred, one skipped, none requested", tl)
	}
	// Asking again changes nothing: the step is decided.
	if again := r.Request(t, "acme", req); !again.Duplicate || again.Message.Status != messaging.StatusSkipped {
		t.Fatalf("asked again: %+v", again)
	}
}

// CappedThenSent: with a cap of 2 e-mails a day, the third campaign's
// message is deferred to when the first send leaves the window — and then
// sent; with on_cap drop it would have been skipped as capped.
func CappedThenSent(t *testing.T, st store.Store) {
	r := NewRig(t, st)
	c := r.Contact(t, "acme", "ada@example.com", "Europe/Rome")
	r.SetPolicy(t, "acme", messaging.Policy{Caps: []messaging.Cap{{Channel: "email", Max: 2, Window: "24h"}}})
	for i, step := range []string{"1", "2"} {
		if out := r.Request(t, "acme", campaign(c.ID, step)); out.Message.Status != messaging.StatusRequested {
			t.Fatalf("message %d: %s (%s), want requested", i+1, out.Message.Status, out.Message.Reason)
		}
		r.Clock.Advance(time.Hour)
	}
	dropped := campaign(c.ID, "drop")
	dropped.OnCap = messaging.CapDrop
	if out := r.Request(t, "acme", dropped); out.Message.Status != messaging.StatusSkipped || out.Message.Reason != messaging.ReasonCapped {
		t.Fatalf("capped with drop: %s (%s), want skipped (capped)", out.Message.Status, out.Message.Reason)
	}
	third := r.Request(t, "acme", campaign(c.ID, "3"))
	want := T0.Add(24 * time.Hour) // the first send leaves the window
	if m := third.Message; m.Status != messaging.StatusDeferred || m.DeferredBy != "cap" || !m.DeferredUntil.Equal(want) {
		t.Fatalf("capped with defer: %s by %s until %v, want deferred by cap until %v", m.Status, m.DeferredBy, m.DeferredUntil, want)
	}
	r.Clock.Set(want.Add(-time.Second))
	if st := r.Drain(t); st.Fired != 0 {
		t.Fatalf("fired before the slot was free: %+v", st)
	}
	r.Clock.Set(want)
	if st := r.Drain(t); st.Fired != 1 {
		t.Fatalf("at the free slot: %+v, want one fired", st)
	}
	m := r.Message(t, "acme", third.Message.ID)
	if m.Status != messaging.StatusRequested || !m.RequestedAt.Equal(want) || m.Unsubscribe == nil {
		t.Fatalf("after the deferral: %+v, want requested at %v with an unsubscribe link", m, want)
	}
	if tl := r.Timeline(t, "acme", c.ID); tl[events.MessageRequested] != 3 || tl[events.MessageDeferred] != 1 || tl[events.MessageSkipped] != 1 {
		t.Fatalf("timeline %v: want 3 requested, 1 deferred, 1 skipped", tl)
	}
}

// QuietHoursAcrossDST: quiet hours 21:00–08:00 recipient-local, in two
// zones, on the nights their clocks change (Europe/Rome springs forward on
// 29 March 2026 and falls back on 25 October; America/New_York on 8 March
// and 1 November). A message asked for at 23:00 local the evening before
// is deferred to 08:00 local the next morning — 8 or 10 hours later, not
// 9 — and sent then.
func QuietHoursAcrossDST(t *testing.T, st store.Store) {
	r := NewRig(t, st)
	r.SetPolicy(t, "acme", messaging.Policy{QuietHours: map[string]messaging.QuietHours{"*": {Start: "21:00", End: "08:00"}}})
	cases := []struct {
		zone    string
		evening time.Time // 23:00 local, the night of the change
		hours   time.Duration
	}{
		// In time order: the fake clock only moves forward.
		{"America/New_York", time.Date(2026, 3, 7, 23, 0, 0, 0, zone(t, "America/New_York")), 8},
		{"Europe/Rome", time.Date(2026, 3, 28, 23, 0, 0, 0, zone(t, "Europe/Rome")), 8},
		{"Europe/Rome", time.Date(2026, 10, 24, 23, 0, 0, 0, zone(t, "Europe/Rome")), 10},
		{"America/New_York", time.Date(2026, 10, 31, 23, 0, 0, 0, zone(t, "America/New_York")), 10},
	}
	for i, tc := range cases {
		c := r.Contact(t, "acme", "dst"+string(rune('a'+i))+"@example.com", tc.zone)
		r.Clock.Set(tc.evening)
		out := r.Request(t, "acme", campaign(c.ID, "1"))
		loc := zone(t, tc.zone)
		y, m, d := tc.evening.Date()
		morning := time.Date(y, m, d+1, 8, 0, 0, 0, loc)
		if msg := out.Message; msg.Status != messaging.StatusDeferred || msg.DeferredBy != "quiet_hours" || !msg.DeferredUntil.Equal(morning) {
			t.Fatalf("%s, 23:00 on %v: %s by %s until %v, want deferred by quiet_hours until %v", tc.zone, tc.evening,
				msg.Status, msg.DeferredBy, msg.DeferredUntil.In(loc), morning)
		}
		if got := morning.Sub(tc.evening); got != tc.hours*time.Hour {
			t.Fatalf("%s: the night lasted %v, want %v (the clocks changed)", tc.zone, got, tc.hours*time.Hour)
		}
		if msg := out.Message; msg.TimeZone != tc.zone || msg.TimeZoneSource != messaging.ZoneContact {
			t.Fatalf("%s: read in %s (%s)", tc.zone, msg.TimeZone, msg.TimeZoneSource)
		}
		r.Clock.Set(morning.Add(-time.Minute))
		r.Drain(t)
		if got := r.Message(t, "acme", out.Message.ID); got.Status != messaging.StatusDeferred {
			t.Fatalf("%s: %s at 07:59 local, want still deferred", tc.zone, got.Status)
		}
		r.Clock.Set(morning)
		r.Drain(t)
		if got := r.Message(t, "acme", out.Message.ID); got.Status != messaging.StatusRequested || !got.RequestedAt.Equal(morning) {
			t.Fatalf("%s: %s at %v, want requested at 08:00 local", tc.zone, got.Status, got.RequestedAt.In(loc))
		}
	}
}

func zone(t testing.TB, name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// DoubleDelivery: a consumer that requests a message for an event gets
// that event twice (at least once delivery), fails once after requesting
// (so it is retried), and a third copy arrives concurrently with a
// fourth: one message, one message.requested event. A deferred message's
// timer acted on twice (the worker's redelivered timer.due) decides once.
func DoubleDelivery(t *testing.T, st store.Store) {
	r := NewRig(t, st)
	ctx := context.Background()
	c := r.Contact(t, "acme", "ada@example.com", "Europe/Rome")
	var failOnce sync.Once
	var mu sync.Mutex
	ids := map[string]bool{}
	h := events.Handler{Name: "campaign-step", Types: []events.Type{events.TimerFired}, Handle: func(ctx context.Context, ev events.Envelope) ([]store.Write, error) {
		out, err := r.Delivery.Request(ctx, ev.Detail.Tenant, campaign(c.ID, "welcome"))
		if err != nil {
			return nil, err
		}
		mu.Lock()
		ids[out.Message.ID] = true
		mu.Unlock()
		var fail error
		failOnce.Do(func() { fail = errors.New("crashed after requesting") })
		return nil, fail
	}}
	cs := events.NewConsumers(st, slog.New(slog.DiscardHandler), r.Clock.Now)
	cs.Backoff = time.Millisecond
	cs.Register(h)
	ev := events.New(ctx, "acme", events.TimerFired, T0, events.Entity{Type: "timer", ID: core.NewID(T0), Data: []byte(`{}`)})
	for _, err := range cs.Publish(ctx, []events.Envelope{ev, ev}) {
		if err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, err := r.Delivery.Request(ctx, "acme", campaign(c.ID, "welcome")); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if len(ids) != 1 {
		t.Fatalf("%d message ids for one event, want 1", len(ids))
	}
	if tl := r.Timeline(t, "acme", c.ID); tl[events.MessageRequested] != 1 {
		t.Fatalf("timeline %v: want one message.requested", tl)
	}

	// A timer handed out twice acts once.
	later := campaign(c.ID, "later")
	later.NotBefore = T0.Add(time.Hour)
	out := r.Request(t, "acme", later)
	r.Clock.Advance(time.Hour)
	h2 := r.Delivery.TimerHandler()
	tm := core.Timer{Tenant: "acme", TimerRequest: core.TimerRequest{Kind: messaging.TimerKind, Subject: out.Message.ID}}
	for range 2 {
		writes, err := h2.Handle(ctx, tm)
		if err != nil {
			t.Fatal(err)
		}
		if len(writes) > 0 {
			if err := st.Transact(ctx, writes); err != nil {
				t.Fatal(err)
			}
		}
	}
	r.Drain(t) // the real timer, late: the message is decided already
	if tl := r.Timeline(t, "acme", c.ID); tl[events.MessageRequested] != 2 {
		t.Fatalf("timeline %v: want two message.requested (welcome, later)", tl)
	}
}
