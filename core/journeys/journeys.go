package journeys

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/contacts"
	"github.com/fedele-crm/fedele/core/jobs"
	"github.com/fedele-crm/fedele/core/messaging"
	"github.com/fedele-crm/fedele/core/plugins"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/segments"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/core/tenancy"
	"github.com/fedele-crm/fedele/core/timers"
)

// Status is where a journey stands.
type Status string

const (
	StatusDraft    Status = "draft"    // no version published yet: nobody enrols
	StatusActive   Status = "active"   // triggers enrol; enrolments run
	StatusPaused   Status = "paused"   // nobody enrols; due steps are held and retried hourly
	StatusArchived Status = "archived" // nobody enrols; running enrolments exit at their next step
)

// Statuses lists every status.
var Statuses = []Status{StatusDraft, StatusActive, StatusPaused, StatusArchived}

// JourneyFields is what a journey's writers set directly.
type JourneyFields struct {
	Name        string `json:"name" minLength:"1" maxLength:"200"`
	Description string `json:"description,omitempty" maxLength:"2000"`
}

// Journey is a triggered sequence; its definitions are versions.
type Journey struct {
	core.Meta
	JourneyFields
	Status Status `json:"status" readOnly:"true"` // Statuses
	// Published is the version new enrolments use (0 before the first).
	Published int64 `json:"published_version" readOnly:"true" doc:"The version new enrolments use; 0 before the first is published."`
	// Versions is how many versions were saved.
	Versions int64 `json:"versions" readOnly:"true"`
	// DatesJobID is the job that scheduled the contacts' dates when a date
	// trigger was last published.
	DatesJobID string `json:"dates_job_id,omitempty" readOnly:"true" doc:"The job (GET /v1/jobs/{id}) scheduling every existing contact's date when a date trigger was last published."`
}

// Version is one saved, immutable definition of a journey.
type JourneyVersion struct {
	JourneyID         string    `json:"journey_id"`
	Number            int64     `json:"number"`
	CreatedAt         time.Time `json:"created_at"`
	JourneyDefinition `json:"definition"`
}

var journeyKind = record.Type[Journey]{
	Name: "journey",
	Key:  journeyKey,
	Meta: func(j *Journey) *core.Meta { return &j.Meta },
	Index: func(tenant string, j *Journey) map[store.Index]store.Key {
		// The live journeys, which the consumer reads on every event.
		if j.Status != StatusActive {
			return nil
		}
		return map[store.Index]store.Key{store.GSI1: {PK: liveJourneysPK(tenant), SK: j.ID}}
	},
}

var versionDoc = record.Doc[JourneyVersion]{Name: "journey version"}

// Service keeps journeys, runs their enrolments, and counts their results.
type Service struct {
	store    store.Store
	tenants  *tenancy.Tenants
	contacts *contacts.Contacts
	timers   *timers.Service
	delivery *messaging.Delivery
	segments *segments.Service
	jobs     *jobs.Service
	runner   *plugins.Runner
	now      func() time.Time
	log      *slog.Logger

	compiledCache sync.Map // tenant/journey/version → *compiled
	journeyCache  sync.Map // tenant/journey → true: ids known to be journeys (for message counters)
}

// New returns the service and registers its timer and job kinds. runner may be nil
// (no plugin host): the built-in decides every plugin step.
func New(s store.Store, tenants *tenancy.Tenants, cs *contacts.Contacts, tm *timers.Service, d *messaging.Delivery,
	sg *segments.Service, js *jobs.Service, runner *plugins.Runner, now func() time.Time, log *slog.Logger) *Service {
	sv := &Service{store: s, tenants: tenants, contacts: cs, timers: tm, delivery: d, segments: sg, jobs: js, runner: runner,
		now: func() time.Time { return now().UTC() }, log: log}
	js.Register(jobs.Kind{Name: DatesJob, Step: sv.datesStep})
	tm.Register(timers.Handler{Kind: StepTimer, Handle: sv.stepTimer})
	tm.Register(timers.Handler{Kind: DateTimer, Handle: sv.dateTimer})
	return sv
}

func (f *JourneyFields) normalize() error {
	var p core.Problems
	f.Name = strings.TrimSpace(f.Name)
	if f.Name == "" || len([]rune(f.Name)) > 200 {
		p.Add("name", "must be 1-200 characters")
	}
	if len([]rune(f.Description)) > 2000 {
		p.Add("description", "must be at most 2000 characters")
	}
	return p.Err()
}

// Create saves a draft journey.
func (s *Service) Create(ctx context.Context, tenant string, f JourneyFields) (Journey, error) {
	if err := f.normalize(); err != nil {
		return Journey{}, err
	}
	j := Journey{JourneyFields: f, Status: StatusDraft}
	err := journeyKind.Create(ctx, s.store, tenant, s.now(), &j)
	return j, err
}

