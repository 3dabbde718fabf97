package customers_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core/customers"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/infra/embedded"
)

// summaries are n customers as a shop has them: most bought once and
// lately, a long tail of frequent buyers, amounts spread over three
// orders of magnitude, 70% EUR, 25% USD, 5% JPY. Deterministic.
func summaries(n int) []customers.Summary {
	rng := rand.New(rand.NewPCG(15, 4))
	out := make([]customers.Summary, n)
	for i := range out {
		cur := "EUR"
		switch x := rng.IntN(100); {
		case x >= 95:
			cur = "JPY"
		case x >= 70:
			cur = "USD"
		}
		f := int64(1)
		for f < 40 && rng.IntN(100) < 45 {
			f++
		}
		out[i] = customers.Summary{
			Recency:   int64(rng.ExpFloat64() * 180),
			Frequency: f,
			Currency:  cur,
			Monetary:  f * int64(math.Exp(rng.NormFloat64()*0.9+8)),
		}
	}
	return out
}

// naiveScores is the baseline: each dimension sorted on its own (indices
// by a comparison of the structs), ranks walked per group, monetary one
// filter and sort per currency — nothing shared between the dimensions.
func naiveScores(sums []customers.Summary) []customers.Scores {
	n := len(sums)
	out := make([]customers.Scores, n)
	rank := func(idx []int, key func(customers.Summary) int64, set func(*customers.Scores, int)) {
		sort.Slice(idx, func(a, b int) bool { return key(sums[idx[a]]) < key(sums[idx[b]]) })
		for k := 0; k < len(idx); {
			j := k
			for j < len(idx) && key(sums[idx[j]]) == key(sums[idx[k]]) {
				j++
			}
			for m := k; m < j; m++ {
				set(&out[idx[m]], customers.RankScore(int64(k), int64(len(idx))))
			}
			k = j
		}
	}
	all := func() []int {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	rank(all(), func(s customers.Summary) int64 { return s.Recency }, func(s *customers.Scores, v int) { s.R = 6 - v })
	rank(all(), func(s customers.Summary) int64 { return s.Frequency }, func(s *customers.Scores, v int) { s.F = v })
	seen := map[string]bool{}
	for _, s := range sums {
		if seen[s.Currency] {
			continue
		}
		seen[s.Currency] = true
		var idx []int
		for i, t := range sums {
			if t.Currency == s.Currency {
				idx = append(idx, i)
			}
		}
		rank(idx, func(s customers.Summary) int64 { return s.Monetary }, func(s *customers.Scores, v int) { s.M = v })
	}
	return out
}

// The cut points give every customer the score the definition does.
func TestScoreAllIsTheRule(t *testing.T) {
	t.Parallel()
	sums := summaries(3000)
	if diff := cmp.Diff(naiveScores(sums), customers.ScoreAll(sums)); diff != "" {
		t.Fatalf("naive (-) and ScoreAll (+):\n%s", diff)
	}
}

// BenchmarkRFM: the pure scoring function over 100 000 summaries beside
// the naive baseline (ratio = naive / ScoreAll in the same run), and the
// whole job over 100 000 profiles on the embedded engine beside one plain
// read of every profile (ratio = job / scan).
//
//	go test ./core/customers -run '^$' -bench RFM -benchtime 1x
func BenchmarkRFM(b *testing.B) {
	const n = 100_000
	b.Run("score", func(b *testing.B) {
		sums := summaries(n)
		var fast, naive time.Duration
		for b.Loop() {
			t0 := time.Now()
			customers.ScoreAll(sums)
			t1 := time.Now()
			naiveScores(sums)
			fast, naive = fast+t1.Sub(t0), naive+time.Since(t1)
		}
		b.ReportMetric(float64(fast.Nanoseconds())/float64(b.N)/n, "ns/customer")
		b.ReportMetric(float64(naive.Nanoseconds())/float64(b.N)/n, "naive-ns/customer")
		b.ReportMetric(float64(naive)/float64(fast), "naive/ScoreAll")
	})
	b.Run("job-embedded", func(b *testing.B) {
		st, err := embedded.Open(filepath.Join(b.TempDir(), "fedele.db"))
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		seedProfiles(b, st, "acme", summaries(n))
		r := newRig(b, st)
		r.rfm.PageSize, r.rfm.PagesPerStep = 500, 10
		ctx := context.Background()
		var job, scan, rerun time.Duration
		var steps int
		for b.Loop() {
			t0 := time.Now()
			read := 0
			for cursor := ""; ; {
				page, err := store.QueryMerged(ctx, st, store.Query{}, customers.ProfilePKs("acme"), 500, cursor)
				if err != nil {
					b.Fatal(err)
				}
				read += len(page.Items)
				if cursor = page.Next; cursor == "" {
					break
				}
			}
			t1 := time.Now()
			j, rep := r.run(b, "acme")
			t2 := time.Now()
			r.clock.Advance(time.Minute)
			_, again := r.run(b, "acme")
			scan, job, rerun = scan+t1.Sub(t0), job+t2.Sub(t1), rerun+time.Since(t2)
			steps += j.Steps
			if read != n || rep.Customers != n || again.Changed != 0 {
				b.Fatalf("read %d, scored %d, changed again %d", read, rep.Customers, again.Changed)
			}
			// Reset for the next round: the first run writes every profile.
			b.StopTimer()
			clearRFM(b, st, "acme")
			b.StartTimer()
		}
		b.ReportMetric(job.Seconds()/float64(b.N), "job-s")
		b.ReportMetric(rerun.Seconds()/float64(b.N), "unchanged-job-s")
		b.ReportMetric(scan.Seconds()/float64(b.N), "scan-s")
		b.ReportMetric(float64(job)/float64(scan), "job/scan")
		b.ReportMetric(float64(rerun)/float64(scan), "unchanged/scan")
		b.ReportMetric(float64(steps)/float64(b.N), "steps")
	})
}

// seedProfiles writes a profile per summary, its days spread back from
// the rig's as-of day, 100 a transaction.
func seedProfiles(b *testing.B, st store.Store, tenant string, sums []customers.Summary) {
	b.Helper()
	asOf := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	var ws []store.Write
	for i, s := range sums {
		p := customers.Profile{ContactID: fmt.Sprintf("01KC%022d", i)}
		per := s.Monetary / s.Frequency
		for d := s.Frequency - 1; d >= 0; d-- {
			date := asOf.AddDate(0, 0, -int(s.Recency)-int(d)*20).Format(time.DateOnly)
			p.Purchases.Days = append(p.Purchases.Days, customers.Day{Date: date, Orders: 1, Amounts: []customers.Amount{{Currency: s.Currency, Net: per}}})
		}
		w, err := customers.ProfileDoc.Put(customers.ProfileKey(tenant, p.ContactID), 0, &p)
		if err != nil {
			b.Fatal(err)
		}
		if ws = append(ws, w); len(ws) == store.MaxTxItems || i == len(sums)-1 {
			if err := st.Transact(context.Background(), ws); err != nil {
				b.Fatal(err)
			}
			ws = ws[:0]
		}
	}
}

func clearRFM(b *testing.B, st store.Store, tenant string) {
	b.Helper()
	ctx := context.Background()
	for cursor := ""; ; {
		page, err := store.QueryMerged(ctx, st, store.Query{}, customers.ProfilePKs(tenant), 100, cursor)
		if err != nil {
			b.Fatal(err)
		}
		var ws []store.Write
		for _, it := range page.Items {
			p, _ := customers.ProfileDoc.Decode(it)
			p.RFM = nil
			w, _ := customers.ProfileDoc.Put(it.Key, it.Version, &p)
			ws = append(ws, w)
		}
		if len(ws) > 0 {
			if err := st.Transact(ctx, ws); err != nil {
				b.Fatal(err)
			}
		}
		if cursor = page.Next; cursor == "" {
			return
		}
	}
}
