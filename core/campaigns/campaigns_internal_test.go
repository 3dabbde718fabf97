package campaigns

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/messaging"
)

// The split is deterministic and fair: over 10 000 contacts each group's
// share is within 1.5 points of what was asked, and assigning again (a
// retried step) gives the same group to everyone.
func TestAssignSplitsByShareAndIsStable(t *testing.T) {
	t.Parallel()
	variants := []CampaignVariant{{Name: "a", Share: 50}, {Name: "b", Share: 30}, {Name: "c", Share: 20}}
	const n, holdout = 10_000, 10
	campaign := core.NewID(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	first := make([]string, n)
	got := map[string]int{}
	for i := range n {
		id := fmt.Sprintf("01KCONTACT%016d", i)
		first[i] = Assign(campaign, id, holdout, variants)
		got[first[i]]++
	}
	want := map[string]float64{Holdout: 0.10, "a": 0.45, "b": 0.27, "c": 0.18}
	for g, share := range want {
		if d := math.Abs(float64(got[g])/n - share); d > 0.015 {
			t.Errorf("%s: %.2f%% of %d, want %.0f%% ± 1.5", g, 100*float64(got[g])/n, n, 100*share)
		}
	}
	for i := range n {
		if g := Assign(campaign, fmt.Sprintf("01KCONTACT%016d", i), holdout, variants); g != first[i] {
			t.Fatalf("contact %d: %s, then %s", i, first[i], g)
		}
	}
	// Another campaign splits the same contacts otherwise: a contact is not
	// held out of every campaign.
	same := 0
	for i := range 1000 {
		if Assign(campaign+"x", fmt.Sprintf("01KCONTACT%016d", i), holdout, variants) == first[i] {
			same++
		}
	}
	if same > 500 {
		t.Errorf("%d of 1000 in the same group in another campaign", same)
	}
}

// The uplift's interval is Newcombe's method 10: his worked example
// (56/70 against 48/80) gives 0.0524 to 0.3339; a small difference on a
// small audience is said to be not significant.
func TestUpliftInterval(t *testing.T) {
	t.Parallel()
	u := Uplift("treated", 56, 70, 48, 80)
	if math.Abs(u.Difference-0.2) > 1e-9 || u.Low == nil || math.Abs(*u.Low-0.0524) > 5e-4 || math.Abs(*u.High-0.3339) > 5e-4 || !u.Significant {
		t.Errorf("56/70 vs 48/80: %+v (low %v high %v), want 0.2 in [0.0524, 0.3339], significant", u, deref(u.Low), deref(u.High))
	}
	small := Uplift("treated", 3, 40, 1, 12)
	if small.Significant || !strings.Contains(small.Note, "not significant") || *small.Low >= 0 || *small.High <= 0 {
		t.Errorf("3/40 vs 1/12: %+v", small)
	}
	none := Uplift("treated", 3, 40, 0, 0)
	if none.Significant || none.Low != nil || !strings.Contains(none.Note, "no holdout") {
		t.Errorf("no holdout: %+v", none)
	}
	zero := Uplift("treated", 0, 10, 0, 10)
	if zero.Significant || zero.Low == nil || *zero.Low >= 0 {
		t.Errorf("0/10 vs 0/10: %+v", zero)
	}
}

func deref(f *float64) float64 {
	if f == nil {
		return math.NaN()
	}
	return *f
}

// Bad campaign fields are a 422 naming every field at fault.
func TestCampaignFieldsNameTheFieldAtFault(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	ok := func() CampaignFields {
		return CampaignFields{Name: "x", ListID: core.NewID(now), Channel: messaging.Email, Template: "t"}
	}
	for name, c := range map[string]struct {
		change func(*CampaignFields)
		path   string
	}{
		"no audience":    {func(f *CampaignFields) { f.ListID = "" }, "segment_id"},
		"both audiences": {func(f *CampaignFields) { f.SegmentID = f.ListID }, "segment_id"},
		"bad channel":    {func(f *CampaignFields) { f.Channel = "fax" }, "channel"},
		"no template":    {func(f *CampaignFields) { f.Template = " " }, "template"},
		"shares not 100": {func(f *CampaignFields) {
			f.Variants = []CampaignVariant{{Name: "a", Share: 50}, {Name: "b", Share: 40}}
		}, "variants"},
		"variant holdout": {func(f *CampaignFields) { f.Variants = []CampaignVariant{{Name: Holdout, Share: 100}} }, "variants[0].name"},
		"duplicate variant": {func(f *CampaignFields) {
			f.Variants = []CampaignVariant{{Name: "a", Share: 50}, {Name: "a", Share: 50}}
		}, "variants[1].name"},
		"holdout too big": {func(f *CampaignFields) { f.HoldoutPercent = 95 }, "holdout_percent"},
		"bad merge field": {func(f *CampaignFields) { f.Merge = []MergeField{{Name: "n", Field: "password"}} }, "merge[0].field"},
		"at without time": {func(f *CampaignFields) { f.Schedule = CampaignSchedule{Kind: SendAt} }, "schedule.at"},
		"bad local time": {func(f *CampaignFields) {
			f.Schedule = CampaignSchedule{Kind: SendLocalTime, Date: "2026-03-18", Time: "25:00"}
		}, "schedule"},
		"bad kind":   {func(f *CampaignFields) { f.Schedule = CampaignSchedule{Kind: "soon"} }, "schedule.kind"},
		"bad on_cap": {func(f *CampaignFields) { f.OnCap = "ignore" }, "on_cap"},
	} {
		f := ok()
		c.change(&f)
		err := f.normalize(now)
		var paths []string
		if ce, okErr := err.(*core.Error); okErr {
			for _, fe := range ce.Fields {
				paths = append(paths, fe.Path)
			}
		}
		if core.ErrorCode(err) != core.CodeInvalid || len(paths) == 0 || paths[0] != c.path {
			t.Errorf("%s: %v (fields %v), want a 422 at %s", name, err, paths, c.path)
		}
	}
	f := ok()
	if err := f.normalize(now); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]CampaignVariant{{Name: "main", Share: 100}}, f.Variants); diff != "" || f.Priority != messaging.PriorityNormal || f.OnCap != messaging.CapDefer || f.Schedule.Kind != SendNow {
		t.Errorf("defaults: %+v %s", f, diff)
	}
}