// Get returns a journey; another tenant's is not found.
func (s *Service) Get(ctx context.Context, tenant, id string) (Journey, error) {
	return journeyKind.Get(ctx, s.store, tenant, id)
}

// Update changes a journey's name and description.
func (s *Service) Update(ctx context.Context, tenant, id string, ifVersion int64, f JourneyFields) (Journey, error) {
	if err := f.normalize(); err != nil {
		return Journey{}, err
	}
	return journeyKind.Update(ctx, s.store, tenant, id, ifVersion, s.now, func(j Journey) (Journey, error) {
		j.JourneyFields = f
		return j, nil
	})
}

// Delete removes a draft or archived journey (an active or paused one is
// archived first, so that its enrolments end).
func (s *Service) Delete(ctx context.Context, tenant, id string, ifVersion int64) error {
	j, err := s.Get(ctx, tenant, id)
	if err != nil {
		return err
	}
	if j.Status == StatusActive || j.Status == StatusPaused {
		return core.Errorf(core.CodeConflict, "journey %s is %s: archive it before deleting it", id, j.Status)
	}
	_, err = journeyKind.Delete(ctx, s.store, tenant, id, ifVersion, s.now)
	return err
}

// List returns a tenant's journeys, by creation.
func (s *Service) List(ctx context.Context, tenant string, limit int, cursor string) ([]Journey, string, error) {
	if err := record.CheckLimit(limit); err != nil {
		return nil, "", err
	}
	return record.List(ctx, s.store, tenant, journeyKind, record.Plan{Query: store.Query{PK: journeysPK(tenant)}}, "", limit, cursor,
		func(*Journey) bool { return true })
}

// AddVersion saves a new immutable version of a journey's definition; it
// is used once published. A definition that does not compile is a 422
// naming the field.
func (s *Service) AddVersion(ctx context.Context, tenant, id string, d JourneyDefinition) (JourneyVersion, error) {
	c, err := compile(d)
	if err != nil {
		return JourneyVersion{}, err
	}
	if m := d.Migrate; m != nil {
		if err := s.checkMigration(ctx, tenant, id, m); err != nil {
			return JourneyVersion{}, err
		}
	}
	var v JourneyVersion
	j, err := journeyKind.Update(ctx, s.store, tenant, id, 0, s.now, func(j Journey) (Journey, error) {
		if j.Status == StatusArchived {
			return j, core.Errorf(core.CodeConflict, "journey %s is archived", id)
		}
		j.Versions++
		return j, nil
	})
	if err != nil {
		return v, err
	}
	v = JourneyVersion{JourneyID: id, Number: j.Versions, CreatedAt: s.now(), JourneyDefinition: c.JourneyDefinition}
	if err := versionDoc.Create(ctx, s.store, versionKey(tenant, id, v.Number), &v); err != nil {
		return v, err
	}
	return v, nil
}

func (s *Service) checkMigration(ctx context.Context, tenant, id string, m *JourneyMigration) error {
	old, err := s.Version(ctx, tenant, id, m.FromVersion)
	if core.ErrorCode(err) == core.CodeNotFound {
		return core.Invalid("migrate.from_version", "names no version of this journey", m.FromVersion)
	}
	if err != nil {
		return err
	}
	for from := range m.Steps {
		if !slices.ContainsFunc(old.Steps, func(st JourneyStep) bool { return st.ID == from }) {
			return core.Invalid("migrate.steps", fmt.Sprintf("version %d has no step %s", m.FromVersion, from), from)
		}
	}
	return nil
}

// Version returns one version of a journey.
func (s *Service) Version(ctx context.Context, tenant, id string, n int64) (JourneyVersion, error) {
	if !core.ValidID(id) || n < 1 {
		return JourneyVersion{}, core.Errorf(core.CodeNotFound, "journey %s version %d not found", id, n)
	}
	v, _, err := versionDoc.Get(ctx, s.store, versionKey(tenant, id, n))
	if core.ErrorCode(err) == core.CodeNotFound {
		return v, core.Errorf(core.CodeNotFound, "journey %s version %d not found", id, n)
	}
	return v, err
}

