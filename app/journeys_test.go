package app_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/commerce"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/journeys"
	"github.com/fedele-crm/fedele/core/messaging"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/internal/testsupport/dynamotest"
	"github.com/fedele-crm/fedele/internal/testsupport/enginetest"
	"github.com/fedele-crm/fedele/schemas"
)

// journeyWorld is a segmentWorld with the helpers the journey scenarios
// share.
type journeyWorld struct{ *segmentWorld }

func newJourneyWorld(t *testing.T, st store.Store, start time.Time, tenants ...string) journeyWorld {
	t.Helper()
	w := journeyWorld{newSegmentWorld(t, st, start)}
	for _, tn := range tenants {
		if _, err := w.a.Tenants.Create(w.ctx, tn, tn, "IT"); err != nil {
			t.Fatal(err)
		}
		if _, err := w.a.Tenants.Update(w.ctx, tn, func(x *core.Tenant) error { x.TimeZone = "Europe/Rome"; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// contact is a contact with e-mail consent (so journeys' sends pass the
// policy) and an optional birthday.
func (w journeyWorld) contact(tenant, email, birthday string) core.Contact {
	w.t.Helper()
	c, err := w.a.Contacts.Create(w.ctx, tenant, core.ContactFields{FirstName: strings.Split(email, "@")[0], Birthday: birthday,
		Emails:  []core.Email{{Address: email, Primary: true}},
		Consent: &core.Consent{Email: &core.ChannelConsent{Status: core.ConsentGranted, Source: "test"}}})
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}

func (w journeyWorld) journey(tenant string, d journeys.JourneyDefinition) journeys.Journey {
	w.t.Helper()
	j, err := w.a.Journeys.Create(w.ctx, tenant, journeys.JourneyFields{Name: "j"})
	if err != nil {
		w.t.Fatal(err)
	}
	return w.publish(tenant, j.ID, d)
}

func (w journeyWorld) publish(tenant, id string, d journeys.JourneyDefinition) journeys.Journey {
	w.t.Helper()
	v, err := w.a.Journeys.AddVersion(w.ctx, tenant, id, d)
	if err != nil {
		w.t.Fatal(err)
	}
	j, err := w.a.Journeys.Publish(w.ctx, tenant, id, v.Number)
	if err != nil {
		w.t.Fatal(err)
	}
	return j
}

func (w journeyWorld) advance(to time.Time) {
	w.t.Helper()
	w.clock.Set(to)
	w.settle()
}

// sent are the templates of the messages a contact's timeline shows
// requested, oldest first, with the journey's step and its time.
func (w journeyWorld) timeline(tenant, contactID string, keep func(events.Envelope) (string, bool)) []string {
	w.t.Helper()
	var out []string
	q := store.Query{Index: store.GSI2, PK: store.Tenant(tenant).PK("timeline", "contact", contactID)}
	for {
		page, err := w.st.Query(w.ctx, q)
		if err != nil {
			w.t.Fatal(err)
		}
		for _, it := range page.Items {
			var ev events.Envelope
			if err := json.Unmarshal(it.Data, &ev); err != nil {
				w.t.Fatal(err)
			}
			if strings.HasPrefix(string(ev.DetailType), "journey.") {
				// Every journey event on a timeline is what its schema says.
				detail, _ := json.Marshal(ev.Detail)
				if err := schemas.ValidateEventDetail(string(ev.DetailType), detail); err != nil {
					w.t.Fatalf("%s: %v\n%s", ev.DetailType, err, detail)
				}
			}
			if s, ok := keep(ev); ok {
				out = append(out, s)
			}
		}
		if page.Next == "" {
			return out
		}
		q.Cursor = page.Next
	}
}

// sends are the contact's message.requested events: "template@time".
func (w journeyWorld) sends(tenant, contactID string) []string {
	return w.timeline(tenant, contactID, func(ev events.Envelope) (string, bool) {
		if ev.DetailType != events.MessageRequested {
			return "", false
		}
		var m messaging.Message
		_ = json.Unmarshal(ev.Detail.Entity.Data, &m)
		return m.Template + "@" + ev.Detail.Time.Format(time.RFC3339), true
	})
}

// steps are the contact's journey.step_completed events: "step:outcome".
func (w journeyWorld) steps(tenant, contactID string) []string {
	return w.timeline(tenant, contactID, func(ev events.Envelope) (string, bool) {
		if ev.DetailType != events.JourneyStepCompleted {
			return "", false
		}
		var d struct{ Step, Outcome string }
		_ = json.Unmarshal(ev.Detail.Entity.Data, &d)
		return d.Step + ":" + d.Outcome, true
	})
}

func (w journeyWorld) enrolments(tenant, contactID string) []journeys.JourneyEnrolment {
	w.t.Helper()
	es, _, err := w.a.Journeys.ContactEnrolments(w.ctx, tenant, contactID, 100, "")
	if err != nil {
		w.t.Fatal(err)
	}
	return es
}

func lensOrder(contactID, ext string, placed time.Time, category string, price int64) commerce.OrderFields {
	return commerce.OrderFields{ExternalID: ext, ContactID: contactID, Currency: "EUR", PlacedAt: placed,
		Lines: []commerce.Line{{Description: "lenses", Category: category, Quantity: 1, UnitPrice: price}}}
}

var lensFilter = `entity.lines.exists(l, l.category == "eyewear/contact-lenses")`

func lensJourney() journeys.JourneyDefinition {
	return journeys.JourneyDefinition{
		Trigger: journeys.JourneyTrigger{Kind: journeys.TriggerEvent, Event: "order.placed", Filter: lensFilter},
		Steps: []journeys.JourneyStep{
			{ID: "day", Type: journeys.StepWait, Delay: "1d", SinceTrigger: true},
			{ID: "day-mail", Type: journeys.StepSend, Channel: messaging.Email, Template: "lens-day"},
			{ID: "week", Type: journeys.StepWait, Delay: "1w", SinceTrigger: true},
			{ID: "week-mail", Type: journeys.StepSend, Channel: messaging.Email, Template: "lens-week"},
			{ID: "quarter", Type: journeys.StepWait, Delay: "3mo", SinceTrigger: true},
			{ID: "quarter-mail", Type: journeys.StepSend, Channel: messaging.Email, Template: "lens-quarter"},
		},
	}
}

// The lens journey on an order placed twelve days before it is ingested:
// the waits count from the order's placed_at, so the day and week
// messages are already due and go at once, in order, once each; the
// three-month one waits until three calendar months after the order in
// the tenant's zone. An order without lenses enrols nobody, and another
// tenant's lens journey sees none of this. On both engines.
func TestJourneyLensFromAHistoricalOrder(t *testing.T) {
	for name, open := range enginetest.Engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			now := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
			w := newJourneyWorld(t, open(t), now, "acme", "other")
			j := w.journey("acme", lensJourney())
			oj := w.journey("other", lensJourney())
			ada, bob := w.contact("acme", "ada@example.com", ""), w.contact("acme", "bob@example.com", "")
			placed := time.Date(2026, 5, 20, 10, 0, 0, 0, time.UTC)
			for _, f := range []commerce.OrderFields{lensOrder(ada.ID, "o-1", placed, "eyewear/contact-lenses", 3900),
				lensOrder(bob.ID, "o-2", placed, "eyewear/sunglasses", 9900)} {
				if _, err := w.a.Orders.Create(w.ctx, "acme", f); err != nil {
					t.Fatal(err)
				}
			}
			w.settle()
			want := []string{"lens-day@" + now.Format(time.RFC3339), "lens-week@" + now.Format(time.RFC3339)}
			if diff := cmp.Diff(want, w.sends("acme", ada.ID)); diff != "" {
				t.Fatalf("messages due before ingest (-want +got):\n%s", diff)
			}
			wantSteps := []string{"day:already_due", "day-mail:requested", "week:already_due", "week-mail:requested"}
			if diff := cmp.Diff(wantSteps, w.steps("acme", ada.ID)); diff != "" {
				t.Fatalf("steps (-want +got):\n%s", diff)
			}
			es := w.enrolments("acme", ada.ID)
			quarter := time.Date(2026, 8, 20, 10, 0, 0, 0, time.UTC) // 12:00 in Rome, as the order
			if len(es) != 1 || es[0].JourneyID != j.ID || es[0].Step != "quarter" || !es[0].Waiting || !es[0].NextAt.Equal(quarter) ||
				!es[0].TriggerTime.Equal(placed) {
				t.Fatalf("enrolment after ingest: %+v", es)
			}
			if got := w.enrolments("acme", bob.ID); len(got) != 0 {
				t.Fatalf("an order without lenses enrolled: %+v", got)
			}
			if got := w.enrolments("other", ada.ID); len(got) != 0 {
				t.Fatalf("another tenant's view of the contact: %+v", got)
			}
			if st, err := w.a.Journeys.Stats(w.ctx, "other", oj.ID); err != nil || st.Enrolled != 0 {
				t.Fatalf("another tenant's lens journey enrolled %+v, %v", st, err)
			}
			if _, err := w.a.Journeys.Get(w.ctx, "other", j.ID); core.ErrorCode(err) != core.CodeNotFound {
				t.Fatalf("another tenant reads the journey: %v", err)
			}
			w.advance(quarter.Add(-time.Minute))
			if n := len(w.sends("acme", ada.ID)); n != 2 {
				t.Fatalf("%d messages a minute before three months", n)
			}
			w.advance(quarter)
			want = append(want, "lens-quarter@"+quarter.Format(time.RFC3339))
			if diff := cmp.Diff(want, w.sends("acme", ada.ID)); diff != "" {
				t.Fatalf("messages (-want +got):\n%s", diff)
			}
			es = w.enrolments("acme", ada.ID)
			if es[0].State != journeys.EnrolmentCompleted {
				t.Fatalf("after the last step: %+v", es[0])
			}
			st, err := w.a.Journeys.Stats(w.ctx, "acme", j.ID)
			if err != nil {
				t.Fatal(err)
			}
			if st.Enrolled != 1 || st.Completed != 1 || st.Active != 0 || st.Steps[1].Requests != 1 || st.Steps[5].Reached != 1 || st.Steps[4].Waiting != 0 {
				t.Fatalf("stats: %+v", st)
			}
		})
	}
}

// A yearly birthday journey at 09:00 in the tenant's zone: a contact born
// on 29 February is greeted on 28 February in 2027 and on 29 February in
// the leap year 2028; one born on 1 March on 1 March both years. On both
// engines.
func TestJourneyBirthdayAcrossALeapYear(t *testing.T) {
	for name, open := range enginetest.Engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newJourneyWorld(t, open(t), time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC), "acme")
			w.journey("acme", journeys.JourneyDefinition{
				Trigger: journeys.JourneyTrigger{Kind: journeys.TriggerDate, Property: "birthday", Offset: "9h", Yearly: true},
				Steps:   []journeys.JourneyStep{{ID: "greet", Type: journeys.StepSend, Channel: messaging.Email, Template: "birthday"}},
				Reentry: journeys.JourneyReentry{Mode: journeys.ReentryCooldown, Cooldown: "300d"},
			})
			leapling, march := w.contact("acme", "leap@example.com", "1992-02-29"), w.contact("acme", "march@example.com", "1990-03-01")
			w.settle()
			at := func(y int, m time.Month, d int) string { // 09:00 in Rome (CET)
				return "birthday@" + time.Date(y, m, d, 8, 0, 0, 0, time.UTC).Format(time.RFC3339)
			}
			for _, step := range []struct {
				to             time.Time
				leap, marchers []string
			}{
				{time.Date(2027, 2, 28, 7, 59, 0, 0, time.UTC), nil, nil},
				{time.Date(2027, 2, 28, 8, 0, 0, 0, time.UTC), []string{at(2027, 2, 28)}, nil},
				{time.Date(2027, 3, 1, 8, 0, 0, 0, time.UTC), []string{at(2027, 2, 28)}, []string{at(2027, 3, 1)}},
				{time.Date(2028, 2, 28, 8, 0, 0, 0, time.UTC), []string{at(2027, 2, 28)}, []string{at(2027, 3, 1)}},
				{time.Date(2028, 2, 29, 8, 0, 0, 0, time.UTC), []string{at(2027, 2, 28), at(2028, 2, 29)}, []string{at(2027, 3, 1)}},
				{time.Date(2028, 3, 1, 8, 0, 0, 0, time.UTC), []string{at(2027, 2, 28), at(2028, 2, 29)}, []string{at(2027, 3, 1), at(2028, 3, 1)}},
			} {
				w.advance(step.to)
				if diff := cmp.Diff(step.leap, w.sends("acme", leapling.ID)); diff != "" {
					t.Fatalf("at %s, 29 February's greetings (-want +got):\n%s", step.to, diff)
				}
				if diff := cmp.Diff(step.marchers, w.sends("acme", march.ID)); diff != "" {
					t.Fatalf("at %s, 1 March's greetings (-want +got):\n%s", step.to, diff)
				}
			}
		})
	}
}

