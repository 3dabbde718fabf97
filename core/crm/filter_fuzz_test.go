package crm_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/crm"
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
		in     crm.ContactFilter
		want   crm.ContactFilter
		faults []string // nil: valid
	}{
		{name: "empty filter sorts newest first", in: crm.ContactFilter{}, want: crm.ContactFilter{Sort: "-created"}},
		{name: "values normalised",
			in:   crm.ContactFilter{Email: " Ann@Example.COM ", Tag: " VIP ", OwnerID: " u1 ", CompanyID: companyID, Stage: core.StageCustomer, Sort: "updated"},
			want: crm.ContactFilter{Email: "ann@example.com", Tag: "vip", OwnerID: "u1", CompanyID: companyID, Stage: core.StageCustomer, Sort: "updated"}},
		{name: "every parameter at fault",
			in:     crm.ContactFilter{Email: "ann", Tag: "#x", OwnerID: "a\nb", CompanyID: "acme", Stage: "prospect", Sort: "name"},
			faults: []string{"company_id", "email", "lifecycle_stage", "owner_id", "sort", "tag"}},
		{name: "owner id of 129 bytes", in: crm.ContactFilter{OwnerID: strings.Repeat("o", 129)}, faults: []string{"owner_id"}},
		{name: "sort is case-sensitive", in: crm.ContactFilter{Sort: "-Created"}, faults: []string{"sort"}},
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
		in     crm.CompanyFilter
		want   crm.CompanyFilter
		faults []string
	}{
		{name: "defaults", want: crm.CompanyFilter{Sort: "-created"}},
		{name: "domain reduced to the host", in: crm.CompanyFilter{Domain: "https://www.Acme.io/x", Sort: "created"}, want: crm.CompanyFilter{Domain: "acme.io", Sort: "created"}},
		{name: "bad domain and sort", in: crm.CompanyFilter{Domain: "acme", Sort: "size"}, faults: []string{"domain", "sort"}},
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
	f.Add("ann", "#x", "a\nb", "acme", "prospect", "name")
	f.Add("\xff@example.com", "\xff", "\xff", strings.ToLower(id), "Lead", "-Created")
	f.Add("a@[127.0.0.1]", "İ", "\t owner \t", id, "lead", "-updated")
	f.Add("x@y.z", strings.Repeat("é", 64), strings.Repeat("ü", 64), "7ZZZZZZZZZZZZZZZZZZZZZZZZZ", "other", "created")
	f.Fuzz(func(t *testing.T, email, tag, owner, company, stage, sort string) {
		in := crm.ContactFilter{Email: email, Tag: tag, OwnerID: owner, CompanyID: company, Stage: core.Stage(stage), Sort: sort}
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
		if !slices.Contains(crm.Sorts, got.Sort) {
			t.Errorf("Normalize(%+v): sort %q accepted but not one of %v", in, got.Sort, crm.Sorts)
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

// checkBadCursor checks that err refuses a cursor, naming the cursor parameter.
func checkBadCursor(t *testing.T, err error, what string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: want the cursor refused, got no error", what)
	}
	if diff := cmp.Diff([]string{"cursor"}, problemPaths(t, err)); diff != "" {
		t.Errorf("%s: paths at fault (-want +got):\n%s", what, diff)
	}
}

func TestListCursorIsBoundToTenantAndFilter(t *testing.T) {
	enc := crm.EncodeListCursor("store-cursor", "acme", "contact|vip")
	if got, err := crm.DecodeListCursor(enc, "acme", "contact|vip"); err != nil || got != "store-cursor" {
		t.Fatalf("DecodeListCursor of its own tenant and filter = %q, %v; want %q, nil", got, err, "store-cursor")
	}
	tests := []struct{ name, cursor, tenant, filter string }{
		{"another tenant", enc, "globex", "contact|vip"},
		{"another filter", enc, "acme", "contact|lead"},
		{"both", enc, "globex", "contact|lead"},
		{"tenant and filter split elsewhere", crm.EncodeListCursor("store-cursor", "acme", "contact\x00vip"), "acme\x00contact", "vip"},
		{"empty", "", "acme", "contact|vip"},
		{"not base64", "!!!", "acme", "contact|vip"},
		{"padded base64", enc + "==", "acme", "contact|vip"},
		{"base64 of not JSON", "bm90IGpzb24", "acme", "contact|vip"},
		{"no store cursor inside", crm.EncodeListCursor("", "acme", "contact|vip"), "acme", "contact|vip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := crm.DecodeListCursor(tt.cursor, tt.tenant, tt.filter)
			if got != "" {
				t.Errorf("DecodeListCursor(%q, %q, %q) returned store cursor %q; want none", tt.cursor, tt.tenant, tt.filter, got)
			}
			checkBadCursor(t, err, "DecodeListCursor("+tt.cursor+")")
		})
	}
}

func FuzzDecodeListCursor(f *testing.F) {
	good := crm.EncodeListCursor("c1", "acme", "contact|vip")
	f.Add(good, "c1", "acme", "contact|vip", "globex", "contact|vip")
	f.Add(good, "c1", "acme", "contact|vip", "acme", "contact|lead")
	f.Add("", "", "acme", "f", "acme", "f")
	f.Add("e30", "x", "a", "", "", "a")                                // base64 of {}
	f.Add("eyJmIjoiIiwiYyI6IngifQ", "x", "a", "b", "a", "c")           // {"f":"","c":"x"}
	f.Add("!!", "cursor", "acme\x00x", "f", "acme", "x\x00f")          // a separator inside a tenant
	f.Add(good+"=", "c", "acme", "contact||", "acme", "contact|\x00|") // near-identical filters
	f.Fuzz(func(t *testing.T, s, storeCursor, tenantA, filterA, tenantB, filterB string) {
		// Arbitrary strings never panic, and are either refused at "cursor" or
		// yield a store cursor.
		if got, err := crm.DecodeListCursor(s, tenantA, filterA); err != nil {
			checkBadCursor(t, err, "DecodeListCursor of an arbitrary string")
		} else if got == "" {
			t.Errorf("DecodeListCursor(%q, %q, %q) accepted a cursor holding no store cursor", s, tenantA, filterA)
		} else if tenantA != tenantB || filterA != filterB {
			if _, err := crm.DecodeListCursor(s, tenantB, filterB); err == nil {
				t.Errorf("cursor %q decodes for both (%q, %q) and (%q, %q)", s, tenantA, filterA, tenantB, filterB)
			}
		}

		if storeCursor == "" {
			return // lists never wrap an empty store cursor: the end of a list has no cursor
		}
		enc := crm.EncodeListCursor(storeCursor, tenantA, filterA)
		got, err := crm.DecodeListCursor(enc, tenantA, filterA)
		if err != nil || got == "" {
			t.Fatalf("DecodeListCursor(EncodeListCursor(%q, %q, %q)) = %q, %v; want a store cursor, nil", storeCursor, tenantA, filterA, got, err)
		}
		// Store cursors are base64url (store.EncodeCursor); the JSON inside a
		// list cursor carries only valid UTF-8 unchanged.
		if utf8.ValidString(storeCursor) && got != storeCursor {
			t.Fatalf("DecodeListCursor(EncodeListCursor(%q, %q, %q)) = %q; want %q", storeCursor, tenantA, filterA, got, storeCursor)
		}
		for _, other := range [][2]string{{tenantB, filterA}, {tenantA, filterB}, {tenantB, filterB}} {
			if other[0] == tenantA && other[1] == filterA {
				continue
			}
			got, err := crm.DecodeListCursor(enc, other[0], other[1])
			if got != "" {
				t.Errorf("a cursor made for tenant %q, filter %q decoded for tenant %q, filter %q: %q", tenantA, filterA, other[0], other[1], got)
			}
			checkBadCursor(t, err, "DecodeListCursor for another tenant or filter")
		}
	})
}
