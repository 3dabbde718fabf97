package team

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
)

// Users is the repository of a tenant's team: the people leads, deals and
// cases are assigned to.
type Users struct {
	store store.Store
	now   func() time.Time
}

// NewUsers returns the users of every tenant in s.
func NewUsers(s store.Store, now func() time.Time) *Users { return &Users{store: s, now: now} }

var userKind = record.Type[core.User]{
	Name: "user",
	Key:  UserKey,
	Meta: func(u *core.User) *core.Meta { return &u.Meta },
	Unique: func(tenant string, u *core.User) []record.Unique {
		return []record.Unique{{Key: userEmailKey(tenant, u.Email), Path: "email", Value: u.Email}}
	},
}

// Get returns one user; another tenant's id is simply not found.
func (us *Users) Get(ctx context.Context, tenant, id string) (core.User, error) {
	return userKind.Get(ctx, us.store, tenant, id)
}

// Create validates and stores a new user; an e-mail already in the team is
// a conflict.
func (us *Users) Create(ctx context.Context, tenant string, f core.UserFields) (core.User, error) {
	if err := f.Normalize(); err != nil {
		return core.User{}, err
	}
	u := core.User{UserFields: f}
	if err := userKind.Create(ctx, us.store, tenant, us.now(), &u); err != nil {
		return core.User{}, err
	}
	return u, nil
}

// Update applies change to a user's writable fields and stores the result
// when it validates; ifVersion > 0 is the If-Match.
func (us *Users) Update(ctx context.Context, tenant, id string, ifVersion int64, change func(*core.UserFields) error) (core.User, error) {
	return userKind.Update(ctx, us.store, tenant, id, ifVersion, us.now, func(cur core.User) (core.User, error) {
		f := cur.UserFields
		if err := change(&f); err != nil {
			return cur, err
		}
		if err := f.Normalize(); err != nil {
			return cur, err
		}
		return core.User{Meta: cur.Meta, UserFields: f}, nil
	})
}

// Delete removes a user. What is assigned to them keeps their id.
func (us *Users) Delete(ctx context.Context, tenant, id string, ifVersion int64) (core.User, error) {
	return userKind.Delete(ctx, us.store, tenant, id, ifVersion, us.now)
}

// UserFilter narrows a list of users; empty fields do not filter.
type UserFilter struct {
	Role, Status, Skill, Territory string
}

// List returns a page of a tenant's users, oldest first.
func (us *Users) List(ctx context.Context, tenant string, f UserFilter, limit int, cursor string) ([]core.User, string, error) {
	if err := record.CheckLimit(limit); err != nil {
		return nil, "", err
	}
	f.Skill = strings.ToLower(strings.TrimSpace(f.Skill))
	plan := record.Plan{Query: store.Query{PK: usersPK(tenant)}}
	plan.PostFilter = f != UserFilter{}
	match := func(u *core.User) bool {
		return (f.Role == "" || u.Role == f.Role) && (f.Status == "" || u.Status == f.Status) &&
			(f.Skill == "" || slices.Contains(u.Skills, f.Skill)) && (f.Territory == "" || u.Territory == f.Territory)
	}
	fp := record.FilterKey("user", f.Role, f.Status, f.Skill, f.Territory)
	return record.List(ctx, us.store, tenant, userKind, plan, fp, limit, cursor, match)
}
