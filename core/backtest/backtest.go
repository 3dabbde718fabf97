// Package backtest replays a tenant's recorded events through a plugin
// version before it decides anything: for each event its kind reacts to,
// it rebuilds the plugin's input as it was then from the event log, asks
// the candidate and the baseline (the active version, or the built-in when
// none is active) on the same batch, and reports how often they agree, how
// the distribution of decisions moves, and — for score plugins — how well
// each ranked contacts against what happened later (a won deal or a first
// order within N days): AUC and lift in the top decile.
//
// It runs as a core/jobs job ("plugin_backtest") so that a long range goes
// in bounded steps with progress. It must never change what it replays:
// it writes no score, no stats and no failure count of a plugin (a
// candidate that traps is counted in the result, never disabled), and it
// must never read another tenant's events, nor the store's current state
// of a contact when the event log can say what it was then.
package backtest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/jobs"
	"github.com/fedele-crm/fedele/core/plugins"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/core/tenancy"
	"github.com/fedele-crm/fedele/core/timeline"
)

// JobKind names backtest jobs in core/jobs.
const JobKind = "plugin_backtest"

// Outcome is what counts as a contact converting after its score.
type Outcome string

const (
	OutcomeWonDeal    Outcome = "won_deal"    // a deal.won naming the contact
	OutcomeFirstOrder Outcome = "first_order" // the contact's first order.placed
	OutcomeEither     Outcome = "either"
)

// Outcomes lists every outcome.
var Outcomes = []Outcome{OutcomeWonDeal, OutcomeFirstOrder, OutcomeEither}

// Bounds of a request.
const (
	DefaultWindowDays = 30
	MaxWindowDays     = 365
	// MaxRangeDays bounds the replayed range: longer than any event log
	// keeps (events.MaxEventRetention), so it only refuses typing errors.
	MaxRangeDays = 3 * 366
)

// Request is what a caller asks for.
type Request struct {
	// From and To bound the replayed range [from, to): RFC 3339 times, or
	// dates (YYYY-MM-DD) read in the tenant's time zone, a date To
	// including its whole day.
	From string `json:"from"`
	To   string `json:"to"`
	// WindowDays is N: an outcome counts within N days after the score.
	WindowDays int     `json:"window_days,omitempty"`
	Outcome    Outcome `json:"outcome,omitempty"`
}

// BacktestParams are what a backtest job runs with, resolved when it starts: the
// baseline is fixed then, so an activation meanwhile does not change what
// the job compares.
type BacktestParams struct {
	Plugin     string       `json:"plugin"`
	Version    int          `json:"version"`
	Baseline   *plugins.Ref `json:"baseline,omitempty" doc:"The active version it is compared with; absent: the built-in."`
	From       time.Time    `json:"from"`
	To         time.Time    `json:"to"`
	WindowDays int          `json:"window_days"`
	Outcome    Outcome      `json:"outcome"`
}

// Service starts backtests and runs their steps.
type Service struct {
	store   store.Store
	plugins *plugins.Service
	tenants *tenancy.Tenants
	jobs    *jobs.Service
	now     func() time.Time
	page    int // events read per step
	batch   int // records per plugin call
}

// Bounds of a step: a step reads PageEvents events and rebuilds at most as
// many records — each a query or two of the timeline index — and asks
// each decider once per Batch of them, well within a minute.
const (
	PageEvents = 500
	Batch      = 200
)

// New returns the service; Register adds its kind to js.
func New(s store.Store, p *plugins.Service, js *jobs.Service, now func() time.Time) *Service {
	return &Service{store: s, plugins: p, tenants: tenancy.NewTenants(s, now), jobs: js, now: now, page: PageEvents, batch: Batch}
}

// WithSteps sets the events read per step and the records per plugin call
// (PageEvents and Batch by default): tests take several steps on a few
// events.
func (s *Service) WithSteps(page, batch int) *Service {
	s.page, s.batch = page, batch
	return s
}

// Kind is the job kind to register on the jobs service.
func (s *Service) Kind() jobs.Kind { return jobs.Kind{Name: JobKind, Step: s.step} }

// Start checks a request for a backtest of a tenant's plugin version and
// starts its job. Another tenant's plugin or version is not found; a bad
// range is invalid, naming the field (from, to, window_days, outcome).
func (s *Service) Start(ctx context.Context, tenant, name string, version int, req Request) (Backtest, error) {
	j, err := s.start(ctx, tenant, name, version, req)
	if err != nil {
		return Backtest{}, err
	}
	b, _ := View(j)
	return b, nil
}

