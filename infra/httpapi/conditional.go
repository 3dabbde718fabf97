package httpapi

import (
	"bytes"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/fedele-crm/fedele/core"
)

// Conditional requests (RFC 9110 §13). Every versioned record's ETag is its
// version, strong (an answer that shows more than the record, such as a
// contact with its customer profile, adds "+" and a digest of the rest), so If-Match compares strongly (a weak W/"4" never
// matches: a weak validator cannot guard a write) and If-None-Match, which
// compares weakly, can answer any GET with 304 once the handler has set the
// ETag, whatever the resource.

// entityTags parses an If-Match or If-None-Match value: "*", or a list of
// entity tags. ok is false when it is neither; weak tags keep their W/.
func entityTags(h string) (tags []string, any, ok bool) {
	h = strings.TrimSpace(h)
	if h == "*" {
		return nil, true, true
	}
	for part := range strings.SplitSeq(h, ",") {
		t := strings.TrimSpace(part)
		if t == "" {
			continue // the list syntax allows empty elements
		}
		opaque := strings.TrimPrefix(t, "W/")
		if len(opaque) < 2 || opaque[0] != '"' || opaque[len(opaque)-1] != '"' || strings.Contains(opaque[1:len(opaque)-1], `"`) {
			return nil, false, false
		}
		tags = append(tags, t)
	}
	return tags, false, len(tags) > 0
}

// strongVersions are the versions a list's strong tags name, once each, in
// order; weak tags and tags that are not versions can match nothing.
func strongVersions(tags []string) []int64 {
	var vs []int64
	for _, t := range tags {
		if strings.HasPrefix(t, "W/") {
			continue
		}
		v, err := tagVersion(t)
		if err == nil && v > 0 && !slices.Contains(vs, v) {
			vs = append(vs, v)
		}
	}
	return vs
}

// tagVersion is the record version a strong ETag names: all of it, or
// what comes before "+" in one that also digests what is shown beside the
// record (derivedETag).
func tagVersion(t string) (int64, error) {
	v, _, _ := strings.Cut(strings.Trim(t, `"`), "+")
	return strconv.ParseInt(v, 10, 64)
}

// ifMatch reads the If-Match of a conditional write: 0 when absent or "*"
// (any version), else the one version it names. preconditions has already
// narrowed a list to the version it matches, so what is left and is not one
// strong ETag of ours can never match: a 412.
func ifMatch(h string) (int64, error) {
	if strings.TrimSpace(h) == "" {
		return 0, nil
	}
	tags, any, ok := entityTags(h)
	if any {
		return 0, nil
	}
	if vs := strongVersions(tags); ok && len(vs) == 1 {
		return vs[0], nil
	}
	return 0, core.Errorf(core.CodeStale, "If-Match %q names no version of this record (ETags compare strongly: W/ never matches)", h)
}

// ifMatchAny says whether If-Match is "*": the write applies only to a
// record that exists.
func ifMatchAny(h string) bool { return strings.TrimSpace(h) == "*" }

// versionPaths maps writes whose record is read at another path to that
// path: a custom field is part of the tenant's document and its version.
var versionPaths = map[string]string{"/v1/custom-fields/": "/v1/tenant"}

// preconditions handles what handlers cannot see one at a time. An If-Match
// listing several versions is narrowed to the record's current one, read
// with a GET of the record (the use cases guard a write with one version);
// a GET or HEAD whose If-None-Match names the ETag of its answer gets 304.
func (s *Server) preconditions(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			if inm := strings.Join(r.Header.Values("If-None-Match"), ","); inm != "" {
				if tags, any, ok := entityTags(inm); ok {
					w = &notModified{ResponseWriter: w, tags: tags, any: any}
				}
			}
		case http.MethodPatch, http.MethodPut, http.MethodDelete:
			if im := r.Header.Values("If-Match"); len(im) > 0 {
				r.Header.Set("If-Match", s.narrowIfMatch(r, strings.Join(im, ",")))
			}
		}
		next.ServeHTTP(w, r)
	})
}

// narrowIfMatch turns a list of several strong ETags into the one that is
// the record's current version, or into the first when none is (the write
// then fails as stale, saying which version the record is at).
func (s *Server) narrowIfMatch(r *http.Request, h string) string {
	tags, _, ok := entityTags(h)
	vs := strongVersions(tags)
	if !ok || len(vs) < 2 {
		return h
	}
	path := r.URL.Path
	for prefix, p := range versionPaths {
		if strings.HasPrefix(path, prefix) {
			path = p
		}
	}
	get, err := http.NewRequestWithContext(r.Context(), http.MethodGet, path, nil)
	if err != nil {
		return etag(vs[0])
	}
	get.Header.Set("Accept", "application/json")
	rec := &recorder{header: http.Header{}}
	s.route(rec, get)
	if cur, err := tagVersion(rec.header.Get("ETag")); err == nil && rec.status == http.StatusOK && slices.Contains(vs, cur) {
		return etag(cur)
	}
	return etag(vs[0])
}

// recorder keeps what an internal GET answers.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

// notModified turns a 200 whose ETag If-None-Match names into a 304 with
// no body. The comparison is weak, as RFC 9110 says for If-None-Match.
type notModified struct {
	http.ResponseWriter
	tags           []string
	any            bool
	wrote, swallow bool
}

func (n *notModified) WriteHeader(status int) {
	if n.wrote {
		return
	}
	n.wrote = true
	if status == http.StatusOK && n.matches(n.Header().Get("ETag")) {
		h := n.Header()
		for _, k := range []string{"Content-Type", "Content-Length", "Content-Encoding", "Transfer-Encoding"} {
			h.Del(k)
		}
		n.swallow = true
		status = http.StatusNotModified
	}
	n.ResponseWriter.WriteHeader(status)
}

func (n *notModified) Write(b []byte) (int, error) {
	if !n.wrote {
		n.WriteHeader(http.StatusOK)
	}
	if n.swallow {
		return len(b), nil
	}
	return n.ResponseWriter.Write(b)
}

func (n *notModified) Unwrap() http.ResponseWriter { return n.ResponseWriter }

func (n *notModified) matches(tag string) bool {
	if tag == "" {
		return false
	}
	if n.any {
		return true
	}
	weak := func(t string) string { return strings.TrimPrefix(t, "W/") }
	return slices.ContainsFunc(n.tags, func(t string) bool { return weak(t) == weak(tag) })
}
