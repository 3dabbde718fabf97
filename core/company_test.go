package core_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core"
)

func companyRules() core.Rules {
	return core.Rules{DefaultRegion: "GB", Fields: customDefs(core.EntityCompany), Now: now}
}

func TestCompanyNormalizeReportsEveryFault(t *testing.T) {
	f := core.CompanyFields{
		Name:     "   ",
		Domain:   "not a domain",
		Industry: strings.Repeat("i", 101),
		Size:     "12",
		Address:  &core.Address{Line1: "a\x00", Country: "England"},
		Custom:   map[string]any{"score": "high", "founded": "1999-01-01", "vip": nil},
	}
	checkFaults(t, f.Normalize(companyRules()), []string{
		"name", "domain", "industry", "size", "address.line1", "address.country", "custom.score", "custom.founded",
	})
}

func TestCompanyNormalizeStoredForm(t *testing.T) {
	f := core.CompanyFields{
		Name:     "  Acme Ltd ",
		Domain:   "https://www.Acme.co.uk/about-us",
		Industry: " Manufacturing ",
		Size:     "51-200",
		Address:  &core.Address{City: " London ", Country: "gb"},
		Custom:   map[string]any{"nickname": "ACME", "score": 10.0, "vip": true, "renewal": "2026-01-31", "tier": "silver", "old": nil},
	}
	if err := f.Normalize(companyRules()); err != nil {
		t.Fatalf("Normalize: want no error, got %v", err)
	}
	want := core.CompanyFields{
		Name:     "Acme Ltd",
		Domain:   "acme.co.uk",
		Industry: "Manufacturing",
		Size:     "51-200",
		Address:  &core.Address{City: "London", Country: "GB"},
		Custom:   map[string]any{"nickname": "ACME", "score": 10.0, "vip": true, "renewal": "2026-01-31", "tier": "silver"},
	}
	if diff := cmp.Diff(want, f); diff != "" {
		t.Errorf("normalised company (-want +got):\n%s", diff)
	}
}

func TestCompanyNormalize(t *testing.T) {
	tests := []struct {
		name   string
		in     core.CompanyFields
		faults []string // nil: valid
	}{
		{"name only", core.CompanyFields{Name: "Acme"}, nil},
		{"no name", core.CompanyFields{}, []string{"name"}},
		{"blank name", core.CompanyFields{Name: " \t "}, []string{"name"}},
		{"name of 200 characters", core.CompanyFields{Name: strings.Repeat("ü", 200)}, nil},
		{"name of 201 characters", core.CompanyFields{Name: strings.Repeat("ü", 201)}, []string{"name"}},
		{"name with a control character", core.CompanyFields{Name: "Ac\x07me"}, []string{"name"}},
		{"name not UTF-8", core.CompanyFields{Name: "Ac\xc3me"}, []string{"name"}},
		{"domain with scheme and path", core.CompanyFields{Name: "Acme", Domain: "http://acme.io/x"}, nil},
		{"domain with underscore", core.CompanyFields{Name: "Acme", Domain: "ac_me.io"}, []string{"domain"}},
		{"domain label starting with a dash", core.CompanyFields{Name: "Acme", Domain: "-acme.io"}, []string{"domain"}},
		{"domain without a dot", core.CompanyFields{Name: "Acme", Domain: "acme"}, []string{"domain"}},
		{"domain with an empty label", core.CompanyFields{Name: "Acme", Domain: "acme..io"}, []string{"domain"}},
		{"domain label of 64 characters", core.CompanyFields{Name: "Acme", Domain: strings.Repeat("a", 64) + ".io"}, []string{"domain"}},
		{"every size band", core.CompanyFields{Name: "Acme", Size: "10001+"}, nil},
		{"unknown size band", core.CompanyFields{Name: "Acme", Size: "10000+"}, []string{"size"}},
		{"industry of 101 characters", core.CompanyFields{Name: "Acme", Industry: strings.Repeat("x", 101)}, []string{"industry"}},
		{"bad country code", core.CompanyFields{Name: "Acme", Address: &core.Address{Country: "ZZ"}}, []string{"address.country"}},
		{"every custom type invalid", core.CompanyFields{Name: "Acme", Custom: map[string]any{
			"nickname": []any{}, "score": "1", "vip": nil, "renewal": "31/01/2026", "tier": "platinum"}},
			[]string{"custom.nickname", "custom.score", "custom.renewal", "custom.tier"}},
		{"undefined custom key", core.CompanyFields{Name: "Acme", Custom: map[string]any{"employees": 12.0}}, []string{"custom.employees"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.in
			checkFaults(t, f.Normalize(companyRules()), tt.faults)
		})
	}
}

func TestTenantRulesSelectsTheEntitysFields(t *testing.T) {
	contact := core.FieldDef{Entity: core.EntityContact, Key: "shoe", Label: "Shoe", Type: core.FieldNumber}
	company := core.FieldDef{Entity: core.EntityCompany, Key: "employees", Label: "Employees", Type: core.FieldNumber}
	tenant := core.Tenant{ID: "acme", DefaultRegion: "IT", CustomFields: []core.FieldDef{contact, company}}
	for _, tt := range []struct {
		entity core.Entity
		want   core.Rules
	}{
		{core.EntityContact, core.Rules{DefaultRegion: "IT", Fields: []core.FieldDef{contact}, Now: now}},
		{core.EntityCompany, core.Rules{DefaultRegion: "IT", Fields: []core.FieldDef{company}, Now: now}},
	} {
		if diff := cmp.Diff(tt.want, tenant.Rules(tt.entity, now)); diff != "" {
			t.Errorf("Rules(%q) (-want +got):\n%s", tt.entity, diff)
		}
	}
}

