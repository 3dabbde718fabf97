package core

import (
	"fmt"
	"slices"
	"strings"
)

// Roles of a tenant's users, and their availability.
var (
	UserRoles    = []string{"admin", "manager", "sales_rep", "agent"}
	UserStatuses = []string{"available", "away", "offline"}
)

// MaxSkills bounds a user's skills.
const MaxSkills = 30

// UserFields is the part of a user its writers set.
type UserFields struct {
	Name      string   `json:"name" minLength:"1" maxLength:"200"`
	Email     string   `json:"email" maxLength:"254" doc:"Unique within the tenant; stored trimmed and lower-cased."`
	Role      string   `json:"role,omitempty" enum:"admin,manager,sales_rep,agent" doc:"sales_rep when absent."`
	Skills    []string `json:"skills,omitempty" maxItems:"30" doc:"Such as languages or products; stored trimmed and lower-cased, without duplicates."`
	Territory string   `json:"territory,omitempty" maxLength:"100"`
	Capacity  int      `json:"capacity,omitempty" minimum:"0" maximum:"100000" doc:"Open items the user can hold; 0 means no limit."`
	Status    string   `json:"status,omitempty" enum:"available,away,offline" doc:"available when absent; routing assigns only available users."`
}

// User is a member of a tenant's team: a sales rep or an agent whom leads,
// deals and cases are assigned to.
type User struct {
	Meta
	UserFields
}

// Normalize puts a user's fields in stored form and validates them,
// reporting every field at fault.
func (f *UserFields) Normalize() error {
	var p Problems
	f.Name = strings.TrimSpace(f.Name)
	if f.Name == "" {
		p.Add("name", "is required")
	}
	checkText(&p, "name", f.Name, 200)
	if e, err := NormalizeEmail(f.Email); err != nil {
		p = append(p, FieldError{Path: "email", Message: err.Error(), Value: f.Email})
	} else {
		f.Email = e
	}
	if f.Role == "" {
		f.Role = "sales_rep"
	}
	if !slices.Contains(UserRoles, f.Role) {
		p = append(p, FieldError{Path: "role", Message: "must be one of " + strings.Join(UserRoles, ", "), Value: f.Role})
	}
	if f.Status == "" {
		f.Status = "available"
	}
	if !slices.Contains(UserStatuses, f.Status) {
		p = append(p, FieldError{Path: "status", Message: "must be one of " + strings.Join(UserStatuses, ", "), Value: f.Status})
	}
	skills := f.Skills[:0]
	for i, raw := range f.Skills {
		s, ok := NormalizeTag(raw)
		if !ok {
			p.Add(fmt.Sprintf("skills[%d]", i), "must be 1-64 characters, without # or control characters")
			continue
		}
		if !slices.Contains(skills, s) {
			skills = append(skills, s)
		}
	}
	if len(skills) > MaxSkills {
		p.Add("skills", "at most %d different skills", MaxSkills)
	}
	f.Skills = skills
	if len(f.Skills) == 0 {
		f.Skills = nil
	}
	f.Territory = strings.TrimSpace(f.Territory)
	checkText(&p, "territory", f.Territory, 100)
	if f.Capacity < 0 || f.Capacity > 100000 {
		p = append(p, FieldError{Path: "capacity", Message: "must be between 0 and 100000", Value: f.Capacity})
	}
	return p.Err()
}

// Available reports whether routing may assign to the user.
func (f *UserFields) Available() bool { return f.Status == "available" }
