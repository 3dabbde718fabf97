package campaigns

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/jobs"
	"github.com/fedele-crm/fedele/core/messaging"
	"github.com/fedele-crm/fedele/core/plugins"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/segments"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/core/tenancy"
	"github.com/fedele-crm/fedele/core/timers"
)

// LaunchJob is the kind of the job that goes through a campaign's
// audience; LaunchTimer the kind of the timer that starts it at its time.
const (
	LaunchJob   = "campaign_launch"
	LaunchTimer = "campaign.launch"
)

// Service keeps campaigns, launches them and measures them.
type Service struct {
	store     store.Store
	tenants   *tenancy.Tenants
	segments  *segments.Service
	delivery  *messaging.Delivery
	jobs      *jobs.Service
	timers    *timers.Service
	runner    *plugins.Runner // nil: the built-in rules decide
	now       func() time.Time
	log       *slog.Logger
	goalCache goalPrograms
	// StepRecipients is how many recipients one launch step decides; a
	// step must end well within a minute (core/jobs).
	StepRecipients int
	// Workers is how many recipients a step sends to at once.
	Workers int
}

// New returns the service and registers its job kind and timer kind.
// runner may be nil (no plugin host).
func New(s store.Store, ts *tenancy.Tenants, sg *segments.Service, d *messaging.Delivery, js *jobs.Service, tm *timers.Service,
	runner *plugins.Runner, now func() time.Time, log *slog.Logger) *Service {
	sv := &Service{store: s, tenants: ts, segments: sg, delivery: d, jobs: js, timers: tm, runner: runner,
		now: func() time.Time { return now().UTC() }, log: log, StepRecipients: 500, Workers: 8}
	js.Register(jobs.Kind{Name: LaunchJob, Step: sv.launchStep})
	tm.Register(timers.Handler{Kind: LaunchTimer, Handle: sv.launchTimer})
	return sv
}

// Create saves a draft campaign. Its audience must be a segment or list
// of the tenant.
func (s *Service) Create(ctx context.Context, tenant string, f CampaignFields) (Campaign, error) {
	if err := f.normalize(s.now()); err != nil {
		return Campaign{}, err
	}
	if err := s.checkAudience(ctx, tenant, f); err != nil {
		return Campaign{}, err
	}
	c := Campaign{CampaignFields: f, Status: Draft}
	err := campaignKind.Create(ctx, s.store, tenant, s.now(), &c)
	return c, err
}

// checkAudience is the audience's existence in the tenant: another
// tenant's segment is simply not found.
func (s *Service) checkAudience(ctx context.Context, tenant string, f CampaignFields) error {
	kind, id, path := segments.Dynamic, f.SegmentID, "segment_id"
	if f.ListID != "" {
		kind, id, path = segments.Static, f.ListID, "list_id"
	}
	_, err := s.segments.Get(ctx, tenant, kind, id)
	if core.ErrorCode(err) == core.CodeNotFound {
		return core.Invalid(path, "no such "+map[segments.Kind]string{segments.Dynamic: "segment", segments.Static: "list"}[kind]+" in this tenant", id)
	}
	return err
}

func (c *Campaign) audience() string {
	if c.ListID != "" {
		return c.ListID
	}
	return c.SegmentID
}

// Get returns a campaign; another tenant's is not found.
func (s *Service) Get(ctx context.Context, tenant, id string) (Campaign, error) {
	return campaignKind.Get(ctx, s.store, tenant, id)
}

// Update replaces a draft's fields; a campaign past draft is not edited
// (409): what its recipients were sent must stay what it says.
func (s *Service) Update(ctx context.Context, tenant, id string, ifVersion int64, f CampaignFields) (Campaign, error) {
	if err := f.normalize(s.now()); err != nil {
		return Campaign{}, err
	}
	if err := s.checkAudience(ctx, tenant, f); err != nil {
		return Campaign{}, err
	}
	return campaignKind.Update(ctx, s.store, tenant, id, ifVersion, s.now, func(cur Campaign) (Campaign, error) {
		if cur.Status != Draft {
			return cur, core.Errorf(core.CodeConflict, "campaign %s is %s: only a draft is edited", id, cur.Status)
		}
		cur.CampaignFields = f
		return cur, nil
	})
}

