package schemas_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core/plugins"
	"github.com/fedele-crm/fedele/core/routing"
	"github.com/fedele-crm/fedele/core/scoring"
	"github.com/fedele-crm/fedele/plugins/pdk"
)

// The plugin contracts are written once, in schemas/plugins/*.json, and
// mirrored twice in Go: the host's types (core/scoring, core/routing) and
// the PDK's (plugins/pdk, which may import only go-pdk, so neither side can
// use the other's). These tests fail when either mirror's JSON shape drifts
// from the schema: a property one side has and the schema lacks, or the
// other way round, or a different JSON type.

// shape is what a contract test compares: a Go type against the schema of
// one record (input) or one result (output) of a kind.
type shape struct {
	name   string       // for messages: "host route.input"
	schema string       // file in plugins/, less .json
	typ    reflect.Type // the Go type of one record or result
	// open are paths of objects whose Go type may have properties the
	// schema does not list: the contact, which the contract sends "as the
	// API returns it" and whose schema fixes only the id.
	open []string
	// lacks are properties of the schema a Go type knowingly does not have,
	// each with why. The test also fails when one is no longer lacking, so
	// the list cannot go stale.
	lacks map[string]string
}

const (
	whyError = "the host reads a plugin's error in core/plugins (Decide), not in the kind's result type"
)

func TestContractsMatchGoTypes(t *testing.T) {
	for _, s := range []shape{
		{name: "host score.input", schema: "score.input", typ: reflect.TypeFor[scoring.Record](), open: []string{"contact"}},
		{name: "PDK score.input", schema: "score.input", typ: reflect.TypeFor[pdk.ScoreRecord](), open: []string{"contact"}},
		{name: "host score.output", schema: "score.output", typ: reflect.TypeFor[scoring.Result](), lacks: map[string]string{"error": whyError}},

		{name: "host route.input", schema: "route.input", typ: reflect.TypeFor[routing.Record]()},
		{name: "PDK route.input", schema: "route.input", typ: reflect.TypeFor[pdk.RouteRecord]()},
		{name: "host route.output", schema: "route.output", typ: reflect.TypeFor[routing.Decision](), lacks: map[string]string{"error": whyError}},

		// The host has no campaign types yet: nothing runs campaign plugins.
		{name: "PDK campaign.input", schema: "campaign.input", typ: reflect.TypeFor[pdk.CampaignRecord](), open: []string{"contact"}},
	} {
		t.Run(s.name, func(t *testing.T) {
			c := comparison{open: s.open, lacks: s.lacks, lacked: map[string]bool{}}
			c.compare("", s.typ, recordSchema(t, s.schema))
			for path, why := range s.lacks {
				if !c.lacked[path] {
					t.Errorf("%s: the Go type now has %s (excused: %s): drop the excuse", s.name, path, why)
				}
			}
			for _, p := range c.problems {
				t.Errorf("%s against schemas/plugins/%s.json: %s", s.name, s.schema, p)
			}
		})
	}
}

// The PDK's results carry no json tags: its codec writes their names by
// hand. What it writes, every field set, must be the schema's properties.
func TestPDKResultsMatchContracts(t *testing.T) {
	delay := int64(60)
	for _, tc := range []struct {
		kind plugins.Kind
		out  []byte
	}{
		{plugins.KindScore, pdk.EncodeScore([]pdk.ScoreResult{{Score: 1, Reasons: []string{"r"}, Tags: []string{"t"}}, {Err: "e"}})},
		{plugins.KindRoute, pdk.EncodeRoute([]pdk.RouteResult{{Assignee: "u", Reason: "r"}, {Queue: "q", Reason: "r"}, {Err: "e"}})},
		{plugins.KindCampaign, pdk.EncodeCampaign([]pdk.CampaignResult{{Enrol: true, Variant: "v", Fields: map[string]string{"f": "x"},
			DelaySeconds: &delay}, {Err: "e"}})},
	} {
		var results []map[string]json.RawMessage
		if err := json.Unmarshal(tc.out, &results); err != nil {
			t.Fatalf("%s: %s: %v", tc.kind, tc.out, err)
		}
		written := map[string]bool{}
		for _, r := range results {
			for k := range r {
				written[k] = true
			}
		}
		props := recordSchema(t, string(tc.kind)+".output")["properties"].(map[string]any)
		if diff := cmp.Diff(slices.Sorted(maps.Keys(props)), slices.Sorted(maps.Keys(written))); diff != "" {
			t.Errorf("%s results: the schema's properties (-) and what the PDK writes (+):\n%s", tc.kind, diff)
		}
	}
}

