package contacts_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/contacts"
)

// filterPaths are the parameters a ContactFilter problem may name.
var filterPaths = []string{"email", "tag", "owner_id", "company_id", "lifecycle_stage", "sort"}

// problemPaths returns the field paths of err, which must be an
// invalid-request *core.Error.
func problemPaths(t *testing.T, err error) []string {
	t.Helper()
	var e *core.Error
	if !errors.As(err, &e) {
		t.Fatalf("want a *core.Error, got %T: %v", err, err)
	}
	if e.Code != core.CodeInvalid {
		t.Errorf("error code: want %q, got %q (%v)", core.CodeInvalid, e.Code, e)
	}
	paths := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		paths[i] = f.Path
	}
	slices.Sort(paths)
	return paths
}

func TestContactFilterNormalize(t *testing.T) {
	companyID := core.NewID(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	tests := []struct {
		name   string
		in     contacts.ContactFilter
		want   contacts.ContactFilter
		faults []string // nil: valid
	}{
		{name: "empty filter sorts newest first", in: contacts.ContactFilter{}, want: contacts.ContactFilter{Sort: "-created"}},
		{name: "values normalised",
			in:   contacts.ContactFilter{Email: " Ann@Example.COM ", Tag: " VIP ", OwnerID: " u1 ", CompanyID: companyID, Stage: core.StageCustomer, Sort: "updated"},
			want: contacts.ContactFilter{Email: "ann@example.com", Tag: "vip", OwnerID: "u1", CompanyID: companyID, Stage: core.StageCustomer, Sort: "updated"}},
		{name: "every parameter at fault",
			in:     contacts.ContactFilter{Email: "ann", Tag: "#x", OwnerID: "a\nb", CompanyID: "acme", Stage: "prospect", Sort: "size"},
			faults: []string{"company_id", "email", "lifecycle_stage", "owner_id", "sort", "tag"}},
		{name: "owner id of 129 bytes", in: contacts.ContactFilter{OwnerID: strings.Repeat("o", 129)}, faults: []string{"owner_id"}},
		{name: "sort is case-sensitive", in: contacts.ContactFilter{Sort: "-Created"}, faults: []string{"sort"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.in
			err := got.Normalize()
			if tt.faults != nil {
				if err == nil {
					t.Fatalf("Normalize(%+v): want problems at %q, got none", tt.in, tt.faults)
				}
				if diff := cmp.Diff(tt.faults, problemPaths(t, err)); diff != "" {
					t.Errorf("Normalize(%+v): paths at fault (-want +got):\n%s", tt.in, diff)
				}
				return
			}
			if err != nil {
				t.Fatalf("Normalize(%+v): want no error, got %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Normalize(%+v) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestCompanyFilterNormalize(t *testing.T) {
	tests := []struct {
		name   string
		in     contacts.CompanyFilter
		want   contacts.CompanyFilter
		faults []string
	}{
		{name: "defaults", want: contacts.CompanyFilter{Sort: "-created"}},
		{name: "domain reduced to the host", in: contacts.CompanyFilter{Domain: "https://www.Acme.io/x", Sort: "created"}, want: contacts.CompanyFilter{Domain: "acme.io", Sort: "created"}},
		{name: "bad domain and sort", in: contacts.CompanyFilter{Domain: "acme", Sort: "size"}, faults: []string{"domain", "sort"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.in
			err := got.Normalize()
			if tt.faults != nil {
				if err == nil {
					t.Fatalf("Normalize(%+v): want problems at %q, got none", tt.in, tt.faults)
				}
				if diff := cmp.Diff(tt.faults, problemPaths(t, err)); diff != "" {
					t.Errorf("Normalize(%+v): paths at fault (-want +got):\n%s", tt.in, diff)
				}
				return
			}
			if err != nil {
				t.Fatalf("Normalize(%+v): want no error, got %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Normalize(%+v) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func FuzzContactFilter(f *testing.F) {
	id := core.NewID(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	f.Add("", "", "", "", "", "")
	f.Add(" Ann@Example.COM ", " VIP ", " u1 ", id, "customer", "updated")
	f.Add("ann", "#x", "a\nb", "acme", "prospect", "size")
	f.Add("\xff@example.com", "\xff", "\xff", strings.ToLower(id), "Lead", "-Created")
	f.Add("a@[127.0.0.1]", "İ", "\t owner \t", id, "lead", "-updated")
	f.Add("x@y.z", strings.Repeat("é", 64), strings.Repeat("ü", 64), "7ZZZZZZZZZZZZZZZZZZZZZZZZZ", "other", "created")
	f.Fuzz(func(t *testing.T, email, tag, owner, company, stage, sort string) {
		in := contacts.ContactFilter{Email: email, Tag: tag, OwnerID: owner, CompanyID: company, Stage: core.Stage(stage), Sort: sort}
		got := in
		err := got.Normalize()
		if err != nil {
			for _, p := range problemPaths(t, err) {
				if !slices.Contains(filterPaths, p) {
					t.Errorf("Normalize(%+v): problem at %q, which is not a parameter of the filter", in, p)
				}
			}
			return
		}
		// Every accepted value is in its normalised form.
		if got.Email != "" {
			if n, err := core.NormalizeEmail(got.Email); err != nil || n != got.Email {
				t.Errorf("Normalize(%+v): email %q is not normalised: NormalizeEmail gives %q, %v", in, got.Email, n, err)
			}
		}
		if got.Tag != "" {
			if n, ok := core.NormalizeTag(got.Tag); !ok || n != got.Tag {
				t.Errorf("Normalize(%+v): tag %q is not normalised: NormalizeTag gives %q, %v", in, got.Tag, n, ok)
			}
		}
		if trimmed := strings.TrimSpace(got.OwnerID); trimmed != got.OwnerID {
			t.Errorf("Normalize(%+v): owner_id %q is not trimmed (want %q)", in, got.OwnerID, trimmed)
		}
		if got.CompanyID != "" && !core.ValidID(got.CompanyID) {
			t.Errorf("Normalize(%+v): company_id %q accepted but not an id", in, got.CompanyID)
		}
		if got.Stage != "" && !slices.Contains(core.Stages, got.Stage) {
			t.Errorf("Normalize(%+v): lifecycle_stage %q accepted but not a stage", in, got.Stage)
		}
		if !slices.Contains(contacts.Sorts, got.Sort) {
			t.Errorf("Normalize(%+v): sort %q accepted but not one of %v", in, got.Sort, contacts.Sorts)
		}
		// Normalising again is a no-op.
		again := got
		if err := again.Normalize(); err != nil {
			t.Fatalf("Normalize(%+v) = %+v, but normalising that again fails: %v", in, got, err)
		}
		if diff := cmp.Diff(got, again); diff != "" {
			t.Errorf("Normalize(%+v): normalising again changed the filter (-once +twice):\n%s", in, diff)
		}
	})
}
