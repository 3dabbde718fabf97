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
	for _, want := range []string{"contact.created", "contact.updated", "contact.deleted", "contact.merged", "company.created", "company.updated", "company.deleted"} {
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
