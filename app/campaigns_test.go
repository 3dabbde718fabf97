package app_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/app"
	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/campaigns"
	"github.com/fedele-crm/fedele/core/clock"
	"github.com/fedele-crm/fedele/core/commerce"
	"github.com/fedele-crm/fedele/core/customers"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/messaging"
	"github.com/fedele-crm/fedele/core/plugins"
	"github.com/fedele-crm/fedele/core/segments"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/infra/blobfs"
	"github.com/fedele-crm/fedele/infra/wasm"
	"github.com/fedele-crm/fedele/internal/testsupport/enginetest"
	"github.com/fedele-crm/fedele/plugins/examples/winback"
	"github.com/fedele-crm/fedele/plugins/pdk"
)

// campaignT0 is a Tuesday, 10:00 UTC: no quiet hours anywhere near.
var campaignT0 = time.Date(2026, 3, 17, 10, 0, 0, 0, time.UTC)

// campaignWorld is an app on one engine with a fake clock and what
// `fedele serve` runs in the background (relay, timers), as segmentWorld.
type campaignWorld struct {
	*segmentWorld
}

func newCampaignWorld(t *testing.T, st store.Store, p app.Ports) *campaignWorld {
	t.Helper()
	w := &segmentWorld{t: t, ctx: context.Background(), st: st, clock: clock.NewFake(campaignT0)}
	p.Store, p.Clock, p.Log = st, w.clock, slog.New(slog.DiscardHandler)
	a, err := app.New(p)
	if err != nil {
		t.Fatal(err)
	}
	w.a = a
	for _, id := range []string{"acme", "globex"} {
		if _, err := a.Tenants.Create(w.ctx, id, id, "IT"); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Tenants.Update(w.ctx, id, func(tn *core.Tenant) error { tn.TimeZone = "Europe/Rome"; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	return &campaignWorld{w}
}

// contacts makes n contacts of tenant consenting to e-mail (in zone, when
// given) and a list holding them.
func (w *campaignWorld) contacts(tenant string, n int, zone string) (listID string, ids []string) {
	w.t.Helper()
	granted := &core.ChannelConsent{Status: core.ConsentGranted, Source: "signup form"}
	var refs []segments.MemberRef
	for i := range n {
		c, err := w.a.Contacts.Create(w.ctx, tenant, core.ContactFields{FirstName: fmt.Sprintf("C%d", i),
			Emails: []core.Email{{Address: fmt.Sprintf("c%d-%s@%s.example", i, strings.ReplaceAll(zone, "/", "-"), tenant)}}, TimeZone: zone,
			Consent: &core.Consent{Email: granted}})
		if err != nil {
			w.t.Fatal(err)
		}
		ids = append(ids, c.ID)
		refs = append(refs, segments.MemberRef{ContactID: c.ID})
	}
	l, err := w.a.Segments.Create(w.ctx, tenant, segments.Static, segments.SegmentFields{Name: "audience " + zone})
	if err != nil {
		w.t.Fatal(err)
	}
	rs, err := w.a.Segments.ChangeMembers(w.ctx, tenant, l.ID, true, refs)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, r := range rs {
		if r.Outcome != segments.OutcomeAdded {
			w.t.Fatalf("add member: %+v", r)
		}
	}
	w.settle()
	return l.ID, ids
}

func (w *campaignWorld) campaign(tenant string, f campaigns.CampaignFields) campaigns.Campaign {
	w.t.Helper()
	c, err := w.a.Campaigns.Create(w.ctx, tenant, f)
	if err != nil {
		w.t.Fatal(err)
	}
	if c, err = w.a.Campaigns.Schedule(w.ctx, tenant, c.ID, c.Version); err != nil {
		w.t.Fatal(err)
	}
	return c
}

func (w *campaignWorld) recipients(tenant, id string) map[string]campaigns.CampaignRecipient {
	w.t.Helper()
	out := map[string]campaigns.CampaignRecipient{}
	cursor := ""
	for {
		rs, next, err := w.a.Campaigns.Recipients(w.ctx, tenant, id, 200, cursor)
		if err != nil {
			w.t.Fatal(err)
		}
		for _, r := range rs {
			out[r.ContactID] = r
		}
		if cursor = next; cursor == "" {
			return out
		}
	}
}

func (w *campaignWorld) performance(tenant, id string) map[string]campaigns.CampaignVariantStats {
	w.t.Helper()
	p, err := w.a.Campaigns.Performance(w.ctx, tenant, id)
	if err != nil {
		w.t.Fatal(err)
	}
	out := map[string]campaigns.CampaignVariantStats{}
	for _, g := range p.Groups {
		out[g.Variant] = g
	}
	return out
}

// messageEvents are the message.* events on a contact's timeline.
func (w *campaignWorld) messageEvents(tenant, contactID string) []string {
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
		if strings.HasPrefix(string(ev.DetailType), "message.") {
			out = append(out, string(ev.DetailType))
		}
	}
	return out
}

func (w *campaignWorld) campaignStatus(tenant, id string) campaigns.Status {
	w.t.Helper()
	c, err := w.a.Campaigns.Get(w.ctx, tenant, id)
	if err != nil {
		w.t.Fatal(err)
	}
	return c.Status
}

// A holdout receives nothing and is counted: its recipients are enrolled
// (variant holdout) with no message and no message event on their
// timeline, the performance counts them, and a holdout recipient's order
// converts the holdout, with its revenue. On both engines.
func TestCampaignHoldoutReceivesNothingAndIsCounted(t *testing.T) {
	for name, open := range enginetest.Engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newCampaignWorld(t, open(t), app.Ports{})
			list, ids := w.contacts("acme", 40, "")
			variants := []campaigns.CampaignVariant{{Name: "a", Share: 50}, {Name: "b", Template: "spring-b", Share: 50}}
			c := w.campaign("acme", campaigns.CampaignFields{Name: "Spring", ListID: list, Channel: messaging.Email, Template: "spring-a",
				Merge:    []campaigns.MergeField{{Name: "name", Field: "first_name"}, {Name: "city", Field: "city", Default: "your town"}},
				Variants: variants, HoldoutPercent: 30})
			w.settle()
			if s := w.campaignStatus("acme", c.ID); s != campaigns.Completed {
				t.Fatalf("campaign is %s after its launch, want completed", s)
			}
			rs := w.recipients("acme", c.ID)
			if len(rs) != len(ids) {
				t.Fatalf("%d recipients, want %d", len(rs), len(ids))
			}
			want := map[string]int64{}
			var held string
			for _, id := range ids {
				v := campaigns.Assign(c.ID, id, 30, variants)
				want[v]++
				r := rs[id]
				if r.Variant != v {
					t.Errorf("%s in %s, the hash says %s", id, r.Variant, v)
				}
				evs := w.messageEvents("acme", id)
				if v == campaigns.Holdout {
					held = id
					if r.MessageID != "" || len(evs) != 0 {
						t.Errorf("holdout %s: message %q, events %v: it must receive nothing", id, r.MessageID, evs)
					}
					continue
				}
				if r.MessageStatus != messaging.StatusRequested || !slices.Equal(evs, []string{"message.requested"}) {
					t.Errorf("%s (%s): message %s, events %v", id, v, r.MessageStatus, evs)
				}
				m, err := w.a.Messaging.Get(w.ctx, "acme", r.MessageID)
				if err != nil {
					t.Fatal(err)
				}
				tmpl := map[string]string{"a": "spring-a", "b": "spring-b"}[v]
				if m.Template != tmpl || m.Variant != v || m.Merge["city"] != "your town" || m.Merge["name"] == "" {
					t.Errorf("message of %s: template %s variant %s merge %v", v, m.Template, m.Variant, m.Merge)
				}
			}
			if want[campaigns.Holdout] == 0 || held == "" {
				t.Fatal("the hash held nobody out of 40 at 30%: change the fixture")
			}
			// The holdout converts: an order within the window.
			w.clock.Advance(24 * time.Hour)
			if _, err := w.a.Orders.Create(w.ctx, "acme", commerce.OrderFields{ExternalID: "o1", ContactID: held, Currency: "EUR",
				PlacedAt: w.clock.Now(), Lines: []commerce.Line{{Description: "frames", Quantity: 1, UnitPrice: 12900}}}); err != nil {
				t.Fatal(err)
			}
			w.settle()
			perf := w.performance("acme", c.ID)
			h := perf[campaigns.Holdout]
			if h.Enrolled != want[campaigns.Holdout] || h.Requested != 0 || h.Sent != 0 || h.Converted != 1 ||
				!slices.Equal(h.Revenue, []campaigns.CampaignRevenue{{Currency: "EUR", Amount: 12900}}) {
				t.Errorf("holdout performance %+v, want %d enrolled, nothing sent, one conversion of 129.00 EUR", h, want[campaigns.Holdout])
			}
			for _, v := range []string{"a", "b"} {
				if g := perf[v]; g.Enrolled != want[v] || g.Requested != want[v] || g.Sent != want[v] || g.Converted != 0 {
					t.Errorf("variant %s: %+v, want %d enrolled, requested and sent", v, g, want[v])
				}
			}
			if tr := perf["treated"]; tr.Enrolled != want["a"]+want["b"] {
				t.Errorf("treated: %+v", tr)
			}
		})
	}
}