// Delete removes a campaign that is not scheduled, running or paused
// (cancel it first). Its enrolments and counters stay until the tenant is
// erased: they are what its performance was.
func (s *Service) Delete(ctx context.Context, tenant, id string, ifVersion int64) error {
	c, err := s.Get(ctx, tenant, id)
	if err != nil {
		return err
	}
	if c.Status == Scheduled || c.Status == Running || c.Status == Paused {
		return core.Errorf(core.CodeConflict, "campaign %s is %s: cancel it before deleting it", id, c.Status)
	}
	_, err = campaignKind.Delete(ctx, s.store, tenant, id, ifVersion, s.now)
	return err
}

// List returns a tenant's campaigns by creation.
func (s *Service) List(ctx context.Context, tenant string, limit int, cursor string) ([]Campaign, string, error) {
	if err := record.CheckLimit(limit); err != nil {
		return nil, "", err
	}
	return record.List(ctx, s.store, tenant, campaignKind, record.Plan{Query: store.Query{PK: campaignsPK(tenant)}},
		record.FilterKey("campaigns"), limit, cursor, func(*Campaign) bool { return true })
}

// transition moves a campaign (at ifVersion when > 0) by change, which
// may return more writes to commit with it (a job's start, a timer).
func (s *Service) transition(ctx context.Context, tenant, id string, ifVersion int64,
	change func(c *Campaign, now time.Time) ([]store.Write, error)) (Campaign, error) {
	for attempt := 0; ; attempt++ {
		cur, err := s.Get(ctx, tenant, id)
		if err != nil {
			return cur, err
		}
		if ifVersion > 0 && cur.Version != ifVersion {
			return cur, record.Stale("campaign", id, ifVersion, cur.Version)
		}
		var extra []store.Write
		next, writes, err := campaignKind.Change(ctx, s.store, tenant, id, s.now, func(c Campaign) (Campaign, error) {
			if c.Version != cur.Version {
				return c, record.Stale("campaign", id, cur.Version, c.Version)
			}
			var err error
			extra, err = change(&c, s.now())
			return c, err
		})
		if err != nil || len(writes) == 0 {
			return next, err
		}
		err = s.store.Transact(ctx, append(writes, extra...))
		if err == nil {
			return next, nil
		}
		if attempt == record.MaxRetries || ifVersion > 0 {
			return cur, fmt.Errorf("change campaign %s: %w", id, record.StoreError(err))
		}
	}
}

func conflict(c *Campaign, what string) error {
	return core.Errorf(core.CodeConflict, "campaign %s is %s: it cannot be %s", c.ID, c.Status, what)
}

// launchParams are a launch job's: the campaign, and where a resumed
// launch continues (the last job's state).
type launchParams struct {
	CampaignID string          `json:"campaign_id"`
	From       json.RawMessage `json:"from,omitempty"`
}

// startWrites are the writes that start c's launch now, or at its time by
// a timer; they set c's status, job or timer.
func (s *Service) startWrites(ctx context.Context, tenant string, c *Campaign, now time.Time, from json.RawMessage) ([]store.Write, error) {
	at := c.launchTime(now)
	if at.After(now) {
		t, w, err := s.timers.ScheduleWrite(ctx, tenant, core.TimerRequest{Kind: LaunchTimer, Subject: c.ID, Due: at,
			Key: fmt.Sprintf("%s#%d", c.ID, c.Version)})
		if err != nil {
			return nil, err
		}
		c.Status, c.TimerID, c.LaunchAt = Scheduled, t.ID, at
		return []store.Write{w}, nil
	}
	ws, j, err := s.jobs.StartWrites(ctx, tenant, LaunchJob, launchParams{CampaignID: c.ID, From: from})
	if err != nil {
		return nil, err
	}
	c.Status, c.JobID, c.LaunchAt = Running, j.ID, now
	if c.LaunchedAt.IsZero() {
		c.LaunchedAt = now
	}
	return ws, nil
}

// Schedule launches a draft: now (its launch job starts at once), or at
// its time (a timer starts it; for local_time, when the date and time
// first come anywhere, UTC+14, each recipient's message then held by the
// delivery policy until the time in their own zone).
func (s *Service) Schedule(ctx context.Context, tenant, id string, ifVersion int64) (Campaign, error) {
	cur, err := s.Get(ctx, tenant, id)
	if err != nil {
		return cur, err
	}
	if err := s.checkAudience(ctx, tenant, cur.CampaignFields); err != nil {
		return cur, err
	}
	return s.transition(ctx, tenant, id, ifVersion, func(c *Campaign, now time.Time) ([]store.Write, error) {
		if c.Status != Draft {
			return nil, conflict(c, "scheduled")
		}
		return s.startWrites(ctx, tenant, c, now, nil)
	})
}