func (s *Service) start(ctx context.Context, tenant, name string, version int, req Request) (jobs.Job, error) {
	v, err := s.plugins.Get(ctx, tenant, name, version)
	if err != nil {
		return jobs.Job{}, err
	}
	if v.Kind != plugins.KindScore {
		return jobs.Job{}, &core.Error{Code: core.CodeInvalid, Message: fmt.Sprintf("plugin %s is a %s plugin: only score plugins can be backtested", name, v.Kind),
			Fields: []core.FieldError{{Path: "version", Value: string(v.Kind),
				Message: "must be a score plugin's: a route's candidates (their load and availability then) and a campaign's audience are not in the event log, so their past decisions cannot be rebuilt"}}}
	}
	t, err := s.tenants.Get(ctx, tenant)
	if err != nil {
		return jobs.Job{}, err
	}
	p, err := s.params(req, t.Location())
	if err != nil {
		return jobs.Job{}, err
	}
	p.Plugin, p.Version = name, version
	if a, _, err := s.plugins.Active(ctx, tenant, plugins.KindScore); err == nil && (a.Name != name || a.Version != version) {
		p.Baseline = &plugins.Ref{Name: a.Name, Version: a.Version}
	} else if err != nil && core.ErrorCode(err) != core.CodeNotFound {
		return jobs.Job{}, err
	}
	return s.jobs.Start(ctx, tenant, JobKind, p)
}

// params checks a request's range, window and outcome.
func (s *Service) params(req Request, loc *time.Location) (BacktestParams, error) {
	var p core.Problems
	now := s.now().UTC()
	from, ferr := parseBound(req.From, loc, false)
	if ferr != "" {
		p.Add("from", "%s", ferr)
	}
	to, terr := parseBound(req.To, loc, true)
	if terr != "" {
		p.Add("to", "%s", terr)
	}
	if ferr == "" && terr == "" {
		switch {
		case !from.Before(to):
			p.Add("to", "must be after from")
		case to.Sub(from) > MaxRangeDays*24*time.Hour:
			p.Add("to", "must be at most %d days after from", MaxRangeDays)
		case !from.Before(now):
			p.Add("from", "must be in the past: there is nothing recorded to replay yet")
		}
	}
	out := BacktestParams{From: from, To: to, WindowDays: req.WindowDays, Outcome: req.Outcome}
	if out.WindowDays == 0 {
		out.WindowDays = DefaultWindowDays
	}
	if out.WindowDays < 1 || out.WindowDays > MaxWindowDays {
		p.Add("window_days", "must be 1 to %d", MaxWindowDays)
	}
	if out.Outcome == "" {
		out.Outcome = OutcomeEither
	}
	if !slices.Contains(Outcomes, out.Outcome) {
		p.Add("outcome", "must be won_deal, first_order or either")
	}
	return out, p.Err()
}

// parseBound reads an RFC 3339 time or a date in loc; a date as an upper
// bound is the end of its day. It answers what is wrong, or "".
func parseBound(v string, loc *time.Location, upper bool) (time.Time, string) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, "is required: an RFC 3339 time or a date (YYYY-MM-DD)"
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC(), ""
	}
	d, err := time.ParseInLocation(time.DateOnly, v, loc)
	if err != nil {
		return time.Time{}, "must be an RFC 3339 time or a date (YYYY-MM-DD)"
	}
	if upper {
		d = d.AddDate(0, 0, 1)
	}
	return d.UTC(), ""
}

// Backtest is a backtest job as the plugin's routes show it: the job's
// progress with its params and result typed.
type Backtest struct {
	ID     string      `json:"id"`
	Status jobs.Status `json:"status"`
	// Done counts the events read so far; Total is set once all are.
	Done       int             `json:"done"`
	Total      int             `json:"total,omitempty"`
	Params     BacktestParams  `json:"params"`
	Result     *BacktestResult `json:"result,omitempty" doc:"What it found so far while running; final once done."`
	Error      *core.Error     `json:"error,omitempty" doc:"Why it failed."`
	Steps      int             `json:"steps"`
	StartedAt  time.Time       `json:"started_at"`
	FinishedAt time.Time       `json:"finished_at,omitzero"`
}

// View is a job of this kind as a Backtest; ok is false for a job of
// another kind.
func View(j jobs.Job) (b Backtest, ok bool) {
	if j.Kind != JobKind || json.Unmarshal(j.Params, &b.Params) != nil {
		return b, false
	}
	if len(j.Result) > 0 {
		var r BacktestResult
		if json.Unmarshal(j.Result, &r) != nil {
			return b, false
		}
		b.Result = &r
	}
	b.ID, b.Status, b.Done, b.Total, b.Error, b.Steps, b.StartedAt, b.FinishedAt =
		j.ID, j.Status, j.Done, j.Total, j.Error, j.Steps, j.StartedAt, j.FinishedAt
	return b, true
}

// Get returns a backtest of name's: a job of another kind, or of another
// plugin, is not found, so the plugin's route shows only its own.
func (s *Service) Get(ctx context.Context, tenant, name, id string) (Backtest, error) {
	j, err := s.jobs.Get(ctx, tenant, id)
	if err != nil {
		return Backtest{}, err
	}
	b, ok := View(j)
	if !ok || b.Params.Plugin != name {
		return Backtest{}, core.Errorf(core.CodeNotFound, "plugin %s has no backtest %s", name, id)
	}
	return b, nil
}

