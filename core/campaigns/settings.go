package campaigns

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/cel-go/cel"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/segments"
	"github.com/fedele-crm/fedele/core/store"
)

// GoalEvents are the events a tenant's conversion goal may be: outcomes
// on a contact's timeline. The campaigns consumer subscribes to all of
// them (template.yaml's rule must list them), and a goal filter narrows.
var GoalEvents = []events.Type{events.OrderPlaced, events.DealWon, events.ActivityLogged,
	events.ContactLifecycleChanged, events.SegmentEntered}

// DefaultAttributionWindow is how long after enrolment a goal event
// converts a recipient when the tenant did not say: a week, the usual
// e-mail attribution window.
const DefaultAttributionWindow = 7 * 24 * time.Hour

// MaxAttributionWindow bounds the window (a recipient's enrolment is
// read for every goal event within it).
const MaxAttributionWindow = 90 * 24 * time.Hour

// CampaignSettings are the tenant's measurement settings for campaigns.
type CampaignSettings struct {
	GoalEvent events.Type `json:"goal_event,omitempty" enum:"order.placed,deal.won,activity.logged,contact.lifecycle_changed,segment.entered" doc:"The event that is a conversion; order.placed by default."` // GoalEvents
	// GoalFilter is a CEL condition over the goal event (variable event:
	// type, time, entity_type, entity_id, data — the entity as the event
	// carries it), compiled when saved.
	GoalFilter        string    `json:"goal_filter,omitempty" maxLength:"2048" doc:"A CEL condition over the event: event.type, event.entity_type, event.entity_id, event.data (the entity), e.g. event.data.total >= 5000."`
	AttributionWindow string    `json:"attribution_window,omitempty" maxLength:"16" doc:"How long after enrolment a goal event converts: a Go duration or days (7d); 7d by default, at most 90d."`
	Version           int64     `json:"version" readOnly:"true"`
	UpdatedAt         time.Time `json:"updated_at,omitzero" readOnly:"true"`
}

func (c CampaignSettings) window() time.Duration {
	d, err := segments.ParseDuration(c.AttributionWindow)
	if err != nil || d <= 0 {
		return DefaultAttributionWindow
	}
	return d
}

var settingsDoc = record.Doc[CampaignSettings]{Name: "campaign settings", Version: func(c *CampaignSettings) *int64 { return &c.Version }}

func settingsKey(tenant string) store.Key { return store.Tenant(tenant).Marker("campaign-settings") }

// Settings returns the tenant's campaign settings, the defaults when none
// were set (version 0).
func (s *Service) Settings(ctx context.Context, tenant string) (CampaignSettings, error) {
	c, v, err := settingsDoc.Get(ctx, s.store, settingsKey(tenant))
	if core.ErrorCode(err) == core.CodeNotFound {
		err = nil
	}
	c.Version = v
	if c.GoalEvent == "" {
		c.GoalEvent = events.OrderPlaced
	}
	if c.AttributionWindow == "" {
		c.AttributionWindow = "7d"
	}
	return c, err
}

