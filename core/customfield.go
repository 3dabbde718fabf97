package core

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"time"
)

// Entity names what a custom field belongs to.
type Entity string

const (
	EntityContact Entity = "contact"
	EntityCompany Entity = "company"
)

// Entities lists what custom fields can belong to.
var Entities = []Entity{EntityContact, EntityCompany}

// FieldType is the type of a custom field's values.
type FieldType string

const (
	FieldText    FieldType = "text"    // a string of up to 1000 characters
	FieldNumber  FieldType = "number"  // a JSON number
	FieldBoolean FieldType = "boolean" // true or false
	FieldDate    FieldType = "date"    // YYYY-MM-DD
	FieldEnum    FieldType = "enum"    // one of Options
)

// FieldTypes lists every type of custom field.
var FieldTypes = []FieldType{FieldText, FieldNumber, FieldBoolean, FieldDate, FieldEnum}

// FieldDef is a custom field a tenant defines for contacts or companies.
type FieldDef struct {
	Entity  Entity    `json:"entity"`
	Key     string    `json:"key"`
	Label   string    `json:"label"`
	Type    FieldType `json:"type"`
	Options []string  `json:"options,omitempty"`
}

var fieldKeyPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// MaxFieldDefs bounds the custom fields of one entity so that a record's
// custom part stays far below the 400 KB item limit.
const MaxFieldDefs = 100

// Validate checks a definition, reporting every field at fault.
func (d FieldDef) Validate() error {
	var p Problems
	if d.Entity != EntityContact && d.Entity != EntityCompany {
		p.Add("entity", "must be contact or company")
	}
	if !fieldKeyPattern.MatchString(d.Key) {
		p.Add("key", "must be 1-64 lower-case letters, digits or _, starting with a letter")
	}
	if l := len([]rune(d.Label)); l == 0 || l > 200 {
		p.Add("label", "must be 1-200 characters")
	}
	switch d.Type {
	case FieldText, FieldNumber, FieldBoolean, FieldDate:
		if len(d.Options) > 0 {
			p.Add("options", "only enum fields have options")
		}
	case FieldEnum:
		if len(d.Options) == 0 || len(d.Options) > 200 {
			p.Add("options", "an enum needs 1-200 options")
		}
		for i, o := range d.Options {
			if o == "" || len(o) > 200 || slices.Index(d.Options, o) != i {
				p.Add(fmt.Sprintf("options[%d]", i), "must be a unique non-empty string of up to 200 bytes")
			}
		}
	default:
		p.Add("type", "must be one of text, number, boolean, date, enum")
	}
	return p.Err()
}

// checkCustom validates values against the tenant's definitions for one
// entity; a key without a definition is an error, so typos never become data.
func checkCustom(p *Problems, values map[string]any, defs []FieldDef) {
	byKey := make(map[string]FieldDef, len(defs))
	for _, d := range defs {
		byKey[d.Key] = d
	}
	for _, k := range sortedKeys(values) {
		path := "custom." + k
		d, ok := byKey[k]
		if !ok {
			p.Add(path, "no custom field %q is defined", k)
			continue
		}
		v := values[k]
		if v == nil {
			continue // null clears the field; merge patches produce it
		}
		switch d.Type {
		case FieldText:
			s, ok := v.(string)
			if !ok || len([]rune(s)) > 1000 {
				p.Add(path, "must be a string of up to 1000 characters")
			}
		case FieldNumber:
			f, ok := v.(float64)
			if !ok || math.IsInf(f, 0) || math.IsNaN(f) {
				p.Add(path, "must be a number")
			}
		case FieldBoolean:
			if _, ok := v.(bool); !ok {
				p.Add(path, "must be true or false")
			}
		case FieldDate:
			s, ok := v.(string)
			if _, err := time.Parse(time.DateOnly, s); !ok || err != nil {
				p.Add(path, "must be a date YYYY-MM-DD")
			}
		case FieldEnum:
			s, ok := v.(string)
			if !ok || !slices.Contains(d.Options, s) {
				p.Add(path, "must be one of %v", d.Options)
			}
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// dropNulls removes keys whose value is null: after a merge patch they mean
// "remove the field".
func dropNulls(m map[string]any) map[string]any {
	for k, v := range m {
		if v == nil {
			delete(m, k)
		}
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

// DropStaleCustom drops values of keys that no longer have a definition but
// were stored before (their field was deleted since), so that a change to an
// unrelated field of an old record does not fail on them; a value that the
// writer sets or changes for an undefined key is kept, and refused later.
func DropStaleCustom(next, cur map[string]any, defs []FieldDef) map[string]any {
	for k, v := range next {
		defined := slices.ContainsFunc(defs, func(d FieldDef) bool { return d.Key == k })
		if old, ok := cur[k]; ok && !defined && fmt.Sprint(old) == fmt.Sprint(v) {
			delete(next, k)
		}
	}
	return next
}
