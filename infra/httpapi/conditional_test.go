package httpapi_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core"
)

// If-Match compares strongly and takes a list or "*", on every versioned
// write; each step of a case runs on the record the steps before left.
func TestIfMatch(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		var c core.Contact
		e.a.do("POST", "/v1/contacts", map[string]any{"first_name": "Ifmatch"}).want(t, 201, &c) // version 1
		path := "/v1/contacts/" + c.ID
		for _, step := range []struct {
			name, ifMatch string
			status        int
			etag          string // after the step
		}{
			{"weak tag of the current version", `W/"1"`, 412, ""},
			{"unquoted version", `1`, 412, ""},
			{"current version", `"1"`, 200, `"2"`},
			{"stale version", `"1"`, 412, ""},
			{"list holding the current version", `"1", "2"`, 200, `"3"`},
			{"list holding it last, weak first", `W/"3", "7", "3"`, 200, `"4"`},
			{"list of other versions", `"1", "2", "3"`, 412, ""},
			{"list whose only match is weak", `"1", W/"4"`, 412, ""},
			{"any", `*`, 200, `"5"`},
		} {
			res := e.a.do("PATCH", path, `{"last_name":"`+step.name+`"}`, "Content-Type", "application/merge-patch+json", "If-Match", step.ifMatch)
			if res.Status != step.status {
				t.Fatalf("%s: If-Match %s answered %d, want %d: %s", step.name, step.ifMatch, res.Status, step.status, res.Body)
			}
			if step.status == 412 {
				res.problem(t)
			} else if got := res.Header.Get("ETag"); got != step.etag {
				t.Fatalf("%s: ETag %s, want %s", step.name, got, step.etag)
			}
		}
		e.a.do("DELETE", path, nil, "If-Match", `W/"5"`).want(t, 412, nil).problem(t)
		e.a.do("DELETE", path, nil, "If-Match", `"4", "5"`).want(t, 204, nil)
		e.a.do("PATCH", path, `{}`, "If-Match", `"4", "5"`).want(t, 404, nil).problem(t)

		// "*" on a PUT that would create matches nothing: it is a 412.
		e.a.do("PUT", "/v1/contacts-by-email/nobody@example.com", map[string]any{"first_name": "N"}, "If-Match", "*").want(t, 412, nil).problem(t)
		e.a.do("PUT", "/v1/contacts-by-email/nobody@example.com", map[string]any{"first_name": "N"}).want(t, 201, nil)
		e.a.do("PUT", "/v1/contacts-by-email/nobody@example.com", map[string]any{"first_name": "M"}, "If-Match", "*").want(t, 200, nil)
	})
}

// The tenant's document (its settings and custom fields) and pipelines
// send their ETag, and the tenant's writes honour If-Match.
func TestVersionedRecordsSendETags(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		var tenant core.Tenant
		res := e.a.do("GET", "/v1/tenant", nil).want(t, 200, &tenant)
		cur := res.Header.Get("ETag")
		if want := `"` + strconv.FormatInt(tenant.Version, 10) + `"`; cur != want {
			t.Fatalf("tenant ETag %q, want %q", cur, want)
		}
		stale := `"` + strconv.FormatInt(tenant.Version+7, 10) + `"`
		writes := []struct {
			method, path string
			body         any
		}{
			{"PATCH", "/v1/tenant", map[string]any{"plugin_failure_limit": 4}},
			{"PUT", "/v1/custom-fields/contact/plan", map[string]any{"label": "Plan", "type": "text"}},
			{"DELETE", "/v1/custom-fields/contact/plan", nil},
		}
		for _, w := range writes {
			e.a.do(w.method, w.path, w.body, "If-Match", stale).want(t, 412, nil).problem(t)
			e.a.do(w.method, w.path, w.body, "If-Match", `W/`+cur).want(t, 412, nil).problem(t)
			next := e.a.do(w.method, w.path, w.body, "If-Match", stale+", "+cur).want(t, 200, nil).Header.Get("ETag")
			if next == cur || next == "" {
				t.Fatalf("%s %s: ETag %q after a change from %q", w.method, w.path, next, cur)
			}
			cur = next
		}

		var p core.Pipeline
		created := e.a.do("POST", "/v1/pipelines", salesPipeline).want(t, 201, &p)
		got := e.a.do("GET", "/v1/pipelines/"+p.ID, nil).want(t, 200, nil)
		if diff := cmp.Diff([]string{`"1"`, `"1"`}, []string{created.Header.Get("ETag"), got.Header.Get("ETag")}); diff != "" {
			t.Errorf("pipeline ETags (-want +got):\n%s", diff)
		}
	})
}

// A GET whose If-None-Match names the answer's ETag (weakly) is a 304
// without a body, for every resource that sends one.
func TestIfNoneMatch(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		var c core.Contact
		e.a.do("POST", "/v1/contacts", map[string]any{"first_name": "Cached"}).want(t, 201, &c)
		var p core.Pipeline
		e.a.do("POST", "/v1/pipelines", salesPipeline).want(t, 201, &p)
		for _, path := range []string{"/v1/contacts/" + c.ID, "/v1/pipelines/" + p.ID, "/v1/tenant"} {
			tag := e.a.do("GET", path, nil).want(t, 200, nil).Header.Get("ETag")
			for _, tc := range []struct {
				ifNoneMatch string
				status      int
			}{
				{tag, 304},
				{"W/" + tag, 304},
				{`"999", ` + tag, 304},
				{"*", 304},
				{`"999"`, 200},
			} {
				res := e.a.do("GET", path, nil, "If-None-Match", tc.ifNoneMatch)
				if res.Status != tc.status {
					t.Fatalf("GET %s If-None-Match %s: %d, want %d", path, tc.ifNoneMatch, res.Status, tc.status)
				}
				if tc.status == 304 && (len(res.Body) != 0 || res.Header.Get("ETag") != tag) {
					t.Errorf("GET %s: 304 with body %q and ETag %q", path, res.Body, res.Header.Get("ETag"))
				}
			}
		}
		// Another tenant's record is not found, whatever it names.
		e.b.do("GET", "/v1/contacts/"+c.ID, nil, "If-None-Match", "*").want(t, 404, nil).problem(t)
	})
}

