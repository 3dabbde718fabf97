package httpapi

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestClipValue(t *testing.T) {
	big := map[string]any{}
	for i := range 10_000 {
		big[fmt.Sprintf("k%05d", i)] = float64(i)
	}
	tests := []struct {
		name string
		in   any
		want any
	}{
		{"nil", nil, nil},
		{"number", 1e300, 1e300},
		{"short string", "ada@example.com", "ada@example.com"},
		{"string of 64 bytes", strings.Repeat("a", 64), strings.Repeat("a", 64)},
		{"string of 65 bytes", strings.Repeat("a", 65), strings.Repeat("a", 64) + "…"},
		{"cut on a character", strings.Repeat("é", 40), strings.Repeat("é", 32) + "…"},
		{"small object kept", map[string]any{"b": 1.0, "a": []any{"x"}}, map[string]any{"b": 1.0, "a": []any{"x"}}},
		{"large object cut in key order", big, `{"k00000":0,"k00001":1,"k00002":2,"k00003":3,"k00004":4,"k00005"…`},
		{"long list cut", []any{strings.Repeat("x", 100)}, `["` + strings.Repeat("x", 62) + "…"},
		{"a domain value", []string{"vip", "new"}, []string{"vip", "new"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := clipValue(tt.in)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("clipValue (-want +got):\n%s", diff)
			}
			if s, ok := got.(string); ok && len(strings.TrimSuffix(s, cutMarker)) > maxValueBytes {
				t.Errorf("clipValue kept %d bytes", len(s))
			}
			if j, _ := json.Marshal(got); len(j) > 2*maxValueBytes+8 {
				t.Errorf("clipped value encodes to %d bytes", len(j))
			}
		})
	}
}

func TestOwnValue(t *testing.T) {
	obj := map[string]any{"nick": "x", "a.b": 2.0}
	for _, tt := range []struct {
		loc, msg string
		want     any
	}{
		{"body.nick", "unexpected property", "x"},
		{"body.items[0].a.b", "unexpected property", 2.0},
		{"nick", "unexpected property", "x"},
		{"body", "expected required property name to be present", obj},
	} {
		if diff := cmp.Diff(tt.want, ownValue(tt.loc, tt.msg, obj)); diff != "" {
			t.Errorf("ownValue(%q, %q) (-want +got):\n%s", tt.loc, tt.msg, diff)
		}
	}
}
