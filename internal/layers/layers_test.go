package layers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const module = "github.com/fedele-crm/fedele"

// coreLibraries are the modules outside the standard library that core may
// import, each a pure library (no I/O of its own, no framework), with the
// core packages allowed to use it; none listed means every core package.
// What an allowed library imports itself is its own business: the rule
// stops at its boundary. Add a library here only with its reason.
var coreLibraries = map[string][]string{
	"github.com/oklog/ulid/v2":        nil, // sortable ids for records and events
	"github.com/nyaruka/phonenumbers": nil, // E.164 normalisation (brings protobuf and x/text)
	// Canonical decomposition (unicode/norm), so that search folds accents:
	// "Éloïse" is found by "eloise".
	"golang.org/x/text": {module + "/core"},
	// The ISO 4217 list with each currency's minor-unit exponent, kept
	// current by its maintainer (brings cockroachdb/apd for its own amounts,
	// which core does not use); only core/money reads it.
	"github.com/bojanz/currency": {module + "/core/money"},
	// The JSON Schema validator of the plugin contracts, reached through
	// schemas (below).
	"github.com/santhosh-tekuri/jsonschema/v6": nil,
	// The conformance suites compare what an engine answers with go-cmp;
	// only tests import them, so go-cmp never reaches code that ships.
	"github.com/google/go-cmp": {module + "/core/store/storetest", module + "/core/plugins/blobtest"},
	// Segment conditions are CEL, compiled, type-checked and cost-bounded
	// in process (no sandbox, ~1 µs an evaluation): a pure interpreter
	// with no I/O of its own (it brings antlr and protobuf for its types).
	// Journeys' event filters are CEL too (the contact view's conditions
	// they compile through core/segments).
	// Campaign goal filters are CEL too (core/campaigns), cost-limited.
	"github.com/google/cel-go": {module + "/core/segments", module + "/core/journeys", module + "/core/campaigns"},
}

// coreForbiddenStd are the parts of the standard library core may not use:
// core neither serves nor calls HTTP, the adapters in infra do.
var coreForbiddenStd = []string{"net/http/..."}

// coreModulePackages are packages of this module outside core/ that core may
// import. Each is held to core's own rule, as if it were in core.
var coreModulePackages = []string{
	module + "/schemas", // the plugin and event contracts, embedded JSON Schemas
}

// testOnly are the packages that exist for tests: only test files and other
// test-only packages may import them.
var testOnly = []string{
	module + "/internal/testsupport/...",
	module + "/core/store/storetest",
	module + "/core/plugins/blobtest",
}

// pluginLibraries are the modules plugins may import besides the standard
// library and plugins/ itself: whatever a plugin imports is compiled into
// a tenant's module and must run on wasip1 under the host's contract.
var pluginLibraries = []string{"github.com/extism/go-pdk"}

// listed is the part of `go list -json` the rules read.
type listed struct {
	ImportPath string
	Standard   bool
	Module     *struct{ Path string }
	Imports    []string
}

// violation is one import a rule forbids.
type violation struct {
	Rule, From, Import string
}

func (v violation) String() string {
	return fmt.Sprintf("%s imports %s: %s", v.From, v.Import, v.Rule)
}

// under reports whether path is pattern, or below it when pattern ends in /...
func under(path, pattern string) bool {
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return path == base || strings.HasPrefix(path, base+"/")
	}
	return path == pattern
}

func underAny(path string, patterns []string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool { return under(path, p) })
}

// rule is one layer rule: which of the module's packages it holds for, and
// whether such a package may import imp.
type rule struct {
	name    string
	holds   func(path string) bool
	allowed func(from string, imp listed) bool
}

var rules = []rule{
	{
		name: "core imports only the standard library (not net/http), core/..., the named pure libraries and the named packages of this module",
		holds: func(p string) bool {
			return under(p, module+"/core/...") || slices.Contains(coreModulePackages, p)
		},
		allowed: func(from string, imp listed) bool {
			if imp.Standard {
				return !underAny(imp.ImportPath, coreForbiddenStd)
			}
			if under(imp.ImportPath, module+"/core/...") || slices.Contains(coreModulePackages, imp.ImportPath) {
				return true
			}
			if imp.Module == nil || imp.Module.Path == module {
				return false
			}
			users, ok := coreLibraries[imp.Module.Path]
			return ok && (users == nil || slices.Contains(users, from))
		},
	},
	{
		name:  "infra never imports cmd/... or functions/...",
		holds: func(p string) bool { return under(p, module+"/infra/...") },
		allowed: func(_ string, imp listed) bool {
			return !under(imp.ImportPath, module+"/cmd/...") && !under(imp.ImportPath, module+"/functions/...")
		},
	},
	{
		name:  "only tests and test-support packages import test support",
		holds: func(p string) bool { return !underAny(p, testOnly) },
		allowed: func(_ string, imp listed) bool {
			return !underAny(imp.ImportPath, testOnly)
		},
	},
	{
		name:  "plugins import only the standard library, github.com/extism/go-pdk and plugins/...",
		holds: func(p string) bool { return under(p, module+"/plugins/...") },
		allowed: func(_ string, imp listed) bool {
			return imp.Standard || under(imp.ImportPath, module+"/plugins/...") ||
				(imp.Module != nil && slices.Contains(pluginLibraries, imp.Module.Path))
		},
	},
}

