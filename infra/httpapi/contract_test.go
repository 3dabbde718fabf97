package httpapi_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"mime"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The API tested from its own contract: every operation of /openapi.json
// is called with requests generated from its schemas — valid ones, broken
// ones, and ones naming another tenant's records — and every answer must be
// below 500, a status the operation declares, valid against the schema the
// document declares for it, and, for a 4xx, problem+json. The normal suite
// runs a bounded number of cases; -contract.cases runs more, and
// -contract.seed others.
var (
	contractCases = flag.Int("contract.cases", 3, "requests generated per operation and kind in TestContract")
	contractSeed  = flag.Uint64("contract.seed", 1, "seed of TestContract's generator")
)

func TestContract(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		c := newContract(t, e)
		for _, op := range c.ops {
			t.Run(op.method+" "+op.path, func(t *testing.T) {
				for i := range *contractCases {
					for _, kind := range []caseKind{valid, foreign, broken} {
						c.check(t, op, kind, i)
					}
					if t.Failed() {
						return // one operation's first failures say enough
					}
				}
			})
		}
	})
}

type caseKind string

const (
	valid   caseKind = "valid"   // generated from the schemas, naming the caller's records
	foreign caseKind = "foreign" // naming the other tenant's records
	broken  caseKind = "broken"  // one part made wrong
)

type contractOp struct {
	method, path string
	op           map[string]any
}

type contract struct {
	t     *testing.T
	e     *env
	doc   map[string]any
	ops   []contractOp
	rnd   *rand.Rand
	comp  *jsonschema.Compiler
	cache map[string]*jsonschema.Schema
	// ids of each tenant's records, by the path segment that names them
	own, other map[string][]string
}

const docURL = "https://fedele.test/openapi.json"

func newContract(t *testing.T, e *env) *contract {
	res := e.a.do("GET", "/openapi.json", nil).want(t, 200, nil)
	var doc map[string]any
	if err := json.Unmarshal(res.Body, &doc); err != nil {
		t.Fatal(err)
	}
	raw, err := jsonschema.UnmarshalJSON(bytes.NewReader(res.Body))
	if err != nil {
		t.Fatal(err)
	}
	comp := jsonschema.NewCompiler()
	comp.DefaultDraft(jsonschema.Draft2020)
	if err := comp.AddResource(docURL, raw); err != nil {
		t.Fatal(err)
	}
	c := &contract{t: t, e: e, doc: doc, comp: comp, cache: map[string]*jsonschema.Schema{},
		rnd: rand.New(rand.NewPCG(*contractSeed, 42))}
	for path, item := range doc["paths"].(map[string]any) {
		for method, op := range item.(map[string]any) {
			if m := strings.ToUpper(method); slices.Contains([]string{"GET", "POST", "PUT", "PATCH", "DELETE"}, m) {
				c.ops = append(c.ops, contractOp{m, path, op.(map[string]any)})
			}
		}
	}
	// Deletes last, so that the other operations meet records.
	slices.SortFunc(c.ops, func(a, b contractOp) int {
		if (a.method == "DELETE") != (b.method == "DELETE") {
			if a.method == "DELETE" {
				return 1
			}
			return -1
		}
		return strings.Compare(a.path+a.method, b.path+b.method)
	})
	c.own, c.other = seed(t, e.a), seed(t, e.b)
	return c
}

// seed gives a tenant one record of each kind, and returns their ids.
func seed(t *testing.T, a *client) map[string][]string {
	ids := map[string][]string{}
	create := func(segment, path string, body any) string {
		var rec struct{ ID string }
		a.do("POST", path, body).want(t, 201, &rec)
		ids[segment] = append(ids[segment], rec.ID)
		return rec.ID
	}
	company := create("companies", "/v1/companies", map[string]any{"name": "Initech"})
	contact := create("contacts", "/v1/contacts", map[string]any{"first_name": "Ada", "company_id": company,
		"emails": []map[string]any{{"address": "ada@example.com"}}})
	user := create("users", "/v1/users", map[string]any{"name": "Rep", "email": "rep@example.com"})
	pipeline := create("pipelines", "/v1/pipelines", salesPipeline)
	create("deals", "/v1/deals", map[string]any{"name": "D", "pipeline_id": pipeline, "stage": "lead", "amount_minor": 100,
		"currency": "EUR", "contact_id": contact, "owner_id": user})
	create("activities", "/v1/activities", map[string]any{"type": "call", "contact_id": contact})
	return ids
}

