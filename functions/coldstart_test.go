package functions_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// BenchmarkColdStart measures a cold start as Lambda sees it — process
// start to the first response through the Runtime API — for the api
// binary beside a hello-world aws-lambda-go binary, with both binaries'
// sizes and the ratio of the two start times.
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
	event := httpEvent("GET", "/healthz", "", nil)
	var helloNs float64
	for _, fn := range []struct{ name, path string }{{"hello", hello}, {"api", api}} {
		b.Run(fn.name, func(b *testing.B) {
			for b.Loop() {
				r := newRuntime(b)
				cmd := exec.Command(fn.path)
				cmd.Env = []string{"AWS_LAMBDA_RUNTIME_API=" + r.addr, "TABLE_NAME=bench", "DYNAMODB_ENDPOINT=http://127.0.0.1:1",
					"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=x", "AWS_SECRET_ACCESS_KEY=x"}
				if err := cmd.Start(); err != nil {
					b.Fatal(err)
				}
				inv := r.invoke(event)
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				r.close()
				if inv.errBody != nil {
					b.Fatalf("%s: %s", fn.name, inv.errBody)
				}
			}
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			st, _ := os.Stat(fn.path)
			b.ReportMetric(float64(st.Size())/1e6, "MB-binary")
			b.ReportMetric(ns/1e6, "ms-to-first-response")
			if fn.name == "hello" {
				helloNs = ns
			} else if helloNs > 0 {
				b.ReportMetric(ns/helloNs, "x-hello")
			}
		})
	}
}