// check applies every rule to every package of this module in pkgs, which
// must hold each package's dependencies too (`go list -deps`). An import
// missing from pkgs is a violation of its own: the rules cannot judge it.
func check(pkgs []listed) []violation {
	byPath := make(map[string]listed, len(pkgs))
	for _, p := range pkgs {
		byPath[p.ImportPath] = p
	}
	var bad []violation
	for _, p := range pkgs {
		if !under(p.ImportPath, module+"/...") {
			continue
		}
		for _, path := range p.Imports {
			imp, ok := byPath[path]
			if !ok {
				bad = append(bad, violation{"the import is not in the listing", p.ImportPath, path})
				continue
			}
			for _, r := range rules {
				if r.holds(p.ImportPath) && !r.allowed(p.ImportPath, imp) {
					bad = append(bad, violation{r.name, p.ImportPath, path})
				}
			}
		}
	}
	return bad
}

// goList lists patterns and all their non-test dependencies, as built for
// the environment env adds (GOOS, GOARCH).
func goList(t *testing.T, env []string, patterns ...string) []listed {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatalf("the go command is not on PATH (install Go 1.26 from https://go.dev/dl): %v", err)
	}
	cmd := exec.Command("go", append([]string{"list", "-deps", "-json=ImportPath,Standard,Module,Imports"}, patterns...)...)
	cmd.Dir = moduleRoot(t)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %v (%v): %v\n%s", patterns, env, err, stderr.Bytes())
	}
	var pkgs []listed
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var p listed
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decoding go list: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// moduleRoot is the folder of Fedele's go.mod, two levels above this one.
func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil || !bytes.HasPrefix(b, []byte("module "+module+"\n")) {
		t.Fatalf("%s is not the root of %s (go.mod: %v)", root, module, err)
	}
	return root
}

// TestLayers holds the whole module to the rules: as built for this
// machine, and the plugins also as built for wasip1, where their exports
// and go-pdk's glue live behind build tags.
func TestLayers(t *testing.T) {
	builds := []struct {
		name     string
		env      []string
		patterns []string
		// must are packages the listing has to hold, or the test is not
		// looking where it should.
		must []string
	}{
		{"host", nil, []string{"./..."}, []string{
			module + "/core", module + "/core/store/storetest", module + "/infra/wasm",
			module + "/internal/testsupport/dynamolocal", module + "/plugins/pdk", module + "/cmd/fedele",
		}},
		{"wasip1", []string{"GOOS=wasip1", "GOARCH=wasm"}, []string{"./plugins/..."}, []string{
			module + "/plugins/examples/leadscore/plugin", "github.com/extism/go-pdk",
		}},
	}
	for _, b := range builds {
		t.Run(b.name, func(t *testing.T) {
			pkgs := goList(t, b.env, b.patterns...)
			for _, path := range b.must {
				if !slices.ContainsFunc(pkgs, func(p listed) bool { return p.ImportPath == path }) {
					t.Errorf("go list %v (%v) does not list %s: the rules would judge too little", b.patterns, b.env, path)
				}
			}
			for _, v := range check(pkgs) {
				t.Error(v)
			}
		})
	}
}