// check sends one generated request and holds its answer to the contract.
func (c *contract) check(t *testing.T, op contractOp, kind caseKind, i int) {
	t.Helper()
	path, query, headers := c.params(op, kind)
	var body any
	if rb, ok := op.op["requestBody"].(map[string]any); ok {
		contentType, schema := c.pickContent(rb)
		if contentType != "" {
			headers = append(headers, "Content-Type", contentType)
			if strings.Contains(contentType, "json") {
				v := c.generate(schema, 0)
				if kind == broken && c.rnd.IntN(2) == 0 {
					v = c.breakValue(v)
				}
				b, _ := json.Marshal(v)
				body = b
			} else {
				body = []byte("not a module")
			}
		}
	}
	target := path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	res := c.e.a.do(op.method, target, body, headers...)
	what := fmt.Sprintf("case %d (%s) %s %s body %s", i, kind, op.method, target, truncate(body))
	responses, _ := op.op["responses"].(map[string]any)
	// 503 is an answer, not a failure, where it is declared: the store is
	// busy, or this host runs no plugins.
	if _, declared503 := responses["503"]; res.Status >= 500 && (res.Status != 503 || !declared503) {
		t.Errorf("%s: answered %d: %s", what, res.Status, res.Body)
		return
	}
	declared, ok := responses[strconv.Itoa(res.Status)].(map[string]any)
	if !ok {
		declared, ok = responses["default"].(map[string]any)
	}
	if !ok {
		t.Errorf("%s: answered %d, which the operation does not declare (%v): %s", what, res.Status, keys(responses), res.Body)
		return
	}
	mediaType, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
	if res.Status >= 400 && res.Status < 500 {
		var p struct {
			Type   string `json:"type"`
			Title  string `json:"title"`
			Status int    `json:"status"`
		}
		if mediaType != "application/problem+json" || json.Unmarshal(res.Body, &p) != nil || p.Status != res.Status || p.Type == "" || p.Title == "" {
			t.Errorf("%s: a %d that is not problem+json with its type, title and status (%s): %s", what, res.Status, mediaType, res.Body)
			return
		}
	}
	content, _ := declared["content"].(map[string]any)
	if len(content) == 0 || res.Status == 204 || res.Status == 304 {
		return
	}
	mt, ok := content[mediaType].(map[string]any)
	if !ok {
		t.Errorf("%s: answered %d as %q, declared as %v", what, res.Status, mediaType, keys(content))
		return
	}
	schemaPtr := "/paths/" + escapePointer(op.path) + "/" + strings.ToLower(op.method) + "/responses/" +
		escapePointer(statusKey(responses, res.Status)) + "/content/" + escapePointer(mediaType) + "/schema"
	if _, ok := mt["schema"]; !ok {
		return
	}
	sch := c.schema(t, schemaPtr)
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(res.Body))
	if err != nil {
		t.Errorf("%s: answered %d with a body that is not JSON: %s", what, res.Status, truncate(res.Body))
		return
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("%s: answered %d with a body its schema refuses: %v\n%s", what, res.Status, err, truncate(res.Body))
	}
}

func statusKey(responses map[string]any, status int) string {
	if _, ok := responses[strconv.Itoa(status)]; ok {
		return strconv.Itoa(status)
	}
	return "default"
}

func (c *contract) schema(t *testing.T, ptr string) *jsonschema.Schema {
	if s, ok := c.cache[ptr]; ok {
		return s
	}
	s, err := c.comp.Compile(docURL + "#" + ptr)
	if err != nil {
		t.Fatalf("compile %s: %v", ptr, err)
	}
	c.cache[ptr] = s
	return s
}

