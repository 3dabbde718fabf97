package core

import (
	"slices"
	"strings"
)

// CompanySizes are employee-count bands, the granularity CRMs segment by.
var CompanySizes = []string{"1-10", "11-50", "51-200", "201-500", "501-1000", "1001-5000", "5001-10000", "10001+"}

// CompanyFields is the part of a company its writers set.
type CompanyFields struct {
	Name     string         `json:"name" minLength:"1" maxLength:"200"`
	Domain   string         `json:"domain,omitempty" doc:"Web domain, unique within the tenant; stored as the bare lower-case host." maxLength:"253"`
	Industry string         `json:"industry,omitempty" maxLength:"100"`
	Size     string         `json:"size,omitempty" enum:"1-10,11-50,51-200,201-500,501-1000,1001-5000,5001-10000,10001+" doc:"Employees"`
	Address  *Address       `json:"address,omitempty"`
	Custom   map[string]any `json:"custom,omitempty" doc:"Values of the tenant's custom fields, by key."`
}

// Company is an organisation contacts belong to.
type Company struct {
	Meta
	CompanyFields
}

// Normalize puts a company's fields in stored form and validates them,
// reporting every field at fault.
func (f *CompanyFields) Normalize(r Rules) error {
	var p Problems
	f.Name = strings.TrimSpace(f.Name)
	if f.Name == "" {
		p.Add("name", "is required")
	}
	checkText(&p, "name", f.Name, 200)
	if f.Domain != "" {
		d, ok := NormalizeDomain(f.Domain)
		if !ok {
			p = append(p, FieldError{Path: "domain", Message: "must be a domain such as example.com", Value: f.Domain})
		}
		f.Domain = d
	}
	f.Industry = strings.TrimSpace(f.Industry)
	checkText(&p, "industry", f.Industry, 100)
	if f.Size != "" && !slices.Contains(CompanySizes, f.Size) {
		p.Add("size", "must be one of %v", CompanySizes)
	}
	if f.Address != nil {
		checkAddress(&p, "address", f.Address)
	}
	f.Custom = dropNulls(f.Custom)
	checkCustom(&p, f.Custom, r.Fields)
	return p.Err()
}
