package scoring

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/contacts"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
)

// JobKind is what a background job does.
type JobKind string

// JobRescore re-scores every contact of a tenant.
const JobRescore JobKind = "rescore"

// JobKinds lists every kind of job.
var JobKinds = []JobKind{JobRescore}

// JobStatus is where a job stands.
type JobStatus string

const (
	JobRunning JobStatus = "running"
	JobDone    JobStatus = "done"
	JobFailed  JobStatus = "failed"
)

// JobStatuses lists every status of a job.
var JobStatuses = []JobStatus{JobRunning, JobDone, JobFailed}

// Job is a background job's progress.
type Job struct {
	ID         string    `json:"id"`
	Kind       JobKind   `json:"kind"`
	Status     JobStatus `json:"status"`
	Done       int       `json:"done" doc:"Contacts scored so far."`
	Changed    int       `json:"changed" doc:"Of those, how many got a new score."`
	ByPlugin   int       `json:"by_plugin" doc:"Of those scored, how many the plugin decided."`
	Error      string    `json:"error,omitempty"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
}

func jobKey(tenant, id string) store.Key { return store.Tenant(tenant).Key(id, "job") }

// GetJob returns a job; another tenant's is not found.
func (s *Scorer) GetJob(ctx context.Context, tenant, id string) (Job, error) {
	var j Job
	if !core.ValidID(id) {
		return j, core.Errorf(core.CodeNotFound, "job %s not found", id)
	}
	j, _, err := jobDoc.Get(ctx, s.store, jobKey(tenant, id))
	if core.ErrorCode(err) == core.CodeNotFound {
		return j, core.Errorf(core.CodeNotFound, "job %s not found", id)
	}
	return j, err
}

// jobDoc keeps a job's progress for 30 days after it started.
var jobDoc = record.Doc[Job]{Name: "job", TTL: func(j *Job) time.Time { return j.StartedAt.Add(30 * 24 * time.Hour) }}

func (s *Scorer) jobWrite(tenant string, j Job, version int64) (store.Write, error) {
	return jobDoc.Put(jobKey(tenant, j.ID), version, &j)
}

// rescoreStep is what one events.ScoringRescoreRequested carries. A
// re-scoring job is a chain of them, each carrying where the last part
// stopped, so that it runs in bounded steps wherever events are delivered:
// the local relay, or the worker function in AWS, where a goroutine would
// be frozen between requests.
type rescoreStep struct {
	JobID  string `json:"job_id"`
	Cursor string `json:"cursor,omitempty"`
}

// stepWrite is the outbox write of the job's next step. Its cause is the
// job, not the consumer that writes it: the consumer framework ignores a
// consumer's own effects, and the chain is the job going on, not a loop.
func (s *Scorer) stepWrite(tenant string, j Job, cursor string, at time.Time) (store.Write, error) {
	data, err := json.Marshal(rescoreStep{JobID: j.ID, Cursor: cursor})
	if err != nil {
		return store.Write{}, err
	}
	return events.OutboxWrite(events.Envelope{Source: events.Source, DetailType: events.ScoringRescoreRequested, Detail: events.Detail{
		EventID: core.NewID(at), Tenant: tenant, Time: at, Actor: events.Actor{Type: "system", ID: "rescore-job"},
		CorrelationID: j.ID, Entity: events.Entity{Type: "job", ID: j.ID, Data: data}}})
}

// StartRescore records a new re-scoring job of every contact of tenant,
// with its first step, in one transaction.
func (s *Scorer) StartRescore(ctx context.Context, tenant string) (Job, error) {
	now := s.now().UTC()
	j := Job{ID: core.NewID(now), Kind: JobRescore, Status: JobRunning, StartedAt: now}
	jw, err := s.jobWrite(tenant, j, 0)
	if err != nil {
		return j, err
	}
	ev, err := s.stepWrite(tenant, j, "", now)
	if err != nil {
		return j, err
	}
	if err := s.store.Transact(ctx, []store.Write{jw, ev}); err != nil {
		return j, fmt.Errorf("start re-scoring: %w", err)
	}
	return j, nil
}

// RescoreBatch is how many contacts one plugin call scores, and
// RescorePagesPerStep how many batches one step scores before handing on:
// a step must end well within a worker function's timeout.
const (
	RescoreBatch        = 200
	RescorePagesPerStep = 5
)

// WithSteps sets the batch size and batches per step of re-scoring jobs
// (RescoreBatch and RescorePagesPerStep by default).
func (s *Scorer) WithSteps(batch, pages int) *Scorer {
	s.batch, s.pages = batch, pages
	return s
}

// RescoreConsumer runs re-scoring jobs one step at a time: a few batches
// through the batch contract, the job's progress, and the next step.
func (s *Scorer) RescoreConsumer() events.Handler {
	return events.Handler{
		Name:  "rescore",
		Types: []events.Type{events.ScoringRescoreRequested},
		Handle: func(ctx context.Context, ev events.Envelope) ([]store.Write, error) {
			var step rescoreStep
			if err := json.Unmarshal(ev.Detail.Entity.Data, &step); err != nil {
				return nil, fmt.Errorf("decode rescore step: %w", err)
			}
			tenant := ev.Detail.Tenant
			j, version, err := s.job(ctx, tenant, step.JobID)
			if core.ErrorCode(err) == core.CodeNotFound || err == nil && j.Status != JobRunning {
				return nil, nil // expired, or already over
			}
			if err != nil {
				return nil, err
			}
			cursor := step.Cursor
			for range s.pages {
				page, next, err := s.contacts.List(ctx, tenant, contacts.ContactFilter{}, s.batch, cursor)
				if err == nil {
					err = s.rescorePage(ctx, tenant, page, &j)
				}
				if err != nil {
					j.Status, j.Error, j.FinishedAt = JobFailed, err.Error(), s.now().UTC()
					jw, werr := s.jobWrite(tenant, j, version)
					return []store.Write{jw}, werr
				}
				cursor = next
				if cursor == "" {
					break
				}
			}
			if cursor == "" {
				j.Status, j.FinishedAt = JobDone, s.now().UTC()
				jw, err := s.jobWrite(tenant, j, version)
				return []store.Write{jw}, err
			}
			jw, err := s.jobWrite(tenant, j, version)
			if err != nil {
				return nil, err
			}
			next, err := s.stepWrite(tenant, j, cursor, s.now().UTC())
			return []store.Write{jw, next}, err
		},
	}
}

func (s *Scorer) job(ctx context.Context, tenant, id string) (Job, int64, error) {
	return jobDoc.Get(ctx, s.store, jobKey(tenant, id))
}

func (s *Scorer) rescorePage(ctx context.Context, tenant string, page []core.Contact, j *Job) error {
	recs := make([]Record, 0, len(page))
	for _, c := range page {
		rec, err := s.record(ctx, tenant, c) // the page holds the contact: no second read
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
		if sc.DecidedBy == core.DecidedByPlugin {
			j.ByPlugin++
		}
	}
	if err := flush(); err != nil {
		return fmt.Errorf("store scores: %w", err)
	}
	return nil
}
