package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/jobs"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/core/store/memstore"
)

// rig runs jobs the way `fedele serve` does: the relay delivers the
// outbox's step events to the consumer set.
type rig struct {
	st    *memstore.Store
	svc   *jobs.Service
	relay *events.Relay
	steps int // steps the counting kind ran, redeliveries included
}

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{st: memstore.New()}
	now := func() time.Time { return t0 }
	r.svc = jobs.New(r.st, now)
	// count counts to params.to, three per step, keeping its position in
	// the state and the sum in the result.
	r.svc.Register(jobs.Kind{Name: "count", Step: func(_ context.Context, _ string, j *jobs.Job, state json.RawMessage) (json.RawMessage, bool, []store.Write, error) {
		r.steps++
		var p struct{ To int }
		if err := json.Unmarshal(j.Params, &p); err != nil {
			return nil, false, nil, err
		}
		at := 0
		if state != nil {
			if err := json.Unmarshal(state, &at); err != nil {
				return nil, false, nil, err
			}
		}
		at = min(at+3, p.To)
		j.Done, j.Total = at, p.To
		if at == p.To {
			j.Result = json.RawMessage(strconv.Itoa(at))
		}
		return json.RawMessage(strconv.Itoa(at)), at == p.To, nil, nil
	}})
	r.svc.Register(jobs.Kind{Name: "refuse", Step: func(context.Context, string, *jobs.Job, json.RawMessage) (json.RawMessage, bool, []store.Write, error) {
		return nil, false, nil, &core.Error{Code: core.CodeInvalid, Message: "too little data: 3 customers, need 50"}
	}})
	r.svc.Register(jobs.Kind{Name: "broken", Step: func(context.Context, string, *jobs.Job, json.RawMessage) (json.RawMessage, bool, []store.Write, error) {
		return nil, false, nil, errors.New("read events: invalid store request")
	}})
	c := events.NewConsumers(r.st, slog.New(slog.DiscardHandler), now)
	c.Backoff = 0
	c.Register(r.svc.Consumer())
	r.relay = &events.Relay{Store: r.st, Publisher: c, Log: slog.New(slog.DiscardHandler), Now: now}
	return r
}

func (r *rig) drain(t *testing.T) {
	t.Helper()
	for range 100 {
		n, err := r.relay.Drain(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
	t.Fatal("the outbox never emptied")
}

func TestJobRunsInStepsToTheEnd(t *testing.T) {
	r := newRig(t)
	j, err := r.svc.Start(context.Background(), "acme", "count", map[string]int{"to": 10})
	if err != nil {
		t.Fatal(err)
	}
	if j.Status != jobs.Running {
		t.Fatalf("started job is %s", j.Status)
	}
	r.drain(t)
	got, err := r.svc.Get(context.Background(), "acme", j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != jobs.Done || got.Done != 10 || got.Total != 10 || got.Steps != 4 || string(got.Result) != "10" || got.FinishedAt.IsZero() {
		t.Fatalf("finished job: %+v", got)
	}
	if r.steps != 4 {
		t.Fatalf("%d steps ran, want 4", r.steps)
	}
}

// A step event delivered again after the step was taken (the relay's at
// least once) is recognised by its number and dropped: the job does not
// run a part twice nor jump ahead.
func TestRedeliveredStepIsDropped(t *testing.T) {
	r := newRig(t)
	j, err := r.svc.Start(context.Background(), "acme", "count", map[string]int{"to": 6})
	if err != nil {
		t.Fatal(err)
	}
	h := r.svc.Consumer()
	step0 := events.Envelope{DetailType: events.JobStepRequested, Detail: events.Detail{EventID: core.NewID(t0), Tenant: "acme", Time: t0,
		Entity: events.Entity{Type: "job", ID: j.ID, Data: json.RawMessage(`{"job_id":"` + j.ID + `","n":0}`)}}}
	r.drain(t)
	before := r.steps
	ws, err := h.Handle(context.Background(), step0)
	if err != nil || len(ws) != 0 || r.steps != before {
		t.Fatalf("step 0 again: %d writes, %v, %d steps ran (was %d)", len(ws), err, r.steps, before)
	}
}

func TestCoreErrorFailsTheJobWithIt(t *testing.T) {
	r := newRig(t)
	j, err := r.svc.Start(context.Background(), "acme", "refuse", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.drain(t)
	got, err := r.svc.Get(context.Background(), "acme", j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != jobs.Failed || got.Error == nil || got.Error.Code != core.CodeInvalid || got.Error.Message == "" {
		t.Fatalf("refused job: %+v", got)
	}
}

// A step that keeps failing with a plain error is retried, then its event
// is dead-lettered — and the job says it failed, and why, instead of
// running for ever with no step left to take it on.
func TestAStepThatKeepsFailingFailsTheJob(t *testing.T) {
	r := newRig(t)
	j, err := r.svc.Start(context.Background(), "acme", "broken", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.drain(t)
	got, err := r.svc.Get(context.Background(), "acme", j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != jobs.Failed || got.Error == nil || !strings.Contains(got.Error.Message, "step 0 kept failing") || got.FinishedAt.IsZero() {
		t.Fatalf("broken job: %+v", got)
	}
}

func TestCancelStopsBeforeTheNextStep(t *testing.T) {
	r := newRig(t)
	j, err := r.svc.Start(context.Background(), "acme", "count", map[string]int{"to": 30})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.svc.Cancel(context.Background(), "acme", j.ID); err != nil {
		t.Fatal(err)
	}
	r.drain(t)
	got, _ := r.svc.Get(context.Background(), "acme", j.ID)
	if got.Status != jobs.Cancelled || r.steps != 0 {
		t.Fatalf("cancelled job: %+v after %d steps", got, r.steps)
	}
}

func TestAnotherTenantsJobIsNotFound(t *testing.T) {
	r := newRig(t)
	j, err := r.svc.Start(context.Background(), "acme", "count", map[string]int{"to": 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{j.ID, "not-an-id", ""} {
		if _, err := r.svc.Get(context.Background(), "globex", id); core.ErrorCode(err) != core.CodeNotFound {
			t.Errorf("globex reading job %q: %v, want not found", id, err)
		}
	}
	if _, err := r.svc.Cancel(context.Background(), "globex", j.ID); core.ErrorCode(err) != core.CodeNotFound {
		t.Errorf("globex cancelling acme's job: %v", err)
	}
	if _, err := r.svc.Start(context.Background(), "acme", "nope", nil); err == nil {
		t.Error("an unregistered kind started")
	}
}