// A birthday journey published after its contacts exist greets them: the
// publish starts a job that schedules every existing contact's next
// birthday (a contact without one, and another tenant's contacts, get
// none). Publishing a version with the same date starts no second job;
// one that moves the time does, and the greeting goes at the new time,
// once. On both engines.
func TestJourneyDatePublishedAfterItsContactsGreetsThem(t *testing.T) {
	for name, open := range enginetest.Engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newJourneyWorld(t, open(t), time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC), "acme", "other")
			ada, bob := w.contact("acme", "ada@example.com", "1990-02-10"), w.contact("acme", "bob@example.com", "")
			zed := w.contact("other", "zed@example.com", "1990-02-10")
			w.settle()
			birthday := func(offset, template string) journeys.JourneyDefinition {
				return journeys.JourneyDefinition{
					Trigger: journeys.JourneyTrigger{Kind: journeys.TriggerDate, Property: "birthday", Offset: offset, Yearly: true},
					Steps:   []journeys.JourneyStep{{ID: "greet", Type: journeys.StepSend, Channel: messaging.Email, Template: template}},
					Reentry: journeys.JourneyReentry{Mode: journeys.ReentryCooldown, Cooldown: "300d"},
				}
			}
			j := w.journey("acme", birthday("9h", "birthday"))
			if j.DatesJobID == "" {
				t.Fatalf("publishing a date trigger started no job: %+v", j)
			}
			w.settle()
			job, err := w.a.Jobs.Get(w.ctx, "acme", j.DatesJobID)
			if err != nil {
				t.Fatal(err)
			}
			var res journeys.DatesResult
			_ = json.Unmarshal(job.Result, &res)
			if job.Status != "done" || res != (journeys.DatesResult{Contacts: 2, Scheduled: 1}) {
				t.Fatalf("dates job: %+v, result %s", job, job.Result)
			}
			// The same date in a new version: nothing to schedule again.
			same := w.publish("acme", j.ID, birthday("9h", "birthday-v2"))
			if same.DatesJobID != j.DatesJobID {
				t.Fatalf("a version with the same date started job %s", same.DatesJobID)
			}
			// An hour later: a new job, and the 09:00 timer finds it is not
			// the occurrence any more.
			later := w.publish("acme", j.ID, birthday("10h", "birthday-v3"))
			if later.DatesJobID == j.DatesJobID || later.DatesJobID == "" {
				t.Fatalf("moving the date's time started no new job: %+v", later)
			}
			w.settle()
			w.advance(time.Date(2027, 2, 10, 8, 59, 0, 0, time.UTC))
			if got := w.sends("acme", ada.ID); len(got) != 0 {
				t.Fatalf("greeted before 10:00 in Rome: %v", got)
			}
			w.advance(time.Date(2027, 2, 10, 9, 0, 0, 0, time.UTC))
			if diff := cmp.Diff([]string{"birthday-v3@2027-02-10T09:00:00Z"}, w.sends("acme", ada.ID)); diff != "" {
				t.Fatalf("the existing contact's greeting (-want +got):\n%s", diff)
			}
			// A birthday changed and changed back finds next year's timer
			// kept, and schedules no second one.
			for _, b := range []string{"1990-03-05", "1990-02-10"} {
				if _, err := w.a.Contacts.Update(w.ctx, "acme", ada.ID, 0, func(f *core.ContactFields) error { f.Birthday = b; return nil }); err != nil {
					t.Fatal(err)
				}
				w.settle()
			}
			w.advance(time.Date(2028, 2, 10, 9, 0, 0, 0, time.UTC))
			if diff := cmp.Diff([]string{"birthday-v3@2027-02-10T09:00:00Z", "birthday-v3@2028-02-10T09:00:00Z"}, w.sends("acme", ada.ID)); diff != "" {
				t.Fatalf("the next year's greeting (-want +got):\n%s", diff)
			}
			if got := w.enrolments("acme", bob.ID); len(got) != 0 {
				t.Fatalf("a contact without a birthday enrolled: %+v", got)
			}
			if got := w.enrolments("other", zed.ID); len(got) != 0 {
				t.Fatalf("another tenant's contact enrolled: %+v", got)
			}
			if _, err := w.a.Jobs.Get(w.ctx, "other", j.DatesJobID); core.ErrorCode(err) != core.CodeNotFound {
				t.Fatalf("another tenant reads the dates job: %v", err)
			}
		})
	}
}

