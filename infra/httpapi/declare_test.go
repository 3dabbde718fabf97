package httpapi

import (
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core"
)

// What the linters in .ci/run check, held here too so that an operation
// added anywhere fails in go test, without npm: its tag is a declared one,
// it has a description and security, a 4XX, only scopes the JWT scheme
// lists, every error with the problem schema; and no two paths can match
// one URL.
func TestOperationsAreDeclared(t *testing.T) {
	oapi := New(Config{}).OpenAPI()
	if diff := cmp.Diff(slices.Sorted(slices.Values(stringsOf(core.Scopes))), slices.Sorted(maps.Keys(scopeDocs))); diff != "" {
		t.Errorf("scopeDocs are not core.Scopes (-want +got):\n%s", diff)
	}
	tags := map[string]bool{}
	for _, tag := range oapi.Tags {
		tags[tag.Name] = tag.Description != ""
	}
	for path, item := range oapi.Paths {
		for method, op := range map[string]*huma.Operation{"GET": item.Get, "POST": item.Post, "PUT": item.Put, "PATCH": item.Patch, "DELETE": item.Delete} {
			if op == nil {
				continue
			}
			where := method + " " + path
			for _, tag := range op.Tags {
				if !tags[tag] {
					t.Errorf("%s: tag %q is not in docTags with a description", where, tag)
				}
			}
			if op.Description == "" || len(op.Security) == 0 {
				t.Errorf("%s: description %q, security %v", where, op.Description, op.Security)
			}
			for _, req := range op.Security {
				for _, scope := range req[jwtScheme] {
					if _, ok := scopeDocs[scope]; !ok {
						t.Errorf("%s: scope %q is not declared", where, scope)
					}
				}
			}
			has4xx := false
			for code, r := range op.Responses {
				status, err := strconv.Atoi(code)
				if err != nil {
					t.Errorf("%s: response %q is not a status", where, code)
					continue
				}
				has4xx = has4xx || status >= 400 && status < 500
				if status >= 400 && (r.Content["application/problem+json"] == nil || r.Description == "") {
					t.Errorf("%s: %d is not declared as a problem", where, status)
				}
			}
			if !has4xx {
				t.Errorf("%s declares no 4XX", where)
			}
			if op.RequestBody != nil {
				for _, status := range []int{http.StatusBadRequest, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity} {
					if op.Responses[strconv.Itoa(status)] == nil {
						t.Errorf("%s takes a body and does not declare %d", where, status)
					}
				}
			}
		}
	}
	paths := slices.Sorted(maps.Keys(oapi.Paths))
	for i, a := range paths {
		for _, b := range paths[i+1:] {
			if ambiguous(a, b) {
				t.Errorf("paths %s and %s can match the same URL", a, b)
			}
		}
	}
}

func stringsOf(s []core.Scope) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = string(v)
	}
	return out
}

// ambiguous says whether two path templates can match one URL while
// neither is the other, as Redocly's no-ambiguous-paths sees it: as long,
// and at each segment equal or a parameter on either side, with a
// parameter in a where b has a literal and the other way round.
func ambiguous(a, b string) bool {
	as, bs := strings.Split(a, "/"), strings.Split(b, "/")
	if len(as) != len(bs) {
		return false
	}
	param := func(s string) bool { return strings.HasPrefix(s, "{") }
	aWider, bWider := false, false
	for i := range as {
		switch {
		case param(as[i]) && param(bs[i]):
		case param(as[i]):
			aWider = true
		case param(bs[i]):
			bWider = true
		case as[i] != bs[i]:
			return false
		}
	}
	return aWider && bWider
}

func TestAmbiguous(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"/v1/contacts/by-email/{email}", "/v1/contacts/{id}/score", true},
		{"/v1/contacts/{id}", "/v1/contacts/batch", false}, // the literal wins
		{"/v1/contacts/{id}/score", "/v1/contacts/{id}/timeline", false},
		{"/v1/contacts-by-email/{email}", "/v1/contacts/{id}", false},
	} {
		if got := ambiguous(tc.a, tc.b); got != tc.want {
			t.Errorf("ambiguous(%s, %s) = %v", tc.a, tc.b, got)
		}
	}
}