// SetSettings replaces the tenant's settings; ifVersion > 0 must be the
// version replaced. A goal filter that does not compile is a 422 naming
// its position.
func (s *Service) SetSettings(ctx context.Context, tenant string, c CampaignSettings, ifVersion int64) (CampaignSettings, error) {
	var p core.Problems
	if c.GoalEvent == "" {
		c.GoalEvent = events.OrderPlaced
	} else if !slices.Contains(GoalEvents, c.GoalEvent) {
		p = append(p, core.FieldError{Path: "goal_event", Message: "must be one of order.placed, deal.won, activity.logged, contact.lifecycle_changed, segment.entered", Value: string(c.GoalEvent)})
	}
	c.AttributionWindow = strings.TrimSpace(c.AttributionWindow)
	if c.AttributionWindow == "" {
		c.AttributionWindow = "7d"
	}
	if d, err := segments.ParseDuration(c.AttributionWindow); err != nil || d < time.Hour || d > MaxAttributionWindow {
		p = append(p, core.FieldError{Path: "attribution_window", Message: "must be a duration from 1h to 90d (7d, 48h)", Value: c.AttributionWindow})
	}
	c.GoalFilter = strings.TrimSpace(c.GoalFilter)
	if err := p.Err(); err != nil {
		return CampaignSettings{}, err
	}
	if c.GoalFilter != "" {
		if _, err := compileGoal(c.GoalFilter); err != nil {
			return CampaignSettings{}, err
		}
	}
	_, cur, err := settingsDoc.Get(ctx, s.store, settingsKey(tenant))
	if err != nil && core.ErrorCode(err) != core.CodeNotFound {
		return CampaignSettings{}, err
	}
	if ifVersion > 0 && cur != ifVersion {
		return CampaignSettings{}, record.Stale("campaign settings", tenant, ifVersion, cur)
	}
	c.UpdatedAt = s.now()
	w, err := settingsDoc.Put(settingsKey(tenant), cur, &c)
	if err != nil {
		return CampaignSettings{}, err
	}
	if err := s.store.Put(ctx, w.Item, w.Cond); errors.Is(err, store.ErrConditionFailed) {
		return CampaignSettings{}, record.Stale("campaign settings", tenant, ifVersion, -1)
	} else if err != nil {
		return CampaignSettings{}, fmt.Errorf("store campaign settings: %w", record.StoreError(err))
	}
	c.Version = cur + 1
	return c, nil
}

// goalCost bounds one evaluation of a goal filter (CEL cost units).
const goalCost = 2000

var goalEnv = sync.OnceValues(func() (*cel.Env, error) {
	return cel.NewEnv(cel.Variable("event", cel.MapType(cel.StringType, cel.DynType)))
})

// compileGoal type-checks a goal filter; a fault is a 422 at goal_filter
// with line, column and byte offset.
func compileGoal(expr string) (cel.Program, error) {
	if len(expr) > 2048 || !utf8.ValidString(expr) {
		return nil, core.Invalid("goal_filter", "must be UTF-8 text of at most 2048 bytes", nil)
	}
	env, err := goalEnv()
	if err != nil {
		return nil, fmt.Errorf("goal environment: %w", err)
	}
	ast, iss := env.Compile(expr)
	if iss != nil && iss.Err() != nil {
		return nil, segments.IssueProblem("goal_filter", expr, iss)
	}
	if t := ast.OutputType(); !t.IsExactType(cel.BoolType) && !t.IsExactType(cel.DynType) {
		return nil, core.Invalid("goal_filter", fmt.Sprintf("must be a condition (bool), not %s", t), nil)
	}
	return env.Program(ast, cel.CostLimit(goalCost))
}

// goalPrograms caches compiled goal filters by tenant and version.
type goalPrograms struct{ m sync.Map }

func (s *Service) goalMatches(tenant string, set CampaignSettings, ev events.Envelope) (bool, error) {
	key := fmt.Sprintf("%s/%d", tenant, set.Version)
	var prg cel.Program
	if p, ok := s.goalCache.m.Load(key); ok {
		prg = p.(cel.Program)
	} else {
		p, err := compileGoal(set.GoalFilter)
		if err != nil {
			return false, nil // a filter saved under other rules: no conversion, never a retry loop
		}
		s.goalCache.m.Store(key, p)
		prg = p
	}
	var data any
	_ = jsonUnmarshal(ev.Detail.Entity.Data, &data)
	out, _, err := prg.Eval(map[string]any{"event": map[string]any{
		"type": string(ev.DetailType), "time": ev.Detail.Time, "entity_type": ev.Detail.Entity.Type,
		"entity_id": ev.Detail.Entity.ID, "data": data}})
	if err != nil {
		return false, nil // a missing field is no match
	}
	b, ok := out.Value().(bool)
	return ok && b, nil
}

func jsonUnmarshal(b []byte, v any) error {
	if len(b) == 0 {
		return nil
	}
	return json.Unmarshal(b, v)
}
