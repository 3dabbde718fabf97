package wasm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/fedele-crm/fedele/core/plugins"
)

// hostile is the corpus in testdata/hostile: each module with the class its
// upload is refused with, and the class a call fails with when it runs
// anyway (as a version validated before a host change would). An empty run
// class means it cannot even be metered or compiled, so it never runs.
var hostile = []struct {
	file           string
	upload, run    Class
	runMessageHint string
	kind           string // score unless said
}{
	{"infinite_loop.wasm", ClassFuel, ClassFuel, "", ""},
	{"exponential_recursion.wasm", ClassFuel, ClassFuel, "", ""},
	{"start_never_returns.wasm", ClassLimit, ClassLimit, "start function", ""}, // its tank is empty at instantiation
	{"memory_growth.wasm", ClassMemory, ClassMemory, "", ""},
	{"huge_table.wasm", ClassLimit, ClassContract, "", ""},
	{"brtable_bomb.wasm", ClassLimit, "", "", ""},
	{"nested_blocks.wasm", ClassLimit, "", "", ""},
	{"huge_output.wasm", ClassOutputSize, ClassOutputSize, "", ""},
	{"unbounded_recursion.wasm", ClassTrap, ClassTrap, "stack", ""},
	{"unreachable.wasm", ClassTrap, ClassTrap, "unreachable", ""},
	{"unknown_import.wasm", ClassLimit, ClassLimit, "module[env]", ""},
	{"wasi_file_open.wasm", ClassPluginError, ClassPluginError, "code 63", ""}, // EPERM: nothing is preopened
	{"wasi_socket.wasm", ClassLimit, ClassPluginError, "code 8", ""},
	{"wasi_environ.wasm", ClassPluginError, ClassPluginError, "code 100", ""}, // 100 + no variables
	{"not_wasm.bin", ClassMalformed, "", "", ""},
	{"truncated.wasm", ClassMalformed, "", "", ""},
	{"no_export.wasm", ClassMissingExport, ClassMissingExport, "", ""},
	{"not_json.wasm", ClassContract, ClassContract, "not JSON", ""},
	{"wrong_length.wasm", ClassContract, ClassContract, "1 results for 3 records", ""},
	{"breaks_schema.wasm", ClassContract, ClassContract, "breaks its contract", ""},
	{"sleeps.wasm", ClassTimeout, ClassTimeout, "slept", ""},
	{"route_stranger.wasm", ClassContract, ClassContract, "not one of the record's candidates", "route"},
}

// Every hostile module is refused at upload or contained when it runs, with
// its class, while another tenant's calls keep succeeding: the host process
// unharmed, and no instance of the hostile tenant left behind.
func TestHostileCorpus(t *testing.T) {
	ctx := context.Background()
	h := newHost(t, Config{CacheDir: t.TempDir()})
	good, err := h.Prepare(ctx, "score", readFile(t, "testdata", "plugins", "leadscore.wasm"))
	if err != nil {
		t.Fatal(err)
	}

	// The well-behaved tenant calls all along, from several goroutines.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var calls, failures atomic.Int64
	var firstFailure atomic.Value
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, err := h.Run(ctx, Call{Tenant: "good", Module: good, Input: scoreInput(10), Records: 10, Now: testNow})
				calls.Add(1)
				if err != nil {
					failures.Add(1)
					firstFailure.CompareAndSwap(nil, err.Error())
				}
			}
		})
	}

	// Meanwhile a third tenant floods the host with calls that burn their
	// whole budget, two at a time.
	flood := metered(t, "score", readFile(t, "testdata", "hostile", "infinite_loop.wasm"))
	floodIn, floodN, err := Fixture("score")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := h.Run(ctx, Call{Tenant: "flood", Module: flood, Input: floodIn, Records: floodN}); ClassOf(err) != ClassFuel {
					failures.Add(1)
					firstFailure.CompareAndSwap(nil, "flood: "+fmt.Sprint(err))
				}
			}
		})
	}

	for _, tc := range hostile {
		t.Run(strings.TrimSuffix(tc.file, filepath.Ext(tc.file)), func(t *testing.T) {
			kind := plugins.Kind(tc.kind)
			if kind == "" {
				kind = plugins.KindScore
			}
			fixture, n, err := Fixture(kind)
			if err != nil {
				t.Fatal(err)
			}
			raw := readFile(t, "testdata", "hostile", tc.file)
			_, err = h.Prepare(ctx, kind, raw)
			if got := ClassOf(err); got != tc.upload {
				t.Errorf("upload: class %q (%v), want %q", got, err, tc.upload)
			}
			if tc.run == "" {
				return
			}
			m := metered(t, kind, raw)
			res, err := h.Run(ctx, Call{Tenant: "hostile", Module: m, Input: fixture, Records: n, Now: testNow})
			if got := ClassOf(err); got != tc.run {
				t.Fatalf("run: class %q (%v), want %q", got, err, tc.run)
			}
			if !strings.Contains(err.Error(), tc.runMessageHint) {
				t.Errorf("run: %q does not say %q", err, tc.runMessageHint)
			}
			if res.Fuel > h.Config().Budget(n) {
				t.Errorf("used %d fuel, over its budget of %d", res.Fuel, h.Config().Budget(n))
			}
			if res.MemoryBytes > uint64(h.Config().MemoryPages)*pageSize {
				t.Errorf("grew to %d bytes, over the cap", res.MemoryBytes)
			}
			if busy, idle := h.inUse("hostile"); busy != 0 || idle != 0 {
				t.Errorf("after a failure: %d instances busy, %d idle; the failed one must be gone", busy, idle)
			}
		})
	}
	close(stop)
	wg.Wait()
	if calls.Load() == 0 || failures.Load() != 0 {
		t.Errorf("the good tenant made %d calls, %d calls failed or were not contained (first: %v)", calls.Load(), failures.Load(), firstFailure.Load())
	}
}