// A campaign's revenue is what its converting orders bring in now: a
// partial refund takes the refunded part off, a cancelled order takes its
// whole net off (its conversion stands), and each recipient shows the
// order and what it counts for. On both engines.
func TestCampaignRevenueFollowsRefundsAndCancellations(t *testing.T) {
	for name, open := range enginetest.Engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newCampaignWorld(t, open(t), app.Ports{})
			list, ids := w.contacts("acme", 4, "")
			c := w.campaign("acme", campaigns.CampaignFields{Name: "Autumn", ListID: list, Channel: messaging.Email, Template: "autumn"})
			w.settle()
			w.clock.Advance(24 * time.Hour)
			order := func(contact, ext string, prices ...int64) commerce.Order {
				var lines []commerce.Line
				for _, p := range prices {
					lines = append(lines, commerce.Line{Description: "frames", Quantity: 1, UnitPrice: p})
				}
				o, err := w.a.Orders.Create(w.ctx, "acme", commerce.OrderFields{ExternalID: ext, ContactID: contact, Currency: "EUR",
					PlacedAt: w.clock.Now(), Lines: lines})
				if err != nil {
					t.Fatal(err)
				}
				return o
			}
			kept, cancelled := order(ids[0], "o-kept", 3000, 2000), order(ids[1], "o-cancelled", 4000)
			w.settle()
			revenue := func() []campaigns.CampaignRevenue { return w.performance("acme", c.ID)["main"].Revenue }
			if got := revenue(); !slices.Equal(got, []campaigns.CampaignRevenue{{Currency: "EUR", Amount: 9000}}) {
				t.Fatalf("revenue after two orders: %+v", got)
			}
			if _, err := w.a.Orders.Refund(w.ctx, "acme", kept.ID, 0, []commerce.LineRefund{{Line: 1, Amount: 2000}}); err != nil {
				t.Fatal(err)
			}
			if _, err := w.a.Orders.Change(w.ctx, "acme", cancelled.ID, 0, func(ch *commerce.OrderChange) error {
				ch.Status = commerce.OrderCancelled
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			w.settle()
			g := w.performance("acme", c.ID)["main"]
			if g.Converted != 2 || !slices.Equal(g.Revenue, []campaigns.CampaignRevenue{{Currency: "EUR", Amount: 3000}}) {
				t.Fatalf("after a refund of 20.00 and a cancellation: %+v, want 2 conversions and 30.00 EUR", g)
			}
			rs := w.recipients("acme", c.ID)
			if r := rs[ids[0]]; r.ConvertedOrder != kept.ID || r.Revenue != 3000 || r.Currency != "EUR" {
				t.Errorf("the refunded order's recipient: %+v", r.Enrolment)
			}
			if r := rs[ids[1]]; r.ConvertedOrder != cancelled.ID || r.Revenue != 0 || r.ConvertedAt.IsZero() {
				t.Errorf("the cancelled order's recipient: %+v", r.Enrolment)
			}
		})
	}
}