// A contact who buys again three weeks into a three-month wait exits at
// that moment: its pending timer is cancelled, the conversion is
// attributed to the last message with the order's revenue, and nothing
// more is sent when the wait would have ended. On both engines.
func TestJourneyGoalDuringALongWaitExitsAtOnce(t *testing.T) {
	for name, open := range enginetest.Engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
			w := newJourneyWorld(t, open(t), start, "acme")
			d := journeys.JourneyDefinition{
				Trigger: journeys.JourneyTrigger{Kind: journeys.TriggerEvent, Event: "order.placed", Filter: lensFilter},
				Steps: []journeys.JourneyStep{
					{ID: "thanks", Type: journeys.StepSend, Channel: messaging.Email, Template: "thanks"},
					{ID: "quarter", Type: journeys.StepWait, Delay: "3mo"},
					{ID: "reorder", Type: journeys.StepSend, Channel: messaging.Email, Template: "reorder"},
				},
				Goal: &journeys.JourneyGoal{Event: "order.placed", Filter: lensFilter},
			}
			j := w.journey("acme", d)
			ada := w.contact("acme", "ada@example.com", "")
			if _, err := w.a.Orders.Create(w.ctx, "acme", lensOrder(ada.ID, "o-1", start, "eyewear/contact-lenses", 3900)); err != nil {
				t.Fatal(err)
			}
			w.settle()
			es := w.enrolments("acme", ada.ID)
			if len(es) != 1 || !es[0].Waiting || es[0].Step != "quarter" {
				t.Fatalf("before the goal: %+v", es)
			}
			timerID := es[0].TimerID
			buy := start.Add(21 * 24 * time.Hour)
			w.clock.Set(buy)
			converting, err := w.a.Orders.Create(w.ctx, "acme", lensOrder(ada.ID, "o-2", buy, "eyewear/contact-lenses", 5500))
			if err != nil {
				t.Fatal(err)
			}
			w.settle()
			es = w.enrolments("acme", ada.ID)
			if len(es) != 1 || es[0].State != journeys.EnrolmentExited || es[0].ExitReason != journeys.ExitGoal || !es[0].Converted ||
				!es[0].EndedAt.Equal(buy) {
				t.Fatalf("after the goal: %+v", es)
			}
			tm, err := w.a.Timers.Get(w.ctx, "acme", timerID)
			if err != nil || tm.State != core.TimerCancelled {
				t.Fatalf("the wait's timer: %+v, %v", tm, err)
			}
			w.advance(start.AddDate(0, 4, 0))
			if got := w.sends("acme", ada.ID); len(got) != 1 {
				t.Fatalf("sent after the goal: %v", got)
			}
			st, err := w.a.Journeys.Stats(w.ctx, "acme", j.ID)
			if err != nil {
				t.Fatal(err)
			}
			wantRev := []journeys.JourneyRevenueAmount{{Currency: "EUR", Minor: 5500}}
			if st.Converted != 1 || st.Exited[journeys.ExitGoal] != 1 || st.Steps[0].Converted != 1 || st.Steps[1].Waiting != 0 ||
				!cmp.Equal(st.Revenue, wantRev) || !cmp.Equal(st.Steps[0].Revenue, wantRev) || st.ConversionRate != 1 {
				t.Fatalf("stats: %+v", st)
			}
			// The converting order refunded in two parts: the journey's
			// revenue (and its step's) follows it down to nothing; the
			// conversion stands.
			for _, r := range []struct {
				amount, left int64
			}{{2000, 3500}, {3500, 0}} {
				if _, err := w.a.Orders.Refund(w.ctx, "acme", converting.ID, 0, []commerce.LineRefund{{Line: 0, Amount: r.amount}}); err != nil {
					t.Fatal(err)
				}
				w.settle()
				st, err := w.a.Journeys.Stats(w.ctx, "acme", j.ID)
				if err != nil {
					t.Fatal(err)
				}
				var want []journeys.JourneyRevenueAmount
				if r.left > 0 {
					want = []journeys.JourneyRevenueAmount{{Currency: "EUR", Minor: r.left}}
				}
				if st.Converted != 1 || !cmp.Equal(st.Revenue, want, cmpopts.EquateEmpty()) {
					t.Fatalf("after a refund of %d: converted %d, revenue %+v, want %+v", r.amount, st.Converted, st.Revenue, want)
				}
				if es := w.enrolments("acme", ada.ID); es[0].ConvertedOrder != converting.ID || es[0].Revenue != r.left {
					t.Fatalf("the enrolment after a refund of %d: %+v", r.amount, es[0])
				}
			}
		})
	}
}

