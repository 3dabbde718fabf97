package contacts_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/contacts"
	"github.com/fedele-crm/fedele/core/store/memstore"
	"github.com/fedele-crm/fedele/core/team"
	"github.com/fedele-crm/fedele/core/tenancy"
)

// The rules a contact's identity and owner follow, on every way of writing
// one: create, replace, merge (Update), upsert by e-mail and batch.
func TestContactIdentityAndOwner(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	tenants := tenancy.NewTenants(st, clock)
	for _, id := range []string{"acme", "globex"} {
		if _, err := tenants.Create(ctx, id, id, "US"); err != nil {
			t.Fatal(err)
		}
	}
	users := team.NewUsers(st, clock)
	cs := contacts.NewContacts(st, tenants, clock)
	rep, err := users.Create(ctx, "acme", core.UserFields{Name: "Rep", Email: "rep@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := users.Create(ctx, "globex", core.UserFields{Name: "Other", Email: "rep@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	ann, err := cs.Create(ctx, "acme", core.ContactFields{FirstName: "Ann", OwnerID: rep.ID})
	if err != nil {
		t.Fatalf("create with a team member as owner: %v", err)
	}
	never := core.NewID(now) // an id no user has

	set := func(change func(*core.ContactFields)) func(*core.ContactFields) error {
		return func(f *core.ContactFields) error { change(f); return nil }
	}
	tests := []struct {
		name  string
		write func() error
		path  string // the field the refusal names; "" is the whole contact
	}{
		{"create with nothing that says who", func() error {
			_, err := cs.Create(ctx, "acme", core.ContactFields{Tags: []string{"vip"}, LifecycleStage: core.StageMQL})
			return err
		}, ""},
		{"replace with nothing that says who", func() error {
			_, err := cs.Replace(ctx, "acme", ann.ID, 0, core.ContactFields{Tags: []string{"vip"}})
			return err
		}, ""},
		{"merge that removes the only name", func() error {
			_, err := cs.Update(ctx, "acme", ann.ID, 0, set(func(f *core.ContactFields) { f.FirstName = "" }))
			return err
		}, ""},
		{"batch element with nothing that says who", func() error {
			return cs.CreateMany(ctx, "acme", []core.ContactFields{{FirstName: "Ok"}, {Source: "web"}})[1].Err
		}, ""},
		{"create owned by nobody on the team", func() error {
			_, err := cs.Create(ctx, "acme", core.ContactFields{FirstName: "Bo", OwnerID: never})
			return err
		}, "owner_id"},
		{"create owned by another tenant's user", func() error {
			_, err := cs.Create(ctx, "acme", core.ContactFields{FirstName: "Bo", OwnerID: foreign.ID})
			return err
		}, "owner_id"},
		{"create owned by free text", func() error {
			_, err := cs.Create(ctx, "acme", core.ContactFields{FirstName: "Bo", OwnerID: "rep-7"})
			return err
		}, "owner_id"},
		{"merge to an owner nobody is", func() error {
			_, err := cs.Update(ctx, "acme", ann.ID, 0, set(func(f *core.ContactFields) { f.OwnerID = never }))
			return err
		}, "owner_id"},
		{"replace with an owner nobody is", func() error {
			_, err := cs.Replace(ctx, "acme", ann.ID, 0, core.ContactFields{FirstName: "Ann", OwnerID: never})
			return err
		}, "owner_id"},
		{"upsert with an owner nobody is", func() error {
			_, _, err := cs.UpsertByEmail(ctx, "acme", "new@example.com", 0, core.ContactFields{OwnerID: never})
			return err
		}, "owner_id"},
		{"batch element with an owner nobody is", func() error {
			return cs.CreateMany(ctx, "acme", []core.ContactFields{{FirstName: "Ok", OwnerID: rep.ID}, {FirstName: "No", OwnerID: never}})[1].Err
		}, "owner_id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.write()
			var ce *core.Error
			if !errors.As(err, &ce) || ce.Code != core.CodeInvalid {
				t.Fatalf("want an invalid-request error, got %v", err)
			}
			if !slices.ContainsFunc(ce.Fields, func(f core.FieldError) bool { return f.Path == tc.path }) {
				t.Errorf("error names %+v, want the path %q", ce.Fields, tc.path)
			}
		})
	}

	// What is allowed: an upsert's e-mail says who; an owner that is on the
	// team; clearing the owner.
	if _, _, err := cs.UpsertByEmail(ctx, "acme", "only@example.com", 0, core.ContactFields{OwnerID: rep.ID}); err != nil {
		t.Errorf("upsert with only the e-mail of its path: %v", err)
	}
	if _, err := cs.Update(ctx, "acme", ann.ID, 0, set(func(f *core.ContactFields) { f.OwnerID = "" })); err != nil {
		t.Errorf("clear the owner: %v", err)
	}
	got, err := cs.Get(ctx, "acme", ann.ID)
	if err != nil || got.OwnerID != "" || got.FirstName != "Ann" {
		t.Errorf("after the refused writes and the clear: %+v, %v", got, err)
	}
}
