package record_test

import (
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/google/go-cmp/cmp"
)

func TestListCursorIsBoundToTenantAndFilter(t *testing.T) {
	enc := record.EncodeListCursor("store-cursor", "acme", "contact|vip")
	if got, err := record.DecodeListCursor(enc, "acme", "contact|vip"); err != nil || got != "store-cursor" {
		t.Fatalf("DecodeListCursor of its own tenant and filter = %q, %v; want %q, nil", got, err, "store-cursor")
	}
	tests := []struct{ name, cursor, tenant, filter string }{
		{"another tenant", enc, "globex", "contact|vip"},
		{"another filter", enc, "acme", "contact|lead"},
		{"both", enc, "globex", "contact|lead"},
		{"tenant and filter split elsewhere", record.EncodeListCursor("store-cursor", "acme", "contact\x00vip"), "acme\x00contact", "vip"},
		{"empty", "", "acme", "contact|vip"},
		{"not base64", "!!!", "acme", "contact|vip"},
		{"padded base64", enc + "==", "acme", "contact|vip"},
		{"base64 of not JSON", "bm90IGpzb24", "acme", "contact|vip"},
		{"no store cursor inside", record.EncodeListCursor("", "acme", "contact|vip"), "acme", "contact|vip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := record.DecodeListCursor(tt.cursor, tt.tenant, tt.filter)
			if got != "" {
				t.Errorf("DecodeListCursor(%q, %q, %q) returned store cursor %q; want none", tt.cursor, tt.tenant, tt.filter, got)
			}
			checkBadCursor(t, err, "DecodeListCursor("+tt.cursor+")")
		})
	}
}

func FuzzDecodeListCursor(f *testing.F) {
	good := record.EncodeListCursor("c1", "acme", "contact|vip")
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
		if got, err := record.DecodeListCursor(s, tenantA, filterA); err != nil {
			checkBadCursor(t, err, "DecodeListCursor of an arbitrary string")
		} else if got == "" {
			t.Errorf("DecodeListCursor(%q, %q, %q) accepted a cursor holding no store cursor", s, tenantA, filterA)
		} else if tenantA != tenantB || filterA != filterB {
			if _, err := record.DecodeListCursor(s, tenantB, filterB); err == nil {
				t.Errorf("cursor %q decodes for both (%q, %q) and (%q, %q)", s, tenantA, filterA, tenantB, filterB)
			}
		}

		if storeCursor == "" {
			return // lists never wrap an empty store cursor: the end of a list has no cursor
		}
		enc := record.EncodeListCursor(storeCursor, tenantA, filterA)
		got, err := record.DecodeListCursor(enc, tenantA, filterA)
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
			got, err := record.DecodeListCursor(enc, other[0], other[1])
			if got != "" {
				t.Errorf("a cursor made for tenant %q, filter %q decoded for tenant %q, filter %q: %q", tenantA, filterA, other[0], other[1], got)
			}
			checkBadCursor(t, err, "DecodeListCursor for another tenant or filter")
		}
	})
}

// checkBadCursor checks that err refuses a cursor, naming the cursor parameter.
func checkBadCursor(t *testing.T, err error, what string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: want the cursor refused, got no error", what)
	}
	if diff := cmp.Diff([]string{"cursor"}, faultPaths(t, err)); diff != "" {
		t.Errorf("%s: paths at fault (-want +got):\n%s", what, diff)
	}
}

func faultPaths(t *testing.T, err error) []string {
	t.Helper()
	var e *core.Error
	if !errors.As(err, &e) || e.Code != core.CodeInvalid {
		t.Fatalf("want an invalid-request *core.Error, got %T: %v", err, err)
	}
	paths := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		paths[i] = f.Path
	}
	return paths
}
