package sales

import (
	"context"
	"fmt"
	"slices"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
)

// Update applies change to a pipeline — its name, its stages added,
// reordered, renamed or removed — and stores it when it validates;
// ifVersion > 0 is the If-Match. A stage that deals are in can be neither
// removed nor given another kind (their status follows it): the conflict
// names it. A deal moved into such a stage in the same instant can slip by.
func (ps *Pipelines) Update(ctx context.Context, tenant, id string, ifVersion int64, change func(*core.PipelineFields) error) (core.Pipeline, error) {
	return pipelineKind.Update(ctx, ps.store, tenant, id, ifVersion, ps.now, func(cur core.Pipeline) (core.Pipeline, error) {
		f := cur.PipelineFields
		f.Stages = slices.Clone(cur.Stages) // cur's stages are what the change is checked against
		if err := change(&f); err != nil {
			return cur, err
		}
		if err := f.Normalize(); err != nil {
			return cur, err
		}
		// Only stages whose meaning for deals changed are worth a look at
		// the deals.
		var touched []string
		for _, old := range cur.Stages {
			if s, _, ok := f.Stage(old.ID); !ok || s.Kind != old.Kind {
				touched = append(touched, old.ID)
			}
		}
		if len(touched) > 0 {
			counts, err := ps.dealsByStage(ctx, tenant, id)
			if err != nil {
				return cur, err
			}
			for _, sid := range touched {
				if n := counts[sid]; n.all > 0 {
					what := "removed"
					if _, _, ok := f.Stage(sid); ok {
						what = "given another kind"
					}
					msg := fmt.Sprintf("stage %s still has %d deals (%d open): move them to another stage before it is %s", sid, n.all, n.open, what)
					return cur, &core.Error{Code: core.CodeConflict, Message: msg,
						Fields: []core.FieldError{{Path: "stages", Message: msg, Value: sid}}}
				}
			}
		}
		return core.Pipeline{Meta: cur.Meta, PipelineFields: f}, nil
	})
}

// Delete removes a pipeline that has no deals, open or closed: the deals'
// history and the reports need their pipeline. A deal created in the same
// instant can slip by, as a contact linked to a company being deleted can.
func (ps *Pipelines) Delete(ctx context.Context, tenant, id string, ifVersion int64) (core.Pipeline, error) {
	if _, err := ps.Get(ctx, tenant, id); err != nil {
		return core.Pipeline{}, err
	}
	page, err := ps.store.Query(ctx, store.Query{Index: store.GSI1, PK: dealPipelinePK(tenant, id), Limit: 1})
	if err != nil {
		return core.Pipeline{}, fmt.Errorf("look for deals of pipeline %s: %w", id, record.StoreError(err))
	}
	if len(page.Items) > 0 {
		return core.Pipeline{}, core.Errorf(core.CodeConflict, "pipeline %s still has deals; delete them first", id)
	}
	return pipelineKind.Delete(ctx, ps.store, tenant, id, ifVersion, ps.now)
}

type stageCount struct{ all, open int }

// dealsByStage counts a pipeline's deals per stage, reading them all page
// by page, as the reports do: fine for a sales team's deals.
func (ps *Pipelines) dealsByStage(ctx context.Context, tenant, pipeline string) (map[string]stageCount, error) {
	counts := map[string]stageCount{}
	plan := record.Plan{Query: store.Query{Index: store.GSI1, PK: dealPipelinePK(tenant, pipeline)}}
	cursor := ""
	for {
		page, next, err := record.List(ctx, ps.store, tenant, dealKind, plan, record.FilterKey("deal-stages", pipeline), record.MaxLimit, cursor,
			func(*core.Deal) bool { return true })
		if err != nil {
			return nil, err
		}
		for _, d := range page {
			c := counts[d.Stage]
			c.all++
			if d.Status == core.DealOpen {
				c.open++
			}
			counts[d.Stage] = c
		}
		if next == "" {
			return counts, nil
		}
		cursor = next
	}
}
