package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/app"
	"github.com/fedele-crm/fedele/core/clock"
	"github.com/fedele-crm/fedele/core/customers"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/jobs"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/core/tenancy"
	"github.com/fedele-crm/fedele/internal/testsupport/enginetest"
)

// RFM end to end on each real engine, built through app as every process
// is: profiles written as the customers consumer writes them, orders that
// start one job per window through the timers, the job's steps delivered
// by the local relay, and the other tenant untouched.
func TestRFMOnEveryEngine(t *testing.T) {
	for name, open := range enginetest.Engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := open(t)
			fake := clock.NewFake(time.Date(2026, 12, 2, 22, 3, 0, 0, time.UTC))
			a, err := app.New(app.Ports{Store: st, Log: slog.New(slog.DiscardHandler), Clock: fake})
			if err != nil {
				t.Fatal(err)
			}
			a.RFM.PageSize, a.RFM.PagesPerStep = 7, 2
			relay := a.LocalRelay(time.Millisecond)
			drain := func() {
				t.Helper()
				for range 1000 {
					n, err := relay.Drain(ctx)
					if err != nil {
						t.Fatal(err)
					}
					if n == 0 {
						return
					}
				}
				t.Fatal("the outbox never drained")
			}
			zone := "Asia/Tokyo" // 2026-12-03 already
			for _, id := range []string{"acme", "globex"} {
				if _, err := a.Tenants.Create(ctx, id, id, "US"); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := a.Tenants.SetSettings(ctx, "acme", tenancy.Settings{TimeZone: &zone}); err != nil {
				t.Fatal(err)
			}
			for tenant, n := range map[string]int{"acme": 40, "globex": 3} {
				for i := range n {
					p := customers.Profile{ContactID: fmt.Sprintf("01KC%022d", i)}
					for d := range 1 + i%3 {
						p.Purchases.Days = append(p.Purchases.Days, customers.Day{Date: time.Date(2026, 12, 2-i*5-d*40, 0, 0, 0, 0, time.UTC).Format(time.DateOnly),
							Orders: 1, Amounts: []customers.Amount{{Currency: "EUR", Net: int64(500 * (1 + i%7))}}})
					}
					w, err := customers.ProfileDoc.Put(customers.ProfileKey(tenant, p.ContactID), 0, &p)
					if err != nil {
						t.Fatal(err)
					}
					if err := st.Put(ctx, w.Item, w.Cond); err != nil {
						t.Fatal(err)
					}
				}
			}
			// Ten orders in the window of 22:00.
			for i := range 10 {
				ev := events.New(ctx, "acme", events.OrderPlaced, fake.Now(), events.Entity{Type: "order", ID: fmt.Sprintf("01KCORD%019d", i), Data: json.RawMessage(`{}`)})
				w, err := events.OutboxWrite(ev)
				if err != nil {
					t.Fatal(err)
				}
				if err := st.Transact(ctx, []store.Write{w}); err != nil {
					t.Fatal(err)
				}
				drain()
				fake.Advance(30 * time.Second)
			}
			fake.Set(time.Date(2026, 12, 2, 22, 11, 0, 0, time.UTC))
			if _, err := a.Timers.Drain(ctx, 0, a.Timers.FireAll); err != nil {
				t.Fatal(err)
			}
			drain()
			js, _, err := a.Jobs.List(ctx, "acme", customers.JobRFM, 10, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(js) != 1 || js[0].Status != jobs.Done || js[0].Done != 40 || js[0].Total != 40 {
				t.Fatalf("jobs after the window: %+v", js)
			}
			var rep customers.RFMReport
			if err := json.Unmarshal(js[0].Result, &rep); err != nil {
				t.Fatal(err)
			}
			if rep.AsOf != "2026-12-03" || rep.TimeZone != zone || rep.Customers != 40 || rep.Changed != 40 {
				t.Errorf("report %+v", rep)
			}
			sums := make([]customers.Summary, 40)
			for i := range sums {
				p, _, err := customers.GetProfile(ctx, st, "acme", fmt.Sprintf("01KC%022d", i))
				if err != nil {
					t.Fatal(err)
				}
				s, _ := customers.SummaryOf(&p, "2026-12-03")
				sums[i] = s
			}
			for i, want := range customers.ScoreAll(sums) {
				p, _, _ := customers.GetProfile(ctx, st, "acme", fmt.Sprintf("01KC%022d", i))
				if p.RFM == nil || (customers.Scores{R: p.RFM.R, F: p.RFM.F, M: p.RFM.M}) != want {
					t.Errorf("customer %d: %+v, want %+v", i, p.RFM, want)
				}
			}
			latest, err := a.RFM.Latest(ctx, "acme")
			if err != nil || latest.JobID != js[0].ID {
				t.Errorf("latest %+v: %v", latest, err)
			}
			// Tenant isolation: globex has no job, no report, no scores,
			// and cannot read acme's job.
			if g, _, _ := a.Jobs.List(ctx, "globex", "", 10, ""); len(g) != 0 {
				t.Errorf("globex jobs %+v", g)
			}
			if _, err := a.Jobs.Get(ctx, "globex", js[0].ID); err == nil {
				t.Error("globex read acme's job")
			}
			if p, _, _ := customers.GetProfile(ctx, st, "globex", fmt.Sprintf("01KC%022d", 0)); p.RFM != nil {
				t.Errorf("globex scored: %+v", p.RFM)
			}
		})
	}
}
