package crm

import (
	"context"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/store"
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

var activityKind = kind[core.Activity]{
	name: "activity",
	key:  activityKey,
	meta: func(a *core.Activity) *core.Meta { return &a.Meta },
	// The record's own partition is in creation order; the indexes read a
	// contact's or a company's activities by when they happened, and an
	// owner's open tasks by due date (only while open: a done task leaves
	// the index, so the overdue list reads only what is overdue).
	indexKeys: func(tenant string, a *core.Activity) map[store.Index]store.Key {
		keys := map[store.Index]store.Key{}
		if a.ContactID != "" {
			keys[store.GSI2] = store.Key{PK: activityContactPK(tenant, a.ContactID), SK: sortTime(a.At) + "#" + a.ID}
		}
		if a.CompanyID != "" {
			keys[store.GSI3] = store.Key{PK: activityCompanyPK(tenant, a.CompanyID), SK: sortTime(a.At) + "#" + a.ID}
		}
		if a.DealID != "" {
			keys[store.GSI4] = store.Key{PK: activityDealPK(tenant, a.DealID), SK: sortTime(a.At) + "#" + a.ID}
		}
		if a.Type == "task" && !a.Done && !a.DueAt.IsZero() && a.OwnerID != "" {
			keys[store.GSI1] = store.Key{PK: openTasksPK(tenant, a.OwnerID), SK: sortTime(a.DueAt) + "#" + a.ID}
		}
		return keys
	},
	markers: func(string, *core.Activity) []marker { return nil },
	entries: func(string, *core.Activity) []store.Key { return nil },
	refs: func(tenant string, a *core.Activity) []ref {
		var refs []ref
		if a.ContactID != "" {
			refs = append(refs, ref{key: contactKey(tenant, a.ContactID), path: "contact_id", what: "contact"})
		}
		if a.CompanyID != "" {
			refs = append(refs, ref{key: companyKey(tenant, a.CompanyID), path: "company_id", what: "company"})
		}
		if a.DealID != "" {
			refs = append(refs, ref{key: dealKey(tenant, a.DealID), path: "deal_id", what: "deal"})
		}
		if a.OwnerID != "" {
			refs = append(refs, ref{key: userKey(tenant, a.OwnerID), path: "owner_id", what: "user"})
		}
		return refs
	},
	verbs: map[string]string{"created": "logged"},
	timeline: func(a *core.Activity) (string, string) {
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
	return activityKind.get(ctx, as.store, tenant, id)
}

// Log validates and stores an activity, with activity.logged on its
// contact's timeline (its company's when it names no contact).
func (as *Activities) Log(ctx context.Context, tenant string, f core.ActivityFields) (core.Activity, error) {
	now := as.now()
	if err := f.Normalize(now); err != nil {
		return core.Activity{}, err
	}
	a := core.Activity{ActivityFields: f}
	if err := activityKind.create(ctx, as.store, tenant, now, &a); err != nil {
		return core.Activity{}, err
	}
	return a, nil
}

// Patch applies a JSON merge patch (RFC 7396) to an activity — marking a
// task done, say; check, when not nil, validates the patched document.
func (as *Activities) Patch(ctx context.Context, tenant, id string, ifVersion int64, patch []byte, check core.DocumentCheck) (core.Activity, error) {
	return activityKind.update(ctx, as.store, tenant, id, ifVersion, as.now, func(cur core.Activity) (core.Activity, error) {
		var f core.ActivityFields
		if err := core.PatchFields(&cur.ActivityFields, patch, &f, check); err != nil {
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
	return activityKind.remove(ctx, as.store, tenant, id, ifVersion, as.now)
}

// ActivityFilter chooses whose activities to list: a contact's or a
// company's, newest first; neither lists the tenant's, newest first.
type ActivityFilter struct {
	ContactID, CompanyID, DealID, Type string
}

// List returns a page of activities.
func (as *Activities) List(ctx context.Context, tenant string, f ActivityFilter, limit int, cursor string) ([]core.Activity, string, error) {
	if err := checkLimit(limit); err != nil {
		return nil, "", err
	}
	plan := listPlan{q: store.Query{PK: activitiesPK(tenant), Desc: true}}
	switch {
	case f.ContactID != "":
		plan.q = store.Query{Index: store.GSI2, PK: activityContactPK(tenant, f.ContactID), Desc: true}
	case f.CompanyID != "":
		plan.q = store.Query{Index: store.GSI3, PK: activityCompanyPK(tenant, f.CompanyID), Desc: true}
	case f.DealID != "":
		plan.q = store.Query{Index: store.GSI4, PK: activityDealPK(tenant, f.DealID), Desc: true}
	}
	plan.postFilter = f.Type != ""
	match := func(a *core.Activity) bool { return f.Type == "" || a.Type == f.Type }
	fp := filterKey("activity", f.ContactID, f.CompanyID, f.DealID, f.Type)
	return scan(ctx, as.store, tenant, activityKind, plan, fp, limit, cursor, match)
}

// Overdue returns an owner's open tasks due before now, most overdue first.
func (as *Activities) Overdue(ctx context.Context, tenant, owner string, limit int, cursor string) ([]core.Activity, string, error) {
	if err := checkLimit(limit); err != nil {
		return nil, "", err
	}
	if !core.ValidID(owner) {
		return nil, "", core.Errorf(core.CodeNotFound, "user %s not found", owner)
	}
	now := as.now()
	plan := listPlan{q: store.Query{Index: store.GSI1, PK: openTasksPK(tenant, owner), To: sortTime(now)}}
	plan.postFilter = true // the index is eventually consistent: check again on the record
	match := func(a *core.Activity) bool { return a.Overdue(now) && a.OwnerID == owner }
	fp := filterKey("overdue", owner)
	return scan(ctx, as.store, tenant, activityKind, plan, fp, limit, cursor, match)
}