// Pause stops launching: a scheduled campaign's timer is cancelled, a
// running one's job stops before its next step, and the messages the
// delivery policy holds for it (a local send time, quiet hours, a cap)
// wait while it is paused, rechecked hourly (messaging.PausedRecheck). A
// completed campaign can be paused for those.
func (s *Service) Pause(ctx context.Context, tenant, id string, ifVersion int64) (Campaign, error) {
	if cur, err := s.stopLaunch(ctx, tenant, id, ifVersion); err != nil {
		return cur, err
	}
	return s.transition(ctx, tenant, id, ifVersion, func(c *Campaign, now time.Time) ([]store.Write, error) {
		switch c.Status {
		case Scheduled:
			w, ok, err := s.timers.CancelWrite(ctx, tenant, c.TimerID)
			c.Status = Paused
			if !ok {
				return nil, err
			}
			return []store.Write{w}, err
		case Running, Completed:
			// A completed launch may still have messages held for a local
			// send time, quiet hours or a cap: paused, they wait (messaging's
			// gate) until the campaign is resumed.
			c.Status = Paused
			return nil, nil
		}
		return nil, conflict(c, "paused")
	})
}

// Resume continues a paused campaign: a launch that had started goes on
// from its last finished step (a recipient decided twice is harmless:
// assignment is a hash and messaging requests one message per recipient
// and campaign); one that had not is scheduled again.
func (s *Service) Resume(ctx context.Context, tenant, id string, ifVersion int64) (Campaign, error) {
	cur, err := s.Get(ctx, tenant, id)
	if err != nil {
		return cur, err
	}
	var from json.RawMessage
	launched := false
	if cur.Status == Paused && cur.JobID != "" {
		j, err := s.jobs.Get(ctx, tenant, cur.JobID)
		if err != nil && core.ErrorCode(err) != core.CodeNotFound {
			return cur, err
		}
		from, launched = j.State, j.Status == jobs.Done
	}
	return s.transition(ctx, tenant, id, ifVersion, func(c *Campaign, now time.Time) ([]store.Write, error) {
		if c.Status != Paused {
			return nil, conflict(c, "resumed")
		}
		if launched {
			// Paused after its launch was over: only held messages waited.
			c.Status = Completed
			return nil, nil
		}
		if c.JobID != "" {
			// It had launched: continue at once, whatever its schedule.
			ws, j, err := s.jobs.StartWrites(ctx, tenant, LaunchJob, launchParams{CampaignID: c.ID, From: from})
			c.Status, c.JobID = Running, j.ID
			return ws, err
		}
		return s.startWrites(ctx, tenant, c, now, nil)
	})
}

// stopLaunch is what a pause and a cancel do before their transition:
// check If-Match, then stop a running launch job first, so that a step in
// flight fails to commit and is dropped, and the job's state stays where a
// resume continues.
func (s *Service) stopLaunch(ctx context.Context, tenant, id string, ifVersion int64) (Campaign, error) {
	cur, err := s.Get(ctx, tenant, id)
	if err != nil {
		return cur, err
	}
	if ifVersion > 0 && cur.Version != ifVersion {
		return cur, record.Stale("campaign", id, ifVersion, cur.Version)
	}
	if cur.Status == Running && cur.JobID != "" {
		if _, err := s.jobs.Cancel(ctx, tenant, cur.JobID); err != nil && core.ErrorCode(err) != core.CodeNotFound {
			return cur, err
		}
	}
	return cur, nil
}

// Cancel stops a campaign for good: its timer and job stop, and the
// messages the delivery policy still holds for it are skipped when their
// timer comes (reason campaign_cancelled, through messaging's gate). A
// completed campaign can be cancelled too: its launch is over, but a
// local-time campaign's messages may be held for a day yet.
func (s *Service) Cancel(ctx context.Context, tenant, id string, ifVersion int64) (Campaign, error) {
	if cur, err := s.stopLaunch(ctx, tenant, id, ifVersion); err != nil {
		return cur, err
	}
	return s.transition(ctx, tenant, id, ifVersion, func(c *Campaign, now time.Time) ([]store.Write, error) {
		switch c.Status {
		case Cancelled:
			return nil, conflict(c, "cancelled")
		case Scheduled:
			w, ok, err := s.timers.CancelWrite(ctx, tenant, c.TimerID)
			c.Status = Cancelled
			if !ok {
				return nil, err
			}
			return []store.Write{w}, err
		}
		c.Status = Cancelled
		return nil, nil
	})
}

