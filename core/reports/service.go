package reports

import (
	"context"
	"sync"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/jobs"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/core/timers"
)

// Timer kinds: a refresh a few minutes after order events, and the
// nightly one.
const (
	TimerRefresh = "reports.refresh"
	TimerDaily   = "reports.daily"
)

// Debounce is the window order events are gathered in: the first order
// event of a window schedules one refresh at its end (plus Settle), and
// the window's other events find that timer already there. So a tenant's
// snapshot is rebuilt at most once per window from events, however many
// orders come.
const Debounce = 5 * time.Minute

// Settle is how long after its window a debounced refresh starts: the
// customers consumer updates the profiles from the same order events, in
// parallel, and is given that long to have done so.
const Settle = time.Minute

// DailyHour is when, in the tenant's time zone, the nightly refresh runs:
// it picks up the RFM and CLV jobs' latest results and moves "today".
const DailyHour = 3

// Service builds the snapshot and answers the reports from it.
type Service struct {
	store  store.Store
	jobs   *jobs.Service
	timers *timers.Service
	zone   func(ctx context.Context, tenant string) (*time.Location, error)
	now    func() time.Time

	pageSize, stepProfiles int
	// scheduled remembers, per tenant, the last debounce window this
	// process scheduled a refresh for: the window's later events skip
	// even the conditional put.
	scheduled sync.Map
}

// New returns the reports of s. zone is a tenant's time zone.
func New(s store.Store, j *jobs.Service, t *timers.Service, zone func(ctx context.Context, tenant string) (*time.Location, error), now func() time.Time) *Service {
	return &Service{store: s, jobs: j, timers: t, zone: zone, now: now, pageSize: PageSize, stepProfiles: StepProfiles}
}

// WithSteps sets the profiles a query page and a step read (PageSize and
// StepProfiles by default), for tests that want builds of several steps.
func (s *Service) WithSteps(page, profiles int) *Service {
	s.pageSize, s.stepProfiles = page, profiles
	return s
}

// Refresh starts a build of tenant's snapshot now, and makes sure the
// nightly refresh is scheduled.
func (s *Service) Refresh(ctx context.Context, tenant string) (jobs.Job, error) {
	j, err := s.jobs.Start(ctx, tenant, JobKind, nil)
	if err != nil {
		return j, err
	}
	return j, s.scheduleDaily(ctx, tenant)
}

// TimerHandlers are the refresh timers' handlers, for core/timers.
func (s *Service) TimerHandlers() []timers.Handler {
	start := func(ctx context.Context, t core.Timer) ([]store.Write, error) {
		w, _, err := s.jobs.StartWrites(ctx, t.Tenant, JobKind, nil)
		return w, err
	}
	return []timers.Handler{
		{Kind: TimerRefresh, Handle: start},
		{Kind: TimerDaily, Handle: func(ctx context.Context, t core.Timer) ([]store.Write, error) {
			// The next night's timer is keyed by its date: a firing
			// retried schedules it once.
			if err := s.scheduleDaily(ctx, t.Tenant); err != nil {
				return nil, err
			}
			return start(ctx, t)
		}},
	}
}

// scheduleDaily schedules the next nightly refresh (DailyHour in the
// tenant's zone, after now), once per date.
func (s *Service) scheduleDaily(ctx context.Context, tenant string) error {
	loc, err := s.zone(ctx, tenant)
	if err != nil {
		return err
	}
	now := s.now().In(loc)
	due := time.Date(now.Year(), now.Month(), now.Day(), DailyHour, 0, 0, 0, loc)
	if !due.After(now) {
		due = time.Date(now.Year(), now.Month(), now.Day()+1, DailyHour, 0, 0, 0, loc)
	}
	_, err = s.timers.Schedule(ctx, tenant, core.TimerRequest{Kind: TimerDaily, Due: due, Key: "daily#" + due.Format(time.DateOnly)})
	return err
}

// Consumer schedules a debounced refresh on order events. Its effect is
// the keyed timers (a redelivery schedules nothing new), so it returns no
// writes of its own. order.cancelled and order.refunded come beside an
// order.updated, which is enough.
func (s *Service) Consumer() events.Handler {
	return events.Handler{
		Name:  "reports",
		Types: []events.Type{events.OrderPlaced, events.OrderUpdated},
		Handle: func(ctx context.Context, ev events.Envelope) ([]store.Write, error) {
			tenant := ev.Detail.Tenant
			window := s.now().UTC().Truncate(Debounce)
			if last, ok := s.scheduled.Load(tenant); ok && last.(time.Time).Equal(window) {
				return nil, nil
			}
			_, err := s.timers.Schedule(ctx, tenant, core.TimerRequest{Kind: TimerRefresh, Due: window.Add(Debounce + Settle),
				Key: "refresh#" + window.Format("200601021504")})
			if err == nil {
				err = s.scheduleDaily(ctx, tenant)
			}
			if err != nil {
				return nil, err
			}
			s.scheduled.Store(tenant, window)
			return nil, nil
		},
	}
}
