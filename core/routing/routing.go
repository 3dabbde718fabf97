// Package routing assigns an owner to a lead when it is created, or when it
// becomes marketing-qualified, and explains why: the tenant's active route
// plugin decides when it has one, a built-in strategy when it has none or
// the plugin fails — the tenant's choice of round robin, least loaded
// against capacity, or that among the members whose territory is the
// lead's country.
//
// It must never assign anyone outside the tenant's available team, and
// never react to its own changes (the consumer framework stops that).
package routing

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/contacts"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/plugins"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/core/team"
	"github.com/fedele-crm/fedele/core/tenancy"
)

// Record is one item as the route contract sends it
// (schemas/plugins/route.input.json).
type Record struct {
	Item       Item        `json:"item"`
	Candidates []Candidate `json:"candidates"`
}

// Item is what is being routed.
type Item struct {
	Type   string         `json:"type"`
	ID     string         `json:"id"`
	Fields map[string]any `json:"fields,omitempty"`
}

// Candidate is a member of the team who may take it.
type Candidate struct {
	ID        string   `json:"id"`
	Skills    []string `json:"skills,omitempty"`
	Territory string   `json:"territory,omitempty"`
	Load      int      `json:"load"`
	Capacity  int      `json:"capacity,omitempty"`
	Available bool     `json:"available"`
}

// Decision is the route contract's answer: a candidate or a queue, and why.
type Decision struct {
	Assignee string `json:"assignee,omitempty"`
	Queue    string `json:"queue,omitempty"`
	Reason   string `json:"reason"`
}

// Builtin routes by strategy (core.RoutingStrategies) among the available
// candidates with room (load under capacity): round_robin takes the next
// by id after last; least_loaded the lowest load against capacity, equals
// in turn; territory the same among those whose territory is the lead's
// country, or among all when none is.
func Builtin(r Record, last, strategy string) Decision {
	var pool []Candidate
	for _, c := range r.Candidates {
		if c.Available && (c.Capacity == 0 || c.Load < c.Capacity) {
			pool = append(pool, c)
		}
	}
	if len(pool) == 0 {
		return Decision{Queue: "unassigned", Reason: "no available team member with room"}
	}
	// In turn: ids after the last assignee first, then from the start.
	inTurn := func(a, b Candidate) int {
		if aAfter, bAfter := a.ID > last, b.ID > last; aAfter != bAfter {
			if aAfter {
				return -1
			}
			return 1
		}
		return strings.Compare(a.ID, b.ID)
	}
	if strategy == "round_robin" {
		slices.SortFunc(pool, inTurn)
		return Decision{Assignee: pool[0].ID, Reason: "round robin"}
	}
	why := "least loaded"
	if country, _ := r.Item.Fields["country"].(string); strategy == "territory" && country != "" {
		local := slices.DeleteFunc(slices.Clone(pool), func(c Candidate) bool { return !strings.EqualFold(c.Territory, country) })
		if len(local) > 0 {
			pool, why = local, "territory "+country+", least loaded"
		}
	}
	ratio := func(c Candidate) float64 {
		if c.Capacity == 0 {
			return float64(c.Load) / 1e6 // no limit: load alone orders them
		}
		return float64(c.Load) / float64(c.Capacity)
	}
	slices.SortFunc(pool, func(a, b Candidate) int {
		if ra, rb := ratio(a), ratio(b); ra != rb {
			if ra < rb {
				return -1
			}
			return 1
		}
		return inTurn(a, b)
	})
	return Decision{Assignee: pool[0].ID, Reason: why}
}

// Router assigns leads.
type Router struct {
	store    store.Store
	tenants  *tenancy.Tenants
	contacts *contacts.Contacts
	users    *team.Users
	runner   *plugins.Runner
	now      func() time.Time
}

// NewRouter returns a router; runner may be nil for a host without plugins.
func NewRouter(s store.Store, contacts *contacts.Contacts, users *team.Users, runner *plugins.Runner, now func() time.Time) *Router {
	return &Router{store: s, tenants: tenancy.NewTenants(s, now), contacts: contacts, users: users, runner: runner, now: now}
}

// Assignment is a routing decision as contact.assigned carries it.
type Assignment struct {
	ContactID string       `json:"contact_id"`
	OwnerID   string       `json:"owner_id,omitempty"`
	Queue     string       `json:"queue,omitempty"`
	Reason    string       `json:"reason"`
	Strategy  string       `json:"strategy" enum:"plugin,round_robin,least_loaded,territory"`
	Plugin    *plugins.Ref `json:"plugin,omitempty"`
	At        time.Time    `json:"at"`
}

// lastAssigned is who the tenant's previous lead went to: round robin goes
// on from there. Its write joins the assignment's transaction, so two
// leads routed at once cannot both take the same turn.
type lastAssigned struct {
	OwnerID string `json:"owner_id"`
}

var lastAssignedDoc = record.Doc[lastAssigned]{Name: "last assignment"}

func lastKey(tenant string) store.Key { return store.Tenant(tenant).Key("last", "routing") }

// candidates are the tenant's team with their open leads as load.
func (r *Router) candidates(ctx context.Context, tenant string) ([]Candidate, error) {
	var out []Candidate
	cursor := ""
	for {
		users, next, err := r.users.List(ctx, tenant, team.UserFilter{}, 200, cursor)
		if err != nil {
			return nil, err
		}
		for _, u := range users {
			load, err := r.load(ctx, tenant, u.ID)
			if err != nil {
				return nil, err
			}
			out = append(out, Candidate{ID: u.ID, Skills: u.Skills, Territory: u.Territory, Load: load, Capacity: u.Capacity, Available: u.Available()})
		}
		if next == "" {
			return out, nil
		}
		cursor = next
	}
}