// Re-entry after a cooldown: an API journey with a 30-day cooldown takes
// the contact again only 30 days after its previous enrolment ended, and
// the second enrolment's message is a message of its own. On both engines.
func TestJourneyReentryAfterCooldown(t *testing.T) {
	for name, open := range enginetest.Engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
			w := newJourneyWorld(t, open(t), start, "acme")
			j := w.journey("acme", journeys.JourneyDefinition{
				Trigger: journeys.JourneyTrigger{Kind: journeys.TriggerAPI},
				Steps:   []journeys.JourneyStep{{ID: "hello", Type: journeys.StepSend, Channel: messaging.Email, Template: "hello"}},
				Reentry: journeys.JourneyReentry{Mode: journeys.ReentryCooldown, Cooldown: "30d"},
			})
			ada := w.contact("acme", "ada@example.com", "")
			enrol := func() error {
				_, err := w.a.Journeys.Enrol(w.ctx, "acme", j.ID, journeys.JourneyEnrolRequest{ContactID: ada.ID})
				w.settle()
				return err
			}
			if err := enrol(); err != nil {
				t.Fatal(err)
			}
			w.clock.Set(start.Add(10 * 24 * time.Hour))
			if err := enrol(); core.ErrorCode(err) != core.CodeConflict {
				t.Fatalf("within the cooldown: %v", err)
			}
			w.clock.Set(start.Add(30*24*time.Hour + time.Minute))
			if err := enrol(); err != nil {
				t.Fatalf("after the cooldown: %v", err)
			}
			if got := w.sends("acme", ada.ID); len(got) != 2 {
				t.Fatalf("messages: %v", got)
			}
			if es := w.enrolments("acme", ada.ID); len(es) != 2 || es[0].State != journeys.EnrolmentCompleted || es[1].State != journeys.EnrolmentCompleted {
				t.Fatalf("enrolments: %+v", es)
			}
			// Never: once is all.
			once := w.journey("acme", journeys.JourneyDefinition{Trigger: journeys.JourneyTrigger{Kind: journeys.TriggerAPI},
				Steps: []journeys.JourneyStep{{ID: "x", Type: journeys.StepExit}}})
			if _, err := w.a.Journeys.Enrol(w.ctx, "acme", once.ID, journeys.JourneyEnrolRequest{ContactID: ada.ID}); err != nil {
				t.Fatal(err)
			}
			w.settle()
			w.clock.Set(start.AddDate(2, 0, 0))
			if _, err := w.a.Journeys.Enrol(w.ctx, "acme", once.ID, journeys.JourneyEnrolRequest{ContactID: ada.ID}); core.ErrorCode(err) != core.CodeConflict {
				t.Fatalf("re-entry never, two years later: %v", err)
			}
		})
	}
}

