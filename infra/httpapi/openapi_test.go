package httpapi_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/fedele-crm/fedele/infra/httpapi"
)

var update = flag.Bool("update", false, "rewrite schemas/openapi.json from the code")

// TestOpenAPIDrift fails when the committed schemas/openapi.json no longer
// describes the API; `go test ./infra/httpapi -run OpenAPI -update` rewrites it.
func TestOpenAPIDrift(t *testing.T) {
	spec, err := json.MarshalIndent(httpapi.New(httpapi.Config{}).OpenAPI(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	spec = append(spec, '\n')
	path := filepath.Join("..", "..", "schemas", "openapi.json")
	if *update {
		if err := os.WriteFile(path, spec, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	committed, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v (run with -update to create it)", path, err)
	}
	if !bytes.Equal(committed, spec) {
		t.Fatalf("%s is out of date: run go test ./infra/httpapi -run OpenAPI -update", path)
	}
}

func TestServedDocs(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		anon := &client{t: t, url: e.url}
		var spec struct {
			OpenAPI string         `json:"openapi"`
			Paths   map[string]any `json:"paths"`
		}
		anon.do("GET", "/openapi.json", nil).want(t, 200, &spec)
		if spec.OpenAPI == "" || spec.Paths["/v1/contacts/{id}"] == nil {
			t.Errorf("served spec lacks contacts: %v", spec.OpenAPI)
		}
		if res := anon.do("GET", "/docs", nil).want(t, 200, nil); !bytes.Contains(res.Body, []byte("openapi")) {
			t.Errorf("docs page does not load the spec")
		}
		var health struct{ Status string }
		anon.do("GET", "/healthz", nil).want(t, 200, &health)
		if health.Status != "ok" {
			t.Errorf("healthz %+v", health)
		}
	})
}
