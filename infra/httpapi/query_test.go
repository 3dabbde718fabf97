package httpapi_test

import (
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fedele-crm/fedele/infra/httpapi"
)

// documentedOperation is one operation of the OpenAPI document, with its
// path filled in with values its parameters accept.
type documentedOperation struct {
	method, path string
	query        []string // the query parameters it declares
}

// pathValues are what each path parameter of the document is given: valid
// in form, so that no operation is refused for its path before its query.
var pathValues = map[string]string{
	"id": "01HZZZZZZZZZZZZZZZZZZZZZZZ", "email": "nobody@example.com", "entity": "contact",
	"key": "tier", "name": "myscore", "version": "1",
	"sku": "RB-3025", "external_id": "shop-1001",
	"address": "nobody@example.com", "token": "not-a-token", // messaging
	"number": "1", // journeys
}

// documentedOperations lists every operation the API documents, so that a
// new one is covered by the tests that walk them without being named.
func documentedOperations(t *testing.T) []documentedOperation {
	t.Helper()
	var out []documentedOperation
	for path, item := range httpapi.New(httpapi.Config{}).OpenAPI().Paths {
		for method, op := range map[string]*huma.Operation{
			http.MethodGet: item.Get, http.MethodPost: item.Post, http.MethodPut: item.Put,
			http.MethodPatch: item.Patch, http.MethodDelete: item.Delete,
		} {
			if op == nil {
				continue
			}
			if op.Responses["422"] == nil {
				t.Errorf("%s %s does not declare the 422 it answers to an unknown query parameter", method, path)
			}
			o := documentedOperation{method: method, path: path}
			for _, p := range op.Parameters {
				switch p.In {
				case "query":
					o.query = append(o.query, p.Name)
				case "path":
					v, ok := pathValues[p.Name]
					if !ok {
						t.Fatalf("%s %s: no value for path parameter %q: add one to pathValues", method, path, p.Name)
					}
					o.path = strings.ReplaceAll(o.path, "{"+p.Name+"}", url.PathEscape(v))
				}
			}
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path+out[i].method < out[j].path+out[j].method })
	if len(out) < 50 {
		t.Fatalf("the document lists %d operations: is it empty?", len(out))
	}
	return out
}

// A query parameter an operation does not declare is a 422 naming it, on
// every operation: a misspelt filter must never answer the unfiltered list.
func TestUnknownQueryParametersAreRefused(t *testing.T) {
	ops := documentedOperations(t)
	forEachEngine(t, func(t *testing.T, e *env) {
		type request struct {
			method, target string
			unknown        []string // the parameters the answer must name
		}
		// The ones integrators hit: typos and filters that do not exist.
		cases := []request{
			{"GET", "/v1/contacts?emial=ada@example.com", []string{"emial"}},
			{"GET", "/v1/contacts?name=Ada", []string{"name"}},
			{"GET", "/v1/contacts?limit=10&name=Ada&emial=x", []string{"emial", "name"}},
			{"GET", "/v1/companies?name=Acme", []string{"name"}},
			{"GET", "/v1/deals?contact=01HZZZZZZZZZZZZZZZZZZZZZZZ", []string{"contact"}},
			{"GET", "/v1/deals?pipeline=x&status=open", []string{"pipeline"}},
			{"GET", "/v1/reports/forecast?since=2026-01-01", []string{"since"}},
			{"GET", "/v1/reports/forecast?from=2026-01-01&until=2026-12-31", []string{"until"}},
			{"GET", "/v1/events?cursor=x", []string{"cursor"}},
		}
		// Every operation, bodies or not.
		for _, o := range ops {
			cases = append(cases, request{o.method, o.path + "?emial=x", []string{"emial"}})
		}
		for _, c := range cases {
			t.Run(c.method+" "+c.target, func(t *testing.T) {
				res := e.a.do(c.method, c.target, nil)
				if res.Status != http.StatusUnprocessableEntity {
					t.Fatalf("status %d, want 422; body: %s", res.Status, res.Body)
				}
				p := res.problem(t)
				var named []string
				for _, fe := range p.Errors {
					if fe.Message != "unknown query parameter" {
						t.Errorf("error %+v, want only unknown query parameters", fe)
					}
					named = append(named, fe.Location)
				}
				var want []string
				for _, u := range c.unknown {
					want = append(want, "query."+u)
				}
				slices.Sort(named)
				if !slices.Equal(named, want) {
					t.Errorf("named %v, want %v", named, want)
				}
			})
		}
	})
}

// Every parameter an operation declares is accepted as known: the refusal
// of unknown ones must not refuse a documented one.
func TestDeclaredQueryParametersAreKnown(t *testing.T) {
	ops := documentedOperations(t)
	e := newEnv(t, engines["embedded"](t))
	for _, o := range ops {
		if o.method != http.MethodGet || len(o.query) == 0 {
			continue // only reads: a POST with its parameters would run
		}
		q := url.Values{}
		for _, name := range o.query {
			q.Set(name, "x")
		}
		t.Run(o.path, func(t *testing.T) {
			res := e.a.do(o.method, o.path+"?"+q.Encode(), nil)
			if res.Status == http.StatusUnprocessableEntity {
				for _, fe := range res.problem(t).Errors {
					if fe.Message == "unknown query parameter" {
						t.Errorf("%s is declared, yet refused as unknown", fe.Location)
					}
				}
			}
		})
	}
}