// maxLoad bounds how far a load is counted: past it a member is full for
// any capacity a team sets.
const maxLoad = 1000

// load counts a member's open leads (lead, mql and sql contacts it owns).
func (r *Router) load(ctx context.Context, tenant, owner string) (int, error) {
	n := 0
	for _, stage := range []core.Stage{core.StageLead, core.StageMQL, core.StageSQL} {
		cursor := ""
		for n < maxLoad {
			cs, next, err := r.contacts.List(ctx, tenant, contacts.ContactFilter{OwnerID: owner, Stage: stage}, 200, cursor)
			if err != nil {
				return 0, fmt.Errorf("load of %s: %w", owner, err)
			}
			n += len(cs)
			if next == "" {
				break
			}
			cursor = next
		}
	}
	return n, nil
}

// Route assigns a contact's owner and returns the writes that record the
// decision: the round-robin position and contact.assigned.
func (r *Router) Route(ctx context.Context, tenant string, c core.Contact) ([]store.Write, error) {
	cands, err := r.candidates(ctx, tenant)
	if err != nil {
		return nil, err
	}
	// Without a readable last assignee, round robin starts from the top.
	lastDoc, lastVersion, _ := lastAssignedDoc.Get(ctx, r.store, lastKey(tenant))
	last := lastDoc.OwnerID
	fields := map[string]any{"stage": string(c.LifecycleStage), "tags": c.Tags}
	if c.Address != nil && c.Address.Country != "" {
		fields["country"] = c.Address.Country
	}
	rec := Record{Item: Item{Type: "lead", ID: c.ID, Fields: fields}, Candidates: cands}
	t, err := r.tenants.Get(ctx, tenant)
	if err != nil {
		return nil, err
	}
	strategy := t.Routing()
	builtin := func(rec Record) Decision { return Builtin(rec, last, strategy) }
	a := Assignment{ContactID: c.ID, Strategy: strategy, At: r.now().UTC()}
	d := builtin(rec)
	if r.runner != nil {
		ds, o := plugins.Decide(ctx, r.runner, tenant, plugins.KindRoute, []Record{rec}, builtin)
		d = ds[0]
		if o.ByPlugin[0] {
			a.Strategy = "plugin"
			a.Plugin = &plugins.Ref{Name: o.Plugin.Name, Version: o.Plugin.Version}
		}
	}
	a.OwnerID, a.Queue, a.Reason = d.Assignee, d.Queue, d.Reason
	var ownerWrites []store.Write
	if a.OwnerID != "" {
		if !slices.ContainsFunc(cands, func(c Candidate) bool { return c.ID == a.OwnerID }) {
			return nil, fmt.Errorf("route %s: %q is not in the team", c.ID, a.OwnerID) // the host checks plugins' choices; this is a bug
		}
		// The owner's write joins the consumer's transaction: a commit that
		// fails and is retried decides again from scratch, instead of finding
		// the owner already set and recording nothing.
		assign := func(f *core.ContactFields) error { f.OwnerID = a.OwnerID; return nil }
		_, owned, err := r.contacts.Changes(ctx, tenant, c.ID, assign)
		if err != nil {
			return nil, fmt.Errorf("assign %s to %s: %w", c.ID, a.OwnerID, err)
		}
		ownerWrites = owned
	}
	data, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	ev, err := events.OutboxWrite(events.New(ctx, tenant, events.ContactAssigned, a.At, events.Entity{Type: "contact", ID: c.ID, Data: data}))
	if err != nil {
		return nil, err
	}
	writes := append([]store.Write{ev}, ownerWrites...)
	if a.OwnerID != "" {
		w, err := lastAssignedDoc.Put(lastKey(tenant), lastVersion, &lastAssigned{OwnerID: a.OwnerID})
		if err != nil {
			return nil, err
		}
		writes = append(writes, w)
	}
	return writes, nil
}

// Consumer routes a lead without an owner when it is created, and a
// contact without one when it becomes marketing-qualified.
func (r *Router) Consumer() events.Handler {
	return events.Handler{
		Name:  "routing",
		Types: []events.Type{events.ContactCreated, events.ContactUpdated},
		Handle: func(ctx context.Context, ev events.Envelope) ([]store.Write, error) {
			var c core.Contact
			if err := json.Unmarshal(ev.Detail.Entity.Data, &c); err != nil {
				return nil, fmt.Errorf("decode contact: %w", err)
			}
			stage := c.LifecycleStage
			if stage == "" {
				stage = core.StageLead
			}
			switch {
			case ev.DetailType == events.ContactCreated && (stage == core.StageLead || stage == core.StageMQL):
			case ev.DetailType == events.ContactUpdated && stage == core.StageMQL && slices.Contains(ev.Detail.Changed, "lifecycle_stage"):
			default:
				return nil, nil
			}
			cur, err := r.contacts.Get(ctx, ev.Detail.Tenant, c.ID)
			if core.ErrorCode(err) == core.CodeNotFound {
				return nil, nil
			}
			if err != nil || cur.OwnerID != "" {
				return nil, err // someone owns it already: routing does not take leads away
			}
			return r.Route(ctx, ev.Detail.Tenant, cur)
		},
	}
}
