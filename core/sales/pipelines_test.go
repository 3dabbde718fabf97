package sales_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/sales"
	"github.com/fedele-crm/fedele/core/store/memstore"
)

func stages(ids ...string) []core.PipelineStage {
	var out []core.PipelineStage
	for _, id := range ids {
		s := core.PipelineStage{ID: id, Name: strings.ToUpper(id), Probability: 20}
		switch id {
		case "won":
			s.Kind, s.Probability = core.StageKindWon, 100
		case "lost":
			s.Kind, s.Probability = core.StageKindLost, 0
		}
		out = append(out, s)
	}
	return out
}

// Editing a pipeline: rename, stages added, reordered and removed, but
// never a stage deals are in; deleting it only without deals.
func TestEditPipeline(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { now = now.Add(time.Second); return now }
	pipelines := sales.NewPipelines(st, clock)
	deals := sales.NewDeals(st, pipelines, clock)

	p, err := pipelines.Create(ctx, "acme", core.PipelineFields{Name: "New business", Stages: stages("lead", "demo", "won", "lost")})
	if err != nil {
		t.Fatal(err)
	}
	d, err := deals.Create(ctx, "acme", core.DealFields{Name: "Big", PipelineID: p.ID, Stage: "demo", Currency: "EUR", AmountMinor: 100})
	if err != nil {
		t.Fatal(err)
	}
	set := func(name string, ids ...string) func(*core.PipelineFields) error {
		return func(f *core.PipelineFields) error {
			if name != "" {
				f.Name = name
			}
			if ids != nil {
				f.Stages = stages(ids...)
			}
			return nil
		}
	}
	for _, tt := range []struct {
		name      string
		version   int64
		change    func(*core.PipelineFields) error
		code      core.Code
		mention   string   // in the error
		wantStage []string // after
	}{
		{name: "rename", change: set("Renewals"), wantStage: []string{"lead", "demo", "won", "lost"}},
		{name: "stale If-Match", version: 1, change: set("Other"), code: core.CodeStale},
		{name: "add and reorder", change: set("", "demo", "lead", "trial", "won", "lost"), wantStage: []string{"demo", "lead", "trial", "won", "lost"}},
		{name: "remove an empty stage", change: set("", "demo", "trial", "won", "lost"), wantStage: []string{"demo", "trial", "won", "lost"}},
		{name: "remove a stage with a deal", change: set("", "trial", "won", "lost"), code: core.CodeConflict, mention: "stage demo"},
		{name: "change a stage with a deal to won", change: func(f *core.PipelineFields) error {
			f.Stages[0].Kind, f.Stages[0].Probability = core.StageKindWon, 100
			return nil
		}, code: core.CodeConflict, mention: "stage demo"},
		{name: "invalid stages", change: set("", "demo", "trial"), code: core.CodeInvalid},
	} {
		got, err := pipelines.Update(ctx, "acme", p.ID, tt.version, tt.change)
		if tt.code != "" {
			if core.ErrorCode(err) != tt.code || !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("%s: %v, want %s mentioning %q", tt.name, err, tt.code, tt.mention)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		var ids []string
		for _, s := range got.Stages {
			ids = append(ids, s.ID)
		}
		if diff := cmp.Diff(tt.wantStage, ids); diff != "" {
			t.Errorf("%s: stages (-want +got):\n%s", tt.name, diff)
		}
	}
	if got, _ := pipelines.Get(ctx, "acme", p.ID); got.Name != "Renewals" || got.Version != 4 {
		t.Errorf("after the edits: %q at version %d, want Renewals at 4", got.Name, got.Version)
	}

	if _, err := pipelines.Delete(ctx, "acme", p.ID, 0); core.ErrorCode(err) != core.CodeConflict {
		t.Errorf("delete with a deal: %v, want conflict", err)
	}
	if _, err := deals.Delete(ctx, "acme", d.ID, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := pipelines.Delete(ctx, "acme", p.ID, 1); core.ErrorCode(err) != core.CodeStale {
		t.Errorf("delete at a stale version: %v, want precondition failed", err)
	}
	if _, err := pipelines.Delete(ctx, "acme", p.ID, 4); err != nil {
		t.Fatalf("delete without deals: %v", err)
	}
	if _, err := pipelines.Get(ctx, "acme", p.ID); core.ErrorCode(err) != core.CodeNotFound {
		t.Errorf("get after delete: %v", err)
	}
}