// wazero's own fuzz regressions — modules that once crashed or hung its
// compiler — go through upload validation: each is refused or compiles in
// the child, and none may crash or hang the host.
func TestWazeroFuzzCasesThroughValidation(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/tetratelabs/wazero").Output()
	if err != nil {
		t.Fatalf("find wazero's module: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "internal", "integration_test", "fuzzcases", "testdata")
	files, err := filepath.Glob(filepath.Join(dir, "*.wasm"))
	if err != nil || len(files) < 50 {
		t.Fatalf("found %d fuzz cases in %s (%v)", len(files), dir, err)
	}
	h := newHost(t, Config{CacheDir: t.TempDir()})
	classes := map[Class]int{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		// The cases export no score function: give them one so that
		// validation goes all the way to the compiler.
		_, err = h.Prepare(context.Background(), "score", raw)
		classes[ClassOf(err)]++
		if err == nil {
			t.Errorf("%s: accepted", filepath.Base(f))
		}
		if err := h.compileInChild(context.Background(), mustInstrument(raw)); err != nil && ClassOf(err) != ClassCompile {
			t.Errorf("%s: compile: %v", filepath.Base(f), err)
		}
	}
	t.Logf("%d fuzz cases: %v", len(files), classes)
}

func mustInstrument(raw []byte) []byte {
	code, err := instrumentForTest(raw)
	if err != nil {
		return raw // the child must refuse it too
	}
	return code
}

// The checked-in modules are what their sources build to.
func TestHostileCorpusUpToDate(t *testing.T) {
	if _, err := exec.LookPath("wat2wasm"); err != nil {
		t.Skip("wat2wasm (Debian's wabt) is not installed; .ci/run installs it")
	}
	src := filepath.Join("..", "..", "testdata", "hostile")
	tmp := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tmp, e.Name()), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command("sh", filepath.Join(tmp, "build.sh")).CombinedOutput(); err != nil {
		t.Fatalf("build.sh: %v\n%s", err, out)
	}
	for _, e := range entries {
		if filepath.Ext(e.Name()) != ".wasm" {
			continue
		}
		want, _ := os.ReadFile(filepath.Join(tmp, e.Name()))
		got, _ := os.ReadFile(filepath.Join(src, e.Name()))
		if !bytes.Equal(got, want) {
			t.Errorf("%s is not what its source builds to: run testdata/hostile/build.sh", e.Name())
		}
	}
}

// The example plugins' modules are what their sources build to: the
// sources' digest must be the one build.sh recorded, and with the Go that
// built them the bytes must be the same too.
func TestExamplePluginsUpToDate(t *testing.T) {
	root := filepath.Join("..", "..")
	dir := filepath.Join(root, "testdata", "plugins")
	recorded, err := os.ReadFile(filepath.Join(dir, "SOURCES"))
	if err != nil {
		t.Fatal(err)
	}
	if got := pluginSourcesDigest(t, root); got != strings.TrimSpace(string(recorded)) {
		t.Fatalf("plugins/ changed since testdata/plugins was built (sources %s, built from %s): run testdata/plugins/build.sh", got, recorded)
	}
	goVersion, _ := os.ReadFile(filepath.Join(dir, "GOVERSION"))
	out, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil || strings.TrimSpace(string(out)) != strings.TrimSpace(string(goVersion)) {
		t.Skipf("built with %s, testing with %s: only the sources can be compared", strings.TrimSpace(string(goVersion)), strings.TrimSpace(string(out)))
	}
	if testing.Short() {
		t.Skip("builds every example for wasip1")
	}
	tmp := t.TempDir()
	if out, err := exec.Command("sh", filepath.Join(dir, "build.sh"), tmp).CombinedOutput(); err != nil {
		t.Fatalf("build.sh: %v\n%s", err, out)
	}
	built, err := filepath.Glob(filepath.Join(tmp, "*.wasm"))
	if err != nil || len(built) < 3 {
		t.Fatalf("built %v (%v)", built, err)
	}
	for _, b := range built {
		want, _ := os.ReadFile(b)
		got, err := os.ReadFile(filepath.Join(dir, filepath.Base(b)))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("testdata/plugins/%s is not what its source builds to: run testdata/plugins/build.sh", filepath.Base(b))
		}
	}
}

// pluginSourcesDigest is what build.sh records: sha256sum of sha256sum's
// lines for every non-test Go file under plugins/, in byte order.
func pluginSourcesDigest(t *testing.T, root string) string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(filepath.Join(root, "plugins"), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			rel, _ := filepath.Rel(root, path)
			files = append(files, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	var lines bytes.Buffer
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&lines, "%x  %s\n", sha256.Sum256(b), f)
	}
	return fmt.Sprintf("%x", sha256.Sum256(lines.Bytes()))
}
