package httpapi_test

import (
	"strings"
	"testing"

	"github.com/fedele-crm/fedele/core"
)

// The upsert's old path still works for the clients that use it, and is
// not in the document (two templates matching one path are ambiguous).
func TestUpsertByEmailOldPath(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		var c core.Contact
		e.a.do("PUT", "/v1/contacts/by-email/old@example.com", map[string]any{"first_name": "Old"}).want(t, 201, &c)
		var again core.Contact
		e.a.do("PUT", "/v1/contacts-by-email/old@example.com", map[string]any{"first_name": "New"}).want(t, 200, &again)
		if again.ID != c.ID || again.FirstName != "New" {
			t.Errorf("the new path replaced %s (%s), want %s", again.ID, again.FirstName, c.ID)
		}
		doc := e.a.do("GET", "/openapi.json", nil).want(t, 200, nil)
		if strings.Contains(string(doc.Body), `"/v1/contacts/by-email/{email}"`) {
			t.Error("the old path is documented")
		}
	})
}
