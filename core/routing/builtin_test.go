package routing_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core/routing"
)

// free is an available member with no load and no capacity limit.
func free(id string) routing.Candidate { return routing.Candidate{ID: id, Available: true} }

func with(c routing.Candidate, f func(*routing.Candidate)) routing.Candidate {
	f(&c)
	return c
}

func loaded(id string, load, capacity int) routing.Candidate {
	return routing.Candidate{ID: id, Load: load, Capacity: capacity, Available: true}
}

func in(territory string, c routing.Candidate) routing.Candidate {
	c.Territory = territory
	return c
}

var away = func(c *routing.Candidate) { c.Available = false }

func lead(country string) routing.Item {
	it := routing.Item{Type: "lead", ID: "L1", Fields: map[string]any{"stage": "lead"}}
	if country != "" {
		it.Fields["country"] = country
	}
	return it
}

var nobody = routing.Decision{Queue: "unassigned", Reason: "no available team member with room"}

func TestBuiltin(t *testing.T) {
	team := []routing.Candidate{free("c"), free("a"), free("d"), free("b")} // out of order on purpose
	cases := []struct {
		name     string
		strategy string
		last     string
		item     routing.Item
		cands    []routing.Candidate
		want     routing.Decision
	}{
		// Round robin: the next id after last, wrapping round.
		{"round robin, first ever", "round_robin", "", lead(""), team, routing.Decision{Assignee: "a", Reason: "round robin"}},
		{"round robin after a", "round_robin", "a", lead(""), team, routing.Decision{Assignee: "b", Reason: "round robin"}},
		{"round robin after c", "round_robin", "c", lead(""), team, routing.Decision{Assignee: "d", Reason: "round robin"}},
		{"round robin wraps after the last id", "round_robin", "d", lead(""), team, routing.Decision{Assignee: "a", Reason: "round robin"}},
		{"round robin after someone who left", "round_robin", "bb", lead(""), team, routing.Decision{Assignee: "c", Reason: "round robin"}},
		{"round robin ignores load", "round_robin", "a", lead(""),
			[]routing.Candidate{loaded("a", 0, 10), loaded("b", 9, 10), loaded("c", 0, 10)}, routing.Decision{Assignee: "b", Reason: "round robin"}},
		{"round robin ignores territory", "round_robin", "a", lead("IT"),
			[]routing.Candidate{free("a"), free("b"), in("IT", free("c"))}, routing.Decision{Assignee: "b", Reason: "round robin"}},
		{"round robin skips the unavailable", "round_robin", "a", lead(""),
			[]routing.Candidate{free("a"), with(free("b"), away), free("c")}, routing.Decision{Assignee: "c", Reason: "round robin"}},
		{"round robin skips the full", "round_robin", "a", lead(""),
			[]routing.Candidate{free("a"), loaded("b", 5, 5), loaded("c", 4, 5)}, routing.Decision{Assignee: "c", Reason: "round robin"}},
		{"round robin: capacity 0 is no limit", "round_robin", "a", lead(""),
			[]routing.Candidate{free("a"), loaded("b", 500, 0)}, routing.Decision{Assignee: "b", Reason: "round robin"}},
		{"round robin: only last is left", "round_robin", "a", lead(""),
			[]routing.Candidate{free("a"), with(free("b"), away)}, routing.Decision{Assignee: "a", Reason: "round robin"}},

		// Least loaded: the lowest load against capacity, equals in turn.
		{"least loaded", "least_loaded", "", lead(""),
			[]routing.Candidate{loaded("a", 2, 0), loaded("b", 1, 0), loaded("c", 3, 0)}, routing.Decision{Assignee: "b", Reason: "least loaded"}},
		{"least loaded against capacity", "least_loaded", "", lead(""),
			[]routing.Candidate{loaded("a", 2, 10), loaded("b", 1, 2)}, routing.Decision{Assignee: "a", Reason: "least loaded"}}, // 0.2 < 0.5
		// No limit weighs a load against an unbounded capacity: 50/∞ beats
		// 1/100, and load alone orders the unlimited among themselves.
		{"least loaded: no limit beats any ratio", "least_loaded", "", lead(""),
			[]routing.Candidate{loaded("a", 1, 100), loaded("b", 50, 0), loaded("c", 40, 0)}, routing.Decision{Assignee: "c", Reason: "least loaded"}},
		{"least loaded: a tie goes in turn after last", "least_loaded", "b", lead(""),
			[]routing.Candidate{loaded("a", 1, 0), loaded("b", 1, 0), loaded("c", 1, 0), loaded("d", 2, 0)}, routing.Decision{Assignee: "c", Reason: "least loaded"}},
		{"least loaded: a tie wraps round", "least_loaded", "c", lead(""),
			[]routing.Candidate{loaded("a", 1, 0), loaded("b", 1, 0), loaded("c", 1, 0)}, routing.Decision{Assignee: "a", Reason: "least loaded"}},
		{"least loaded: a tie with no last goes to the first id", "least_loaded", "", lead(""),
			[]routing.Candidate{loaded("b", 0, 4), loaded("a", 0, 9)}, routing.Decision{Assignee: "a", Reason: "least loaded"}},
		{"least loaded skips the unavailable", "least_loaded", "", lead(""),
			[]routing.Candidate{with(loaded("a", 0, 0), away), loaded("b", 3, 0)}, routing.Decision{Assignee: "b", Reason: "least loaded"}},
		{"least loaded skips the full", "least_loaded", "", lead(""),
			[]routing.Candidate{loaded("a", 5, 5), loaded("b", 8, 10)}, routing.Decision{Assignee: "b", Reason: "least loaded"}},
		{"least loaded ignores territory", "least_loaded", "", lead("IT"),
			[]routing.Candidate{in("IT", loaded("a", 3, 0)), loaded("b", 0, 0)}, routing.Decision{Assignee: "b", Reason: "least loaded"}},

		// Territory: least loaded among the lead's country, all when none is.
		{"territory first", "territory", "", lead("IT"),
			[]routing.Candidate{in("IT", loaded("a", 3, 0)), loaded("b", 0, 0)}, routing.Decision{Assignee: "a", Reason: "territory IT, least loaded"}},
		{"territory ignores case", "territory", "", lead("IT"),
			[]routing.Candidate{loaded("a", 0, 0), in("it", loaded("b", 3, 0))}, routing.Decision{Assignee: "b", Reason: "territory IT, least loaded"}},
		{"territory: least loaded among the local", "territory", "", lead("IT"),
			[]routing.Candidate{in("IT", loaded("a", 2, 0)), loaded("b", 0, 0), in("IT", loaded("c", 1, 0))}, routing.Decision{Assignee: "c", Reason: "territory IT, least loaded"}},
		{"territory: local equals in turn", "territory", "a", lead("IT"),
			[]routing.Candidate{in("IT", free("a")), free("b"), in("IT", free("c"))}, routing.Decision{Assignee: "c", Reason: "territory IT, least loaded"}},
		{"territory: nobody local, all", "territory", "", lead("FR"),
			[]routing.Candidate{in("IT", loaded("a", 1, 0)), loaded("b", 2, 0)}, routing.Decision{Assignee: "a", Reason: "least loaded"}},
		{"territory: the local member is away, all", "territory", "", lead("IT"),
			[]routing.Candidate{with(in("IT", free("a")), away), loaded("b", 2, 0)}, routing.Decision{Assignee: "b", Reason: "least loaded"}},
		{"territory: the local member is full, all", "territory", "", lead("IT"),
			[]routing.Candidate{in("IT", loaded("a", 3, 3)), loaded("b", 2, 0)}, routing.Decision{Assignee: "b", Reason: "least loaded"}},
		{"territory: a lead without a country, all", "territory", "", lead(""),
			[]routing.Candidate{in("IT", loaded("a", 1, 0)), loaded("b", 0, 0)}, routing.Decision{Assignee: "b", Reason: "least loaded"}},

		// Nobody eligible.
		{"no team", "round_robin", "", lead(""), nil, nobody},
		{"no team, least loaded", "least_loaded", "", lead(""), nil, nobody},
		{"no team, territory", "territory", "", lead("IT"), nil, nobody},
		{"everyone away or full", "least_loaded", "", lead(""),
			[]routing.Candidate{with(free("a"), away), loaded("b", 2, 2), loaded("c", 3, 2)}, nobody},
		{"everyone away or full, round robin", "round_robin", "a", lead(""),
			[]routing.Candidate{with(free("a"), away), loaded("b", 2, 2)}, nobody},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := routing.Builtin(routing.Record{Item: tc.item, Candidates: tc.cands}, tc.last, tc.strategy)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Builtin (-want +got):\n%s", diff)
			}
		})
	}
}

// Builtin sorts its own pool: the caller's candidates keep their order.
func TestBuiltinLeavesCandidatesAlone(t *testing.T) {
	cands := []routing.Candidate{loaded("c", 2, 0), loaded("a", 1, 0), in("IT", loaded("b", 0, 0))}
	want := append([]routing.Candidate(nil), cands...)
	for _, strategy := range []string{"round_robin", "least_loaded", "territory"} {
		routing.Builtin(routing.Record{Item: lead("IT"), Candidates: cands}, "", strategy)
		if diff := cmp.Diff(want, cands); diff != "" {
			t.Errorf("%s reordered the candidates (-want +got):\n%s", strategy, diff)
		}
	}
}
