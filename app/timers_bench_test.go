package app_test

import (
	"container/heap"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/app"
	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/clock"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/core/timers"
	"github.com/fedele-crm/fedele/infra/embedded"
	"github.com/fedele-crm/fedele/internal/testsupport/dynamotest"
)

// BenchmarkTimersMillion is one run, side by side, on the embedded engine
// and on a plain in-memory heap of the same timers (the floor):
//
//	go test ./app -run '^$' -bench TimersMillion -benchtime 1x -timeout 60m
//
// 1. schedule 1 000 000 timers due tomorrow (the embedded engine in
// batches of 100, ScheduleMany); 2. with those pending, 20 000 timers due
// over the next 10 s, fired by the local loop on the wall clock: lateness
// p50/p99; 3. the clock moved a day on: the million fired in one catch-up
// drain, fires a second.
func BenchmarkTimersMillion(b *testing.B) {
	const pending, live, window = 1_000_000, 20_000, 10 * time.Second
	for range b.N {
		st, err := embedded.Open(filepath.Join(b.TempDir(), "fedele.db"))
		if err != nil {
			b.Fatal(err)
		}
		var offset atomic.Int64
		clk := clock.Func(func() time.Time { return time.Now().Add(time.Duration(offset.Load())) })
		var mu sync.Mutex
		var late []time.Duration
		var fired atomic.Int64
		h := timers.Handler{Kind: "bench", Handle: func(_ context.Context, t core.Timer) ([]store.Write, error) {
			fired.Add(1)
			if t.Subject == "live" {
				mu.Lock()
				late = append(late, clk.Now().Sub(t.Due))
				mu.Unlock()
			}
			return nil, nil
		}}
		a, err := app.New(app.Ports{Store: st, Clock: clk, Log: slog.New(slog.DiscardHandler), TimerHandlers: []timers.Handler{h}})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		tomorrow := time.Now().Add(24 * time.Hour)
		reqs := make([]core.TimerRequest, pending)
		for i := range reqs {
			reqs[i] = core.TimerRequest{Kind: "bench", Subject: "bulk", Due: tomorrow.Add(time.Duration(i) * time.Millisecond / 10)}
		}
		start := time.Now()
		for c := range slices.Chunk(reqs, 10_000) {
			if _, err := a.Timers.ScheduleMany(ctx, "acme", c); err != nil {
				b.Fatal(err)
			}
		}
		schedRate := float64(pending) / time.Since(start).Seconds()

		runCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { a.Timers.Run(runCtx); close(done) }()
		// Scheduled ahead of their window, 100 a transaction, so that what
		// is measured is the firing: one by one, 20 000 syncs to disk would
		// outlast the window.
		first := time.Now().Add(3 * time.Second)
		lives := make([]core.TimerRequest, live)
		for i := range lives {
			lives[i] = core.TimerRequest{Kind: "bench", Subject: "live", Due: first.Add(window * time.Duration(i) / live)}
		}
		if _, err := a.Timers.ScheduleMany(ctx, "acme", lives); err != nil {
			b.Fatal(err)
		}
		if late := time.Since(first); late > 0 {
			b.Logf("scheduling the live timers ended %s after the first was due", late)
		}
		deadline := time.Now().Add(window + time.Minute)
		for fired.Load() < live && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond) // polling the handler's count, with a deadline
		}
		stop()
		<-done
		p50, p99 := timers.Percentile(late, 50), timers.Percentile(late, 99)

		offset.Store(int64(25 * time.Hour))
		start = time.Now()
		ds, err := a.Timers.Drain(ctx, 0, a.Timers.FireAll)
		if err != nil {
			b.Fatal(err)
		}
		fireRate := float64(ds.Fired) / time.Since(start).Seconds()
		st.Close()

		hs, hf, h50, h99 := heapFloor(pending, live, window)
		b.Logf("\n%-22s %16s %16s %14s %14s\n%-22s %16.0f %16.0f %14s %14s\n%-22s %16.0f %16.0f %14s %14s",
			"1M pending timers", "schedule /s", "fire /s", "lateness p50", "lateness p99",
			"embedded engine", schedRate, fireRate, p50.Round(time.Microsecond), p99.Round(time.Microsecond),
			"in-memory heap", hs, hf, h50.Round(time.Microsecond), h99.Round(time.Microsecond))
		b.ReportMetric(schedRate, "schedule/s")
		b.ReportMetric(fireRate, "fire/s")
		b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
		if ds.Fired != pending {
			b.Fatalf("the catch-up fired %d of %d", ds.Fired, pending)
		}
	}
}

type entry struct {
	due time.Time
	id  int
}

