package customers

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/fedele-crm/fedele/core"
)

// The standard segments, named as the RFM literature names them.
const (
	SegmentChampions         = "Champions"
	SegmentLoyal             = "Loyal"
	SegmentPotentialLoyalist = "Potential loyalist"
	SegmentNew               = "New"
	SegmentPromising         = "Promising"
	SegmentNeedAttention     = "Need attention"
	SegmentAboutToSleep      = "About to sleep"
	SegmentAtRisk            = "At risk"
	SegmentCantLose          = "Can't lose them"
	SegmentHibernating       = "Hibernating"
	SegmentLost              = "Lost"
)

// ScoreRange is an inclusive range of scores.
type ScoreRange struct {
	Min int `json:"min" minimum:"1" maximum:"5"`
	Max int `json:"max" minimum:"1" maximum:"5"`
}

func (r ScoreRange) has(v int) bool { return r.Min <= v && v <= r.Max }

// SegmentRule names the customers whose R and FM fall in its ranges.
type SegmentRule struct {
	Name string     `json:"name" minLength:"1" maxLength:"64"`
	R    ScoreRange `json:"r"`
	FM   ScoreRange `json:"fm" doc:"The average of F and M, rounded half up: (F + M + 1) / 2."`
}

// MaxSegmentRules bounds a tenant's table.
const MaxSegmentRules = 50

// FM is the average of f and m rounded half up, the second axis of the
// segment grid: frequency and monetary value move together for most
// customers, so one axis of their mean loses little and keeps the map a
// 5×5 grid a person can read.
func FM(f, m int) int { return (f + m + 1) / 2 }

// DefaultSegments is the standard map over the R × FM grid (the one most
// RFM tools ship), as ordered rules: the first rule that matches names the
// segment. Every one of the 25 cells is matched, each by one rule.
//
//	FM 5 | Can't lose  Can't lose  Loyal           Loyal               Champions
//	FM 4 | At risk     At risk     Loyal           Loyal               Champions
//	FM 3 | At risk     At risk     Need attention  Potential loyalist  Potential loyalist
//	FM 2 | Lost        Hibernating About to sleep  Potential loyalist  Potential loyalist
//	FM 1 | Lost        Hibernating About to sleep  Promising           New
//	       R 1         R 2         R 3             R 4                 R 5
func DefaultSegments() []SegmentRule {
	return []SegmentRule{
		{SegmentChampions, ScoreRange{5, 5}, ScoreRange{4, 5}},
		{SegmentLoyal, ScoreRange{3, 4}, ScoreRange{4, 5}},
		{SegmentPotentialLoyalist, ScoreRange{4, 5}, ScoreRange{2, 3}},
		{SegmentNew, ScoreRange{5, 5}, ScoreRange{1, 1}},
		{SegmentPromising, ScoreRange{4, 4}, ScoreRange{1, 1}},
		{SegmentNeedAttention, ScoreRange{3, 3}, ScoreRange{3, 3}},
		{SegmentAboutToSleep, ScoreRange{3, 3}, ScoreRange{1, 2}},
		{SegmentCantLose, ScoreRange{1, 2}, ScoreRange{5, 5}},
		{SegmentAtRisk, ScoreRange{1, 2}, ScoreRange{3, 4}},
		{SegmentHibernating, ScoreRange{2, 2}, ScoreRange{1, 2}},
		{SegmentLost, ScoreRange{1, 1}, ScoreRange{1, 2}},
	}
}

// SegmentMap is a checked rule table, compiled to its grid.
type SegmentMap struct {
	rules []SegmentRule
	grid  [5][5]int // [r-1][fm-1] → index of the first matching rule
}

// NewSegmentMap checks rules and compiles them. A tenant's table must name
// every rule (trimmed, 1–64 printable characters), keep each range within
// 1..5 and in order, match every (r, fm) cell, and reach every rule (a
// rule whose cells earlier rules all take would never name anyone, which
// is a mistake, not a choice). Every fault is a field error naming the
// rule ("rules[3].fm.max") or, for cells no rule matches, the table.
func NewSegmentMap(rules []SegmentRule) (SegmentMap, error) {
	var p core.Problems
	m := SegmentMap{rules: make([]SegmentRule, len(rules))}
	copy(m.rules, rules)
	switch {
	case len(rules) == 0:
		p.Add("rules", "must hold at least one rule")
	case len(rules) > MaxSegmentRules:
		p.Add("rules", "holds %d rules; at most %d", len(rules), MaxSegmentRules)
	}
	for i := range m.rules {
		r := &m.rules[i]
		at := fmt.Sprintf("rules[%d]", i)
		r.Name = strings.TrimSpace(r.Name)
		switch {
		case r.Name == "":
			p.Add(at+".name", "is required")
		case len([]rune(r.Name)) > 64:
			p.Add(at+".name", "is longer than 64 characters")
		case strings.IndexFunc(r.Name, func(c rune) bool { return !unicode.IsPrint(c) }) >= 0:
			p.Add(at+".name", "holds a control character")
		}
		for _, f := range []struct {
			name string
			r    ScoreRange
		}{{"r", r.R}, {"fm", r.FM}} {
			if f.r.Min < 1 || f.r.Min > 5 {
				p.Add(at+"."+f.name+".min", "is %d; scores are 1 to 5", f.r.Min)
			}
			if f.r.Max < 1 || f.r.Max > 5 {
				p.Add(at+"."+f.name+".max", "is %d; scores are 1 to 5", f.r.Max)
			}
			if f.r.Min > f.r.Max {
				p.Add(at+"."+f.name, "min %d is above max %d", f.r.Min, f.r.Max)
			}
		}
	}
	if len(p) > 0 {
		return m, p.Err()
	}
	reached := make([]bool, len(m.rules))
	var uncovered []string
	for r := 1; r <= 5; r++ {
		for fm := 1; fm <= 5; fm++ {
			m.grid[r-1][fm-1] = -1
			for i, rule := range m.rules {
				if rule.R.has(r) && rule.FM.has(fm) {
					m.grid[r-1][fm-1], reached[i] = i, true
					break
				}
			}
			if m.grid[r-1][fm-1] < 0 {
				uncovered = append(uncovered, fmt.Sprintf("(r %d, fm %d)", r, fm))
			}
		}
	}
	for i, ok := range reached {
		if !ok {
			p.Add(fmt.Sprintf("rules[%d]", i), "is never reached: earlier rules match every cell of its ranges")
		}
	}
	if len(uncovered) > 0 {
		p.Add("rules", "no rule matches %s: every cell of the 5 × 5 grid needs one", strings.Join(uncovered, ", "))
	}
	return m, p.Err()
}

// DefaultSegmentMap is the standard map, compiled.
func DefaultSegmentMap() SegmentMap {
	m, err := NewSegmentMap(DefaultSegments())
	if err != nil {
		panic(err) // the default table is held to the rules by its test
	}
	return m
}

// Rules are the map's rules, in order.
func (m SegmentMap) Rules() []SegmentRule { return append([]SegmentRule(nil), m.rules...) }

// Segment is the segment of scores s.
func (m SegmentMap) Segment(s Scores) string {
	if s.R < 1 || s.R > 5 || s.F < 1 || s.F > 5 || s.M < 1 || s.M > 5 {
		return ""
	}
	return m.rules[m.grid[s.R-1][FM(s.F, s.M)-1]].Name
}

// Names are the segments' names in rule order, each once.
func (m SegmentMap) Names() []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range m.rules {
		if !seen[r.Name] {
			seen[r.Name] = true
			out = append(out, r.Name)
		}
	}
	return out
}
