package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/app"
	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/clock"
	"github.com/fedele-crm/fedele/core/customers"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/jobs"
	"github.com/fedele-crm/fedele/core/segments"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/internal/testsupport/enginetest"
)

// segmentWorld is an app on one engine with a fake clock, and the means
// to run what `fedele serve` runs in the background: the relay and the
// timers.
type segmentWorld struct {
	t     *testing.T
	ctx   context.Context
	st    store.Store
	clock *clock.Fake
	a     *app.App
}

func newSegmentWorld(t *testing.T, st store.Store, start time.Time) *segmentWorld {
	t.Helper()
	w := &segmentWorld{t: t, ctx: context.Background(), st: st, clock: clock.NewFake(start)}
	a, err := app.New(app.Ports{Store: st, Clock: w.clock, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	w.a = a
	return w
}

// settle relays the outbox to the consumers (jobs included) and fires the
// timers due, until nothing is left.
func (w *segmentWorld) settle() {
	w.t.Helper()
	relay := w.a.LocalRelay(time.Millisecond)
	for range 200 {
		n, err := relay.Drain(w.ctx)
		if err != nil {
			w.t.Fatal(err)
		}
		st, err := w.a.Timers.Drain(w.ctx, 0, w.a.Timers.FireAll)
		if err != nil {
			w.t.Fatal(err)
		}
		if n == 0 && st.Fired == 0 {
			return
		}
	}
	w.t.Fatal("the outbox never settled")
}

func (w *segmentWorld) member(tenant, segmentID, contactID string) bool {
	w.t.Helper()
	ok, err := w.a.Segments.IsMember(w.ctx, tenant, segmentID, contactID)
	if err != nil {
		w.t.Fatal(err)
	}
	return ok
}

// membershipEvents are the segment.entered / exited events of a contact's
// timeline, oldest first, as "entered@<time>".
func (w *segmentWorld) membershipEvents(tenant, contactID string) []string {
	w.t.Helper()
	page, err := w.st.Query(w.ctx, store.Query{Index: store.GSI2, PK: store.Tenant(tenant).PK("timeline", "contact", contactID)})
	if err != nil {
		w.t.Fatal(err)
	}
	var out []string
	for _, it := range page.Items {
		var ev events.Envelope
		if err := json.Unmarshal(it.Data, &ev); err != nil {
			w.t.Fatal(err)
		}
		if ev.DetailType == events.SegmentEntered || ev.DetailType == events.SegmentExited {
			out = append(out, strings.TrimPrefix(string(ev.DetailType), "segment.")+"@"+ev.Detail.Time.Format(time.RFC3339))
		}
	}
	return out
}

// A contact enters a relative-time segment at the very minute its
// condition becomes true and leaves it at the minute it stops, from the
// timers alone (nothing else happens to it), in the tenant's zone: 2 days
// after the last order is the second midnight in Rome, 23:00 UTC. On both
// engines.
func TestSegmentRelativeTimeFlips(t *testing.T) {
	for name, open := range enginetest.Engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newSegmentWorld(t, open(t), time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC))
			ctx := w.ctx
			if _, err := w.a.Tenants.Create(ctx, "acme", "Acme", "IT"); err != nil {
				t.Fatal(err)
			}
			if _, err := w.a.Tenants.Update(ctx, "acme", func(tn *core.Tenant) error { tn.TimeZone = "Europe/Rome"; return nil }); err != nil {
				t.Fatal(err)
			}
			sg, err := w.a.Segments.Create(ctx, "acme", segments.Dynamic, segments.SegmentFields{Name: "lapsing",
				Expression: `days_since(last_order) >= 2 && days_since(last_order) < 4`})
			if err != nil {
				t.Fatal(err)
			}
			c, err := w.a.Contacts.Create(ctx, "acme", core.ContactFields{FirstName: "Ada"})
			if err != nil {
				t.Fatal(err)
			}
			ordered := w.clock.Now()
			pw, err := customers.ProfileDoc.Put(customers.ProfileKey("acme", c.ID), 0, &customers.Profile{ContactID: c.ID,
				Purchases: customers.Purchases{Orders: 1, LastOrderAt: ordered, FirstOrderAt: ordered, Days: []customers.Day{{Date: "2026-03-10", Orders: 1}}}})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.st.Put(ctx, pw.Item, pw.Cond); err != nil {
				t.Fatal(err)
			}
			w.settle()
			if w.member("acme", sg.ID, c.ID) {
				t.Fatal("a member on the day of the order")
			}
			for _, step := range []struct {
				at   time.Time
				want bool
			}{
				{time.Date(2026, 3, 11, 22, 59, 0, 0, time.UTC), false},
				{time.Date(2026, 3, 11, 23, 0, 0, 0, time.UTC), true}, // 12 March, 00:00 in Rome
				{time.Date(2026, 3, 13, 22, 59, 0, 0, time.UTC), true},
				{time.Date(2026, 3, 13, 23, 0, 0, 0, time.UTC), false},
			} {
				w.clock.Set(step.at)
				w.settle()
				if got := w.member("acme", sg.ID, c.ID); got != step.want {
					t.Fatalf("at %s: member %v, want %v", step.at.Format(time.RFC3339), got, step.want)
				}
			}
			want := []string{"entered@2026-03-11T23:00:00Z", "exited@2026-03-13T23:00:00Z"}
			if got := w.membershipEvents("acme", c.ID); strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("membership events %v, want %v", got, want)
			}
		})
	}
}