// Another tenant's contacts are never in a campaign: its list is not an
// audience here (422), its contacts get nothing from this tenant's
// campaign, and the campaign, its recipients and performance are not
// found from the other tenant. On both engines.
func TestCampaignNeverReachesAnotherTenant(t *testing.T) {
	for name, open := range enginetest.Engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newCampaignWorld(t, open(t), app.Ports{})
			theirs, theirIDs := w.contacts("globex", 5, "")
			ours, ourIDs := w.contacts("acme", 5, "")
			f := campaigns.CampaignFields{Name: "Theirs", ListID: theirs, Channel: messaging.Email, Template: "t"}
			if _, err := w.a.Campaigns.Create(w.ctx, "acme", f); core.ErrorCode(err) != core.CodeInvalid || !strings.Contains(fmt.Sprint(err), "list_id") {
				t.Fatalf("a campaign to another tenant's list: %v, want 422 at list_id", err)
			}
			f.ListID = ours
			c := w.campaign("acme", f)
			w.settle()
			rs := w.recipients("acme", c.ID)
			for _, id := range theirIDs {
				if _, in := rs[id]; in || len(w.messageEvents("globex", id)) != 0 {
					t.Errorf("globex's %s reached by acme's campaign", id)
				}
			}
			if len(rs) != len(ourIDs) {
				t.Errorf("%d recipients, want acme's %d", len(rs), len(ourIDs))
			}
			if _, err := w.a.Campaigns.Get(w.ctx, "globex", c.ID); core.ErrorCode(err) != core.CodeNotFound {
				t.Errorf("globex reads acme's campaign: %v", err)
			}
			if _, _, err := w.a.Campaigns.Recipients(w.ctx, "globex", c.ID, 10, ""); core.ErrorCode(err) != core.CodeNotFound {
				t.Errorf("globex lists acme's recipients: %v", err)
			}
			if _, err := w.a.Campaigns.Performance(w.ctx, "globex", c.ID); core.ErrorCode(err) != core.CodeNotFound {
				t.Errorf("globex reads acme's performance: %v", err)
			}
			// A cursor of acme's recipients shows globex nothing of acme's.
			if _, next, err := w.a.Campaigns.Recipients(w.ctx, "acme", c.ID, 2, ""); err != nil || next == "" {
				t.Fatalf("page: %q %v", next, err)
			} else if _, _, err := w.a.Campaigns.Recipients(w.ctx, "globex", c.ID, 2, next); core.ErrorCode(err) != core.CodeNotFound {
				t.Errorf("acme's cursor in globex: %v", err)
			}
		})
	}
}