// Gate says what a held message of one of the tenant's campaigns may do
// now (messaging asks before sending one): go, wait while the campaign is
// paused, or be skipped once it is cancelled. A campaign id that is not
// one of ours (an integrator's own name for its messages) is open.
func (s *Service) Gate(ctx context.Context, tenant, campaignID string) (messaging.Gate, error) {
	if !core.ValidID(campaignID) {
		return messaging.GateOpen, nil
	}
	c, err := s.Get(ctx, tenant, campaignID)
	switch {
	case core.ErrorCode(err) == core.CodeNotFound:
		return messaging.GateOpen, nil
	case err != nil:
		return messaging.GateOpen, err
	case c.Status == Cancelled:
		return messaging.GateCancelled, nil
	case c.Status == Paused:
		return messaging.GatePaused, nil
	}
	return messaging.GateOpen, nil
}

// launchTimer starts a scheduled campaign's launch job when its time comes.
func (s *Service) launchTimer(ctx context.Context, t core.Timer) ([]store.Write, error) {
	var extra []store.Write
	_, writes, err := campaignKind.Change(ctx, s.store, t.Tenant, t.Subject, s.now, func(c Campaign) (Campaign, error) {
		if c.Status != Scheduled || c.TimerID != t.ID {
			return c, nil // paused, cancelled or rescheduled since
		}
		c.TimerID = ""
		c.Schedule.At = c.Schedule.At.UTC()
		ws, j, err := s.jobs.StartWrites(ctx, t.Tenant, LaunchJob, launchParams{CampaignID: c.ID})
		c.Status, c.JobID = Running, j.ID
		c.LaunchedAt = s.now()
		extra = ws
		return c, err
	})
	if core.ErrorCode(err) == core.CodeNotFound {
		return nil, nil
	}
	return append(writes, extra...), err
}

// CampaignAuditEntry is one change of a campaign: who, when, what.
type CampaignAuditEntry struct {
	At        time.Time `json:"at"`
	ActorType string    `json:"actor_type" doc:"api_key, jwt, system or automation."`
	ActorID   string    `json:"actor_id" doc:"The API key's id, the JWT's subject, or the automation's name (jobs for a launch completing)."`
	Action    string    `json:"action" doc:"created, updated or deleted."`
	Changed   []string  `json:"changed,omitempty" doc:"The fields the change set."`
	Status    Status    `json:"status" enum:"draft,scheduled,running,paused,completed,cancelled"` // Statuses
	Version   int64     `json:"version"`
	EventID   string    `json:"event_id"`
}

// Audit lists a campaign's changes, newest first: its own events (the
// campaign's timeline), each with its actor.
func (s *Service) Audit(ctx context.Context, tenant, id string, limit int, cursor string) ([]CampaignAuditEntry, string, error) {
	if err := record.CheckLimit(limit); err != nil {
		return nil, "", err
	}
	if _, err := s.Get(ctx, tenant, id); err != nil {
		return nil, "", err
	}
	filter := record.FilterKey("campaign-audit", id)
	q := store.Query{Index: events.TimelineIndex, PK: events.TimelinePK(tenant, "campaign", id), Desc: true, Limit: limit}
	if cursor != "" {
		c, err := record.DecodeListCursor(cursor, tenant, filter)
		if err != nil {
			return nil, "", err
		}
		q.Cursor = c
	}
	page, err := s.store.Query(ctx, q)
	if err != nil {
		return nil, "", fmt.Errorf("audit of campaign %s: %w", id, record.StoreError(err))
	}
	out := make([]CampaignAuditEntry, 0, len(page.Items))
	for _, it := range page.Items {
		ev, err := events.Decode(it)
		if err != nil {
			return nil, "", err
		}
		var c Campaign
		_ = json.Unmarshal(ev.Detail.Entity.Data, &c)
		action := string(ev.DetailType)[len("campaign."):]
		out = append(out, CampaignAuditEntry{At: ev.Detail.Time, ActorType: ev.Detail.Actor.Type, ActorID: ev.Detail.Actor.ID,
			Action: action, Changed: ev.Detail.Changed, Status: c.Status, Version: c.Version, EventID: ev.Detail.EventID})
	}
	// Events of one millisecond are ordered by their ids' random part:
	// within a page the campaign's version, which every change raises,
	// puts them in the order they happened.
	slices.SortStableFunc(out, func(a, b CampaignAuditEntry) int { return cmp.Compare(b.Version, a.Version) })
	next := ""
	if page.Next != "" {
		next = record.EncodeListCursor(page.Next, tenant, filter)
	}
	return out, next, nil
}