// Another tenant's contacts are never in a segment, its members page, its
// count or its export, whatever they match; and a segment, its members
// and its export are not found from another tenant. On both engines.
func TestSegmentTenantIsolation(t *testing.T) {
	for name, open := range enginetest.Engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newSegmentWorld(t, open(t), time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC))
			ctx := w.ctx
			for _, tn := range []string{"acme", "evil"} {
				if _, err := w.a.Tenants.Create(ctx, tn, tn, "US"); err != nil {
					t.Fatal(err)
				}
			}
			mine, err := w.a.Contacts.Create(ctx, "acme", core.ContactFields{FirstName: "Ada", Tags: []string{"vip"},
				Emails: []core.Email{{Address: "ada@acme.example", Primary: true}}})
			if err != nil {
				t.Fatal(err)
			}
			theirs, err := w.a.Contacts.Create(ctx, "evil", core.ContactFields{FirstName: "Eve", Tags: []string{"vip"},
				Emails: []core.Email{{Address: "eve@evil.example", Primary: true}}})
			if err != nil {
				t.Fatal(err)
			}
			sg, err := w.a.Segments.Create(ctx, "acme", segments.Dynamic, segments.SegmentFields{Name: "vips", Expression: `"vip" in contact.tags`})
			if err != nil {
				t.Fatal(err)
			}
			list, err := w.a.Segments.Create(ctx, "acme", segments.Static, segments.SegmentFields{Name: "hand-picked"})
			if err != nil {
				t.Fatal(err)
			}
			w.settle()
			// The other tenant's contact, by id or by e-mail, cannot join acme's list.
			rs, err := w.a.Segments.ChangeMembers(ctx, "acme", list.ID, true, []segments.MemberRef{
				{ContactID: mine.ID}, {ContactID: theirs.ID}, {Email: "eve@evil.example"}})
			if err != nil {
				t.Fatal(err)
			}
			if got := []string{rs[0].Outcome, rs[1].Outcome, rs[2].Outcome}; strings.Join(got, ",") != "added,not_found,not_found" {
				t.Errorf("batch outcomes %v", got)
			}
			for _, id := range []string{sg.ID, list.ID} {
				ms, _, err := w.a.Segments.Members(ctx, "acme", id, 50, "")
				if err != nil {
					t.Fatal(err)
				}
				if len(ms) != 1 || ms[0].ContactID != mine.ID {
					t.Errorf("members of %s: %+v, want only %s", id, ms, mine.ID)
				}
				if n, err := w.a.Segments.Count(ctx, "acme", id); err != nil || n != 1 {
					t.Errorf("count of %s: %d, %v", id, n, err)
				}
				if _, err := w.a.Segments.Get(ctx, "evil", segments.Dynamic, id); core.ErrorCode(err) != core.CodeNotFound {
					t.Errorf("acme's %s from evil: %v, want not found", id, err)
				}
				if ms, _, _ := w.a.Segments.Members(ctx, "evil", id, 50, ""); len(ms) != 0 {
					t.Errorf("acme's members read from evil: %+v", ms)
				}
			}
			if _, err := w.a.Segments.ChangeMembers(ctx, "evil", list.ID, true, []segments.MemberRef{{ContactID: theirs.ID}}); core.ErrorCode(err) != core.CodeNotFound {
				t.Errorf("evil adding to acme's list: %v, want not found", err)
			}
			// A cursor of acme's members is refused for the same segment read as evil.
			if _, next, _ := w.a.Segments.Members(ctx, "acme", sg.ID, 1, ""); next != "" {
				if _, _, err := w.a.Segments.Members(ctx, "evil", sg.ID, 1, next); core.ErrorCode(err) != core.CodeInvalid {
					t.Errorf("acme's cursor used by evil: %v", err)
				}
			}

			j, err := w.a.Segments.StartExport(ctx, "acme", segments.Dynamic, sg.ID, segments.ExportRequest{Format: "csv", Fields: []string{"id", "email"}})
			if err != nil {
				t.Fatal(err)
			}
			w.settle()
			if got, err := w.a.Jobs.Get(ctx, "acme", j.ID); err != nil || got.Status != jobs.Done {
				t.Fatalf("export job: %+v %v", got, err)
			}
			e, err := w.a.Segments.GetExport(ctx, "acme", j.ID)
			if err != nil {
				t.Fatal(err)
			}
			var file bytes.Buffer
			for n := range e.Parts {
				b, err := e.Part(ctx, n)
				if err != nil {
					t.Fatal(err)
				}
				file.Write(b)
			}
			if want := "id,email\n" + mine.ID + ",ada@acme.example\n"; file.String() != want {
				t.Errorf("export file %q, want %q", file.String(), want)
			}
			if _, err := w.a.Segments.GetExport(ctx, "evil", j.ID); core.ErrorCode(err) != core.CodeNotFound {
				t.Errorf("acme's export from evil: %v, want not found", err)
			}
			if _, err := w.a.Segments.StartExport(ctx, "evil", segments.Dynamic, sg.ID, segments.ExportRequest{Format: "csv"}); core.ErrorCode(err) != core.CodeNotFound {
				t.Errorf("evil exporting acme's segment: %v, want not found", err)
			}
		})
	}
}
