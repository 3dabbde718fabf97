package sales

import (
	"context"
	"slices"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/contacts"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/core/team"
)

// Pipelines is the repository of a tenant's sales pipelines.
type Pipelines struct {
	store store.Store
	now   func() time.Time
}

// NewPipelines returns the pipelines of every tenant in s.
func NewPipelines(s store.Store, now func() time.Time) *Pipelines {
	return &Pipelines{store: s, now: now}
}

var pipelineKind = record.Type[core.Pipeline]{
	Name: "pipeline",
	Key:  PipelineKey,
	Meta: func(p *core.Pipeline) *core.Meta { return &p.Meta },
}

// Get returns one pipeline.
func (ps *Pipelines) Get(ctx context.Context, tenant, id string) (core.Pipeline, error) {
	return pipelineKind.Get(ctx, ps.store, tenant, id)
}

// Create validates and stores a pipeline.
func (ps *Pipelines) Create(ctx context.Context, tenant string, f core.PipelineFields) (core.Pipeline, error) {
	if err := f.Normalize(); err != nil {
		return core.Pipeline{}, err
	}
	p := core.Pipeline{PipelineFields: f}
	if err := pipelineKind.Create(ctx, ps.store, tenant, ps.now(), &p); err != nil {
		return core.Pipeline{}, err
	}
	return p, nil
}

// List returns a page of a tenant's pipelines, oldest first.
func (ps *Pipelines) List(ctx context.Context, tenant string, limit int, cursor string) ([]core.Pipeline, string, error) {
	if err := record.CheckLimit(limit); err != nil {
		return nil, "", err
	}
	return record.List(ctx, ps.store, tenant, pipelineKind, record.Plan{Query: store.Query{PK: pipelinesPK(tenant)}}, "pipelines", limit, cursor,
		func(*core.Pipeline) bool { return true })
}

// Deals is the repository of deals.
type Deals struct {
	store     store.Store
	pipelines *Pipelines
	now       func() time.Time
}

// NewDeals returns the deals of every tenant in s.
func NewDeals(s store.Store, pipelines *Pipelines, now func() time.Time) *Deals {
	return &Deals{store: s, pipelines: pipelines, now: now}
}

var dealKind = record.Type[core.Deal]{
	Name: "deal",
	Key:  DealKey,
	Meta: func(d *core.Deal) *core.Meta { return &d.Meta },
	Index: func(tenant string, d *core.Deal) map[store.Index]store.Key {
		ix := map[store.Index]store.Key{store.GSI1: {PK: dealPipelinePK(tenant, d.PipelineID), SK: d.ID}}
		if d.ContactID != "" {
			ix[store.GSI2] = store.Key{PK: dealContactPK(tenant, d.ContactID), SK: d.ID}
		}
		if d.CompanyID != "" {
			ix[store.GSI3] = store.Key{PK: dealCompanyPK(tenant, d.CompanyID), SK: d.ID}
		}
		return ix
	},
	Refs: func(tenant string, d *core.Deal) []record.Ref {
		refs := []record.Ref{{Key: PipelineKey(tenant, d.PipelineID), Path: "pipeline_id", What: "pipeline"}}
		if d.OwnerID != "" {
			refs = append(refs, record.Ref{Key: team.UserKey(tenant, d.OwnerID), Path: "owner_id", What: "user"})
		}
		if d.ContactID != "" {
			refs = append(refs, record.Ref{Key: contacts.ContactKey(tenant, d.ContactID), Path: "contact_id", What: "contact"})
		}
		if d.CompanyID != "" {
			refs = append(refs, record.Ref{Key: contacts.CompanyKey(tenant, d.CompanyID), Path: "company_id", What: "company"})
		}
		return refs
	},
	// Beside deal.created and deal.updated: deal.stage_changed on every
	// move, and deal.won or deal.lost when it closes.
	Also: func(prev, next *core.Deal) []string {
		var out []string
		if prev != nil && prev.Stage != next.Stage {
			out = append(out, "stage_changed")
		}
		if next.Status != core.DealOpen && (prev == nil || prev.Status != next.Status) {
			out = append(out, string(next.Status))
		}
		return out
	},
}

// Get returns one deal.
func (ds *Deals) Get(ctx context.Context, tenant, id string) (core.Deal, error) {
	return dealKind.Get(ctx, ds.store, tenant, id)
}

// pipeline loads a deal's pipeline; a missing one is the deal's fault.
func (ds *Deals) pipeline(ctx context.Context, tenant, id string) (core.Pipeline, error) {
	if !core.ValidID(id) {
		return core.Pipeline{}, &core.Error{Code: core.CodeInvalid, Message: "validation failed",
			Fields: []core.FieldError{{Path: "pipeline_id", Message: "must be an id of one of your pipelines", Value: id}}}
	}
	p, err := ds.pipelines.Get(ctx, tenant, id)
	if core.ErrorCode(err) == core.CodeNotFound {
		return p, &core.Error{Code: core.CodeInvalid, Message: "validation failed",
			Fields: []core.FieldError{{Path: "pipeline_id", Message: "no such pipeline", Value: id}}}
	}
	return p, err
}