// A version published while enrolments wait: the waiting one finishes on
// its version, a new one runs the new version, and a version with a
// migration rule moves the waiting enrolments it names. On both engines.
func TestJourneyNewVersionWhileEnrolmentsWait(t *testing.T) {
	for name, open := range enginetest.Engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
			w := newJourneyWorld(t, open(t), start, "acme")
			v := func(wait, template string, migrate *journeys.JourneyMigration) journeys.JourneyDefinition {
				return journeys.JourneyDefinition{Trigger: journeys.JourneyTrigger{Kind: journeys.TriggerAPI}, Migrate: migrate,
					Steps: []journeys.JourneyStep{{ID: "wait", Type: journeys.StepWait, Delay: wait},
						{ID: "mail-" + template, Type: journeys.StepSend, Channel: messaging.Email, Template: template}}}
			}
			j := w.journey("acme", v("2d", "v1", nil))
			a, b, c := w.contact("acme", "a@example.com", ""), w.contact("acme", "b@example.com", ""), w.contact("acme", "c@example.com", "")
			enrol := func(id string) {
				if _, err := w.a.Journeys.Enrol(w.ctx, "acme", j.ID, journeys.JourneyEnrolRequest{ContactID: id}); err != nil {
					t.Fatal(err)
				}
				w.settle()
			}
			enrol(a.ID)
			w.publish("acme", j.ID, v("1d", "v2", nil))
			enrol(b.ID)
			enrol(c.ID)
			// Version 3 moves version 2's waiting enrolments to its own mail.
			w.publish("acme", j.ID, v("1d", "v3", &journeys.JourneyMigration{FromVersion: 2, Steps: map[string]string{"mail-v2": "mail-v3"}}))
			w.advance(start.Add(24 * time.Hour))
			if got := w.sends("acme", a.ID); len(got) != 0 {
				t.Fatalf("version 1's enrolment after a day: %v", got)
			}
			for _, id := range []string{b.ID, c.ID} {
				if got := w.sends("acme", id); len(got) != 1 || !strings.HasPrefix(got[0], "v3@") {
					t.Fatalf("version 2's enrolment migrated to 3: %v", got)
				}
			}
			w.advance(start.Add(48 * time.Hour))
			if got := w.sends("acme", a.ID); len(got) != 1 || !strings.HasPrefix(got[0], "v1@") {
				t.Fatalf("version 1's enrolment after two days: %v", got)
			}
			if es := w.enrolments("acme", a.ID); es[0].Journey != 1 {
				t.Fatalf("version 1's enrolment moved: %+v", es[0])
			}
			if es := w.enrolments("acme", b.ID); es[0].Journey != 3 {
				t.Fatalf("the migrated enrolment's version: %+v", es[0])
			}
		})
	}
}

