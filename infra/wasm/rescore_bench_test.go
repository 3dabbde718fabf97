package wasm

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/plugins"
	"github.com/fedele-crm/fedele/core/scoring"
	"github.com/fedele-crm/fedele/core/tenancy"
	"github.com/fedele-crm/fedele/infra/embedded"
)

// BenchmarkRescore100k scores 100 000 contacts with the built-in scorer
// (native Go), and with the example leadscore plugin through the batch
// contract — plugins.Decide on the real host, the registry and the stats
// on the embedded store — at batch sizes 1, 100 and 1000. Rows report
// contacts/s and x-native, the time per contact over the native row's.
// At batch 1 every call also writes the version's stats (a store
// transaction), so that row scores only the first 5 000 contacts.
//
//	go test ./infra/wasm -run '^$' -bench Rescore100k -benchtime 1x
func BenchmarkRescore100k(b *testing.B) {
	const n = 100_000
	ctx := context.Background()
	st, err := embedded.Open(filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	now := func() time.Time { return testNow }
	if _, err := tenancy.NewTenants(st, now).Create(ctx, "bench", "Bench", "IT"); err != nil {
		b.Fatal(err)
	}
	h := newHost(b, Config{CacheDir: b.TempDir()})
	m, err := h.Prepare(ctx, "score", readFile(b, "testdata", "plugins", "leadscore.wasm"))
	if err != nil {
		b.Fatal(err)
	}
	shelf := &moduleShelf{m: map[string]*Module{}}
	shelf.put("bench", m)
	reg := plugins.NewRegistry(st, now)
	v, err := reg.Add(ctx, "bench", "leads", "score", m.ID, len(m.Code), nil)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := reg.Activate(ctx, "bench", "leads", v.Number); err != nil {
		b.Fatal(err)
	}
	runner := plugins.NewRunner(reg, NewEngine(h, shelf.load), func(context.Context, string) (int, error) { return 5, nil }, nil)

	recs := make([]scoring.Record, n)
	for i := range recs {
		r := &recs[i]
		r.Contact.ID = core.NewID(testNow)
		r.Contact.Emails = []core.Email{{Address: fmt.Sprintf("c%d@example.com", i)}}
		r.Contact.Tags = []string{"decision-maker"}
		r.Contact.LifecycleStage = core.StageMQL
		r.Company = &core.Company{CompanyFields: core.CompanyFields{Name: "Co", Size: "1001-5000"}}
		r.Activities = []scoring.Activity{{Type: "meeting", At: testNow.Add(-48 * time.Hour)}, {Type: "call", At: testNow.Add(-40 * 24 * time.Hour)}}
	}
	weights := core.DefaultScoringWeights
	builtin := func(r scoring.Record) scoring.Result { return scoring.Builtin(r, testNow, weights) }

	var nativePerContact float64
	report := func(b *testing.B, contacts int) {
		per := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / float64(contacts)
		b.ReportMetric(1e9/per, "contacts/s")
		if nativePerContact > 0 {
			b.ReportMetric(per/nativePerContact, "x-native")
		}
	}
	b.Run("native", func(b *testing.B) {
		for b.Loop() {
			for i := range recs {
				_ = builtin(recs[i])
			}
		}
		nativePerContact = float64(b.Elapsed().Nanoseconds()) / float64(b.N) / n
		report(b, n)
	})
	for _, batch := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("plugin/batch=%d", batch), func(b *testing.B) {
			todo := recs
			if batch == 1 {
				todo = recs[:5000]
			}
			for b.Loop() {
				for i := 0; i < len(todo); i += batch {
					_, o := plugins.Decide(ctx, runner, "bench", plugins.KindScore, todo[i:min(i+batch, len(todo))], builtin)
					if o.Failure != nil {
						b.Fatalf("the plugin failed: %+v", o.Failure)
					}
				}
			}
			report(b, len(todo))
		})
	}
}
