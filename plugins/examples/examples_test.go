package examples_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/plugins/examples/leadscore"
	"github.com/fedele-crm/fedele/plugins/examples/roundrobin"
	"github.com/fedele-crm/fedele/plugins/examples/winback"
	"github.com/fedele-crm/fedele/plugins/pdk"
)

var now = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// The examples' logic runs natively on the PDK's codec, with scores and
// choices computed by hand.
func TestLeadscore(t *testing.T) {
	in := `[
	 {"contact": {"id": "a", "emails": [{"address": "a@x.io"}], "tags": ["decision-maker"], "lifecycle_stage": "mql"},
	  "company": {"size": "1001-5000"},
	  "activities": [{"type": "meeting", "at": "2026-11-27T12:00:00Z"}, {"type": "call", "at": "2026-10-28T12:00:00Z"}],
	  "orders": {"count": 1}},
	 {"contact": {"id": "b", "phones": [{"number": "+39021234567"}]}, "company": {"size": "51-200"}},
	 {"contact": {"id": "c"}, "activities": [{"type": "note", "at": "2026-12-01T00:00:00Z"}]}
	]`
	// a: fit 10 + 10 + 20 + 25 = 65; engagement 10 + 6*30/60 + 15 = 28 → 93
	// b: fit 5 + 15 = 20; c: a note from the future weighs 1 → 2
	want := `[{"score":93,"reasons":["decision maker","engaged"],"tags":["enterprise","customer"]},{"score":20},{"score":2}]`
	out, err := pdk.ScoreBatch([]byte(in), now, leadscore.Decide)
	if err != nil || string(out) != want {
		t.Errorf("got %s, %v\nwant %s", out, err, want)
	}
}

func TestRoundrobin(t *testing.T) {
	cands := []pdk.Candidate{
		{ID: "u1", Skills: []string{"italian"}, Territory: "south", Load: 8, Capacity: 10, Available: true},
		{ID: "u2", Skills: []string{"italian"}, Territory: "north", Load: 2, Capacity: 10, Available: true},
		{ID: "u3", Skills: []string{"english"}, Territory: "south", Load: 0, Capacity: 5, Available: true},
		{ID: "u4", Skills: []string{"italian"}, Territory: "south", Load: 5, Capacity: 5, Available: true}, // full
		{ID: "u5", Skills: []string{"italian"}, Territory: "south", Load: 0, Capacity: 5, Available: false},
	}
	for _, tc := range []struct {
		name   string
		fields map[string]any
		cands  []pdk.Candidate
		want   pdk.RouteResult
	}{
		{"skill and territory beat load", map[string]any{"skill": "italian", "territory": "south"}, cands,
			pdk.RouteResult{Assignee: "u1", Reason: "has the skill, in the territory, least loaded"}},
		{"skill beats territory", map[string]any{"skill": "italian", "territory": "west"}, cands,
			pdk.RouteResult{Assignee: "u2", Reason: "has the skill, least loaded"}},
		{"least loaded by ratio", nil, cands, pdk.RouteResult{Assignee: "u3", Reason: "least loaded"}},
		{"ties broken by id", nil, []pdk.Candidate{{ID: "b", Available: true}, {ID: "a", Available: true}},
			pdk.RouteResult{Assignee: "a", Reason: "least loaded"}},
		{"no one", nil, cands[3:], pdk.RouteResult{Queue: roundrobin.Queue, Reason: "no available candidate with room"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := roundrobin.Decide(&pdk.RouteRecord{Item: pdk.Item{Type: "lead", ID: "l", Fields: tc.fields}, Candidates: tc.cands}, now)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestWinback(t *testing.T) {
	zero := int64(0)
	rec := func(stage string, count, total int64, last string, data map[string]any) *pdk.CampaignRecord {
		r := &pdk.CampaignRecord{Contact: pdk.Contact{ID: "c", FirstName: "Ada", LifecycleStage: stage}, Trigger: pdk.Trigger{Data: data},
			Campaign: pdk.Campaign{Variants: []string{"a", "b"}}, Orders: pdk.Orders{Count: count, TotalMinor: total}}
		if last != "" {
			r.Orders.LastOrderAt, _ = time.Parse(time.RFC3339, last)
		}
		return r
	}
	for _, tc := range []struct {
		name string
		r    *pdk.CampaignRecord
		want pdk.CampaignResult
	}{
		{"recent customer", rec("customer", 2, 5000, "2026-10-01T00:00:00Z", nil), pdk.CampaignResult{}},
		{"lapsed", rec("customer", 2, 5000, "2026-07-01T00:00:00Z", nil),
			pdk.CampaignResult{Enrol: true, Variant: "a", Fields: map[string]string{"first_name": "Ada"}}},
		{"lapsed big spender, long gone", rec("customer", 9, 250000, "2026-01-01T00:00:00Z", nil),
			pdk.CampaignResult{Enrol: true, Variant: "b", Fields: map[string]string{"first_name": "Ada"}, DelaySeconds: &zero}},
		{"threshold from the trigger", rec("customer", 1, 100, "2026-10-01T00:00:00Z", map[string]any{"threshold_days": 30.0}),
			pdk.CampaignResult{Enrol: true, Variant: "a", Fields: map[string]string{"first_name": "Ada"}}},
		{"never ordered", rec("lead", 0, 0, "", nil), pdk.CampaignResult{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, winback.Decide(tc.r, now)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