// TestCheck proves the checker fails: a synthetic listing that breaks each
// rule once, beside imports each rule allows.
func TestCheck(t *testing.T) {
	std := func(path string) listed { return listed{ImportPath: path, Standard: true} }
	in := func(path string, imports ...string) listed {
		return listed{ImportPath: module + "/" + path, Module: &struct{ Path string }{module}, Imports: imports}
	}
	lib := func(mod, path string, imports ...string) listed {
		return listed{ImportPath: path, Module: &struct{ Path string }{mod}, Imports: imports}
	}
	m := func(path string) string { return module + "/" + path }
	deps := []listed{
		std("fmt"), std("net/http"), std("net/http/httptest"), std("net/mail"), std("testing"),
		lib("github.com/oklog/ulid/v2", "github.com/oklog/ulid/v2"),
		lib("github.com/nyaruka/phonenumbers", "github.com/nyaruka/phonenumbers", "google.golang.org/protobuf/proto"),
		lib("google.golang.org/protobuf", "google.golang.org/protobuf/proto"),
		lib("github.com/google/go-cmp", "github.com/google/go-cmp/cmp"),
		lib("github.com/aws/aws-sdk-go-v2/service/dynamodb", "github.com/aws/aws-sdk-go-v2/service/dynamodb"),
		lib("github.com/tetratelabs/wazero", "github.com/tetratelabs/wazero"),
		lib("github.com/danielgtaylor/huma/v2", "github.com/danielgtaylor/huma/v2"),
		lib("github.com/extism/go-pdk", "github.com/extism/go-pdk"),
		lib("github.com/awsome/x", "github.com/awsome/x"),
		lib("github.com/google/cel-go", "github.com/google/cel-go/cel"),
		lib("github.com/santhosh-tekuri/jsonschema/v6", "github.com/santhosh-tekuri/jsonschema/v6"),
		in("core"), in("core/store"), in("core/events", m("core/store")),
		in("schemas", "github.com/santhosh-tekuri/jsonschema/v6"),
		in("core/store/storetest", "testing", m("core/store"), "github.com/google/go-cmp/cmp"),
		in("core/plugins/blobtest", "testing", m("core/store/storetest")),
		in("internal/testsupport/dynamolocal", "net/http"),
		in("internal/testsupport/enginetest", m("internal/testsupport/dynamolocal"), m("core/store/storetest"), m("infra/embedded")),
		in("infra/embedded", m("core/store")),
		in("functions"), in("cmd/fedele", m("infra/embedded")),
		in("plugins/pdk", "fmt", "github.com/extism/go-pdk"),
	}
	tests := []struct {
		name string
		pkgs []listed
		want []violation
	}{
		{"allowed imports only", []listed{
			in("core", "fmt", "net/mail", "github.com/oklog/ulid/v2", "github.com/nyaruka/phonenumbers", m("core/events"), m("schemas")),
			in("infra/dynamo", m("core/store"), "github.com/aws/aws-sdk-go-v2/service/dynamodb", "net/http"),
			in("plugins/examples/x/plugin", m("plugins/pdk"), "github.com/extism/go-pdk", "fmt"),
		}, nil},
		{"core on net/http, the AWS SDK, wazero, huma", []listed{
			in("core", "net/http", "net/http/httptest", "github.com/aws/aws-sdk-go-v2/service/dynamodb"),
			in("core/crm", "github.com/tetratelabs/wazero", "github.com/danielgtaylor/huma/v2"),
		}, []violation{
			{rules[0].name, m("core"), "net/http"},
			{rules[0].name, m("core"), "net/http/httptest"},
			{rules[0].name, m("core"), "github.com/aws/aws-sdk-go-v2/service/dynamodb"},
			{rules[0].name, m("core/crm"), "github.com/tetratelabs/wazero"},
			{rules[0].name, m("core/crm"), "github.com/danielgtaylor/huma/v2"},
		}},
		{"core on a library not named, a look-alike, or the dependency of an allowed one", []listed{
			in("core", "github.com/google/cel-go/cel", "github.com/awsome/x", "google.golang.org/protobuf/proto"),
		}, []violation{
			{rules[0].name, m("core"), "github.com/google/cel-go/cel"},
			{rules[0].name, m("core"), "github.com/awsome/x"},
			{rules[0].name, m("core"), "google.golang.org/protobuf/proto"},
		}},
		{"core on infra, and go-cmp outside the conformance suites", []listed{
			in("core/crm", m("infra/embedded"), "github.com/google/go-cmp/cmp"),
		}, []violation{
			{rules[0].name, m("core/crm"), m("infra/embedded")},
			{rules[0].name, m("core/crm"), "github.com/google/go-cmp/cmp"},
		}},
		{"what core may import from this module is held to core's rule", []listed{
			in("schemas", "net/http"),
		}, []violation{{rules[0].name, m("schemas"), "net/http"}}},
		{"infra on cmd and functions", []listed{
			in("infra/httpapi", m("cmd/fedele"), m("functions")),
		}, []violation{
			{rules[1].name, m("infra/httpapi"), m("cmd/fedele")},
			{rules[1].name, m("infra/httpapi"), m("functions")},
		}},
		{"shipping code on test support", []listed{
			in("infra/wasm", m("internal/testsupport/dynamolocal")),
			in("cmd/fedele", m("core/store/storetest")),
			in("core/crm", m("core/plugins/blobtest")),
		}, []violation{
			{rules[2].name, m("infra/wasm"), m("internal/testsupport/dynamolocal")},
			{rules[2].name, m("cmd/fedele"), m("core/store/storetest")},
			{rules[2].name, m("core/crm"), m("core/plugins/blobtest")},
		}},
		{"plugins on this module outside plugins/, and on other libraries", []listed{
			in("plugins/examples/x", m("core"), "github.com/oklog/ulid/v2", "github.com/tetratelabs/wazero", m("plugins/pdk")),
		}, []violation{
			{rules[3].name, m("plugins/examples/x"), m("core")},
			{rules[3].name, m("plugins/examples/x"), "github.com/oklog/ulid/v2"},
			{rules[3].name, m("plugins/examples/x"), "github.com/tetratelabs/wazero"},
		}},
		{"an import the listing does not hold", []listed{
			in("infra/wasm", "example.com/unlisted"),
		}, []violation{{"the import is not in the listing", m("infra/wasm"), "example.com/unlisted"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := check(append(slices.Clone(deps), tt.pkgs...))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("violations (-want +got):\n%s", diff)
			}
		})
	}
	if got := check(deps); got != nil {
		t.Errorf("the synthetic dependencies alone break rules: %v", got)
	}
}
