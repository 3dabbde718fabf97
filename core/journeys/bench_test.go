package journeys_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/app"
	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/clock"
	"github.com/fedele-crm/fedele/core/journeys"
	"github.com/fedele-crm/fedele/infra/embedded"
)

// BenchmarkEnrol is a trigger that matches 100 000 contacts at once, on
// the embedded engine, side by side with its floor: enrolling them all
// in a wait-then-send journey (EnrolMany: entry marker, trigger marker,
// enrolment, timer and events per contact, 16 contacts a transaction),
// enrolling a sample one by one (Enrol: a transaction each), and the
// baseline of scheduling as many bare timers (ScheduleMany, 100 a
// transaction). Reported as contacts/s; the setup (100 000 contacts) runs
// only under -bench.
//
//	go test ./core/journeys -run '^$' -bench Enrol -benchtime 1x
func BenchmarkEnrol(b *testing.B) {
	const n = 100_000
	ctx := context.Background()
	st, err := embedded.Open(filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	start := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	a, err := app.New(app.Ports{Store: st, Clock: clock.NewFake(start), Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := a.Tenants.Create(ctx, "acme", "Acme", "IT"); err != nil {
		b.Fatal(err)
	}
	fs := make([]core.ContactFields, 100)
	var ids []string
	for len(ids) < n+1000 {
		for i := range fs {
			fs[i] = core.ContactFields{FirstName: fmt.Sprint("c", len(ids)+i)}
		}
		for _, r := range a.Contacts.CreateMany(ctx, "acme", fs) {
			if r.Err != nil {
				b.Fatal(r.Err)
			}
			ids = append(ids, r.Record.ID)
		}
	}
	journey := func() string {
		j, err := a.Journeys.Create(ctx, "acme", journeys.JourneyFields{Name: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		v, err := a.Journeys.AddVersion(ctx, "acme", j.ID, journeys.JourneyDefinition{Trigger: journeys.JourneyTrigger{Kind: journeys.TriggerAPI},
			Steps: []journeys.JourneyStep{{ID: "wait", Type: journeys.StepWait, Delay: "1d"}, {ID: "mail", Type: "send", Channel: "email", Template: "t"}}})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := a.Journeys.Publish(ctx, "acme", j.ID, v.Number); err != nil {
			b.Fatal(err)
		}
		return j.ID
	}
	rate := func(b *testing.B, count int) {
		b.ReportMetric(float64(count*b.N)/b.Elapsed().Seconds(), "contacts/s")
	}
	b.Run("enrol-many-100000", func(b *testing.B) {
		for range b.N {
			id := journey()
			reqs := make([]journeys.JourneyEnrolRequest, n)
			for i := range reqs {
				reqs[i] = journeys.JourneyEnrolRequest{ContactID: ids[i]}
			}
			b.ResetTimer()
			results, err := a.Journeys.EnrolMany(ctx, "acme", id, reqs)
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			for i, r := range results {
				if r.Err != nil {
					b.Fatalf("%d: %v", i, r.Err)
				}
			}
		}
		rate(b, n)
	})
	b.Run("enrol-one-by-one-1000", func(b *testing.B) {
		for range b.N {
			id := journey()
			b.ResetTimer()
			for _, c := range ids[n : n+1000] {
				if _, err := a.Journeys.Enrol(ctx, "acme", id, journeys.JourneyEnrolRequest{ContactID: c}); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
		}
		rate(b, 1000)
	})
	b.Run("baseline-bare-timers-100000", func(b *testing.B) {
		p, _ := json.Marshal(map[string]string{"journey_id": "x"})
		for round := range b.N {
			reqs := make([]core.TimerRequest, n)
			for i := range reqs {
				reqs[i] = core.TimerRequest{Kind: journeys.StepTimer, Subject: ids[i], Due: start.Add(24 * time.Hour), Payload: p,
					Key: fmt.Sprintf("bench-%d-%d", round, i)}
			}
			b.ResetTimer()
			if _, err := a.Timers.ScheduleMany(ctx, "acme", reqs); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
		}
		rate(b, n)
	})
}