// A trigger delivered twice — the same event redelivered, and the same
// order's event written again under another id — enrols once. On both
// engines.
func TestJourneyDoubleDeliveredTriggerEnrolsOnce(t *testing.T) {
	for name, open := range enginetest.Engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
			w := newJourneyWorld(t, open(t), start, "acme")
			j := w.journey("acme", lensJourney())
			ada := w.contact("acme", "ada@example.com", "")
			o, err := w.a.Orders.Create(w.ctx, "acme", lensOrder(ada.ID, "o-1", start, "eyewear/contact-lenses", 3900))
			if err != nil {
				t.Fatal(err)
			}
			w.settle()
			data, _ := json.Marshal(o)
			ev := events.New(w.ctx, "acme", events.OrderPlaced, start, events.Entity{Type: "order", ID: o.ID, Data: data})
			again := events.New(w.ctx, "acme", events.OrderPlaced, start, events.Entity{Type: "order", ID: o.ID, Data: data})
			var wg sync.WaitGroup
			for _, e := range []events.Envelope{ev, ev, again, again} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for _, err := range w.a.Delivery().Publish(w.ctx, []events.Envelope{e}) {
						if err != nil {
							t.Error(err)
						}
					}
				}()
			}
			wg.Wait()
			w.settle()
			if es := w.enrolments("acme", ada.ID); len(es) != 1 || es[0].JourneyID != j.ID {
				t.Fatalf("enrolments: %+v", es)
			}
			if st, err := w.a.Journeys.Stats(w.ctx, "acme", j.ID); err != nil || st.Enrolled != 1 {
				t.Fatalf("stats: %+v, %v", st, err)
			}
		})
	}
}

// 10 000 enrolments whose waits end in the same minute all fire, once
// each, and each wait's end is its own trigger time plus the day, on both
// engines. (Only journey timers exist in this world: the relay is not
// run, so no other area schedules any.)
func TestJourneyTenThousandWaitsInOneMinute(t *testing.T) {
	engines := map[string]func(testing.TB) store.Store{
		"embedded": enginetest.Engines["embedded"],
		// An instance of its own, as the timer scenarios': its thousands of
		// writes neither slow the shared one's scenarios nor are slowed by
		// them (131 s there in the package, 26 s alone).
		"dynamodb": func(t testing.TB) store.Store { st, _ := dynamotest.OpenFreshTable(t); return st },
	}
	for name, open := range engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// 10 000 journey waits on the embedded engine. On DynamoDB Local
			// the journey part runs with 1 000: its 10 000 contacts alone
			// took minutes there and over the package's 10-minute limit in
			// the full suite, and the timer service's own 10 000 due in one
			// minute runs on DynamoDB Local in timers_test.go.
			n := 10_000
			if name != "embedded" {
				n = 1_000
			}
			start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
			w := newJourneyWorld(t, open(t), start, "acme")
			j := w.journey("acme", journeys.JourneyDefinition{Trigger: journeys.JourneyTrigger{Kind: journeys.TriggerAPI},
				Steps: []journeys.JourneyStep{{ID: "wait", Type: journeys.StepWait, Delay: "1d"}, {ID: "tag", Type: journeys.StepExit}}})
			fs := make([]core.ContactFields, n)
			for i := range fs {
				fs[i] = core.ContactFields{FirstName: fmt.Sprint("c", i)}
			}
			var ids []string
			for chunk := 0; chunk < n; chunk += 100 {
				for _, r := range w.a.Contacts.CreateMany(w.ctx, "acme", fs[chunk:chunk+100]) {
					if r.Err != nil {
						t.Fatal(r.Err)
					}
					ids = append(ids, r.Record.ID)
				}
			}
			reqs := make([]journeys.JourneyEnrolRequest, n)
			for i, id := range ids {
				// Spread over the minute: every wait ends within it.
				reqs[i] = journeys.JourneyEnrolRequest{ContactID: id, At: start.Add(time.Duration(i%60) * time.Second)}
			}
			results, err := w.a.Journeys.EnrolMany(w.ctx, "acme", j.ID, reqs)
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range results {
				if r.Err != nil {
					t.Fatalf("enrolment %d: %v", i, r.Err)
				}
			}
			w.clock.Set(start.Add(24*time.Hour + time.Minute))
			ds, err := w.a.Timers.Drain(w.ctx, 0, w.a.Timers.FireAll)
			if err != nil {
				t.Fatal(err)
			}
			// Other areas' timers may fire in the same drain: count ours by
			// what is left pending of our kind (none) and by the enrolments.
			if ds.Fired < n {
				t.Fatalf("fired %d of %d waits in their minute: %+v", ds.Fired, n, ds)
			}
			ov, err := w.a.Timers.Stats(w.ctx, "acme")
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range ov.Kinds {
				if k.Kind == journeys.StepTimer && k.Pending != 0 {
					t.Fatalf("%d journey timers still pending after their minute", k.Pending)
				}
			}
			for _, i := range []int{0, n / 2, n - 1} {
				es := w.enrolments("acme", ids[i])
				if len(es) != 1 || es[0].State != journeys.EnrolmentExited || es[0].ExitReason != journeys.ExitStep ||
					!es[0].At.Equal(reqs[i].At.Add(24*time.Hour)) {
					t.Fatalf("enrolment %d: %+v", i, es)
				}
			}
		})
	}
}

