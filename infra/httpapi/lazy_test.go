package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A group's paths must all be under its prefixes, or a request for one of
// them would find it unregistered.
func TestRouteGroupsCoverTheirPaths(t *testing.T) {
	s := New(Config{})
	seen := map[string]bool{}
	for i, g := range s.groups {
		for _, p := range g.prefixes {
			if strings.ContainsAny(p, "{}") || !strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") {
				t.Errorf("group %d: prefix %q is not literal whole segments", i, p)
			}
		}
		api := s.withAPI(http.NewServeMux(), false, g)
		if len(api.OpenAPI().Paths) == 0 {
			t.Errorf("group %d (%v) registers nothing", i, g.prefixes)
		}
		for path := range api.OpenAPI().Paths {
			seen[path] = true
			if !g.serves(path) {
				t.Errorf("group %d: path %s is under none of its prefixes %v", i, path, g.prefixes)
			}
		}
	}
	for path := range s.OpenAPI().Paths {
		if !seen[path] {
			t.Errorf("the document's path %s is in no group", path)
		}
	}
}

type answer struct {
	Status                       int
	Allow, Location, ContentType string
	Body                         string
}

func serve(h http.Handler, method, target string) answer {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	body := rec.Body.String()
	if i := strings.Index(body, `"request_id"`); i >= 0 { // differs per request
		body = body[:i]
	}
	return answer{rec.Code, rec.Header().Get("Allow"), rec.Header().Get("Location"), rec.Header().Get("Content-Type"), body}
}

// A server that has registered nothing yet answers every first request
// exactly as one that has registered everything.
func TestLazyRoutesAnswerAsEager(t *testing.T) {
	eager := New(Config{})
	for _, g := range eager.groups {
		g.once.Do(func() { eager.withAPI(eager.mux, false, g) })
	}
	for _, tc := range []struct{ method, target string }{
		{"GET", "/healthz"},
		{"HEAD", "/healthz"},
		{"POST", "/healthz"},
		{"GET", "/v1/contacts"},
		{"PUT", "/v1/contacts"},
		{"GET", "/v1/contacts/01ARZ3NDEKTSV4RRFFQ69G5FAV"},
		{"GET", "/v1/contacts/01ARZ3NDEKTSV4RRFFQ69G5FAV/score"},
		{"GET", "/v1/contacts/01ARZ3NDEKTSV4RRFFQ69G5FAV/timeline"},
		{"GET", "/v1/contacts/"},
		{"GET", "/v1//contacts"},
		{"GET", "/v1/%63ontacts"},
		{"GET", "/v1/contacts%2Fx"},
		{"GET", "/v1/users/u1/overdue-tasks"},
		{"DELETE", "/v1/reports/forecast"},
		{"GET", "/v1/plugins"},
		{"GET", "/v1/nothing"},
		{"GET", "/"},
		{"GET", "/openapi.json"},
		{"GET", "/openapi.yaml"},
		{"GET", "/docs"},
		{"GET", "/docs/"},
		{"GET", "/schemas/ContactFields.json"},
		{"GET", "/schemas/../v1/contacts"},
	} {
		t.Run(tc.method+" "+tc.target, func(t *testing.T) {
			want := serve(eager, tc.method, tc.target)
			t.Logf("eager: %d %s", want.Status, want.Allow)
			if got := serve(New(Config{}), tc.method, tc.target); got != want {
				t.Errorf("lazy server answered otherwise (-eager +lazy):\n%s", cmp.Diff(want, got))
			}
		})
	}
}

// First requests to every group, and to the docs, at once: run with -race.
func TestLazyRoutesRegisterConcurrently(t *testing.T) {
	s := New(Config{})
	targets := []string{"/healthz", "/v1/contacts", "/v1/companies", "/v1/users", "/v1/activities", "/v1/deals",
		"/v1/reports/forecast", "/v1/tenant", "/v1/events", "/v1/plugins", "/v1/nothing"}
	var wg sync.WaitGroup
	// Once only: huma marshals the document on its first request without a
	// lock, so concurrent first requests for it race inside huma, lazy or not.
	wg.Go(func() { serve(s, "GET", "/openapi.json") })
	for range 3 {
		for _, target := range targets {
			wg.Go(func() { serve(s, "GET", target) })
		}
	}
	wg.Wait()
	for _, target := range targets {
		if got := serve(s, "GET", target); got.Status == http.StatusNotFound && target != "/v1/nothing" {
			t.Errorf("GET %s: 404 after concurrent registration", target)
		}
	}
}