// params fills the operation's path, query and header parameters.
func (c *contract) params(op contractOp, kind caseKind) (string, url.Values, []string) {
	path := op.path
	query := url.Values{}
	var headers []string
	params, _ := op.op["parameters"].([]any)
	brokenAt := -1
	if kind == broken && len(params) > 0 {
		brokenAt = c.rnd.IntN(len(params))
	}
	for i, p := range params {
		p := p.(map[string]any)
		name, in := p["name"].(string), p["in"].(string)
		schema, _ := p["schema"].(map[string]any)
		var v string
		switch {
		case in == "header":
			v = c.headerValue(name, i == brokenAt)
		case i == brokenAt && in == "path":
			// Never empty: an empty segment is another URL, not this
			// operation with a bad value.
			v = c.pick("\x00", "ÿ", strings.Repeat("9", 400), "-1", "1e400", "not-an-id")
		case i == brokenAt:
			v = c.pick("", "\x00", "ÿ", strings.Repeat("9", 400), "-1", "1e400", "W/\"1\"", "not-an-id")
		case in == "path":
			v = c.pathValue(op.path, name, schema, kind)
		default:
			if required, _ := p["required"].(bool); !required && c.rnd.IntN(2) == 0 {
				continue
			}
			v = fmt.Sprint(c.generate(schema, 0))
		}
		switch in {
		case "path":
			path = strings.ReplaceAll(path, "{"+name+"}", url.PathEscape(v))
		case "query":
			query.Set(name, v)
		case "header":
			if name != "Idempotency-Key" || v != "" {
				headers = append(headers, name, v)
			}
		}
	}
	if kind == broken && c.rnd.IntN(3) == 0 {
		query.Set("unknown_parameter", "x")
	}
	return path, query, headers
}

// headerValue is a value of a header parameter that an HTTP client can
// send: a version precondition (strong, weak, a list, any), or a key.
func (c *contract) headerValue(name string, broken bool) string {
	switch {
	case name == "If-Match" || name == "If-None-Match":
		if broken {
			return c.pick(`W/"1"`, `1`, `"x"`, `"99999999999999999999999"`)
		}
		return c.pick(`"1"`, `"2"`, `"1", "2"`, `*`)
	case broken:
		return c.pick("", strings.Repeat("k", 300), "ü")
	}
	return fmt.Sprintf("key-%d", c.rnd.Int64())
}

// pathValue names a record of the caller's (or, for foreign, the other
// tenant's) when the path's resource is one the seed made.
func (c *contract) pathValue(path, name string, schema map[string]any, kind caseKind) string {
	segments := strings.Split(strings.Trim(path, "/"), "/")
	for i, s := range segments {
		if s == "{"+name+"}" && i > 0 && name == "id" {
			pool := c.own[segments[i-1]]
			if kind == foreign {
				pool = c.other[segments[i-1]]
			}
			if len(pool) > 0 {
				return pool[c.rnd.IntN(len(pool))]
			}
		}
	}
	return fmt.Sprint(c.generate(schema, 0))
}

func (c *contract) pickContent(rb map[string]any) (string, map[string]any) {
	content, _ := rb["content"].(map[string]any)
	types := keys(content)
	if len(types) == 0 {
		return "", nil
	}
	ct := types[c.rnd.IntN(len(types))]
	mt, _ := content[ct].(map[string]any)
	schema, _ := mt["schema"].(map[string]any)
	return ct, schema
}