// Consent revoked between scheduling and sending, through a campaign: a
// local-time campaign hands its messages to the delivery policy at launch,
// held until 09:00 in each recipient's zone (two zones here: Rome and New
// York); a recipient who withdraws consent before then is not sent to,
// and the performance says skipped. On both engines.
func TestCampaignConsentRevokedBeforeSending(t *testing.T) {
	for name, open := range enginetest.Engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newCampaignWorld(t, open(t), app.Ports{})
			rome, romeIDs := w.contacts("acme", 2, "Europe/Rome")
			_, nyIDs := w.contacts("acme", 2, "America/New_York")
			refs := []segments.MemberRef{{ContactID: nyIDs[0]}, {ContactID: nyIDs[1]}}
			if _, err := w.a.Segments.ChangeMembers(w.ctx, "acme", rome, true, refs); err != nil {
				t.Fatal(err)
			}
			w.settle()
			c := w.campaign("acme", campaigns.CampaignFields{Name: "Morning", ListID: rome, Channel: messaging.Email, Template: "t",
				Schedule: campaigns.CampaignSchedule{Kind: campaigns.SendLocalTime, Date: "2026-03-18", Time: "09:00"}})
			// 09:00 on the 18th comes first in UTC+14, on the 17th at 19:00 UTC:
			// the launch waits for it.
			if c.Status != campaigns.Scheduled || !c.LaunchAt.Equal(time.Date(2026, 3, 17, 19, 0, 0, 0, time.UTC)) {
				t.Fatalf("scheduled: %s at %s", c.Status, c.LaunchAt)
			}
			w.clock.Set(c.LaunchAt)
			w.settle()
			rs := w.recipients("acme", c.ID)
			wantAt := map[string]time.Time{}
			for _, id := range romeIDs {
				wantAt[id] = time.Date(2026, 3, 18, 8, 0, 0, 0, time.UTC) // CET
			}
			for _, id := range nyIDs {
				wantAt[id] = time.Date(2026, 3, 18, 13, 0, 0, 0, time.UTC) // EDT since 8 March
			}
			for id, at := range wantAt {
				r := rs[id]
				if r.MessageStatus != messaging.StatusDeferred || !r.SendAt.Equal(at) {
					t.Errorf("%s: %s until %s, want deferred until %s", id, r.MessageStatus, r.SendAt, at)
				}
			}
			// Consent withdrawn by a Rome and a New York recipient after
			// scheduling, before their time.
			for _, id := range []string{romeIDs[0], nyIDs[0]} {
				if _, err := w.a.Contacts.Update(w.ctx, "acme", id, 0, func(f *core.ContactFields) error {
					f.Consent = &core.Consent{Email: &core.ChannelConsent{Status: core.ConsentDenied, Source: "preference centre"}}
					return nil
				}); err != nil {
					t.Fatal(err)
				}
			}
			w.clock.Set(time.Date(2026, 3, 18, 13, 1, 0, 0, time.UTC))
			w.settle()
			rs = w.recipients("acme", c.ID)
			for id, want := range map[string]messaging.Status{romeIDs[0]: messaging.StatusSkipped, nyIDs[0]: messaging.StatusSkipped,
				romeIDs[1]: messaging.StatusRequested, nyIDs[1]: messaging.StatusRequested} {
				if r := rs[id]; r.MessageStatus != want || want == messaging.StatusSkipped && r.MessageReason != messaging.ReasonNoConsent {
					t.Errorf("%s: %s (%s), want %s", id, r.MessageStatus, r.MessageReason, want)
				}
			}
			if g := w.performance("acme", c.ID)["main"]; g.Requested != 4 || g.Sent != 2 || g.Skipped != 2 {
				t.Errorf("performance %+v, want 4 requested, 2 sent, 2 skipped", g)
			}
		})
	}
}