func TestFieldDefValidate(t *testing.T) {
	valid := core.FieldDef{Entity: core.EntityContact, Key: "shoe_size", Label: "Shoe size", Type: core.FieldNumber}
	with := func(change func(d *core.FieldDef)) core.FieldDef {
		d := valid
		change(&d)
		return d
	}
	tests := []struct {
		name   string
		def    core.FieldDef
		faults []string // nil: valid
	}{
		{"number", valid, nil},
		{"text for companies", with(func(d *core.FieldDef) { d.Entity, d.Type = core.EntityCompany, core.FieldText }), nil},
		{"boolean", with(func(d *core.FieldDef) { d.Type = core.FieldBoolean }), nil},
		{"date", with(func(d *core.FieldDef) { d.Type = core.FieldDate }), nil},
		{"enum", with(func(d *core.FieldDef) { d.Type, d.Options = core.FieldEnum, []string{"s", "m", "l"} }), nil},
		{"key of one letter", with(func(d *core.FieldDef) { d.Key = "x" }), nil},
		{"key of 64 characters", with(func(d *core.FieldDef) { d.Key = "k" + strings.Repeat("_", 63) }), nil},
		{"label of 200 characters", with(func(d *core.FieldDef) { d.Label = strings.Repeat("é", 200) }), nil},

		{"unknown entity", with(func(d *core.FieldDef) { d.Entity = "deal" }), []string{"entity"}},
		{"no entity", with(func(d *core.FieldDef) { d.Entity = "" }), []string{"entity"}},
		{"empty key", with(func(d *core.FieldDef) { d.Key = "" }), []string{"key"}},
		{"key with upper case", with(func(d *core.FieldDef) { d.Key = "shoeSize" }), []string{"key"}},
		{"key starting with a digit", with(func(d *core.FieldDef) { d.Key = "1st" }), []string{"key"}},
		{"key starting with _", with(func(d *core.FieldDef) { d.Key = "_x" }), []string{"key"}},
		{"key with a dash", with(func(d *core.FieldDef) { d.Key = "shoe-size" }), []string{"key"}},
		{"key with a dot", with(func(d *core.FieldDef) { d.Key = "shoe.size" }), []string{"key"}},
		{"key of 65 characters", with(func(d *core.FieldDef) { d.Key = "k" + strings.Repeat("_", 64) }), []string{"key"}},
		{"key with a trailing newline", with(func(d *core.FieldDef) { d.Key = "shoe\n" }), []string{"key"}},
		{"empty label", with(func(d *core.FieldDef) { d.Label = "" }), []string{"label"}},
		{"label of 201 characters", with(func(d *core.FieldDef) { d.Label = strings.Repeat("é", 201) }), []string{"label"}},
		{"unknown type", with(func(d *core.FieldDef) { d.Type = "json" }), []string{"type"}},
		{"no type", with(func(d *core.FieldDef) { d.Type = "" }), []string{"type"}},
		{"options on a number", with(func(d *core.FieldDef) { d.Options = []string{"a"} }), []string{"options"}},
		{"enum without options", with(func(d *core.FieldDef) { d.Type = core.FieldEnum }), []string{"options"}},
		{"enum with 201 options", with(func(d *core.FieldDef) {
			d.Type = core.FieldEnum
			for i := range 201 {
				d.Options = append(d.Options, strings.Repeat("o", i+1))
			}
		}), []string{"options", "options[200]"}},
		{"enum with an empty and a repeated option", with(func(d *core.FieldDef) {
			d.Type, d.Options = core.FieldEnum, []string{"", "a", "b", "a"}
		}), []string{"options[0]", "options[3]"}},
		{"enum option of 201 bytes", with(func(d *core.FieldDef) {
			d.Type, d.Options = core.FieldEnum, []string{"ok", strings.Repeat("o", 201)}
		}), []string{"options[1]"}},
		{"everything wrong", core.FieldDef{Entity: "x", Key: "X", Type: "list", Options: []string{"a"}}, []string{"entity", "key", "label", "type"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkFaults(t, tt.def.Validate(), tt.faults)
		})
	}
}

func TestDropStaleCustom(t *testing.T) {
	defs := []core.FieldDef{{Entity: core.EntityContact, Key: "score", Label: "Score", Type: core.FieldNumber}}
	tests := []struct {
		name      string
		next, cur map[string]any
		want      map[string]any
	}{
		{"stale value unchanged is dropped", map[string]any{"score": 1.0, "old": "x"}, map[string]any{"old": "x"}, map[string]any{"score": 1.0}},
		{"stale value changed is kept, to be refused", map[string]any{"old": "y"}, map[string]any{"old": "x"}, map[string]any{"old": "y"}},
		{"new undefined key is kept, to be refused", map[string]any{"typo": 1.0}, nil, map[string]any{"typo": 1.0}},
		{"defined key is kept", map[string]any{"score": 2.0}, map[string]any{"score": 2.0}, map[string]any{"score": 2.0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := core.DropStaleCustom(tt.next, tt.cur, defs)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("DropStaleCustom (-want +got):\n%s", diff)
			}
		})
	}
}