// The other steps and exits, on both engines: the campaign plugin's
// built-in fallback picks a variant that later sends carry; a wait for a
// click ends when the click comes (and the contact is tagged through
// core/contacts), or after its timeout goes to a CEL branch on the
// contact view; deleting a contact exits its enrolment at once, cancels
// its timer, and forgets the enrolment.
func TestJourneyStepsBranchesWaitsForEventsAndExits(t *testing.T) {
	for name, open := range enginetest.Engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
			w := newJourneyWorld(t, open(t), start, "acme")
			j := w.journey("acme", journeys.JourneyDefinition{Trigger: journeys.JourneyTrigger{Kind: journeys.TriggerAPI},
				Steps: []journeys.JourneyStep{
					{ID: "ask", Type: journeys.StepPlugin, Variants: []string{"a", "b"}},
					{ID: "offer", Type: journeys.StepSend, Channel: messaging.Email, Template: "offer"},
					{ID: "click", Type: journeys.StepWaitEvent, Event: "message.clicked", Filter: `entity.template == "offer"`, Delay: "3d", OnTimeout: "vip"},
					{ID: "tag", Type: journeys.StepUpdate, AddTags: []string{"clicked"}, Next: "done"},
					{ID: "vip", Type: journeys.StepBranch, Condition: `"vip" in contact.tags`, Then: "vip-mail", Else: "plain-mail"},
					{ID: "vip-mail", Type: journeys.StepSend, Channel: messaging.Email, Template: "vip", Next: "done"},
					{ID: "plain-mail", Type: journeys.StepSend, Channel: messaging.Email, Template: "plain"},
					{ID: "done", Type: journeys.StepExit},
				}})
			ada, bob, cy := w.contact("acme", "ada@example.com", ""), w.contact("acme", "bob@example.com", ""), w.contact("acme", "cy@example.com", "")
			if _, err := w.a.Contacts.Update(w.ctx, "acme", bob.ID, 0, func(f *core.ContactFields) error { f.Tags = []string{"vip"}; return nil }); err != nil {
				t.Fatal(err)
			}
			for _, c := range []core.Contact{ada, bob, cy} {
				if _, err := w.a.Journeys.Enrol(w.ctx, "acme", j.ID, journeys.JourneyEnrolRequest{ContactID: c.ID}); err != nil {
					t.Fatal(err)
				}
			}
			w.settle()
			es := w.enrolments("acme", ada.ID)
			if len(es) != 1 || es[0].Variant == "" || es[0].Step != "click" || !es[0].Waiting {
				t.Fatalf("after the offer: %+v", es)
			}
			// Ada clicks the offer a day later.
			w.clock.Set(start.Add(24 * time.Hour))
			msgs := w.timeline("acme", ada.ID, func(ev events.Envelope) (string, bool) {
				return ev.Detail.Entity.ID, ev.DetailType == events.MessageRequested
			})
			if len(msgs) != 1 {
				t.Fatalf("Ada's messages: %v", msgs)
			}
			m, err := w.a.Messaging.Get(w.ctx, "acme", msgs[0])
			if err != nil || m.Variant != es[0].Variant {
				t.Fatalf("the offer %+v (variant %q), %v", m, es[0].Variant, err)
			}
			if _, err := w.a.Messaging.Receive(w.ctx, "acme", m.ID, messaging.Receipt{Type: messaging.ReceiptClicked, URL: "https://shop.example/offer"}); err != nil {
				t.Fatal(err)
			}
			// Cy is deleted while waiting.
			cyTimer := w.enrolments("acme", cy.ID)[0].TimerID
			if _, err := w.a.Contacts.Delete(w.ctx, "acme", cy.ID, 0); err != nil {
				t.Fatal(err)
			}
			w.settle()
			ada2, err := w.a.Contacts.Get(w.ctx, "acme", ada.ID)
			if err != nil {
				t.Fatal(err)
			}
			if es := w.enrolments("acme", ada.ID); es[0].ExitReason != journeys.ExitStep || !slices.Contains(ada2.Tags, "clicked") {
				t.Fatalf("after the click: %+v, tags %v", es[0], ada2.Tags)
			}
			// The deleted contact's enrolment is gone (its exit counted: the
			// counters are aggregates, not the person), and so is its entry.
			if es := w.enrolments("acme", cy.ID); len(es) != 0 {
				t.Fatalf("a deleted contact's enrolments are kept: %+v", es)
			}
			if st, err := w.a.Journeys.Stats(w.ctx, "acme", j.ID); err != nil || st.Exited[journeys.ExitContactDeleted] != 1 {
				t.Fatalf("stats after the deletion: %+v, %v", st, err)
			}
			if _, err := w.st.Get(w.ctx, store.Tenant("acme").Marker("journey-entry", j.ID, cy.ID)); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("the deleted contact's entry marker: %v", err)
			}
			if tm, err := w.a.Timers.Get(w.ctx, "acme", cyTimer); err != nil || tm.State != core.TimerCancelled {
				t.Fatalf("the deleted contact's timer: %+v, %v", tm, err)
			}
			// Bob never clicks: after three days, the branch sends the VIP mail.
			w.advance(start.Add(3 * 24 * time.Hour))
			if got := w.sends("acme", bob.ID); len(got) != 2 || !strings.HasPrefix(got[1], "vip@") {
				t.Fatalf("Bob's messages: %v", got)
			}
			if got := w.steps("acme", bob.ID); !slices.Contains(got, "click:timeout") || !slices.Contains(got, "vip:then") {
				t.Fatalf("Bob's steps: %v", got)
			}
			// Ada's enrolment had ended: deleting her forgets it too.
			if _, err := w.a.Contacts.Delete(w.ctx, "acme", ada.ID, 0); err != nil {
				t.Fatal(err)
			}
			w.settle()
			if es := w.enrolments("acme", ada.ID); len(es) != 0 {
				t.Fatalf("a deleted contact's ended enrolments are kept: %+v", es)
			}
		})
	}
}

