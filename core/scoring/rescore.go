package scoring

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/crm"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/store"
)

// Job is a background job's progress.
type Job struct {
	ID         string    `json:"id"`
	Kind       string    `json:"kind" enum:"rescore"`
	Status     string    `json:"status" enum:"running,done,failed"`
	Done       int       `json:"done" doc:"Contacts scored so far."`
	Changed    int       `json:"changed" doc:"Of those, how many got a new score."`
	ByPlugin   int       `json:"by_plugin" doc:"Of those scored, how many the plugin decided."`
	Error      string    `json:"error,omitempty"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
}

func jobKey(tenant, id string) store.Key { return store.Key{PK: "T#" + tenant + "#job", SK: id} }

// GetJob returns a job; another tenant's is not found.
func (s *Scorer) GetJob(ctx context.Context, tenant, id string) (Job, error) {
	var j Job
	if !core.ValidID(id) {
		return j, core.Errorf(core.CodeNotFound, "job %s not found", id)
	}
	it, err := s.store.Get(ctx, jobKey(tenant, id))
	if errors.Is(err, store.ErrNotFound) {
		return j, core.Errorf(core.CodeNotFound, "job %s not found", id)
	}
	if err != nil {
		return j, fmt.Errorf("load job %s: %w", id, err)
	}
	return j, json.Unmarshal(it.Data, &j)
}

func (s *Scorer) putJob(ctx context.Context, tenant string, j Job) error {
	data, err := json.Marshal(j)
	if err != nil {
		return err
	}
	// The job's runner is its only writer: no condition needed.
	return s.store.Put(ctx, store.Item{Key: jobKey(tenant, j.ID), Version: 1, Data: data, ExpiresAt: j.StartedAt.Add(30 * 24 * time.Hour)}, store.Cond{})
}

// StartRescore records a new re-scoring job of every contact of tenant;
// RunRescore does the work.
func (s *Scorer) StartRescore(ctx context.Context, tenant string) (Job, error) {
	now := s.now().UTC()
	j := Job{ID: core.NewID(now), Kind: "rescore", Status: "running", StartedAt: now}
	return j, s.putJob(ctx, tenant, j)
}

// RescoreBatch is how many contacts one plugin call scores.
const RescoreBatch = 200

// RunRescore re-scores every contact of tenant through the batch contract,
// RescoreBatch at a time, keeping the job's progress as it goes.
func (s *Scorer) RunRescore(ctx context.Context, tenant string, j Job) Job {
	ctx = events.WithCause(ctx, events.Cause{Actor: events.Actor{Type: "automation", ID: "rescore"}, CorrelationID: j.ID})
	cursor := ""
	for {
		page, next, err := s.contacts.List(ctx, tenant, crm.ContactFilter{}, RescoreBatch, cursor)
		if err == nil {
			err = s.rescorePage(ctx, tenant, page, &j)
		}
		if err != nil {
			j.Status, j.Error, j.FinishedAt = "failed", err.Error(), s.now().UTC()
			_ = s.putJob(context.WithoutCancel(ctx), tenant, j)
			return j
		}
		if next == "" {
			j.Status, j.FinishedAt = "done", s.now().UTC()
			_ = s.putJob(context.WithoutCancel(ctx), tenant, j)
			return j
		}
		if err := s.putJob(ctx, tenant, j); err != nil {
			j.Status, j.Error = "failed", err.Error()
			return j
		}
		cursor = next
	}
}

func (s *Scorer) rescorePage(ctx context.Context, tenant string, page []core.Contact, j *Job) error {
	recs := make([]Record, 0, len(page))
	for _, c := range page {
		rec, err := s.record(ctx, tenant, c.ID)
		if core.ErrorCode(err) == core.CodeNotFound {
			continue
		}
		if err != nil {
			return err
		}
		recs = append(recs, rec)
	}
	var writes []store.Write
	flush := func() error {
		if len(writes) == 0 {
			return nil
		}
		err := s.store.Transact(ctx, writes)
		writes = writes[:0]
		return err
	}
	scored, err := s.scoreBatch(ctx, tenant, recs)
	if err != nil {
		return err
	}
	for _, sc := range scored {
		ws, err := s.keep(ctx, tenant, sc)
		if err != nil {
			return err
		}
		if len(writes)+len(ws) > store.MaxTxItems {
			if err := flush(); err != nil {
				return fmt.Errorf("store scores: %w", err)
			}
		}
		writes = append(writes, ws...)
		j.Done++
		if len(ws) > 0 {
			j.Changed++
		}
		if sc.DecidedBy == "plugin" {
			j.ByPlugin++
		}
	}
	if err := flush(); err != nil {
		return fmt.Errorf("store scores: %w", err)
	}
	return nil
}
