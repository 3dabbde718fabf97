package functions_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/infra/starttrace"
)

// BenchmarkColdStart measures a cold start as Lambda sees it — process
// start to the first response through the Runtime API — for the api
// binary beside a hello-world aws-lambda-go binary, with both binaries'
// sizes and the ratio of the two start times. "api" has no plugin bucket
// and answers GET /healthz; "api-plugins" has one, as deployed, so it wires
// the plugin host too; "api-contact" answers an unauthenticated GET of a
// contact (401), which registers the routes a real first request needs.
// ms-cpu is the process's user and system time, steadier than wall time on
// a busy machine.
//
// Each api run has FEDELE_INIT_TRACE=1, and the steps of its start are
// reported as ms-<step> (ms-before-main is loading, the Go runtime and
// every package's init). A few more runs, untimed, with
// GODEBUG=inittrace=1 report the package inits: ms-pkg-inits in all, and
// ms-init:<package> for each costing 0.3 ms or more (medians).
//
//	go test ./functions -run '^$' -bench ColdStart -benchtime 20x
func BenchmarkColdStart(b *testing.B) {
	hello := filepath.Join(b.TempDir(), "hello")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", hello, "./testdata/hello")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build hello: %v\n%s", err, out)
	}
	api := filepath.Join(b.TempDir(), "api")
	build = exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", api, "./api")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build api: %v\n%s", err, out)
	}
	health := httpEvent("GET", "/healthz", "", nil)
	contact := httpEvent("GET", "/v1/contacts/01ARZ3NDEKTSV4RRFFQ69G5FAV", "", nil)
	env := []string{"TABLE_NAME=bench", "PUBLIC_URL=https://crm.example.test", "DYNAMODB_ENDPOINT=http://127.0.0.1:1",
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=x", "AWS_SECRET_ACCESS_KEY=x"}
	plugins := append(slices.Clip(env), "PLUGIN_BUCKET=bench", "S3_ENDPOINT=http://127.0.0.1:1")
	var helloNs, helloCPU float64
	for _, fn := range []struct {
		name, path string
		env        []string
		event      any
		status     int
	}{{"hello", hello, env, health, 200}, {"api", api, env, health, 200}, {"api-plugins", api, plugins, health, 200},
		{"api-contact", api, env, contact, 401}} {
		b.Run(fn.name, func(b *testing.B) {
			steps := map[string]float64{} // summed over runs
			var order []string
			var cpu time.Duration
			for b.Loop() {
				start := time.Now()
				stderr, used := coldStart(b, fn.path, fn.event, fn.status, append(slices.Clip(fn.env), starttrace.Env+"=1"))
				cpu += used
				if fn.name == "hello" {
					continue
				}
				rep, ok := traceReport(stderr)
				if !ok {
					b.Fatalf("%s wrote no start trace; stderr:\n%s", fn.name, stderr)
				}
				add := func(name string, ms float64) {
					if _, seen := steps[name]; !seen {
						order = append(order, name)
					}
					steps[name] += ms
				}
				add("before-main", float64(rep.MainUnixNano-start.UnixNano())/1e6)
				for _, s := range rep.Steps {
					add(s.Name, s.Ms)
				}
			}
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			st, _ := os.Stat(fn.path)
			b.ReportMetric(float64(st.Size())/1e6, "MB-binary")
			b.ReportMetric(ns/1e6, "ms-to-first-response")
			cpuMs := float64(cpu.Nanoseconds()) / 1e6 / float64(b.N)
			b.ReportMetric(cpuMs, "ms-cpu")
			if fn.name == "hello" {
				helloNs, helloCPU = ns, cpuMs
			} else if helloNs > 0 {
				b.ReportMetric(ns/helloNs, "x-hello")
				b.ReportMetric(cpuMs/helloCPU, "x-hello-cpu")
			}
			for _, name := range order {
				b.ReportMetric(steps[name]/float64(b.N), "ms-"+name)
			}
			reportPackageInits(b, fn.path, fn.event, fn.status, fn.env)
		})
	}
}

// coldStart starts the binary at path against a new Runtime API, hands it
// event, checks that it answered status, and returns its stderr and the CPU
// time it used.
func coldStart(b *testing.B, path string, event any, status int, env []string) ([]byte, time.Duration) {
	b.Helper()
	r := newRuntime(b)
	defer r.close()
	cmd := exec.Command(path)
	cmd.Env = append([]string{"AWS_LAMBDA_RUNTIME_API=" + r.addr}, env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	inv := r.invoke(event)
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if inv.errBody != nil {
		b.Fatalf("%s: %s\nstderr:\n%s", path, inv.errBody, stderr.Bytes())
	}
	var res struct{ StatusCode int }
	if err := json.Unmarshal(inv.response, &res); err != nil || res.StatusCode != status {
		b.Fatalf("%s answered %s, want status %d (%v)", path, inv.response, status, err)
	}
	return stderr.Bytes(), cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

func traceReport(stderr []byte) (starttrace.Report, bool) {
	sc := bufio.NewScanner(bytes.NewReader(stderr))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rep starttrace.Report
		if json.Unmarshal(sc.Bytes(), &rep) == nil && rep.Msg == starttrace.Msg {
			return rep, true
		}
	}
	return starttrace.Report{}, false
}

// reportPackageInits runs the binary a few times more, outside the timed
// loop, with GODEBUG=inittrace=1, and reports the median of each package's
// init and of all of them.
func reportPackageInits(b *testing.B, path string, event any, status int, env []string) {
	b.Helper()
	const runs = 5
	perPkg := map[string][]float64{}
	var totals []float64
	for range runs {
		stderr, _ := coldStart(b, path, event, status, append(slices.Clip(env), "GODEBUG=inittrace=1"))
		total := 0.0
		for line := range strings.Lines(string(stderr)) {
			// init github.com/x/y @1.2 ms, 0.51 ms clock, 586696 bytes, 3151 allocs
			f := strings.Fields(line)
			if len(f) < 7 || f[0] != "init" || f[6] != "clock," {
				continue
			}
			ms, err := strconv.ParseFloat(f[4], 64)
			if err != nil {
				b.Fatalf("inittrace line %q: %v", line, err)
			}
			perPkg[f[1]] = append(perPkg[f[1]], ms)
			total += ms
		}
		if total == 0 {
			b.Fatalf("GODEBUG=inittrace=1 printed no package init; stderr:\n%s", stderr)
		}
		totals = append(totals, total)
	}
	b.ReportMetric(median(totals), "ms-pkg-inits")
	for pkg, ms := range perPkg {
		for len(ms) < runs {
			ms = append(ms, 0)
		}
		if m := median(ms); m >= 0.3 {
			b.ReportMetric(m, "ms-init:"+pkg)
		}
	}
}

func median(xs []float64) float64 {
	xs = slices.Clone(xs)
	slices.Sort(xs)
	return xs[len(xs)/2]
}
