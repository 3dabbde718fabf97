// Package jobs runs a tenant's long work — recomputing RFM or CLV over
// every customer, a plugin backtest, an export — as a chain of bounded
// steps, each one event: a step does a part, records the job's progress and
// writes the event of the next step in one transaction, so that a job runs
// the same on the local relay and on the worker function in AWS (where a
// goroutine would be frozen between requests), survives a crash at any
// point and never holds a Lambda near its 15 minutes.
//
// It must never know what a job does: every kind is a registered Step. A
// step may be delivered more than once (at least once), so its own effects
// outside the returned writes must be idempotent (overwrites, not
// increments).
package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
)

// Status is where a job stands.
type Status string

const (
	Running   Status = "running"
	Done      Status = "done"
	Failed    Status = "failed"
	Cancelled Status = "cancelled"
)

// Statuses lists every status of a job.
var Statuses = []Status{Running, Done, Failed, Cancelled}

// Job is a job's progress as the API shows it.
type Job struct {
	ID     string `json:"id"`
	Kind   string `json:"kind"`
	Status Status `json:"status"`
	// Done and Total are the job's own units (customers, events); Total is
	// 0 while unknown.
	Done       int             `json:"done"`
	Total      int             `json:"total,omitempty"`
	Params     json.RawMessage `json:"params,omitempty" doc:"What the job was started with."`
	Result     json.RawMessage `json:"result,omitempty" doc:"What the job found, once done; its shape is the kind's."`
	Error      *core.Error     `json:"error,omitempty" doc:"Why it failed."`
	Steps      int             `json:"steps"`
	StartedAt  time.Time       `json:"started_at"`
	FinishedAt time.Time       `json:"finished_at,omitzero"`
	// State is where the next step starts (a cursor, partial sums); the
	// kind's, never shown.
	State json.RawMessage `json:"-"`
}

// stored is a job as kept: State is shown to nobody but kept.
type stored struct {
	Job
	State json.RawMessage `json:"state,omitempty"`
}

// Step does one bounded part of a job of its kind: it reads j (Params,
// Done, Total) and the state the last step left (nil on the first), may
// update j's Done, Total and Result, and returns the next state, whether
// the job is over, and writes to commit with the job's progress (at most
// store.MaxTxItems-3 of them). An error fails the job with it when it is a
// *core.Error (a clear problem, such as too little data); any other error
// is retried as a delivery failure.
type Step func(ctx context.Context, tenant string, j *Job, state json.RawMessage) (next json.RawMessage, done bool, writes []store.Write, err error)

// Kind is one kind of job.
type Kind struct {
	Name string
	Step Step
}

// Keep is how long a job's progress is kept after it started.
const Keep = 30 * 24 * time.Hour

var jobDoc = record.Doc[stored]{Name: "job", TTL: func(j *stored) time.Time { return j.StartedAt.Add(Keep) }}

func jobKey(tenant, id string) store.Key { return store.Tenant(tenant).Key(id, "jobs") }

// Service starts jobs and runs their steps.
type Service struct {
	store store.Store
	now   func() time.Time
	kinds map[string]Kind
}

// New returns a service on s.
func New(s store.Store, now func() time.Time) *Service {
	return &Service{store: s, now: now, kinds: map[string]Kind{}}
}

// Register adds a kind; only registered kinds start.
func (s *Service) Register(k Kind) { s.kinds[k.Name] = k }