type timerHeap []entry

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h timerHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)        { *h = append(*h, x.(entry)) }
func (h *timerHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// heapFloor is the same three steps on a min-heap under a mutex, fired by
// one goroutine sleeping on a time.Timer until the earliest due time.
func heapFloor(pending, live int, window time.Duration) (sched, fire float64, p50, p99 time.Duration) {
	var mu sync.Mutex
	h := &timerHeap{}
	tomorrow := time.Now().Add(24 * time.Hour)
	start := time.Now()
	for i := range pending {
		mu.Lock()
		heap.Push(h, entry{due: tomorrow.Add(time.Duration(i) * time.Millisecond / 10), id: i})
		mu.Unlock()
	}
	sched = float64(pending) / time.Since(start).Seconds()
	kick := make(chan struct{}, 1)
	var late []time.Duration
	done := make(chan struct{})
	go func() {
		defer close(done)
		for len(late) < live {
			mu.Lock()
			now := time.Now()
			for h.Len() > 0 && !(*h)[0].due.After(now) {
				e := heap.Pop(h).(entry)
				late = append(late, now.Sub(e.due))
			}
			if len(late) >= live {
				mu.Unlock()
				return
			}
			wait := time.Hour
			if h.Len() > 0 {
				wait = time.Until((*h)[0].due)
			}
			mu.Unlock()
			select {
			case <-time.After(wait):
			case <-kick:
			}
		}
	}()
	first := time.Now().Add(500 * time.Millisecond)
	for i := range live {
		mu.Lock()
		heap.Push(h, entry{due: first.Add(window * time.Duration(i) / time.Duration(live)), id: pending + i})
		mu.Unlock()
		select {
		case kick <- struct{}{}:
		default:
		}
	}
	<-done
	start = time.Now()
	n := 0
	for h.Len() > 0 {
		heap.Pop(h)
		n++
	}
	fire = float64(n) / time.Since(start).Seconds()
	return sched, fire, timers.Percentile(late, 50), timers.Percentile(late, 99)
}

// countingStore counts the requests a store is asked for.
type countingStore struct {
	store.Store
	get, put, del, tx, query atomic.Int64
}

func (c *countingStore) Get(ctx context.Context, k store.Key) (store.Item, error) {
	c.get.Add(1)
	return c.Store.Get(ctx, k)
}

func (c *countingStore) Put(ctx context.Context, it store.Item, cond store.Cond) error {
	c.put.Add(1)
	return c.Store.Put(ctx, it, cond)
}

func (c *countingStore) Delete(ctx context.Context, k store.Key, cond store.Cond) error {
	c.del.Add(1)
	return c.Store.Delete(ctx, k, cond)
}

func (c *countingStore) Transact(ctx context.Context, ws []store.Write) error {
	c.tx.Add(1)
	return c.Store.Transact(ctx, ws)
}

func (c *countingStore) Query(ctx context.Context, q store.Query) (store.Page, error) {
	c.query.Add(1)
	return c.Store.Query(ctx, q)
}

func (c *countingStore) take() string {
	s := fmt.Sprintf("get %d, put %d, delete %d, transact %d, query %d", c.get.Swap(0), c.put.Swap(0), c.del.Swap(0), c.tx.Swap(0), c.query.Swap(0))
	return s
}

// BenchmarkTimerDynamoRequests counts DynamoDB requests per timer on
// DynamoDB Local: 1 000 timers scheduled one by one and in batches, due
// over 10 minutes, then fired locally (group commit) and through the AWS
// path (leased by the scheduler, acted on by the worker one event each).
//
//	go test ./app -run '^$' -bench TimerDynamoRequests -benchtime 1x
func BenchmarkTimerDynamoRequests(b *testing.B) {
	const n = 1000
	for range b.N {
		raw, _ := dynamotest.OpenTable(b)
		cs := &countingStore{Store: raw}
		fake := clock.NewFake(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
		noop := timers.Handler{Kind: "bench", Handle: func(context.Context, core.Timer) ([]store.Write, error) { return nil, nil }}
		a, err := app.New(app.Ports{Store: cs, Clock: fake, Log: slog.New(slog.DiscardHandler), TimerHandlers: []timers.Handler{noop}})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		reqs := make([]core.TimerRequest, n)
		for i := range reqs {
			reqs[i] = core.TimerRequest{Kind: "bench", Due: fake.Now().Add(time.Duration(i) * 600 * time.Millisecond)}
		}
		for _, r := range reqs {
			if _, err := a.Timers.Schedule(ctx, "acme", r); err != nil {
				b.Fatal(err)
			}
		}
		one := cs.take()
		for i := range reqs {
			reqs[i].Due = reqs[i].Due.Add(20 * time.Minute)
		}
		if _, err := a.Timers.ScheduleMany(ctx, "acme", reqs); err != nil {
			b.Fatal(err)
		}
		many := cs.take()
		fake.Advance(11 * time.Minute)
		if _, err := a.Timers.Drain(ctx, 0, a.Timers.FireAll); err != nil { // fires the first 1 000
			b.Fatal(err)
		}
		local := cs.take()
		// The AWS path on the second 1 000: leased and announced, then acted on.
		fake.Advance(20 * time.Minute)
		bus := &nullBus{}
		if _, err := a.Timers.Drain(ctx, 0, a.Timers.Dispatcher(bus)); err != nil {
			b.Fatal(err)
		}
		lease := cs.take()
		for _, ev := range bus.evs {
			if err := a.Delivery().Publish(ctx, []events.Envelope{ev})[0]; err != nil {
				b.Fatal(err)
			}
		}
		worker := cs.take()
		b.Logf("\nDynamoDB requests for %d timers:\nschedule one by one: %s\nschedule in batches:  %s\nfire locally:         %s\nAWS: scheduler lease: %s (+ %d PutEvents entries)\nAWS: worker:          %s",
			n, one, many, local, lease, len(bus.evs), worker)
	}
}

type nullBus struct{ evs []events.Envelope }

func (n *nullBus) Publish(_ context.Context, evs []events.Envelope) []error {
	n.evs = append(n.evs, evs...)
	return make([]error, len(evs))
}