// Pause before the first step stops the launch; resume continues it; a
// cancel skips the messages the delivery policy still holds; the audit
// names who did each. On both engines.
func TestCampaignPauseResumeCancelAndAudit(t *testing.T) {
	for name, open := range enginetest.Engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newCampaignWorld(t, open(t), app.Ports{})
			w.a.Campaigns.StepRecipients = 4
			list, ids := w.contacts("acme", 10, "")
			ctx := events.WithCause(w.ctx, events.Cause{Actor: events.Actor{Type: "api_key", ID: "key-ana"}})
			c, err := w.a.Campaigns.Create(ctx, "acme", campaigns.CampaignFields{Name: "Later", ListID: list, Channel: messaging.Email, Template: "t"})
			if err != nil {
				t.Fatal(err)
			}
			if c, err = w.a.Campaigns.Schedule(ctx, "acme", c.ID, c.Version); err != nil || c.Status != campaigns.Running {
				t.Fatalf("schedule: %s %v", c.Status, err)
			}
			if c, err = w.a.Campaigns.Pause(ctx, "acme", c.ID, 0); err != nil || c.Status != campaigns.Paused {
				t.Fatalf("pause: %s %v", c.Status, err)
			}
			w.settle()
			if n := len(w.recipients("acme", c.ID)); n != 0 {
				t.Fatalf("%d recipients while paused", n)
			}
			if _, err := w.a.Campaigns.Update(ctx, "acme", c.ID, 0, c.CampaignFields); core.ErrorCode(err) != core.CodeConflict {
				t.Errorf("edit a paused campaign: %v, want 409", err)
			}
			if c, err = w.a.Campaigns.Resume(ctx, "acme", c.ID, 0); err != nil || c.Status != campaigns.Running {
				t.Fatalf("resume: %s %v", c.Status, err)
			}
			w.settle()
			if n := len(w.recipients("acme", c.ID)); n != len(ids) || w.campaignStatus("acme", c.ID) != campaigns.Completed {
				t.Fatalf("after resume: %d recipients, %s", n, w.campaignStatus("acme", c.ID))
			}
			if _, err := w.a.Campaigns.Resume(ctx, "acme", c.ID, 0); core.ErrorCode(err) != core.CodeConflict {
				t.Errorf("resume a completed campaign: %v, want 409", err)
			}

			// Paused after its launch, with its messages held for 20:00 local: they
			// wait past their time while it is paused, and go once it is resumed
			// (within messaging.PausedRecheck).
			held, err := w.a.Campaigns.Create(ctx, "acme", campaigns.CampaignFields{Name: "Held", ListID: list, Channel: messaging.Email, Template: "t",
				Schedule: campaigns.CampaignSchedule{Kind: campaigns.SendLocalTime, Date: "2026-03-17", Time: "20:00"}})
			if err != nil {
				t.Fatal(err)
			}
			if held, err = w.a.Campaigns.Schedule(ctx, "acme", held.ID, 0); err != nil {
				t.Fatal(err)
			}
			w.settle()
			if held, err = w.a.Campaigns.Pause(ctx, "acme", held.ID, 0); err != nil || held.Status != campaigns.Paused {
				t.Fatalf("pause after the launch: %s %v", held.Status, err)
			}
			w.clock.Set(time.Date(2026, 3, 17, 20, 30, 0, 0, time.UTC))
			w.settle()
			if rs := w.recipients("acme", held.ID); len(rs) != len(ids) {
				t.Fatalf("%d recipients of the held campaign", len(rs))
			} else {
				for id, r := range rs {
					if r.MessageStatus != messaging.StatusDeferred {
						t.Errorf("%s past its time while paused: %s (%s)", id, r.MessageStatus, r.MessageReason)
					}
				}
			}
			if held, err = w.a.Campaigns.Resume(ctx, "acme", held.ID, 0); err != nil || held.Status != campaigns.Completed {
				t.Fatalf("resume after the launch: %s %v, want completed", held.Status, err)
			}
			w.clock.Set(time.Date(2026, 3, 17, 20, 30, 0, 0, time.UTC).Add(messaging.PausedRecheck + time.Minute))
			w.settle()
			for id, r := range w.recipients("acme", held.ID) {
				if r.MessageStatus != messaging.StatusRequested {
					t.Errorf("%s after the resume: %s (%s)", id, r.MessageStatus, r.MessageReason)
				}
			}

			// A campaign sending tomorrow at 09:00 local: its messages are held by
			// the delivery policy; a cancel skips them when their time comes.
			later, err := w.a.Campaigns.Create(ctx, "acme", campaigns.CampaignFields{Name: "Cancelled", ListID: list, Channel: messaging.Email, Template: "t",
				Schedule: campaigns.CampaignSchedule{Kind: campaigns.SendLocalTime, Date: "2026-03-17", Time: "23:30"}})
			if err != nil {
				t.Fatal(err)
			}
			if later, err = w.a.Campaigns.Schedule(ctx, "acme", later.ID, 0); err != nil {
				t.Fatal(err)
			}
			w.settle()
			// A second later, so the audit's newest entry is the cancel: entries of
			// one millisecond have no order among them.
			w.clock.Set(w.clock.Now().Add(time.Second))
			if later, err = w.a.Campaigns.Cancel(events.WithCause(w.ctx, events.Cause{Actor: events.Actor{Type: "api_key", ID: "key-bo"}}), "acme", later.ID, 0); err != nil {
				t.Fatal(err)
			}
			w.clock.Set(time.Date(2026, 3, 18, 0, 0, 0, 0, time.UTC))
			w.settle()
			for id, r := range w.recipients("acme", later.ID) {
				if r.MessageStatus != messaging.StatusSkipped || r.MessageReason != messaging.ReasonCancelled {
					t.Errorf("%s after the cancel: %s (%s)", id, r.MessageStatus, r.MessageReason)
				}
			}

			audit, _, err := w.a.Campaigns.Audit(w.ctx, "acme", c.ID, 50, "")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range audit {
				got = append(got, fmt.Sprintf("%s %s %s:%s", e.Action, e.Status, e.ActorType, e.ActorID))
			}
			slices.Reverse(got)
			want := []string{"created draft api_key:key-ana", "updated running api_key:key-ana", "updated paused api_key:key-ana",
				"updated running api_key:key-ana", "updated completed automation:jobs"}
			if !slices.Equal(got, want) {
				t.Errorf("audit:\n got %q\nwant %q", got, want)
			}
			if _, err := w.a.Campaigns.Cancel(ctx, "acme", later.ID, 0); core.ErrorCode(err) != core.CodeConflict {
				t.Errorf("cancel a cancelled campaign: %v, want 409", err)
			}
			la, _, err := w.a.Campaigns.Audit(w.ctx, "acme", later.ID, 1, "")
			if err != nil || len(la) != 1 || la[0].Status != campaigns.Cancelled || la[0].ActorID != "key-bo" {
				t.Errorf("the cancel's audit: %+v %v", la, err)
			}
		})
	}
}