// Every kind has its contracts covered above.
func TestEveryKindsContractIsCompared(t *testing.T) {
	for _, k := range plugins.Kinds {
		for _, dir := range []string{"input", "output"} {
			recordSchema(t, string(k)+"."+dir)
		}
	}
}

// recordSchema reads plugins/<name>.json and returns the schema of one
// item of its batch, with the branches of a oneOf (a result, or an error)
// merged into one object: the Go types hold every branch's properties.
func recordSchema(t *testing.T, name string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("plugins", name+".json"))
	if err != nil {
		t.Fatalf("no contract %s: %v", name, err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if doc["type"] != "array" {
		t.Fatalf("%s is not a batch", name)
	}
	return merged(doc["items"].(map[string]any))
}

func merged(s map[string]any) map[string]any {
	branches, ok := s["oneOf"].([]any)
	if !ok {
		return s
	}
	props := map[string]any{}
	if own, ok := s["properties"].(map[string]any); ok {
		maps.Copy(props, own)
	}
	for _, b := range branches {
		if theirs, ok := merged(b.(map[string]any))["properties"].(map[string]any); ok {
			maps.Copy(props, theirs) // a branch that only says what is required adds none
		}
	}
	return map[string]any{"type": "object", "properties": props}
}

type comparison struct {
	open     []string
	lacks    map[string]string
	lacked   map[string]bool
	problems []string
}

func (c *comparison) fail(path, format string, args ...any) {
	if path == "" {
		path = "the record"
	}
	c.problems = append(c.problems, path+": "+fmt.Sprintf(format, args...))
}

var timeType = reflect.TypeFor[time.Time]()

// compare checks the Go type t against schema s at path.
func (c *comparison) compare(path string, t reflect.Type, s map[string]any) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	want := schemaTypes(s)
	got := jsonType(t)
	if got == "" { // any: the schema decides
		return
	}
	if len(want) > 0 && !slices.Contains(want, got) {
		c.fail(path, "Go %s is JSON %s, the schema says %v", t, got, want)
		return
	}
	switch got {
	case "array":
		if items, ok := s["items"].(map[string]any); ok {
			c.compare(path+"[]", t.Elem(), items)
		}
	case "object":
		props, ok := s["properties"].(map[string]any)
		if !ok || t.Kind() != reflect.Struct {
			return // a free-form object, or a map
		}
		fields := jsonFields(t)
		for _, name := range slices.Sorted(maps.Keys(props)) {
			at := join(path, name)
			f, ok := fields[name]
			if !ok {
				if _, excused := c.lacks[at]; excused {
					c.lacked[at] = true
				} else {
					c.fail(at, "in the schema, not in Go %s", t)
				}
				continue
			}
			c.compare(at, f, props[name].(map[string]any))
		}
		if slices.Contains(c.open, path) {
			return
		}
		for _, name := range slices.Sorted(maps.Keys(fields)) {
			if _, ok := props[name]; !ok {
				c.fail(join(path, name), "in Go %s, not in the schema", t)
			}
		}
	}
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// schemaTypes is the JSON types a schema allows, less null (a Go pointer
// or zero value stands for it); an enum of strings is a string.
func schemaTypes(s map[string]any) []string {
	var out []string
	switch v := s["type"].(type) {
	case string:
		out = []string{v}
	case []any:
		for _, x := range v {
			if x != "null" {
				out = append(out, x.(string))
			}
		}
	}
	if len(out) == 0 {
		if enum, ok := s["enum"].([]any); ok && len(enum) > 0 {
			if _, ok := enum[0].(string); ok {
				out = []string{"string"}
			}
		}
	}
	return out
}

// jsonType is how encoding/json writes a value of t: "" for any.
func jsonType(t reflect.Type) string {
	if t == timeType {
		return "string"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Struct, reflect.Map:
		return "object"
	}
	return ""
}

// jsonFields maps the JSON names of t's fields, embedded structs' included,
// to their types, as encoding/json names them.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			maps.Copy(out, jsonFields(f.Type))
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}
