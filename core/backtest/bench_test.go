package backtest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/backtest"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/store"
)

// BenchmarkBacktest is what a backtest costs per event it reads, beside the
// bare read of the same events (merged across the 8 shards and decoded),
// which any replay pays: the ratio is the cost of rebuilding each record
// from the timeline index, two plugin calls per batch and the contacts'
// documents. On the memory store with a fake engine, so it measures the
// backtest's own work, not a store's or a sandbox's.
//
//	go test ./core/backtest -run '^$' -bench Backtest -benchmem
func BenchmarkBacktest(b *testing.B) {
	const contactsN, activitiesEach = 300, 3
	w := newWorld(b)
	ctx := context.Background()
	for i := range contactsN {
		c := w.contact(b, "acme", time.Duration(i)*time.Minute, core.ContactFields{FirstName: fmt.Sprint("c", i),
			Tags: []string{fmt.Sprint("c", i%100), fmt.Sprint("b", (i*7)%100)}})
		for a := range activitiesEach {
			w.at = t0.Add(time.Duration(i)*time.Minute + time.Duration(a+1)*time.Second)
			if _, err := w.acts.Log(ctx, "acme", core.ActivityFields{Type: "call", At: w.at, ContactID: c.ID}); err != nil {
				b.Fatal(err)
			}
		}
		if i%10 == 0 {
			w.wonDeal(b, "acme", time.Duration(i)*time.Minute+time.Hour, c)
		}
	}
	w.at = t0.Add(day(45))
	w.backtests.WithSteps(backtest.PageEvents, backtest.Batch)
	cand := w.upload(b, "acme", "next", "cand")
	req := backtest.Request{From: "2026-10-01", To: "2026-10-02"}
	var read int

	b.Run("read events only", func(b *testing.B) {
		for b.Loop() {
			read = 0
			cursor := ""
			for {
				page, err := store.QueryMerged(ctx, w.st, store.Query{From: core.FirstIDAt(t0), Consistent: true}, events.EventsPKs("acme"), backtest.PageEvents, cursor)
				if err != nil {
					b.Fatal(err)
				}
				for _, it := range page.Items {
					if _, err := events.Decode(it); err != nil {
						b.Fatal(err)
					}
				}
				read += len(page.Items)
				if cursor = page.Next; cursor == "" {
					break
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*read), "ns/event")
	})
	b.Run("backtest", func(b *testing.B) {
		var events int
		for b.Loop() {
			bt := w.run(b, "acme", cand, req)
			events = bt.Done
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*events), "ns/event")
	})
}