// A local time is each zone's own instant, across DST: 09:00 on 29 March
// 2026 is 07:00 UTC in Rome (CEST from that night), 13:00 UTC in New York
// (EDT since 8 March), and the launch starts when it comes in UTC+14.
func TestLocalTimeInEachZone(t *testing.T) {
	t.Parallel()
	s := CampaignSchedule{Kind: SendLocalTime, Date: "2026-03-29", Time: "09:00"}
	for zone, want := range map[string]string{"Europe/Rome": "2026-03-29T07:00:00Z", "America/New_York": "2026-03-29T13:00:00Z",
		"Asia/Tokyo": "2026-03-29T00:00:00Z"} {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.LocalInstant(loc).Format(time.RFC3339); got != want {
			t.Errorf("%s: %s, want %s", zone, got, want)
		}
	}
	c := Campaign{CampaignFields: CampaignFields{Schedule: s}}
	if got := c.launchTime(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)).Format(time.RFC3339); got != "2026-03-28T19:00:00Z" {
		t.Errorf("launch at %s, want 09:00 in UTC+14", got)
	}
}

// Merge fields take the contact's values, their defaults when empty, and
// the plugin's fields over both.
func TestMergeData(t *testing.T) {
	t.Parallel()
	c := core.Contact{ContactFields: core.ContactFields{FirstName: "Ada", Custom: map[string]any{"tier": "gold"}}}
	got := mergeData([]MergeField{{Name: "name", Field: "first_name"}, {Name: "city", Field: "city", Default: "your town"},
		{Name: "tier", Field: "custom.tier"}, {Name: "offer", Field: "custom.offer", Default: "10%"}}, c, map[string]any{"offer": "20%"})
	want := map[string]any{"name": "Ada", "city": "your town", "tier": "gold", "offer": "20%"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("merge (-want +got):\n%s", diff)
	}
}

// A goal filter that does not compile is a 422 at goal_filter with its
// line, column and offset; one that does matches the event it describes.
func TestGoalFilterCompiles(t *testing.T) {
	t.Parallel()
	_, err := compileGoal(`event.data.total >= `)
	ce, ok := err.(*core.Error)
	if !ok || ce.Code != core.CodeInvalid || len(ce.Fields) != 1 || ce.Fields[0].Path != "goal_filter" || !strings.Contains(ce.Fields[0].Message, "1:") {
		t.Fatalf("bad filter: %v", err)
	}
	if _, err := compileGoal(`event.data.total + "x"`); err == nil {
		t.Error("a filter that is not a condition compiled")
	}
	prg, err := compileGoal(`event.entity_type == "order" && event.data.total >= 5000`)
	if err != nil {
		t.Fatal(err)
	}
	for total, want := range map[float64]bool{4999: false, 5000: true} {
		out, _, err := prg.Eval(map[string]any{"event": map[string]any{"entity_type": "order", "data": map[string]any{"total": total}}})
		if err != nil || out.Value() != want {
			t.Errorf("total %v: %v %v, want %v", total, out, err, want)
		}
	}
}
