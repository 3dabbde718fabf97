package httpapi

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core"
)

// rfc7396Examples are the test cases of RFC 7396, Appendix A, all of them.
var rfc7396Examples = []struct{ doc, patch, want string }{
	{`{"a":"b"}`, `{"a":"c"}`, `{"a":"c"}`},
	{`{"a":"b"}`, `{"b":"c"}`, `{"a":"b","b":"c"}`},
	{`{"a":"b"}`, `{"a":null}`, `{}`},
	{`{"a":"b","b":"c"}`, `{"a":null}`, `{"b":"c"}`},
	{`{"a":["b"]}`, `{"a":"c"}`, `{"a":"c"}`},
	{`{"a":"c"}`, `{"a":["b"]}`, `{"a":["b"]}`},
	{`{"a":{"b":"c"}}`, `{"a":{"b":"d","c":null}}`, `{"a":{"b":"d"}}`},
	{`{"a":[{"b":"c"}]}`, `{"a":[1]}`, `{"a":[1]}`},
	{`["a","b"]`, `["c","d"]`, `["c","d"]`},
	{`{"a":"b"}`, `["c"]`, `["c"]`},
	{`{"a":"foo"}`, `null`, `null`},
	{`{"a":"foo"}`, `"bar"`, `"bar"`},
	{`{"e":null}`, `{"a":1}`, `{"e":null,"a":1}`},
	{`[1,2]`, `{"a":"b","c":null}`, `{"a":"b"}`},
	{`{}`, `{"a":{"bb":{"ccc":null}}}`, `{"a":{"bb":{}}}`},
}

// jsonValue decodes s for a comparison that ignores key order and spacing.
func jsonValue(t *testing.T, s []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(s, &v); err != nil {
		t.Fatalf("not JSON: %q: %v", s, err)
	}
	return v
}

func TestMergePatchRFC7396AppendixA(t *testing.T) {
	for _, tt := range rfc7396Examples {
		t.Run(tt.doc+" + "+tt.patch, func(t *testing.T) {
			got, err := mergePatch([]byte(tt.doc), []byte(tt.patch))
			if err != nil {
				t.Fatalf("MergePatch(%s, %s): want %s, got error %v", tt.doc, tt.patch, tt.want, err)
			}
			if diff := cmp.Diff(jsonValue(t, []byte(tt.want)), jsonValue(t, got)); diff != "" {
				t.Errorf("MergePatch(%s, %s) = %s, want %s (-want +got):\n%s", tt.doc, tt.patch, got, tt.want, diff)
			}
		})
	}
}

func TestMergePatchErrors(t *testing.T) {
	tests := []struct {
		name, doc, patch string
		code             core.Code // "" means a plain (internal) error: the stored document is bad
	}{
		{"document not JSON", `{"a":`, `{}`, ""},
		{"empty document", ``, `{}`, ""},
		{"patch not JSON", `{}`, `{"a":}`, core.CodeMalformed},
		{"empty patch", `{}`, ``, core.CodeMalformed},
		{"two patches", `{}`, `{"a":1}{"b":2}`, core.CodeMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mergePatch([]byte(tt.doc), []byte(tt.patch))
			if err == nil {
				t.Fatalf("MergePatch(%q, %q) = %s; want an error", tt.doc, tt.patch, got)
			}
			if code := core.ErrorCode(err); code != tt.code {
				t.Errorf("MergePatch(%q, %q): want code %q, got %q (%v)", tt.doc, tt.patch, tt.code, code, err)
			}
		})
	}
}

// checkError checks that err is a *core.Error of code naming exactly paths.
func checkError(t *testing.T, err error, code core.Code, paths ...string) {
	t.Helper()
	var e *core.Error
	if !errors.As(err, &e) {
		t.Fatalf("want a *core.Error with code %q and paths %q, got %T: %v", code, paths, err, err)
	}
	if e.Code != code {
		t.Errorf("error code: want %q, got %q (%v)", code, e.Code, e)
	}
	got := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		got[i] = f.Path
	}
	slices.Sort(got)
	want := slices.Sorted(slices.Values(paths))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("field paths (-want +got):\n%s\nerror: %v", diff, e)
	}
}

