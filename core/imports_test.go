package core_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// forbiddenImportPrefixes are the dependencies core must never take (see the
// package comment and DESIGN.md): the AWS SDK, the Wasm runtime, the HTTP
// framework and net/http. Each matches the path itself and everything below it.
var forbiddenImportPrefixes = []string{
	"github.com/aws",
	"github.com/tetratelabs/wazero",
	"github.com/extism",
	"github.com/danielgtaylor/huma",
	"net/http",
}

// forbiddenImports returns the import paths of one Go source that core may
// not use, in source order. src is as for parser.ParseFile: nil reads the file.
func forbiddenImports(filename string, src any) ([]string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), filename, src, parser.ImportsOnly)
	if err != nil {
		return nil, err
	}
	var bad []string
	for _, spec := range f.Imports {
		path, err := strconv.Unquote(spec.Path.Value)
		if err != nil {
			return nil, err
		}
		for _, prefix := range forbiddenImportPrefixes {
			if path == prefix || strings.HasPrefix(path, prefix+"/") {
				bad = append(bad, path)
				break
			}
		}
	}
	return bad, nil
}

func TestForbiddenImports(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"net/http", `package p; import "net/http"`, []string{"net/http"}},
		{"renamed net/http", `package p; import h "net/http"`, []string{"net/http"}},
		{"net/http subpackage", `package p; import "net/http/httptest"`, []string{"net/http/httptest"}},
		{"aws sdk", `package p; import "github.com/aws/aws-sdk-go-v2/service/dynamodb"`, []string{"github.com/aws/aws-sdk-go-v2/service/dynamodb"}},
		{"wazero", `package p; import "github.com/tetratelabs/wazero"`, []string{"github.com/tetratelabs/wazero"}},
		{"wazero api", `package p; import "github.com/tetratelabs/wazero/api"`, []string{"github.com/tetratelabs/wazero/api"}},
		{"extism", `package p; import "github.com/extism/go-sdk"`, []string{"github.com/extism/go-sdk"}},
		{"huma", `package p; import "github.com/danielgtaylor/huma/v2"`, []string{"github.com/danielgtaylor/huma/v2"}},
		{"several, with allowed ones between", `package p
import (
	"fmt"
	"net/http"
	"github.com/oklog/ulid/v2"
	_ "github.com/extism/go-sdk"
)`, []string{"net/http", "github.com/extism/go-sdk"}},
		{"allowed only", `package p; import ("net/mail"; "net/url"; "github.com/nyaruka/phonenumbers"; "github.com/oklog/ulid/v2")`, nil},
		{"look-alike paths", `package p; import ("github.com/awsome/x"; "github.com/extismo/y"; "net/httpx")`, nil},
		{"no imports", `package p`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := forbiddenImports("src.go", tt.src)
			if err != nil {
				t.Fatalf("forbiddenImports: unexpected error %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("forbidden imports (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := forbiddenImports("broken.go", `package p; import "net/http`); err == nil {
		t.Error("forbiddenImports on a source that does not parse: want an error, got nil")
	}
}

// TestCoreImportsNoInfrastructure walks every non-test Go file under core/
// (this folder and its sub-packages) and fails on any forbidden import.
func TestCoreImportsNoInfrastructure(t *testing.T) {
	files := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != "." && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir // ignored by the go tool too
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		files++
		bad, err := forbiddenImports(path, nil)
		if err != nil {
			t.Errorf("%s: cannot read imports: %v", path, err)
			return nil
		}
		for _, imp := range bad {
			t.Errorf("core/%s imports %q: core may import only the standard library (not net/http) and small pure libraries", filepath.ToSlash(path), imp)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walking core/: %v", err)
	}
	if files == 0 {
		t.Fatal("walking core/: found no Go files; the test is not looking where it should")
	}
}
