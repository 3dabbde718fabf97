// Package roundrobin is the logic of the example route plugin: fair routing
// by skill and load. Among the available candidates with room (load under
// capacity) it prefers those with the skill the item asks for (its
// "skill" field) and in its territory (its "territory" field), then the
// least loaded relative to capacity, ties broken by id so the choice is
// deterministic; with no one left, the item goes to a queue. It must never
// read a clock or do I/O.
package roundrobin

import (
	"slices"
	"time"

	"github.com/fedele-crm/fedele/plugins/pdk"
)

// Queue is where an item goes when no candidate can take it.
const Queue = "unassigned"

// Decide routes one item.
func Decide(r *pdk.RouteRecord, _ time.Time) pdk.RouteResult {
	skill, _ := r.Item.Fields["skill"].(string)
	territory, _ := r.Item.Fields["territory"].(string)
	var best *pdk.Candidate
	bestRank := 0
	for i := range r.Candidates {
		c := &r.Candidates[i]
		if !c.Available || (c.Capacity > 0 && c.Load >= c.Capacity) {
			continue
		}
		rank := 0
		if skill != "" && slices.Contains(c.Skills, skill) {
			rank += 2
		}
		if territory != "" && c.Territory == territory {
			rank++
		}
		if best == nil || rank > bestRank || rank == bestRank && lighter(c, best) {
			best, bestRank = c, rank
		}
	}
	if best == nil {
		return pdk.RouteResult{Queue: Queue, Reason: "no available candidate with room"}
	}
	reason := "least loaded"
	switch {
	case bestRank >= 3:
		reason = "has the skill, in the territory, least loaded"
	case bestRank == 2:
		reason = "has the skill, least loaded"
	case bestRank == 1:
		reason = "in the territory, least loaded"
	}
	return pdk.RouteResult{Assignee: best.ID, Reason: reason}
}

// lighter compares load relative to capacity without division: a/b < c/d.
func lighter(a, b *pdk.Candidate) bool {
	ac, bc := max(a.Capacity, 1), max(b.Capacity, 1)
	if l, r := a.Load*bc, b.Load*ac; l != r {
		return l < r
	}
	return a.ID < b.ID
}