// A body of a type the operation does not declare is a 415, before the
// handler reads it as JSON.
func TestUnsupportedMediaType(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		var c core.Contact
		e.a.do("POST", "/v1/contacts", map[string]any{"first_name": "Typed"}).want(t, 201, &c)
		for _, tc := range []struct {
			method, path, contentType, body string
			status                          int
			acceptPatch                     string
		}{
			{"POST", "/v1/contacts", "text/plain", `{"first_name":"A"}`, 415, ""},
			{"POST", "/v1/contacts", "application/x-www-form-urlencoded", `{"first_name":"A"}`, 415, ""},
			{"POST", "/v1/contacts", "", `{"first_name":"A"}`, 415, ""},
			{"POST", "/v1/contacts", "application/merge-patch+json", `{"first_name":"A"}`, 415, ""},
			{"POST", "/v1/contacts", "Application/JSON; charset=utf-8", `{"first_name":"A"}`, 201, ""},
			{"PATCH", "/v1/contacts/" + c.ID, "text/plain", `{"first_name":"B"}`, 415, "application/json, application/merge-patch+json"},
			{"PATCH", "/v1/contacts/" + c.ID, "application/merge-patch+json", `{"first_name":"B"}`, 200, ""},
			{"PATCH", "/v1/tenant", "text/plain", `{"plugin_failure_limit":3}`, 415, "application/json"},
			{"PUT", "/v1/contacts-by-email/typed@example.com", "text/csv", `{"first_name":"C"}`, 415, ""},
			{"POST", "/v1/plugins/p/versions?kind=score", "application/json", `{}`, 415, ""},
		} {
			res := e.a.do(tc.method, tc.path, tc.body, "Content-Type", tc.contentType)
			if res.Status != tc.status {
				t.Fatalf("%s %s as %q: %d, want %d: %s", tc.method, tc.path, tc.contentType, res.Status, tc.status, res.Body)
			}
			if tc.status == 415 {
				if p := res.problem(t); !strings.Contains(p.Type, "unsupported_media_type") {
					t.Errorf("%s %s: problem type %s", tc.method, tc.path, p.Type)
				}
				if got := res.Header.Get("Accept-Patch"); got != tc.acceptPatch {
					t.Errorf("%s %s: Accept-Patch %q, want %q", tc.method, tc.path, got, tc.acceptPatch)
				}
			}
		}
	})
}

// The router's own answers are problem+json like every other error.
func TestRouterErrorsAreProblems(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		for _, tc := range []struct {
			method, path string
			status       int
			allow        string
		}{
			{"GET", "/v1/nothing", 404, ""},
			{"GET", "/", 404, ""},
			{"GET", "/v1/contacts/" + core.NewID(e.now()) + "/nothing", 404, ""},
			{"PUT", "/v1/contacts", 405, "GET, HEAD, POST"},
			{"DELETE", "/v1/reports/forecast", 405, "GET, HEAD"},
		} {
			res := e.a.do(tc.method, tc.path, nil)
			if res.Status != tc.status {
				t.Fatalf("%s %s: %d, want %d", tc.method, tc.path, res.Status, tc.status)
			}
			res.problem(t)
			if got := res.Header.Get("Allow"); got != tc.allow {
				t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, got, tc.allow)
			}
		}
		if res := e.a.do("HEAD", "/v1/nothing", nil); res.Status != http.StatusNotFound || len(res.Body) != 0 {
			t.Errorf("HEAD of nothing: %d with %d bytes", res.Status, len(res.Body))
		}
	})
}

// A plugin version's ETag changes with its status, which activation
// changes without touching the version, and its DELETE honours If-Match.
func TestPluginVersionETags(t *testing.T) {
	for name := range engines {
		t.Run(name, func(t *testing.T) {
			e := newPluginEnv(t, name)
			lead := module(t, "plugins", "leadscore.wasm")
			if got := upload(e.a, "leads", "score", lead, "").want(t, 201, nil).Header.Get("ETag"); got != `"1-ready"` {
				t.Fatalf("uploaded version's ETag %q", got)
			}
			upload(e.a, "leads", "score", lead, "").want(t, 201, nil)
			e.a.do("GET", "/v1/plugins/leads/versions/1", nil, "If-None-Match", `"1-ready"`).want(t, 304, nil)
			e.a.do("POST", "/v1/plugins/leads/versions/1/activate", nil).want(t, 200, nil)
			active := e.a.do("GET", "/v1/plugins/leads/versions/1", nil, "If-None-Match", `"1-ready"`).want(t, 200, nil).Header.Get("ETag")
			if !strings.HasSuffix(active, `-active"`) {
				t.Fatalf("active version's ETag %q", active)
			}
			e.a.do("GET", "/v1/plugins/leads/versions/1", nil, "If-None-Match", active).want(t, 304, nil)
			for _, stale := range []string{active, `W/"1-ready"`, `"2-ready"`} {
				e.a.do("DELETE", "/v1/plugins/leads/versions/2", nil, "If-Match", stale).want(t, 412, nil).problem(t)
			}
			e.a.do("DELETE", "/v1/plugins/leads/versions/2", nil, "If-Match", active+`, "1-ready"`).want(t, 204, nil)
		})
	}
}
