package functions_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/app"
	"github.com/fedele-crm/fedele/core/store"
)

// unusedStore is a store the test never reaches: building the graph reads
// nothing.
type unusedStore struct{ store.Store }

// routedToWorker is the set of detail types the template's EventBridge
// rules deliver to the worker function.
func routedToWorker(t *testing.T) map[string][]string {
	t.Helper()
	byFolder := map[string]string{}
	for name, dir := range sourceOf(t) {
		byFolder[dir] = name
	}
	fn, ok := functionsOf(loadTemplate(t))[byFolder["worker"]]
	if !ok {
		t.Fatalf("no function in the template is built from functions/worker")
	}
	routed := map[string][]string{} // detail type -> the rules routing it
	evs, _ := get(fn, "Properties", "Events").(map[string]any)
	for rule, ev := range evs {
		if get(ev, "Type") != "EventBridgeRule" {
			continue
		}
		for _, dt := range get(ev, "Properties", "Pattern", "detail-type").([]any) {
			routed[dt.(string)] = append(routed[dt.(string)], rule)
		}
	}
	if len(routed) == 0 {
		t.Fatal("the worker function has no EventBridge rule")
	}
	return routed
}

// The worker's rules route exactly the detail types app's consumers
// subscribe to: an event type a consumer waits for but no rule delivers
// would never reach it in AWS (only under `fedele serve`), and a routed
// type no consumer takes is a worker invocation paid for nothing.
func TestConsumersMatchTheWorkerRules(t *testing.T) {
	a, err := app.New(app.Ports{Store: unusedStore{}})
	if err != nil {
		t.Fatal(err)
	}
	routed := routedToWorker(t)
	handled := map[string]bool{}
	for _, h := range a.Consumers() {
		if len(h.Types) == 0 {
			t.Errorf("consumer %s subscribes to no detail type", h.Name)
		}
		for _, dt := range h.Types {
			handled[string(dt)] = true
			if _, ok := routed[string(dt)]; !ok {
				t.Errorf("consumer %s handles %s, which no rule of the worker routes", h.Name, dt)
			}
		}
	}
	for dt, rules := range routed {
		if !handled[dt] {
			t.Errorf("rule %v routes %s to the worker, and no consumer handles it", rules, dt)
		}
	}
	var names []string
	for _, h := range a.Consumers() {
		names = append(names, h.Name)
	}
	if diff := cmp.Diff(names, a.ConsumerNames()); diff != "" {
		t.Errorf("ConsumerNames (+) against Consumers (-):\n%s", diff)
	}
	if unique := slices.Compact(slices.Sorted(slices.Values(names))); len(unique) != len(names) {
		t.Errorf("two consumers share a name (it keys their processed markers): %v", names)
	}
}

// mainSource is what a main package's non-test files import and call.
type mainSource struct {
	imports map[string]bool
	calls   map[string]int // "pkg.Func" for package functions, ".Method" for methods
	relays  int            // events.Relay literals
}

func readMain(t *testing.T, dir string) mainSource {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	src := mainSource{imports: map[string]bool{}, calls: map[string]int{}}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		local := map[string]bool{} // names the file's imports go by
		for _, im := range f.Imports {
			path, _ := strconv.Unquote(im.Path.Value)
			src.imports[path] = true
			n := filepath.Base(path)
			if im.Name != nil {
				n = im.Name.Name
			}
			local[n] = true
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok {
					if id, ok := sel.X.(*ast.Ident); ok && local[id.Name] {
						src.calls[id.Name+"."+sel.Sel.Name]++
					} else {
						src.calls["."+sel.Sel.Name]++
					}
				}
			case *ast.CompositeLit:
				if sel, ok := n.Type.(*ast.SelectorExpr); ok {
					if id, ok := sel.X.(*ast.Ident); ok && id.Name == "events" && sel.Sel.Name == "Relay" {
						src.relays++
					}
				}
			}
			return true
		})
	}
	return src
}

// `fedele serve` and the worker function get their consumers only from
// app — the set the test above holds to the template — and register none
// of their own: neither builds a registry, registers a handler, names a
// consumer, or imports the packages consumers come from.
func TestServeAndWorkerRunAppsConsumers(t *testing.T) {
	cases := []struct {
		dir  string
		want []string // calls through which the main takes app's consumers
	}{
		{"../cmd/fedele", []string{"app.New", ".LocalRelay"}},
		{"worker", []string{"app.New", ".Delivery", "worker.Handler"}},
	}
	forbidden := []string{"events.NewConsumers", ".Register", ".Consumer", ".RescoreConsumer", "timeline.StatsConsumer",
		"scoring.NewScorer", "routing.NewRouter"}
	for _, tc := range cases {
		t.Run(filepath.Base(tc.dir), func(t *testing.T) {
			src := readMain(t, tc.dir)
			for _, c := range tc.want {
				if src.calls[c] == 0 {
					t.Errorf("%s does not call %s", tc.dir, c)
				}
			}
			for _, c := range forbidden {
				if n := src.calls[c]; n > 0 {
					t.Errorf("%s calls %s (%d times): consumers are registered in package app only", tc.dir, c, n)
				}
			}
			if src.relays > 0 {
				t.Errorf("%s builds an events.Relay of its own: the relay comes from app with its consumers", tc.dir)
			}
			for _, pkg := range []string{"core/scoring", "core/routing", "core/contacts", "core/tenancy", "core/timeline"} {
				if src.imports["github.com/fedele-crm/fedele/"+pkg] {
					t.Errorf("%s imports %s: what it needs from it comes through app", tc.dir, pkg)
				}
			}
			if !src.imports["github.com/fedele-crm/fedele/app"] {
				t.Errorf("%s does not build through package app", tc.dir)
			}
		})
	}
}
