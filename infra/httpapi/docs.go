package httpapi

import (
	"net/http"
	"strings"

	"github.com/swaggest/swgui/v5emb"
)

// The docs page is Swagger UI with its assets embedded in the binary
// (swaggest/swgui's v5emb, Swagger UI 5.29.1, pinned by go.mod and checked
// by go.sum), not huma's default page, which loads its renderer from a
// CDN and is blank without internet.
const docsPath = "/docs"

// docsUI serves the page and its assets under docsPath, reading the API's
// own /openapi.json.
var docsUI = v5emb.New("Fedele CRM API", "/openapi.json", docsPath+"/")

// isDocsUI says whether path is the docs page or one of its assets.
func isDocsUI(path string) bool { return path == docsPath || strings.HasPrefix(path, docsPath+"/") }

// serveDocs answers /docs with the page (under /docs/, where its relative
// asset links resolve) and /docs/... with the page's assets.
func serveDocs(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == docsPath {
		http.Redirect(w, r, docsPath+"/", http.StatusMovedPermanently)
		return
	}
	docsUI.ServeHTTP(w, r)
}
