package plugins

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestProject(t *testing.T) {
	batch := `[{"contact":{"id":"c1","first_name":"Ada","emails":[{"address":"a@x.io"}],"phones":[{"number":"+391"}],
		"custom":{"budget":5,"secret":"s"}},"company":{"id":"co","name":"Acme","size":"11-50"},"activities":[{"type":"call"}]},
		{"contact":{"id":"c2"},"company":null}]`
	for _, tc := range []struct {
		name   string
		fields []string
		want   string
	}{
		{"fields of both", []string{"contact.emails", "company.size"},
			`[{"activities":[{"type":"call"}],"company":{"id":"co","size":"11-50"},"contact":{"emails":[{"address":"a@x.io"}],"id":"c1"}},{"company":null,"contact":{"id":"c2"}}]`},
		{"a path into custom", []string{"contact.custom.budget"},
			`[{"activities":[{"type":"call"}],"company":{"id":"co"},"contact":{"custom":{"budget":5},"id":"c1"}},{"company":null,"contact":{"id":"c2"}}]`},
		{"a whole object", []string{"company"},
			`[{"activities":[{"type":"call"}],"company":{"id":"co","name":"Acme","size":"11-50"},"contact":{"id":"c1"}},{"company":null,"contact":{"id":"c2"}}]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Project([]byte(batch), tc.fields)
			if err != nil {
				t.Fatal(err)
			}
			var g, w any
			_ = json.Unmarshal(got, &g)
			_ = json.Unmarshal([]byte(tc.want), &w)
			if diff := cmp.Diff(w, g); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if _, err := Project([]byte(`{"not":"a batch"}`), []string{"contact"}); err == nil {
		t.Error("projected an object that is not a batch")
	}
}

func TestStatsPercentiles(t *testing.T) {
	var s Stats
	for range 98 {
		s.record(10, 3*time.Millisecond, 100, "")
	}
	s.record(10, 80*time.Millisecond, 100, "out_of_fuel")
	s.record(10, 80*time.Millisecond, 100, "")
	s.summarise()
	if s.Calls != 100 || s.Records != 1000 || s.FuelUsed != 10000 || s.Failures["out_of_fuel"] != 1 {
		t.Fatalf("stats %+v", s)
	}
	// 98 calls fall in (2.5 ms, 5 ms], 2 in (50 ms, 100 ms].
	if s.P50Ms != 5 || s.P99Ms != 100 {
		t.Errorf("p50 %v ms, p99 %v ms; want 5 and 100", s.P50Ms, s.P99Ms)
	}
}

func TestDecisionIgnoresWording(t *testing.T) {
	for _, tc := range []struct {
		kind Kind
		a, b string
		same bool
	}{
		{KindScore, `{"score":50,"reasons":["x"]}`, `{"score":50}`, true},
		{KindScore, `{"score":50}`, `{"score":51}`, false},
		{KindRoute, `{"assignee":"u1","reason":"a"}`, `{"assignee":"u1","reason":"b"}`, true},
		{KindRoute, `{"assignee":"u1","reason":"a"}`, `{"queue":"u1","reason":"a"}`, false},
		{KindCampaign, `{"enrol":true,"variant":"a","fields":{"x":"1"}}`, `{"enrol":true,"variant":"a"}`, true},
		{KindCampaign, `{"enrol":true}`, `{"enrol":false}`, false},
	} {
		if got := decision(tc.kind, json.RawMessage(tc.a)) == decision(tc.kind, json.RawMessage(tc.b)); got != tc.same {
			t.Errorf("%s: %s vs %s: same = %v, want %v", tc.kind, tc.a, tc.b, got, tc.same)
		}
	}
}