// fakeHost runs campaign plugins natively: the winback example's logic
// through the PDK's batch codec (what its WebAssembly build runs), and a
// module that always traps.
type fakeHost struct {
	mu      sync.Mutex
	modules map[string]string // module id → behaviour
	calls   int
}

func (h *fakeHost) Validate(_ context.Context, _ plugins.Kind, raw []byte) (plugins.Module, error) {
	sum := sha256.Sum256(raw)
	id := hex.EncodeToString(sum[:])
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.modules == nil {
		h.modules = map[string]string{}
	}
	h.modules[id] = string(raw)
	return plugins.Module{ID: id, Code: raw}, nil
}

func (h *fakeHost) Engine(plugins.Blobs) plugins.Engine { return h }

func (h *fakeHost) Run(_ context.Context, r plugins.Request) (plugins.Response, error) {
	h.mu.Lock()
	h.calls++
	behaviour := h.modules[r.ModuleID]
	h.mu.Unlock()
	if behaviour == "trap" {
		return plugins.Response{}, &plugins.RunError{Class: "trap", Message: "unreachable executed"}
	}
	out, err := pdk.CampaignBatch(r.Input, r.Now, winback.Decide)
	return plugins.Response{Output: out}, err
}

// lapsedAudience is 12 contacts on a list: half lapsed customers (last
// order 200 days ago), of whom every other one spent 1500.00; half never
// ordered.
func (w *campaignWorld) lapsedAudience() (list string, ids []string) {
	w.t.Helper()
	list, ids = w.contacts("acme", 12, "")
	for i, id := range ids[:6] {
		amount := int64(20000)
		if i%2 == 0 {
			amount = 150000
		}
		p := customers.Profile{ContactID: id, Purchases: customers.Purchases{Orders: 2, LastOrderAt: campaignT0.AddDate(0, 0, -200),
			Revenue: []customers.Revenue{{Currency: "EUR", Amount: amount, Orders: 2}}}}
		wr, err := customers.ProfileDoc.Put(customers.ProfileKey("acme", id), 0, &p)
		if err != nil {
			w.t.Fatal(err)
		}
		if err := w.st.Put(w.ctx, wr.Item, wr.Cond); err != nil {
			w.t.Fatal(err)
		}
	}
	return list, ids
}