func TestDecodeJSON(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		code  core.Code // "" means success
		paths []string
		want  core.ContactFields
	}{
		{name: "valid", in: `{"first_name":"Ann","tags":["a"],"address":{"city":"Roma"}}`,
			want: core.ContactFields{FirstName: "Ann", Tags: []string{"a"}, Address: &core.Address{City: "Roma"}}},
		{name: "trailing white space", in: "{\"first_name\":\"Ann\"}\n\t ", want: core.ContactFields{FirstName: "Ann"}},
		{name: "null", in: `null`},
		{name: "empty object", in: `{}`},

		{name: "syntax: trailing comma", in: `{"first_name":"Ann",}`, code: core.CodeMalformed, paths: []string{""}},
		{name: "syntax: unquoted key", in: `{first_name:"Ann"}`, code: core.CodeMalformed, paths: []string{""}},
		{name: "syntax: single quotes", in: `{'first_name':'Ann'}`, code: core.CodeMalformed, paths: []string{""}},
		{name: "syntax: truncated", in: `{"first_name":`, code: core.CodeMalformed, paths: []string{""}},
		{name: "syntax: empty body", in: ``, code: core.CodeMalformed, paths: []string{""}},
		{name: "syntax: blank body", in: "  \n", code: core.CodeMalformed, paths: []string{""}},
		{name: "syntax: not JSON at all", in: `first_name=Ann`, code: core.CodeMalformed, paths: []string{""}},

		{name: "trailing data: a second value", in: `{"first_name":"Ann"} {"last_name":"Lee"}`, code: core.CodeMalformed, paths: []string{""}},
		{name: "trailing data: garbage", in: `{"first_name":"Ann"} x`, code: core.CodeMalformed, paths: []string{""}},
		{name: "trailing data: extra brace", in: `{"first_name":"Ann"}}`, code: core.CodeMalformed, paths: []string{""}},
		{name: "trailing data: a number", in: `{} 1`, code: core.CodeMalformed, paths: []string{""}},

		{name: "unknown field", in: `{"first_name":"Ann","nickname":"Annie"}`, code: core.CodeInvalid, paths: []string{"nickname"}},
		{name: "field read-only on the record but unknown here", in: `{"id":"x"}`, code: core.CodeInvalid, paths: []string{"id"}},

		{name: "wrong type", in: `{"first_name":1}`, code: core.CodeInvalid, paths: []string{"first_name"}},
		{name: "wrong type: object for a list", in: `{"tags":{"a":1}}`, code: core.CodeInvalid, paths: []string{"tags"}},
		{name: "wrong type: nested", in: `{"address":{"city":5}}`, code: core.CodeInvalid, paths: []string{"address.city"}},
		{name: "wrong type: deeply nested", in: `{"consent":{"email":{"status":true}}}`, code: core.CodeInvalid, paths: []string{"consent.email.status"}},
		{name: "wrong type: number out of range", in: `{"custom":{"score":1e400}}`, code: core.CodeInvalid, paths: []string{"custom"}},
		{name: "wrong type: the whole body", in: `["Ann"]`, code: core.CodeInvalid, paths: []string{""}},
		{name: "wrong type: a string body", in: `"Ann"`, code: core.CodeInvalid, paths: []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got core.ContactFields
			err := decodeJSON([]byte(tt.in), &got)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("DecodeJSON(%q): want no error, got %v", tt.in, err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("DecodeJSON(%q) (-want +got):\n%s", tt.in, diff)
				}
				return
			}
			checkError(t, err, tt.code, tt.paths...)
		})
	}
}

