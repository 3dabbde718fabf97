package wasm

import (
	"testing"

	"github.com/fedele-crm/fedele/plugins/pdk"
	"github.com/fedele-crm/fedele/schemas"
)

// The fast path takes what plugins really answer — else it saves nothing.
func TestScoreOutputOKTakesTypicalOutput(t *testing.T) {
	for _, tc := range []struct {
		out string
		n   int
		ok  bool
	}{
		{string(pdk.EncodeScore([]pdk.ScoreResult{{Score: 93, Reasons: []string{"decision maker", "engagé"}, Tags: []string{"enterprise"}}, {Score: 0}, {Err: "no e-mail"}})), 3, true},
		{`[ {"tags":["a"], "score": 100} ]`, 1, true},
		{`[]`, 0, true},
		{`[{"score":101}]`, 1, false},
		{`[{"score":50}]`, 2, false},
		{`[{"score":050}]`, 1, false},
		{`[{"score":5.0}]`, 1, false}, // an integer to the schema, but left to it
		{`[{"score":5,"score":6}]`, 1, false},
		{`[{"score":5,"error":"x"}]`, 1, false},
		{`[{"error":""}]`, 1, false},
		{`[{"reasons":["a\\nb"],"score":1}]`, 1, false},
		{`[{"score":1}] x`, 1, false},
		{`[{"score":1},]`, 1, false},
		{`[{}]`, 1, false},
	} {
		if got := scoreOutputOK([]byte(tc.out), tc.n); got != tc.ok {
			t.Errorf("scoreOutputOK(%s, %d) = %v, want %v", tc.out, tc.n, got, tc.ok)
		}
		if tc.ok {
			if err := schemas.ValidatePluginOutput("score", []byte(tc.out), tc.n); err != nil {
				t.Errorf("%s: the schema refuses it: %v", tc.out, err)
			}
		}
	}
}

// The fast path never takes what the schema refuses.
func FuzzScoreOutputOK(f *testing.F) {
	f.Add([]byte(`[{"score":93,"reasons":["a"],"tags":["b"]},{"error":"x"}]`), 2)
	f.Add([]byte(`[{"score":100}]`), 1)
	f.Add([]byte(`[{"tags":[],"reasons":[],"score":0}]`), 1)
	f.Fuzz(func(t *testing.T, out []byte, n int) {
		if scoreOutputOK(out, n) {
			if err := schemas.ValidatePluginOutput("score", out, n); err != nil {
				t.Fatalf("fast path took %q for %d records; the schema: %v", out, n, err)
			}
		}
	})
}