// Versions lists a journey's versions, oldest first.
func (s *Service) Versions(ctx context.Context, tenant, id string) ([]JourneyVersion, error) {
	if _, err := s.Get(ctx, tenant, id); err != nil {
		return nil, err
	}
	page, err := s.store.Query(ctx, store.Query{PK: versionsPK(tenant, id), Limit: 1000})
	if err != nil {
		return nil, fmt.Errorf("journey versions: %w", record.StoreError(err))
	}
	out := make([]JourneyVersion, 0, len(page.Items))
	for _, it := range page.Items {
		v, err := versionDoc.Decode(it)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// Publish makes version n the one new enrolments use, and the journey
// active when it was a draft. Running enrolments stay on their version
// unless n's migration rule maps their next step. A version that brings
// in a date trigger (or moves its date) starts a DatesJob in the same
// transaction, which schedules the contacts the tenant already has.
func (s *Service) Publish(ctx context.Context, tenant, id string, n int64) (Journey, error) {
	v, err := s.Version(ctx, tenant, id, n)
	if err != nil {
		return Journey{}, err
	}
	for attempt := 0; ; attempt++ {
		var extra []store.Write
		next, writes, err := journeyKind.Change(ctx, s.store, tenant, id, s.now, func(j Journey) (Journey, error) {
			extra = nil
			if j.Status == StatusArchived {
				return j, core.Errorf(core.CodeConflict, "journey %s is archived", id)
			}
			if j.Published == n {
				return j, nil
			}
			var prev *JourneyTrigger
			if j.Published > 0 {
				pv, err := s.Version(ctx, tenant, id, j.Published)
				if err != nil {
					return j, err
				}
				prev = &pv.Trigger
			}
			if datesChanged(prev, v.Trigger) {
				ws, job, err := s.jobs.StartWrites(ctx, tenant, DatesJob, datesParams{JourneyID: id, Version: n})
				if err != nil {
					return j, err
				}
				extra, j.DatesJobID = ws, job.ID
			}
			j.Published = n
			if j.Status == StatusDraft {
				j.Status = StatusActive
			}
			return j, nil
		})
		if err != nil || len(writes) == 0 {
			return next, err
		}
		err = s.store.Transact(ctx, append(writes, extra...))
		if err == nil {
			return next, nil
		}
		if !errors.Is(err, store.ErrConditionFailed) {
			return next, fmt.Errorf("publish journey %s: %w", id, record.StoreError(err))
		}
		if attempt == record.MaxRetries {
			return next, record.Stale("journey", id, 0, -1) // a 409: it kept changing
		}
	}
}

// Action changes a journey's status.
type Action string

const (
	ActionPause   Action = "pause"
	ActionResume  Action = "resume"
	ActionArchive Action = "archive"
)

// Actions lists every status action.
var Actions = []Action{ActionPause, ActionResume, ActionArchive}

// Act pauses, resumes or archives a journey.
func (s *Service) Act(ctx context.Context, tenant, id string, a Action) (Journey, error) {
	return journeyKind.Update(ctx, s.store, tenant, id, 0, s.now, func(j Journey) (Journey, error) {
		switch {
		case j.Status == StatusArchived:
			return j, core.Errorf(core.CodeConflict, "journey %s is archived", id)
		case a == ActionPause && j.Status == StatusActive:
			j.Status = StatusPaused
		case a == ActionResume && j.Status == StatusPaused:
			j.Status = StatusActive
		case a == ActionArchive:
			j.Status = StatusArchived
		case a == ActionPause || a == ActionResume:
			return j, core.Errorf(core.CodeConflict, "journey %s is %s: it cannot %s", id, j.Status, a)
		default:
			return j, core.Invalid("action", "must be pause, resume or archive", string(a))
		}
		return j, nil
	})
}

// definition is a version compiled, once per process (versions never
// change).
func (s *Service) definition(ctx context.Context, tenant, id string, n int64) (*compiled, error) {
	key := fmt.Sprintf("%s/%s/%d", tenant, id, n)
	if c, ok := s.compiledCache.Load(key); ok {
		return c.(*compiled), nil
	}
	v, err := s.Version(ctx, tenant, id, n)
	if err != nil {
		return nil, err
	}
	c, err := compile(v.JourneyDefinition)
	if err != nil {
		return nil, fmt.Errorf("journey %s version %d no longer compiles: %w", id, n, err)
	}
	s.compiledCache.Store(key, c)
	return c, nil
}

// live are the tenant's active journeys with their published definitions.
func (s *Service) live(ctx context.Context, tenant string) ([]Journey, []*compiled, error) {
	page, err := s.store.Query(ctx, store.Query{Index: store.GSI1, PK: liveJourneysPK(tenant), Limit: 1000})
	if err != nil {
		return nil, nil, fmt.Errorf("live journeys: %w", record.StoreError(err))
	}
	js := make([]Journey, 0, len(page.Items))
	cs := make([]*compiled, 0, len(page.Items))
	for _, it := range page.Items {
		j, err := journeyKind.Decode(it)
		if err != nil {
			return nil, nil, err
		}
		if j.Status != StatusActive || j.Published == 0 {
			continue
		}
		c, err := s.definition(ctx, tenant, j.ID, j.Published)
		if err != nil {
			return nil, nil, err
		}
		js, cs = append(js, j), append(cs, c)
	}
	return js, cs, nil
}

func (s *Service) location(ctx context.Context, tenant string) (*time.Location, core.Tenant, error) {
	t, err := s.tenants.Get(ctx, tenant)
	if err != nil {
		return time.UTC, t, err
	}
	return t.Location(), t, nil
}