func (w *campaignWorld) activate(name string, code []byte) {
	w.t.Helper()
	if _, err := w.a.Plugins.Upload(w.ctx, "acme", name, plugins.KindCampaign, nil, code); err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.a.Plugins.Activate(w.ctx, "acme", name, 1); err != nil {
		w.t.Fatal(err)
	}
}

// winbackCampaign sends a campaign to the lapsed audience with the
// win-back plugin active, and checks what it decided: lapsed customers
// only, in variant b those who spent over 1000.00, personalised with their
// first name — and the holdout stays the hash's.
func (w *campaignWorld) winbackCampaign(list string, ids []string) {
	t := w.t
	t.Helper()
	variants := []campaigns.CampaignVariant{{Name: "a", Share: 50}, {Name: "b", Share: 50}}
	c := w.campaign("acme", campaigns.CampaignFields{Name: "Win back", ListID: list, Channel: messaging.Email, Template: "wb", Variants: variants, HoldoutPercent: 20})
	w.settle()
	rs := w.recipients("acme", c.ID)
	for i, id := range ids {
		r, in := rs[id]
		hashed := campaigns.Assign(c.ID, id, 20, variants)
		switch {
		case i >= 6:
			if in {
				t.Errorf("never-customer %s enrolled by the win-back plugin: %+v", id, r)
			}
		case !in || r.DecidedBy != core.DecidedByPlugin:
			t.Errorf("lapsed %s: %+v, want enrolled by the plugin", id, r)
		case hashed == campaigns.Holdout:
			if r.Variant != campaigns.Holdout || r.MessageID != "" {
				t.Errorf("held-out %s: %+v", id, r)
			}
		default:
			want := map[bool]string{true: "b", false: "a"}[i%2 == 0]
			m, err := w.a.Messaging.Get(w.ctx, "acme", r.MessageID)
			if err != nil {
				t.Fatal(err)
			}
			if r.Variant != want || m.Merge["first_name"] != fmt.Sprintf("C%d", i) {
				t.Errorf("lapsed %s: variant %s merge %v, want %s with the first name", id, r.Variant, m.Merge, want)
			}
		}
	}
	if g := w.performance("acme", c.ID); g["treated"].Declined+g[campaigns.Holdout].Declined != 6 {
		t.Errorf("declined: %+v", g)
	}
}