func TestPatchFieldsRefusesReadOnlyFields(t *testing.T) {
	tests := []struct {
		name  string
		patch string
		paths []string
	}{
		{"id", `{"id":"01J00000000000000000000000"}`, []string{"id"}},
		{"version", `{"version":3}`, []string{"version"}},
		{"created_at", `{"created_at":"2025-01-01T00:00:00Z"}`, []string{"created_at"}},
		{"updated_at", `{"updated_at":"2025-01-01T00:00:00Z"}`, []string{"updated_at"}},
		{"read-only even when null", `{"version":null}`, []string{"version"}},
		{"all four, beside a writable field", `{"id":"x","version":1,"created_at":"x","updated_at":"x","first_name":"Bo"}`,
			[]string{"id", "version", "created_at", "updated_at"}},
		{"a whole record copied back", `{"id":"x","version":7,"created_at":"2025-01-01T00:00:00Z","updated_at":"2025-01-02T00:00:00Z","first_name":"Ann","lifecycle_stage":"lead"}`,
			[]string{"id", "version", "created_at", "updated_at"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur := core.ContactFields{FirstName: "Ann"}
			var next core.ContactFields
			checkError(t, patchFields(&cur, []byte(tt.patch), &next, nil), core.CodeInvalid, tt.paths...)
		})
	}
}

func TestPatchFields(t *testing.T) {
	current := func() core.ContactFields {
		return core.ContactFields{
			FirstName: "Ann",
			LastName:  "Lee",
			Emails:    []core.Email{{Address: "ann@example.com", Primary: true}},
			Tags:      []string{"a", "b"},
			Address:   &core.Address{City: "Roma", Country: "IT"},
			Custom:    map[string]any{"score": 1.0, "vip": true},
		}
	}
	tests := []struct {
		name  string
		patch string
		code  core.Code // "" means success
		paths []string
		want  core.ContactFields
	}{
		{name: "empty patch changes nothing", patch: `{}`, want: current()},
		{name: "merge: null removes, objects merge, lists replace", patch: `{"last_name":null,"tags":["c"],"custom":{"vip":null,"nickname":"x"},"address":{"city":"Milano"}}`,
			want: core.ContactFields{
				FirstName: "Ann",
				Emails:    []core.Email{{Address: "ann@example.com", Primary: true}},
				Tags:      []string{"c"},
				Address:   &core.Address{City: "Milano", Country: "IT"},
				Custom:    map[string]any{"score": 1.0, "nickname": "x"},
			}},
		{name: "null removes an object", patch: `{"address":null,"emails":null}`,
			want: core.ContactFields{FirstName: "Ann", LastName: "Lee", Tags: []string{"a", "b"}, Custom: map[string]any{"score": 1.0, "vip": true}}},
		{name: "unknown field", patch: `{"nickname":"Annie"}`, code: core.CodeInvalid, paths: []string{"nickname"}},
		{name: "wrong type", patch: `{"first_name":["Ann"]}`, code: core.CodeInvalid, paths: []string{"first_name"}},
		{name: "wrong type, nested", patch: `{"address":{"country":1}}`, code: core.CodeInvalid, paths: []string{"address.country"}},
		{name: "malformed", patch: `{"first_name":"Bo"`, code: core.CodeMalformed, paths: []string{""}},
		{name: "trailing data", patch: `{"first_name":"Bo"} {}`, code: core.CodeMalformed, paths: []string{""}},
		{name: "null patch would erase the record", patch: `null`, code: core.CodeInvalid, paths: []string{""}},
		{name: "array patch", patch: `[]`, code: core.CodeInvalid, paths: []string{""}},
		{name: "string patch", patch: `"Bo"`, code: core.CodeInvalid, paths: []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur := current()
			var next core.ContactFields
			err := patchFields(&cur, []byte(tt.patch), &next, nil)
			if diff := cmp.Diff(current(), cur); diff != "" {
				t.Errorf("PatchFields changed the current fields (-before +after):\n%s", diff)
			}
			if tt.code == "" {
				if err != nil {
					t.Fatalf("PatchFields(%s): want no error, got %v", tt.patch, err)
				}
				if diff := cmp.Diff(tt.want, next); diff != "" {
					t.Errorf("PatchFields(%s) (-want +got):\n%s", tt.patch, diff)
				}
				return
			}
			checkError(t, err, tt.code, tt.paths...)
		})
	}
}

