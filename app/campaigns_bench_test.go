package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/app"
	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/campaigns"
	"github.com/fedele-crm/fedele/core/clock"
	"github.com/fedele-crm/fedele/core/contacts"
	"github.com/fedele-crm/fedele/core/messaging"
	"github.com/fedele-crm/fedele/core/segments"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/infra/embedded"
)

// BenchmarkCampaignLaunch: a campaign to FEDELE_BENCH_CONTACTS contacts
// (default 100 000, a dynamic segment of all of them) on the embedded
// engine, from Schedule to the last message.requested (the launch job
// done, the relay delivering everything it wrote meanwhile), with the
// delivery policy on (consent, address, suppression, a cross-channel cap,
// quiet hours) and a 10% holdout; beside it in the same run, messaging's
// bare Request over the same contacts with the same policy, one call after
// another. Both in messages/s; the ratio is what a campaign adds per
// message (its page reads, the hash, the built-in decision, the
// enrolment write) over the one door it sends through.
//
//	go test ./app -run '^$' -bench CampaignLaunch -benchtime 1x -timeout 30m
//
// Setup (seeding the contacts, evaluating the segment) runs only under
// -bench.
func BenchmarkCampaignLaunch(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("FEDELE_BENCH_CONTACTS")); err == nil && v > 0 {
		n = v
	}
	now := time.Date(2026, 6, 10, 10, 0, 0, 0, time.UTC)
	st, err := embedded.Open(filepath.Join(b.TempDir(), "fedele.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	a, err := app.New(app.Ports{Store: st, Clock: clock.NewFake(now), Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := a.Tenants.Create(ctx, "acme", "Acme", "IT"); err != nil {
		b.Fatal(err)
	}
	if _, err := a.Tenants.Update(ctx, "acme", func(tn *core.Tenant) error { tn.TimeZone = "Europe/Rome"; return nil }); err != nil {
		b.Fatal(err)
	}
	if _, err := a.Messaging.SetPolicy(ctx, "acme", messaging.Policy{Caps: []messaging.Cap{{Channel: "*", Max: 100, Window: "168h"}},
		QuietHours: map[string]messaging.QuietHours{"*": {Start: "22:00", End: "06:00"}}}, 0); err != nil {
		b.Fatal(err)
	}
	ids := seedConsenting(b, st, "acme", n, now)
	sg, err := a.Segments.Create(ctx, "acme", segments.Dynamic, segments.SegmentFields{Name: "everyone", Expression: `"newsletter" in contact.tags`})
	if err != nil {
		b.Fatal(err)
	}
	runJob(b, a, "acme", sg.JobID)
	if got, err := a.Segments.Count(ctx, "acme", sg.ID); err != nil || got != n {
		b.Fatalf("segment of %d, want %d: %v", got, n, err)
	}

	b.Run("campaign", func(b *testing.B) {
		for i := range b.N {
			c, err := a.Campaigns.Create(ctx, "acme", campaigns.CampaignFields{Name: fmt.Sprint("bench ", i), SegmentID: sg.ID,
				Channel: messaging.Email, Template: "t", HoldoutPercent: 10,
				Variants: []campaigns.CampaignVariant{{Name: "a", Share: 50}, {Name: "b", Share: 50}},
				Merge:    []campaigns.MergeField{{Name: "name", Field: "first_name"}}})
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			if c, err = a.Campaigns.Schedule(ctx, "acme", c.ID, 0); err != nil {
				b.Fatal(err)
			}
			j := runJob(b, a, "acme", c.JobID)
			elapsed := time.Since(start)
			p, err := a.Campaigns.Performance(ctx, "acme", c.ID)
			if err != nil {
				b.Fatal(err)
			}
			var requested int64
			for _, g := range p.Groups {
				if g.Variant != "treated" {
					requested += g.Requested
				}
			}
			if j.Done != n || requested < int64(n)*8/10 {
				b.Fatalf("decided %d, requested %d of %d", j.Done, requested, n)
			}
			b.ReportMetric(float64(requested)/elapsed.Seconds(), "messages/s")
			b.ReportMetric(float64(n)/elapsed.Seconds(), "recipients/s")
		}
	})
	b.Run("bare-request", func(b *testing.B) {
		for i := range b.N {
			start := time.Now()
			for _, id := range ids {
				out, err := a.Messaging.Request(ctx, "acme", messaging.Request{ContactID: id, Channel: messaging.Email, Template: "t",
					CampaignID: "bare", Step: strconv.Itoa(i)})
				if err != nil || out.Message.Status != messaging.StatusRequested {
					b.Fatal(err, out.Message.Status)
				}
			}
			b.ReportMetric(float64(len(ids))/time.Since(start).Seconds(), "messages/s")
		}
	})
}

// seedConsenting writes n contacts consenting to e-mail straight to the
// store, 100 a transaction: the benchmark measures the launch, not ingest.
func seedConsenting(b *testing.B, st store.Store, tenant string, n int, now time.Time) []string {
	ctx := context.Background()
	ids := make([]string, 0, n)
	var writes []store.Write
	for i := range n {
		c := core.Contact{Meta: core.Meta{ID: core.NewID(now.Add(-time.Duration(n-i) * time.Second)), Version: 1, CreatedAt: now.AddDate(-1, 0, 0), UpdatedAt: now.AddDate(-1, 0, 0)},
			ContactFields: core.ContactFields{FirstName: fmt.Sprintf("C%d", i), Tags: []string{"newsletter"},
				Emails:  []core.Email{{Address: fmt.Sprintf("c%d@example.com", i), Primary: true}},
				Consent: &core.Consent{Email: &core.ChannelConsent{Status: core.ConsentGranted, Source: "form"}}}}
		data, _ := json.Marshal(c)
		writes = append(writes, store.Write{Op: store.OpPut, Item: store.Item{Key: contacts.ContactKey(tenant, c.ID), Version: 1, Data: data}})
		ids = append(ids, c.ID)
		if len(writes) == 100 || i == n-1 {
			if err := st.Transact(ctx, writes); err != nil {
				b.Fatal(err)
			}
			writes = writes[:0]
		}
	}
	return ids
}