// Create validates and stores a deal in its pipeline's stage.
func (ds *Deals) Create(ctx context.Context, tenant string, f core.DealFields) (core.Deal, error) {
	pl, err := ds.pipeline(ctx, tenant, f.PipelineID)
	if err != nil {
		return core.Deal{}, err
	}
	if err := f.Normalize(&pl.PipelineFields); err != nil {
		return core.Deal{}, err
	}
	now := ds.now().UTC()
	stage, _, _ := pl.Stage(f.Stage)
	d := core.Deal{DealFields: f, Status: stage.Kind.Outcome(),
		History: []core.StageChange{{To: f.Stage, At: now, By: events.CauseFrom(ctx).Actor.ID}}}
	if err := dealKind.Create(ctx, ds.store, tenant, now, &d); err != nil {
		return core.Deal{}, err
	}
	return d, nil
}

// Update applies change to a deal's writable fields. A new stage is
// recorded in its history with how long the deal was in the one before.
func (ds *Deals) Update(ctx context.Context, tenant, id string, ifVersion int64, change func(*core.DealFields) error) (core.Deal, error) {
	return dealKind.Update(ctx, ds.store, tenant, id, ifVersion, ds.now, func(cur core.Deal) (core.Deal, error) {
		f := cur.DealFields
		if err := change(&f); err != nil {
			return cur, err
		}
		if f.PipelineID != cur.PipelineID {
			return cur, &core.Error{Code: core.CodeInvalid, Message: "validation failed",
				Fields: []core.FieldError{{Path: "pipeline_id", Message: "a deal stays in its pipeline", Value: f.PipelineID}}}
		}
		linesChanged := !slices.Equal(f.LineItems, cur.LineItems)
		if f.Currency != cur.Currency && cur.AmountMinor != 0 && f.AmountMinor == cur.AmountMinor && !linesChanged {
			// The same number in another currency is another amount: a
			// change of currency alone would silently reprice the deal.
			return cur, &core.Error{Code: core.CodeInvalid, Message: "validation failed", Fields: []core.FieldError{{Path: "currency",
				Message: "a deal with an amount changes currency only with its amount_minor or line_items in the same change", Value: f.Currency}}}
		}
		if linesChanged && len(cur.LineItems) > 0 && len(f.LineItems) > 0 && f.AmountMinor == cur.AmountMinor {
			// The amount was the old lines' total, not the writer's own
			// figure: new lines bring their own.
			f.AmountMinor = 0
		}
		pl, err := ds.pipeline(ctx, tenant, f.PipelineID)
		if err != nil {
			return cur, err
		}
		if err := f.Normalize(&pl.PipelineFields); err != nil {
			return cur, err
		}
		next := core.Deal{Meta: cur.Meta, DealFields: f, Status: cur.Status, History: cur.History}
		if f.Stage != cur.Stage {
			now := ds.now().UTC()
			stage, _, _ := pl.Stage(f.Stage)
			next.Status = stage.Kind.Outcome()
			var since time.Time
			if n := len(cur.History); n > 0 {
				since = cur.History[n-1].At
			}
			change := core.StageChange{From: cur.Stage, To: f.Stage, At: now, By: events.CauseFrom(ctx).Actor.ID}
			if !since.IsZero() {
				change.SecondsInFrom = int64(now.Sub(since) / time.Second)
			}
			next.History = append(append([]core.StageChange(nil), cur.History...), change)
			if len(next.History) > core.MaxStageHistory {
				next.History = next.History[len(next.History)-core.MaxStageHistory:]
			}
		}
		return next, nil
	})
}

// Delete removes a deal.
func (ds *Deals) Delete(ctx context.Context, tenant, id string, ifVersion int64) (core.Deal, error) {
	return dealKind.Delete(ctx, ds.store, tenant, id, ifVersion, ds.now)
}

// DealFilter narrows a list of deals.
type DealFilter struct {
	PipelineID string
	Status     core.DealOutcome
	OwnerID    string
	ContactID  string
	CompanyID  string
}

// List returns a page of deals, oldest first. The most selective filter
// drives the read — a contact's deals, then a company's, then a pipeline's
// (each one index partition) — and the others are checked on what it reads.
// An id of another tenant's record finds nothing: every partition read is
// the tenant's own.
func (ds *Deals) List(ctx context.Context, tenant string, f DealFilter, limit int, cursor string) ([]core.Deal, string, error) {
	if err := record.CheckLimit(limit); err != nil {
		return nil, "", err
	}
	plan := record.Plan{Query: store.Query{PK: dealsPK(tenant)}}
	driver := ""
	switch {
	case f.ContactID != "":
		plan.Query, driver = store.Query{Index: store.GSI2, PK: dealContactPK(tenant, f.ContactID)}, "contact"
	case f.CompanyID != "":
		plan.Query, driver = store.Query{Index: store.GSI3, PK: dealCompanyPK(tenant, f.CompanyID)}, "company"
	case f.PipelineID != "":
		plan.Query, driver = store.Query{Index: store.GSI1, PK: dealPipelinePK(tenant, f.PipelineID)}, "pipeline"
	}
	plan.PostFilter = f.Status != "" || f.OwnerID != "" ||
		f.PipelineID != "" && driver != "pipeline" || f.CompanyID != "" && driver != "company"
	match := func(d *core.Deal) bool {
		return (f.Status == "" || d.Status == f.Status) && (f.OwnerID == "" || d.OwnerID == f.OwnerID) &&
			(f.PipelineID == "" || d.PipelineID == f.PipelineID) && (f.ContactID == "" || d.ContactID == f.ContactID) &&
			(f.CompanyID == "" || d.CompanyID == f.CompanyID)
	}
	fp := record.FilterKey("deal", f.PipelineID, string(f.Status), f.OwnerID, f.ContactID, f.CompanyID)
	return record.List(ctx, ds.store, tenant, dealKind, plan, fp, limit, cursor, match)
}