// BacktestResult is what a backtest found; the job carries it, updated after every
// step while the job runs and final once it is done.
type BacktestResult struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// OutcomesUntil is how far outcomes were read: to + N days, or the
	// time of the last step when that is still to come.
	OutcomesUntil time.Time `json:"outcomes_until"`
	EventsRead    int       `json:"events_read"`
	// Decisions are the records rebuilt and decided by both, one per event
	// the kind reacts to; Skipped are those that could not be rebuilt, by
	// reason (contact_unknown: no event of the contact before it is kept;
	// contact_deleted).
	Decisions int            `json:"decisions"`
	Skipped   map[string]int `json:"skipped,omitempty"`
	// Approximated counts records rebuilt from a truncated timeline
	// (timeline_truncated: only its latest entries were read) or without
	// their company (company_unknown: no company event kept before then).
	Approximated map[string]int    `json:"approximated,omitempty"`
	Agreement    BacktestAgreement `json:"agreement"`
	Candidate    BacktestDecider   `json:"candidate"`
	Baseline     BacktestDecider   `json:"baseline"`
	Shift        BacktestShift     `json:"shift"`
	// Ranking is filled when the job is done.
	Ranking *BacktestRanking `json:"ranking,omitempty"`
	// Notes say what limits the numbers: outcomes still to come, events
	// past the log's retention.
	Notes []string `json:"notes,omitempty"`
}

// BacktestAgreement is how often the two decided alike, over Decisions.
type BacktestAgreement struct {
	Within5 float64 `json:"within_5" doc:"Share of decisions whose scores differ by 5 points or less."`
	Exact   float64 `json:"exact" doc:"Share of decisions with the same score."`
}

// BacktestDecider is one side of the comparison: what decided, the distribution
// of what it decided, and its failures.
type BacktestDecider struct {
	DecidedBy core.Decider `json:"decided_by"`
	Plugin    *plugins.Ref `json:"plugin,omitempty"`
	// Histogram counts decisions in 10-point bins: 0–9, 10–19, …, 90–100.
	Histogram [10]int `json:"histogram"`
	Mean      float64 `json:"mean"`
	StdDev    float64 `json:"stddev"`
	// Failures are calls of the plugin that failed: their records fell to
	// the built-in, as they would live, and count in the numbers as the
	// built-in's. Declined are records the plugin answered an error for.
	Failures BacktestFailures `json:"failures"`
	// AUC and TopDecileLift rank the contacts by their score before their
	// outcome (see BacktestRanking); absent when there is nothing to rank.
	AUC           *float64 `json:"auc,omitempty"`
	TopDecileLift *float64 `json:"top_decile_lift,omitempty"`
}

// BacktestFailures counts a plugin's failed calls.
type BacktestFailures struct {
	Calls    int            `json:"calls"`
	Records  int            `json:"records"`
	Declined int            `json:"declined"`
	Classes  map[string]int `json:"classes,omitempty" doc:"Failed calls by class: trap, out_of_fuel, timeout, contract, unavailable, …"`
}

// BacktestShift compares the candidate's distribution with the baseline's.
type BacktestShift struct {
	KS  float64 `json:"ks" doc:"Two-sample Kolmogorov–Smirnov statistic over the exact scores, 0 to 1."`
	PSI float64 `json:"psi" doc:"Population stability index of the candidate against the baseline over the 10-point bins (empty bins as 0.0001); above 0.25 is a large shift."`
}

// BacktestRanking is how the contacts were labelled: each contact's score is its
// last one in the range before its first outcome (its last in the range
// when it had none), and it is positive when the outcome came within
// WindowDays after that score.
type BacktestRanking struct {
	Outcome    Outcome `json:"outcome"`
	WindowDays int     `json:"window_days"`
	Contacts   int     `json:"contacts"`
	Positives  int     `json:"positives"`
}

// Events a score reacts to, as the scoring consumer does, plus a first
// order: orders are part of the score contract's record.
var decisionTypes = []events.Type{events.ContactCreated, events.ContactUpdated, events.ActivityLogged, events.OrderPlaced}

// notes says what limits a result.
func notes(p BacktestParams, until, now time.Time) []string {
	var out []string
	if kept := now.Add(-events.EventRetention()); p.From.Before(kept) {
		out = append(out, fmt.Sprintf("events before %s are past the event log's retention (%d days) and were not replayed: the range effectively starts there",
			kept.Format(time.RFC3339), events.EventRetention()/(24*time.Hour)))
	}
	if want := p.To.AddDate(0, 0, p.WindowDays); until.Before(want) {
		out = append(out, fmt.Sprintf("outcomes were read until %s, not %s (to + %d days): contacts scored less than %d days before then had less time to convert",
			until.Format(time.RFC3339), want.Format(time.RFC3339), p.WindowDays, p.WindowDays))
	}
	return out
}

// settle is how old an event must be to be replayed: one whose commit is
// still landing would be stepped over (timeline.EventSettle).
const settle = timeline.EventSettle
