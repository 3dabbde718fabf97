package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/infra/httpapi"
)

// boundedProblem is a problem with what the bounds are about.
type boundedProblem struct {
	Status int `json:"status"`
	Errors []struct {
		Location string          `json:"location"`
		Value    json.RawMessage `json:"value"`
	} `json:"errors"`
	Omitted int `json:"errors_omitted"`
}

// unknownMembers is n members that no resource has, in order, all of one
// length; member i holds 100000+i.
func unknownMembers(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `,"k%06d":%d`, i, 100_000+i)
	}
	return b.String()
}

// TestRefusalsAreBounded: a body with any number of faults is refused with
// an answer of bounded size — at most 50 errors and the count of the rest,
// each value the field's own, cut to 64 bytes — at a cost that grows
// linearly with the body: measured in bytes allocated, not in time.
func TestRefusalsAreBounded(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		var c core.Contact
		e.a.do("POST", "/v1/contacts", map[string]any{"first_name": "C"}).want(t, 201, &c)
		ops := []struct {
			name, method, path string
			body               func(members string) string
			location           string // where the first member's error points, less its key
		}{
			{"create a contact", "POST", "/v1/contacts", func(m string) string { return `{"first_name":"x"` + m + `}` }, "body."},
			{"merge into a contact", "PATCH", "/v1/contacts/" + c.ID, func(m string) string { return `{"first_name":"x"` + m + `}` }, "body."},
			{"change the tenant", "PATCH", "/v1/tenant", func(m string) string { return `{"plugin_failure_limit":3` + m + `}` }, "body."},
			{"a batch", "POST", "/v1/contacts/batch", func(m string) string { return `{"items":[{"first_name":"x"` + m + `}]}` }, "body.items[0]."},
		}
		// As many members as fit under the 1 MiB limit.
		atLimit := (httpapi.MaxBodyBytes - 64) / len(unknownMembers(1))
		for _, op := range ops {
			t.Run(op.name, func(t *testing.T) {
				for _, n := range []int{4000, atLimit} {
					body := op.body(unknownMembers(n))
					if len(body) > httpapi.MaxBodyBytes {
						t.Fatalf("body of %d bytes is over the limit", len(body))
					}
					res := e.a.do(op.method, op.path, body)
					p := checkBounded(t, res, n)
					for _, er := range p.Errors {
						if !strings.HasPrefix(er.Location, op.location+"k") {
							t.Errorf("error at %s, want under %s", er.Location, op.location)
						}
						// The member's own value (its number), not the object.
						var own int
						if json.Unmarshal(er.Value, &own) != nil || fmt.Sprintf("%sk%06d", op.location, own-100_000) != er.Location {
							t.Errorf("error at %s has value %s, not its own", er.Location, er.Value)
						}
					}
				}

				// Work linear in the body: eight times the members, at most
				// sixteen times the bytes allocated (the quadratic answer made
				// it about sixty-four).
				small, large := refusalAllocs(t, e, op.method, op.path, op.body(unknownMembers(500))),
					refusalAllocs(t, e, op.method, op.path, op.body(unknownMembers(4000)))
				t.Logf("bytes allocated refusing 500 members: %d, 4000: %d (×%.1f)", small, large, float64(large)/float64(small))
				if large > 16*small {
					t.Errorf("refusing 8× the members allocated %.1f× the bytes: the work is not linear", float64(large)/float64(small))
				}
			})
		}

		// A value is cut, whatever it holds: a long string, a large object.
		long := strings.Repeat("é", 40_000)
		bigObject := `{` + strings.TrimPrefix(unknownMembers(20_000), ",") + `}`
		for name, body := range map[string]string{
			"long string":  `{"first_name":"x","nickname":"` + long + `"}`,
			"large object": `{"first_name":"x","nickname":` + bigObject + `}`,
			"long e-mail":  `{"emails":[{"address":"` + strings.Repeat("a", 250) + `"}]}`,
		} {
			t.Run("cut "+name, func(t *testing.T) {
				p := checkBounded(t, e.a.do("POST", "/v1/contacts", body), -1)
				for _, er := range p.Errors {
					var s string
					if json.Unmarshal(er.Value, &s) == nil && len(s) > 64 && !strings.HasSuffix(s, "…") {
						t.Errorf("value of %d bytes at %s is not cut", len(s), er.Location)
					}
				}
			})
		}
	})
}

// checkBounded checks a refusal's bounds; faults is how many errors the
// body has (-1: not counted).
func checkBounded(t *testing.T, res response, faults int) boundedProblem {
	t.Helper()
	if res.Status != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422; body %.300s", res.Status, res.Body)
	}
	if len(res.Body) > 16<<10 {
		t.Errorf("answer of %d bytes, want at most 16 KiB", len(res.Body))
	}
	var p boundedProblem
	if err := json.Unmarshal(res.Body, &p); err != nil {
		t.Fatalf("decode %.300s: %v", res.Body, err)
	}
	if len(p.Errors) > 50 {
		t.Errorf("%d errors listed, want at most 50", len(p.Errors))
	}
	if faults >= 0 && len(p.Errors)+p.Omitted != faults {
		t.Errorf("%d errors listed and %d omitted, want %d in all", len(p.Errors), p.Omitted, faults)
	}
	for _, er := range p.Errors {
		v := string(er.Value)
		var s string
		if json.Unmarshal(er.Value, &s) == nil {
			v = s
		}
		if len(strings.TrimSuffix(v, "…")) > 64 || !utf8.ValidString(v) {
			t.Errorf("value at %s is %d bytes: %.80s", er.Location, len(v), v)
		}
	}
	return p
}

// refusalAllocs is the bytes allocated while the handler refuses one
// request, called in-process so that only the request's own work counts.
func refusalAllocs(t *testing.T, e *env, method, path, body string) uint64 {
	t.Helper()
	h := e.app.Handler()
	send := func() uint64 {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", e.a.auth)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		h.ServeHTTP(rec, req)
		runtime.ReadMemStats(&after)
		if rec.Code != http.StatusUnprocessableEntity {
			t.Fatalf("%s %s: status %d, want 422; body %.300s", method, path, rec.Code, rec.Body)
		}
		return after.TotalAlloc - before.TotalAlloc
	}
	send() // the first request registers the route group
	return min(send(), send())
}
