// Package functions_test builds each Lambda function and drives the binary
// exactly as Lambda does: through the Runtime API, served here on loopback.
package functions_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/internal/testsupport/dynamolocal"
)

var binaries = map[string]string{} // function name -> built binary

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "fedele-functions")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, fn := range []string{"api", "relay", "worker", "scheduler"} {
		out := filepath.Join(dir, fn, "bootstrap")
		cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", out, "./"+fn)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", fn, err, b)
			os.Exit(1)
		}
		binaries[fn] = out
	}
	code := m.Run()
	dynamolocal.StopShared()
	os.RemoveAll(dir)
	os.Exit(code)
}

// invocation is one event handed to the function and what it answered.
type invocation struct {
	id       string
	event    []byte
	response []byte
	errBody  []byte
	done     chan struct{}
}

// runtime is a Lambda Runtime API on loopback.
type runtime struct {
	t       testing.TB
	srv     *http.Server
	addr    string
	queue   chan *invocation
	mu      sync.Mutex
	byID    map[string]*invocation
	initErr chan []byte
	seq     int
}

func newRuntime(t testing.TB) *runtime {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &runtime{t: t, addr: ln.Addr().String(), queue: make(chan *invocation, 16), byID: map[string]*invocation{}, initErr: make(chan []byte, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, req *http.Request) {
		select {
		case inv := <-r.queue:
			w.Header().Set("Lambda-Runtime-Aws-Request-Id", inv.id)
			w.Header().Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(30*time.Second).UnixMilli(), 10))
			w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:fedele-test")
			w.Header().Set("Lambda-Runtime-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")
			_, _ = w.Write(inv.event)
		case <-req.Context().Done():
		}
	})
	finish := func(kind string) http.HandlerFunc {
		return func(w http.ResponseWriter, req *http.Request) {
			body, _ := io.ReadAll(req.Body)
			r.mu.Lock()
			inv := r.byID[req.PathValue("id")]
			r.mu.Unlock()
			if inv == nil {
				http.Error(w, "unknown request id", http.StatusBadRequest)
				return
			}
			if kind == "response" {
				inv.response = body
			} else {
				inv.errBody = body
			}
			close(inv.done)
			w.WriteHeader(http.StatusAccepted)
		}
	}
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", finish("response"))
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", finish("error"))
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.initErr <- body
		w.WriteHeader(http.StatusAccepted)
	})
	r.srv = &http.Server{Handler: mux}
	go func() { _ = r.srv.Serve(ln) }()
	t.Cleanup(func() { _ = r.srv.Close() })
	return r
}

func (r *runtime) close() { _ = r.srv.Close() }

// start runs a function binary against the runtime with env.
func (r *runtime) start(fn string, env ...string) *exec.Cmd {
	r.t.Helper()
	cmd := exec.Command(binaries[fn])
	cmd.Env = append([]string{"AWS_LAMBDA_RUNTIME_API=" + r.addr, "AWS_LAMBDA_FUNCTION_NAME=fedele-" + fn, "PATH=" + os.Getenv("PATH"),
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local", "HOME=" + os.Getenv("HOME")}, env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if r.t.Failed() {
			r.t.Logf("%s stderr:\n%s", fn, stderr.String())
		}
	})
	return cmd
}

// invoke hands the function one event and waits for its answer.
func (r *runtime) invoke(event any) *invocation {
	r.t.Helper()
	var raw []byte
	switch e := event.(type) {
	case []byte:
		raw = e
	case string:
		raw = []byte(e)
	default:
		var err error
		if raw, err = json.Marshal(e); err != nil {
			r.t.Fatal(err)
		}
	}
	r.mu.Lock()
	r.seq++
	inv := &invocation{id: fmt.Sprintf("req-%d", r.seq), event: raw, done: make(chan struct{})}
	r.byID[inv.id] = inv
	r.mu.Unlock()
	r.queue <- inv
	select {
	case <-inv.done:
	case <-time.After(60 * time.Second):
		r.t.Fatalf("no answer to %s within 60 s", inv.id)
	}
	return inv
}

// local returns the shared DynamoDB Local.
func local(t *testing.T) *dynamolocal.Instance {
	t.Helper()
	in, err := dynamolocal.Shared(context.Background())
	if err != nil {
		t.Fatalf("DynamoDB Local: %v", err)
	}
	return in
}

func TestConfigurationErrorsReachInitError(t *testing.T) {
	for _, fn := range []string{"api", "relay", "worker", "scheduler"} {
		t.Run(fn, func(t *testing.T) {
			r := newRuntime(t)
			cmd := r.start(fn) // no TABLE_NAME, no EVENT_BUS_NAME, no PUBLIC_URL
			select {
			case body := <-r.initErr:
				if !strings.Contains(string(body), "TABLE_NAME is not set") {
					t.Errorf("init error %s does not name TABLE_NAME", body)
				}
				// Those that request messages never fall back to a local
				// address for unsubscribe links.
				if fn != "relay" && !strings.Contains(string(body), "PUBLIC_URL is not set") {
					t.Errorf("init error %s does not name PUBLIC_URL", body)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("no init error")
			}
			if err := cmd.Wait(); err == nil {
				t.Error("a misconfigured function exited 0")
			}
		})
	}
}
