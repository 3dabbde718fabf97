package httpapi

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// The docs page works offline: it references no asset outside the server,
// and every asset it references is served from the binary.
func TestDocsPageIsSelfContained(t *testing.T) {
	get := func(path string) (*http.Response, string) {
		t.Helper()
		rec := httptest.NewRecorder()
		serveDocs(rec, httptest.NewRequest(http.MethodGet, path, nil))
		res := rec.Result()
		body, _ := io.ReadAll(res.Body)
		return res, string(body)
	}
	if res, _ := get("/docs"); res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != "/docs/" {
		t.Fatalf("/docs: %d to %q, want a redirect to /docs/", res.StatusCode, res.Header.Get("Location"))
	}
	res, page := get("/docs/")
	if res.StatusCode != http.StatusOK || !strings.Contains(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("/docs/: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if !strings.Contains(page, "/openapi.json") {
		t.Errorf("the page does not read /openapi.json")
	}
	refs := regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(page, -1)
	var assets int
	for _, m := range refs {
		ref := m[1]
		if strings.HasPrefix(ref, "http://") || strings.HasPrefix(ref, "https://") || strings.HasPrefix(ref, "//") {
			t.Errorf("the page loads %s from outside the server", ref)
			continue
		}
		if !strings.HasPrefix(ref, "/docs/") {
			continue
		}
		assets++
		if res, body := get(ref); res.StatusCode != http.StatusOK || len(body) == 0 {
			t.Errorf("asset %s: %d, %d bytes", ref, res.StatusCode, len(body))
		}
	}
	if assets < 2 {
		t.Errorf("the page references %d assets under /docs/, want the renderer's script and styles:\n%s", assets, page)
	}
}