// generate makes a value that its schema accepts, as far as a simple
// generator can: references, types, enums, bounds, required members.
func (c *contract) generate(schema map[string]any, depth int) any {
	schema = c.resolve(schema)
	if schema == nil || depth > 6 {
		return nil
	}
	if enum, ok := schema["enum"].([]any); ok && len(enum) > 0 {
		return enum[c.rnd.IntN(len(enum))]
	}
	if def, ok := schema["default"]; ok && c.rnd.IntN(3) == 0 {
		return def
	}
	typ := schema["type"]
	if list, ok := typ.([]any); ok {
		for _, t := range list {
			if t != "null" {
				typ = t
				break
			}
		}
	}
	switch typ {
	case "object":
		out := map[string]any{}
		props, _ := schema["properties"].(map[string]any)
		required, _ := schema["required"].([]any)
		for _, name := range keys(props) {
			if name == "$schema" {
				continue
			}
			if slices.Contains(required, any(name)) || c.rnd.IntN(3) == 0 {
				out[name] = c.generate(props[name].(map[string]any), depth+1)
			}
		}
		return out
	case "array":
		items, _ := schema["items"].(map[string]any)
		n := c.rnd.IntN(3)
		if min, ok := schema["minItems"].(float64); ok && n < int(min) {
			n = int(min)
		}
		out := []any{}
		for range n {
			out = append(out, c.generate(items, depth+1))
		}
		return out
	case "integer", "number":
		lo, hi := 0.0, 1000.0
		if v, ok := schema["minimum"].(float64); ok {
			lo = v
		}
		if v, ok := schema["maximum"].(float64); ok {
			hi = v
		}
		return int64(lo) + c.rnd.Int64N(int64(min(hi-lo, 1000))+1)
	case "boolean":
		return c.rnd.IntN(2) == 0
	case "string":
		return c.stringFor(schema)
	}
	return nil
}

// stringFor picks a string its schema's format and pattern accept.
func (c *contract) stringFor(schema map[string]any) string {
	switch schema["format"] {
	case "date-time":
		return "2026-12-01T10:00:00Z"
	case "date":
		return "2026-12-15"
	case "email":
		return "someone@example.com"
	case "uri":
		return "https://example.com/x"
	}
	candidates := []string{"x", "acme", "EUR", "lead", "ada@example.com", "+14155552671", "2026-12-15", "vip", "01KJMMA2G0A1NC17ZRTSA0W44Z", "a_b-1"}
	if p, ok := schema["pattern"].(string); ok {
		if re, err := regexp.Compile(p); err == nil {
			for _, s := range candidates {
				if re.MatchString(s) {
					return s
				}
			}
		}
	}
	s := candidates[c.rnd.IntN(len(candidates))]
	if max, ok := schema["maxLength"].(float64); ok && len(s) > int(max) {
		s = s[:int(max)]
	}
	if min, ok := schema["minLength"].(float64); ok && len(s) < int(min) {
		s += strings.Repeat("x", int(min)-len(s))
	}
	return s
}

// breakValue makes one thing about a body wrong.
func (c *contract) breakValue(v any) any {
	obj, ok := v.(map[string]any)
	if !ok || len(obj) == 0 {
		return c.pick("", "[]", "null")
	}
	name := keys(obj)[c.rnd.IntN(len(obj))]
	switch c.rnd.IntN(4) {
	case 0:
		obj[name] = json.RawMessage(`1e400`)
	case 1:
		obj[name] = map[string]any{"nested": []any{1, "two"}}
	case 2:
		obj["not_a_field_"+name] = true
	default:
		obj[name] = strings.Repeat("é", 5000)
	}
	return obj
}

func (c *contract) resolve(schema map[string]any) map[string]any {
	for range 10 {
		ref, ok := schema["$ref"].(string)
		if !ok {
			return schema
		}
		node := any(c.doc)
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			m, _ := node.(map[string]any)
			node = m[strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")]
		}
		schema, _ = node.(map[string]any)
	}
	return schema
}

func (c *contract) pick(options ...string) string { return options[c.rnd.IntN(len(options))] }

func escapePointer(s string) string {
	return url.PathEscape(strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1"))
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func truncate(b any) string {
	var s string
	switch v := b.(type) {
	case []byte:
		s = string(v)
	case nil:
		return "-"
	default:
		s = fmt.Sprint(v)
	}
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}
