// Package team is the area of a tenant's users: the people leads, deals and
// cases are assigned to, with their roles, skills, territories and capacity.
//
// It must never import an engine or an adapter.
package team