// A contact who unsubscribes from the journey's channel exits at once,
// its wait's timer cancelled; a journey that keeps them does not let go.
// On both engines.
func TestJourneyUnsubscribeExits(t *testing.T) {
	for name, open := range enginetest.Engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
			w := newJourneyWorld(t, open(t), start, "acme")
			d := func(keep bool) journeys.JourneyDefinition {
				return journeys.JourneyDefinition{Trigger: journeys.JourneyTrigger{Kind: journeys.TriggerAPI},
					Exit: journeys.JourneyExit{KeepOnUnsubscribe: keep},
					Steps: []journeys.JourneyStep{{ID: "hi", Type: journeys.StepSend, Channel: messaging.Email, Template: "hi"},
						{ID: "month", Type: journeys.StepWait, Delay: "30d"}, {ID: "bye", Type: journeys.StepSend, Channel: messaging.Email, Template: "bye"}}}
			}
			leaves, keeps := w.journey("acme", d(false)), w.journey("acme", d(true))
			ada := w.contact("acme", "ada@example.com", "")
			for _, j := range []journeys.Journey{leaves, keeps} {
				if _, err := w.a.Journeys.Enrol(w.ctx, "acme", j.ID, journeys.JourneyEnrolRequest{ContactID: ada.ID}); err != nil {
					t.Fatal(err)
				}
			}
			w.settle()
			es := w.enrolments("acme", ada.ID)
			var leaving journeys.JourneyEnrolment
			for _, e := range es {
				if e.JourneyID == leaves.ID {
					leaving = e
				}
			}
			msgs := w.timeline("acme", ada.ID, func(ev events.Envelope) (string, bool) {
				return ev.Detail.Entity.ID, ev.DetailType == events.MessageRequested
			})
			if len(msgs) != 2 || !leaving.Waiting {
				t.Fatalf("messages %v, enrolment %+v", msgs, leaving)
			}
			w.clock.Set(start.Add(24 * time.Hour))
			if _, err := w.a.Messaging.Receive(w.ctx, "acme", msgs[0], messaging.Receipt{Type: messaging.ReceiptUnsubscribed}); err != nil {
				t.Fatal(err)
			}
			w.settle()
			for _, e := range w.enrolments("acme", ada.ID) {
				switch {
				case e.JourneyID == leaves.ID && (e.ExitReason != journeys.ExitUnsubscribed || !e.EndedAt.Equal(start.Add(24*time.Hour))):
					t.Errorf("the journey that lets go: %+v", e)
				case e.JourneyID == keeps.ID && e.State != journeys.EnrolmentActive:
					t.Errorf("the journey that keeps them: %+v", e)
				}
			}
			if tm, err := w.a.Timers.Get(w.ctx, "acme", leaving.TimerID); err != nil || tm.State != core.TimerCancelled {
				t.Fatalf("the wait's timer: %+v, %v", tm, err)
			}
		})
	}
}