// The win-back example's module (testdata/plugins/winback.wasm, built from
// plugins/examples/winback) decides a campaign in the real runtime, wazero
// with the extism ABI, on both engines.
func TestCampaignWinbackModuleInTheRealRuntime(t *testing.T) {
	host, err := wasm.New(wasm.Config{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { host.Close(context.Background()) })
	module, err := os.ReadFile(filepath.Join("..", "testdata", "plugins", "winback.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	for name, open := range enginetest.Engines {
		t.Run(name, func(t *testing.T) {
			blobs, err := blobfs.New(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer blobs.Close()
			w := newCampaignWorld(t, open(t), app.Ports{Plugins: host, Blobs: blobs})
			list, ids := w.lapsedAudience()
			w.activate("winback", module)
			w.winbackCampaign(list, ids)
		})
	}
}

// The same decisions through the fake host (the example's Go logic behind
// the PDK's codec), then a plugin that fails: the built-in rules decide
// every recipient (everyone enrolled, the hashed variant).
func TestCampaignPluginDecidesWithFallback(t *testing.T) {
	t.Parallel()
	blobs, err := blobfs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer blobs.Close()
	h := &fakeHost{}
	w := newCampaignWorld(t, enginetest.Engines["embedded"](t), app.Ports{Plugins: h, Blobs: blobs})
	list, ids := w.lapsedAudience()
	w.activate("winback", []byte("winback"))
	w.winbackCampaign(list, ids)
	variants := []campaigns.CampaignVariant{{Name: "a", Share: 50}, {Name: "b", Share: 50}}

	// A plugin that traps: the built-in decides every recipient.
	w.activate("broken", []byte("trap"))
	c2 := w.campaign("acme", campaigns.CampaignFields{Name: "Fallback", ListID: list, Channel: messaging.Email, Template: "fb", Variants: variants})
	w.settle()
	rs := w.recipients("acme", c2.ID)
	if len(rs) != len(ids) {
		t.Fatalf("fallback enrolled %d of %d", len(rs), len(ids))
	}
	for _, id := range ids {
		if r := rs[id]; r.DecidedBy != core.DecidedByBuiltin || r.Variant != campaigns.Assign(c2.ID, id, 0, variants) {
			t.Errorf("fallback %s: %+v", id, r)
		}
	}
}