func TestPatchFieldsOnCompany(t *testing.T) {
	cur := core.CompanyFields{Name: "Acme", Domain: "acme.io", Size: "1-10"}
	var next core.CompanyFields
	if err := patchFields(&cur, []byte(`{"name":"Acme Ltd","size":null}`), &next, nil); err != nil {
		t.Fatalf("PatchFields: want no error, got %v", err)
	}
	want := core.CompanyFields{Name: "Acme Ltd", Domain: "acme.io"}
	if diff := cmp.Diff(want, next); diff != "" {
		t.Errorf("PatchFields (-want +got):\n%s", diff)
	}
}

func FuzzMergePatch(f *testing.F) {
	for _, ex := range rfc7396Examples {
		f.Add([]byte(ex.doc), []byte(ex.patch))
	}
	f.Add([]byte(`{"a":{"b":{"c":1}}}`), []byte(`{"a":{"b":null,"d":[null,{"e":null}]}}`))
	f.Add([]byte(`{"a":1}`), []byte(`{"a":1e400}`))
	f.Add([]byte(`{"a":1}`), []byte(`{"a":1}x`))
	f.Add([]byte(`"x"`), []byte(`{"\u0000":"\ud800"}`))
	f.Add([]byte(`{"a":1}`), []byte(``))
	f.Fuzz(func(t *testing.T, doc, patch []byte) {
		var d any
		if json.Unmarshal(doc, &d) != nil {
			return // the stored document is always JSON
		}
		got, err := mergePatch(doc, patch)
		if err != nil {
			var e *core.Error
			if !errors.As(err, &e) {
				t.Fatalf("MergePatch(%q, %q): a bad patch must be a *core.Error, got %T: %v", doc, patch, err, err)
			}
			return
		}
		if !json.Valid(got) {
			t.Fatalf("MergePatch(%q, %q) = %q: not JSON", doc, patch, got)
		}
		var p any
		if json.Unmarshal(patch, &p) != nil {
			t.Fatalf("MergePatch(%q, %q) accepted a patch that is not one JSON value", doc, patch)
		}
		if _, isObject := p.(map[string]any); !isObject {
			if diff := cmp.Diff(p, jsonValue(t, got)); diff != "" {
				t.Errorf("MergePatch(%q, %q): a patch that is not an object must replace the document (-patch +got):\n%s", doc, patch, diff)
			}
		}
		// Applying the same merge patch twice is applying it once.
		again, err := mergePatch(got, patch)
		if err != nil {
			t.Fatalf("MergePatch(%q, %q) = %q, but applying the patch again failed: %v", doc, patch, got, err)
		}
		if diff := cmp.Diff(jsonValue(t, got), jsonValue(t, again)); diff != "" {
			t.Errorf("MergePatch(%q, %q) is not idempotent (-once +twice):\n%s", doc, patch, diff)
		}
	})
}

func TestPatchFieldsKeysAreCaseSensitive(t *testing.T) {
	cases := []struct {
		patch string
		path  string
	}{
		{`{"First_Name":"Bo"}`, "First_Name"},
		{`{"address":{"City":"Milano"}}`, "address.City"},
		{`{"emails":[{"address":"a@example.com"},{"Address":"b@example.com"}]}`, "emails[1].Address"},
		{`{"consent":{"email":{"Status":"granted"}}}`, "consent.email.Status"},
	}
	for _, tc := range cases {
		cur := core.ContactFields{FirstName: "Ada", Address: &core.Address{City: "Rome"}}
		var next core.ContactFields
		checkError(t, patchFields(&cur, []byte(tc.patch), &next, nil), core.CodeInvalid, tc.path)
	}
	// Custom fields are the tenant's keys, not ours: any case goes through.
	cur := core.ContactFields{}
	var next core.ContactFields
	if err := patchFields(&cur, []byte(`{"custom":{"Shoe_Size":42}}`), &next, nil); err != nil {
		t.Errorf("custom key: %v", err)
	}
}
