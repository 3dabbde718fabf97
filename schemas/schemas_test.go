package schemas

import (
	"slices"
	"testing"
)

func TestSchemasCompileAndBite(t *testing.T) {
	types, err := EventTypes()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"contact.created", "contact.updated", "contact.deleted", "company.created", "company.updated", "company.deleted"} {
		if !slices.Contains(types, want) {
			t.Errorf("no schema for %s", want)
		}
	}
	good := `{"event_id":"01M87J7GDQ88MEAP81XDPSY9E8","tenant":"acme","time":"2026-11-24T19:58:51Z","actor":{"type":"api_key","id":"k"},
		"correlation_id":"r","depth":0,"entity":{"type":"contact","id":"01M87J7GDQ88MEAP81XDPSY9E8","data":{"id":"01M87J7GDQ88MEAP81XDPSY9E8","version":1,
		"created_at":"2026-11-24T19:58:51Z","updated_at":"2026-11-24T19:58:51Z","lifecycle_stage":"lead"}}}`
	if err := ValidateEventDetail("contact.created", []byte(good)); err != nil {
		t.Fatalf("valid detail refused: %v", err)
	}
	for name, bad := range map[string]string{
		"no event id":      `{"tenant":"acme"}`,
		"wrong entity":     `{"event_id":"01M87J7GDQ88MEAP81XDPSY9E8","tenant":"acme","time":"2026-11-24T19:58:51Z","actor":{"type":"api_key","id":"k"},"correlation_id":"r","depth":0,"entity":{"type":"company","id":"x","data":{}}}`,
		"unknown property": `{"surprise":1}`,
	} {
		if err := ValidateEventDetail("contact.created", []byte(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := ValidateEventDetail("contact.exploded", []byte(good)); err == nil {
		t.Error("unknown detail type accepted")
	}
}

func TestPluginContracts(t *testing.T) {
	cases := []struct {
		kind, output string
		n            int
		ok           bool
	}{
		{"score", `[{"score":87,"reasons":["opened 3 e-mails"],"tags":["hot"]},{"error":"no e-mail"}]`, 2, true},
		{"score", `[{"score":101}]`, 1, false},
		{"score", `[{"score":50}]`, 2, false}, // wrong length
		{"score", `{"score":50}`, 1, false},   // not a batch
		{"score", `[{"score":50,"extra":1}]`, 1, false},
		{"score", `not json`, 1, false},
		{"route", `[{"assignee":"u-1","reason":"least loaded"},{"queue":"tier-2","reason":"no one with the skill"}]`, 2, true},
		{"route", `[{"reason":"nobody"}]`, 1, false},
		{"route", `[{"assignee":"u-1","queue":"q","reason":"both"}]`, 1, false},
		{"campaign", `[{"enrol":true,"variant":"b","fields":{"name":"Ada"},"delay_seconds":3600},{"enrol":false}]`, 2, true},
		{"campaign", `[{"enrol":"yes"}]`, 1, false},
		{"campaign", `[{"enrol":true,"delay_seconds":-1}]`, 1, false},
		{"nope", `[]`, 0, false},
	}
	for _, tc := range cases {
		err := ValidatePluginOutput(tc.kind, []byte(tc.output), tc.n)
		if (err == nil) != tc.ok {
			t.Errorf("%s %s (n=%d): %v, want ok=%v", tc.kind, tc.output, tc.n, err, tc.ok)
		}
	}
	if err := ValidatePluginInput("score", []byte(`[{"contact":{"id":"c1"},"orders":{"count":2,"total_minor":1999,"currency":"EUR"}}]`)); err != nil {
		t.Errorf("valid score input: %v", err)
	}
	if err := ValidatePluginInput("route", []byte(`[{"item":{"type":"deal","id":"x"},"candidates":[]}]`)); err == nil {
		t.Error("route input with an unknown item type accepted")
	}
}
