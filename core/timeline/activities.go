package timeline

import (
	"context"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/contacts"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/sales"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/core/team"
)

// Activities is the repository of calls, e-mails, meetings, notes and
// tasks, linked to contacts and companies and owned by users.
type Activities struct {
	store store.Store
	now   func() time.Time
}

// NewActivities returns the activities of every tenant in s.
func NewActivities(s store.Store, now func() time.Time) *Activities {
	return &Activities{store: s, now: now}
}

var activityKind = record.Type[core.Activity]{
	Name: "activity",
	Key:  activityKey,
	Meta: func(a *core.Activity) *core.Meta { return &a.Meta },
	// The record's own partition is in creation order; the indexes read a
	// contact's or a company's activities by when they happened, and an
	// owner's open tasks by due date (only while open: a done task leaves
	// the index, so the overdue list reads only what is overdue).
	Index: func(tenant string, a *core.Activity) map[store.Index]store.Key {
		keys := map[store.Index]store.Key{}
		if a.ContactID != "" {
			keys[store.GSI2] = store.Key{PK: activityContactPK(tenant, a.ContactID), SK: record.SortTime(a.At) + "#" + a.ID}
		}
		if a.CompanyID != "" {
			keys[store.GSI3] = store.Key{PK: activityCompanyPK(tenant, a.CompanyID), SK: record.SortTime(a.At) + "#" + a.ID}
		}
		if a.DealID != "" {
			keys[store.GSI4] = store.Key{PK: activityDealPK(tenant, a.DealID), SK: record.SortTime(a.At) + "#" + a.ID}
		}
		if a.Type == "task" && !a.Done && !a.DueAt.IsZero() && a.OwnerID != "" {
			keys[store.GSI1] = store.Key{PK: openTasksPK(tenant, a.OwnerID), SK: record.SortTime(a.DueAt) + "#" + a.ID}
		}
		return keys
	},
	Refs: func(tenant string, a *core.Activity) []record.Ref {
		var refs []record.Ref
		if a.ContactID != "" {
			refs = append(refs, record.Ref{Key: contacts.ContactKey(tenant, a.ContactID), Path: "contact_id", What: "contact"})
		}
		if a.CompanyID != "" {
			refs = append(refs, record.Ref{Key: contacts.CompanyKey(tenant, a.CompanyID), Path: "company_id", What: "company"})
		}
		if a.DealID != "" {
			refs = append(refs, record.Ref{Key: sales.DealKey(tenant, a.DealID), Path: "deal_id", What: "deal"})
		}
		if a.OwnerID != "" {
			refs = append(refs, record.Ref{Key: team.UserKey(tenant, a.OwnerID), Path: "owner_id", What: "user"})
		}
		return refs
	},
	Verbs: map[record.Verb]string{record.VerbCreated: "logged"},
	Timeline: func(a *core.Activity) (string, string) {
		switch {
		case a.ContactID != "":
			return "contact", a.ContactID
		case a.CompanyID != "":
			return "company", a.CompanyID
		}
		return "deal", a.DealID
	},
}

// Get returns one activity; another tenant's id is simply not found.
func (as *Activities) Get(ctx context.Context, tenant, id string) (core.Activity, error) {
	return activityKind.Get(ctx, as.store, tenant, id)
}

// Log validates and stores an activity, with activity.logged on its
// contact's timeline (its company's when it names no contact).
func (as *Activities) Log(ctx context.Context, tenant string, f core.ActivityFields) (core.Activity, error) {
	now := as.now()
	if err := f.Normalize(now); err != nil {
		return core.Activity{}, err
	}
	a := core.Activity{ActivityFields: f}
	if err := activityKind.Create(ctx, as.store, tenant, now, &a); err != nil {
		return core.Activity{}, err
	}
	return a, nil
}

// Update applies change to an activity's writable fields — marking a task
// done, say — and stores the result when it validates.
func (as *Activities) Update(ctx context.Context, tenant, id string, ifVersion int64, change func(*core.ActivityFields) error) (core.Activity, error) {
	return activityKind.Update(ctx, as.store, tenant, id, ifVersion, as.now, func(cur core.Activity) (core.Activity, error) {
		f := cur.ActivityFields
		if err := change(&f); err != nil {
			return cur, err
		}
		if err := f.Normalize(as.now()); err != nil {
			return cur, err
		}
		return core.Activity{Meta: cur.Meta, ActivityFields: f}, nil
	})
}

// Delete removes an activity.
func (as *Activities) Delete(ctx context.Context, tenant, id string, ifVersion int64) (core.Activity, error) {
	return activityKind.Delete(ctx, as.store, tenant, id, ifVersion, as.now)
}

// ActivityFilter chooses whose activities to list: a contact's or a
// company's, newest first; neither lists the tenant's, newest first.
type ActivityFilter struct {
	ContactID, CompanyID, DealID, Type string
}

// List returns a page of activities.
func (as *Activities) List(ctx context.Context, tenant string, f ActivityFilter, limit int, cursor string) ([]core.Activity, string, error) {
	if err := record.CheckLimit(limit); err != nil {
		return nil, "", err
	}
	plan := record.Plan{Query: store.Query{PK: activitiesPK(tenant), Desc: true}}
	switch {
	case f.ContactID != "":
		plan.Query = store.Query{Index: store.GSI2, PK: activityContactPK(tenant, f.ContactID), Desc: true}
	case f.CompanyID != "":
		plan.Query = store.Query{Index: store.GSI3, PK: activityCompanyPK(tenant, f.CompanyID), Desc: true}
	case f.DealID != "":
		plan.Query = store.Query{Index: store.GSI4, PK: activityDealPK(tenant, f.DealID), Desc: true}
	}
	plan.PostFilter = f.Type != ""
	match := func(a *core.Activity) bool { return f.Type == "" || a.Type == f.Type }
	fp := record.FilterKey("activity", f.ContactID, f.CompanyID, f.DealID, f.Type)
	return record.List(ctx, as.store, tenant, activityKind, plan, fp, limit, cursor, match)
}

// Overdue returns an owner's open tasks due before now, most overdue first.
func (as *Activities) Overdue(ctx context.Context, tenant, owner string, limit int, cursor string) ([]core.Activity, string, error) {
	if err := record.CheckLimit(limit); err != nil {
		return nil, "", err
	}
	if !core.ValidID(owner) {
		return nil, "", core.Errorf(core.CodeNotFound, "user %s not found", owner)
	}
	now := as.now()
	plan := record.Plan{Query: store.Query{Index: store.GSI1, PK: openTasksPK(tenant, owner), To: record.SortTime(now)}}
	plan.PostFilter = true // the index is eventually consistent: check again on the record
	match := func(a *core.Activity) bool { return a.Overdue(now) && a.OwnerID == owner }
	fp := record.FilterKey("overdue", owner)
	return record.List(ctx, as.store, tenant, activityKind, plan, fp, limit, cursor, match)
}