// Kinds lists the registered kinds, sorted.
func (s *Service) Kinds() []string {
	out := make([]string, 0, len(s.kinds))
	for k := range s.kinds {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Start records a new job of kind with params and its first step in one
// transaction; extra writes (a debounce marker) join it.
func (s *Service) Start(ctx context.Context, tenant, kind string, params any, extra ...store.Write) (Job, error) {
	if _, ok := s.kinds[kind]; !ok {
		return Job{}, fmt.Errorf("start job: no kind %q registered", kind)
	}
	w, j, err := s.StartWrites(ctx, tenant, kind, params)
	if err != nil {
		return Job{}, err
	}
	if err := s.store.Transact(ctx, append(w, extra...)); err != nil {
		return Job{}, fmt.Errorf("start %s job: %w", kind, record.StoreError(err))
	}
	return j, nil
}

// StartWrites are the writes that start a job, for a caller that commits
// them in a transaction of its own (a timer handler, a consumer).
func (s *Service) StartWrites(ctx context.Context, tenant, kind string, params any) ([]store.Write, Job, error) {
	now := s.now().UTC()
	j := Job{ID: core.NewID(now), Kind: kind, Status: Running, StartedAt: now}
	if params != nil {
		b, err := json.Marshal(params)
		if err != nil {
			return nil, j, fmt.Errorf("encode %s job params: %w", kind, err)
		}
		j.Params = b
	}
	jw, err := jobDoc.Put(jobKey(tenant, j.ID), 0, &stored{Job: j})
	if err != nil {
		return nil, j, err
	}
	ev, err := stepWrite(ctx, tenant, j.ID, 0, now)
	if err != nil {
		return nil, j, err
	}
	return []store.Write{jw, ev}, j, nil
}

// Get returns a job; another tenant's, or an expired one, is not found.
func (s *Service) Get(ctx context.Context, tenant, id string) (Job, error) {
	j, _, err := s.get(ctx, tenant, id)
	return j.Job, err
}

func (s *Service) get(ctx context.Context, tenant, id string) (stored, int64, error) {
	if !core.ValidID(id) {
		return stored{}, 0, core.Errorf(core.CodeNotFound, "job %s not found", id)
	}
	j, v, err := jobDoc.Get(ctx, s.store, jobKey(tenant, id))
	if core.ErrorCode(err) == core.CodeNotFound {
		return j, v, core.Errorf(core.CodeNotFound, "job %s not found", id)
	}
	j.Job.State = j.State
	return j, v, err
}

// Cancel stops a running job before its next step.
func (s *Service) Cancel(ctx context.Context, tenant, id string) (Job, error) {
	j, err := jobDoc.Update(ctx, s.store, jobKey(tenant, id), false, func(j *stored, _ bool) error {
		if j.Status == Running {
			j.Status, j.FinishedAt = Cancelled, s.now().UTC()
		}
		return nil
	})
	if core.ErrorCode(err) == core.CodeNotFound {
		return Job{}, core.Errorf(core.CodeNotFound, "job %s not found", id)
	}
	return j.Job, err
}

// step is what one events.JobStepRequested carries: the job and the
// number of the step, so that a step delivered twice, or after a later
// step, is recognised and dropped.
type step struct {
	JobID string `json:"job_id"`
	N     int    `json:"n"`
}

// stepWrite is the outbox write of step n. Its actor is the job, not the
// consumer that writes it: the consumer framework ignores a consumer's own
// effects, and the chain is the job going on, not a loop.
func stepWrite(ctx context.Context, tenant, jobID string, n int, at time.Time) (store.Write, error) {
	data, err := json.Marshal(step{JobID: jobID, N: n})
	if err != nil {
		return store.Write{}, err
	}
	return events.OutboxWrite(events.Envelope{Source: events.Source, DetailType: events.JobStepRequested, Detail: events.Detail{
		EventID: core.NewID(at), Tenant: tenant, Time: at, Actor: events.Actor{Type: "system", ID: "jobs"},
		CorrelationID: jobID, Entity: events.Entity{Type: "job", ID: jobID, Data: data}}})
}

// Consumer runs jobs one step at a time.
func (s *Service) Consumer() events.Handler {
	return events.Handler{
		Name:  "jobs",
		Types: []events.Type{events.JobStepRequested},
		Handle: func(ctx context.Context, ev events.Envelope) ([]store.Write, error) {
			var st step
			if err := json.Unmarshal(ev.Detail.Entity.Data, &st); err != nil {
				return nil, fmt.Errorf("decode job step: %w", err)
			}
			tenant := ev.Detail.Tenant
			j, version, err := s.get(ctx, tenant, st.JobID)
			if core.ErrorCode(err) == core.CodeNotFound || err == nil && (j.Status != Running || j.Steps != st.N) {
				return nil, nil // expired, over, cancelled, or a step already taken
			}
			if err != nil {
				return nil, err
			}
			k, ok := s.kinds[j.Kind]
			if !ok {
				return nil, fmt.Errorf("job %s: no kind %q registered here", j.ID, j.Kind)
			}
			next, done, writes, err := k.Step(ctx, tenant, &j.Job, j.State)
			if err != nil {
				var ce *core.Error
				if !errors.As(err, &ce) {
					return nil, fmt.Errorf("job %s step %d: %w", j.ID, st.N, err)
				}
				j.Status, j.Error, j.FinishedAt = Failed, ce, s.now().UTC()
				jw, werr := jobDoc.Put(jobKey(tenant, j.ID), version, &j)
				return []store.Write{jw}, werr
			}
			j.Steps++
			j.State = next
			if done {
				j.Status, j.FinishedAt, j.State = Done, s.now().UTC(), nil
			}
			jw, err := jobDoc.Put(jobKey(tenant, j.ID), version, &j)
			if err != nil {
				return nil, err
			}
			writes = append(writes, jw)
			if !done {
				ew, err := stepWrite(ctx, tenant, j.ID, j.Steps, s.now().UTC())
				if err != nil {
					return nil, err
				}
				writes = append(writes, ew)
			}
			return writes, nil
		},
		// A step that kept failing is the job's end: shown failed, not
		// running for ever with no step left to take it on.
		GaveUp: func(ctx context.Context, ev events.Envelope, cause error) []store.Write {
			var st step
			if json.Unmarshal(ev.Detail.Entity.Data, &st) != nil {
				return nil
			}
			tenant := ev.Detail.Tenant
			j, version, err := s.get(ctx, tenant, st.JobID)
			if err != nil || j.Status != Running || j.Steps != st.N {
				return nil
			}
			j.Status, j.FinishedAt = Failed, s.now().UTC()
			j.Error = &core.Error{Code: core.CodeUnavailable, Message: fmt.Sprintf("step %d kept failing: %v", st.N, cause)}
			w, err := jobDoc.Put(jobKey(tenant, j.ID), version, &j)
			if err != nil {
				return nil
			}
			return []store.Write{w}
		},
	}
}
