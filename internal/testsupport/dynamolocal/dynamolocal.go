// Package dynamolocal runs the real DynamoDB Local (Amazon's own emulator, a
// Java program) for tests and local development.
//
// It is meant for test code of any package (it is an ordinary package so
// that _test.go files everywhere can import it) and for a developer's own
// machine. It must never be imported by production code paths: not by
// functions/, not by the server's non-test code, not by anything that ships.
// It must never download anything but the one pinned npm package
// [Package], whose tarball is checked against [Integrity] before use.
//
// # What it does
//
// The first [Start] fetches DynamoDB Local once into a cache folder:
// `npm pack amplify-dynamodb-simulator@2.9.30` yields a tarball whose
// package/emulator/ folder holds DynamoDBLocal.jar and DynamoDBLocal_lib/.
// That folder is unpacked into <cache>/dynamodb-local-2.9.30/, where <cache>
// is $FEDELE_CACHE_DIR if set, else os.UserCacheDir()/fedele. `go test ./...`
// runs test packages in parallel processes, so the folder is unpacked next
// to its final place and renamed into it: the first process to rename wins
// and the others use its copy. Later runs use the cache and need no network.
//
// Start then runs
//
//	java -Djava.library.path=<dir>/DynamoDBLocal_lib -jar <dir>/DynamoDBLocal.jar \
//	    -inMemory -sharedDb -disableTelemetry -port <free port>
//
// and returns once DynamoDB Local answers ListTables on 127.0.0.1.
// -sharedDb matters: without it DynamoDB Local keeps one set of tables per
// access key and region, so two SDK clients configured differently would not
// see each other's tables. Telemetry is off (-disableTelemetry and
// DDB_LOCAL_TELEMETRY=0): DynamoDB Local would otherwise report usage to AWS
// and write an installation id into the cache folder.
//
// # Requirements
//
// Java (17 or later on this project's machines) and npm must be on PATH.
// When either is missing, Start fails with [ErrMissingTools], whose message
// says what to install. Tests using this package must fail with that error,
// never skip: a skipped DynamoDB test is a test that silently stopped
// testing.
//
// # Use
//
// Most test packages share one instance per test process:
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		dynamolocal.StopShared()
//		os.Exit(code)
//	}
//
//	func TestSomething(t *testing.T) {
//		local, err := dynamolocal.Shared(context.Background())
//		if err != nil {
//			t.Fatalf("DynamoDB Local: %v", err)
//		}
//		// point an SDK client at local.Endpoint, with any region and
//		// dummy credentials
//	}
//
// DynamoDB Local does not check signatures, but it does refuse an access key
// id that is not made of letters and digits only ("local" or "fake" is fine,
// "not-a-key" answers UnrecognizedClientException), and a request without a
// SigV4 Authorization header (MissingAuthenticationToken).
//
// Fault-injection tests start their own instance with [Start], take it away
// with [Instance.Stop] and bring it back with [Instance.Restart] on the same
// port. An in-memory instance (the default) loses all its tables and items
// on Stop, so after Restart it is empty; pass [Options.DBPath] to keep the
// data in files that survive the restart.
//
// DynamoDB Local listens on all network interfaces (it has no option to
// bind to loopback only) and accepts any credentials: run it on trusted
// machines only.
package dynamolocal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrMissingTools is returned (wrapped) by [Start] and [Shared] when java or
// npm is not on PATH. Its message says what to install.
var ErrMissingTools = errors.New("DynamoDB tests need Java 17+ and npm: apt-get install -y default-jre-headless npm (or run .ci/run, which installs them)")

const (
	// startTimeout bounds how long Start waits for a new process to answer.
	startTimeout = 60 * time.Second
	// pollInterval is the pause between two readiness probes.
	pollInterval = 50 * time.Millisecond
	// outputLimit bounds the process output kept for error messages.
	outputLimit = 64 << 10
	// startAttempts is how many ports Start tries when the one it picked is
	// taken by another process before DynamoDB Local could bind it.
	startAttempts = 3
)

// Options change how [Start] runs DynamoDB Local. The zero value is what
// most tests want: in memory, nothing written to disk.
type Options struct {
	// DBPath, when set, makes DynamoDB Local keep its data in a file in
	// this folder (-dbPath instead of -inMemory), so that tables and items
	// survive Stop and Restart. A relative path is taken from the current
	// working directory. Empty means in memory: everything is lost when
	// the process stops.
	DBPath string
}

// Instance is one DynamoDB Local process, started by [Start] or [Shared].
// Its methods are safe for concurrent use.
type Instance struct {
	// Endpoint is the base URL to give an SDK client:
	// "http://127.0.0.1:<Port>".
	Endpoint string
	// Port is the TCP port DynamoDB Local listens on. It stays the same
	// across Restart.
	Port int

	dir    string // the emulator folder holding DynamoDBLocal.jar
	dbPath string // absolute; "" means in memory

	mu   sync.Mutex // serialises Stop and Restart; guards proc
	proc *process   // nil when stopped
}

// process is one run of the java command.
type process struct {
	cmd  *exec.Cmd
	out  *tailBuffer
	done chan struct{} // closed once the process has exited
	err  error         // what cmd.Wait returned; read only after done
}

// Start fetches DynamoDB Local if it is not cached yet, runs it on a free
// loopback port and returns once it answers ListTables. Pass at most one
// [Options]; none means in memory. ctx bounds the fetch and the wait for
// the process to answer, not the life of the process: call [Instance.Stop]
// when done (t.Cleanup is a good place).
func Start(ctx context.Context, opts ...Options) (*Instance, error) {
	var o Options
	switch len(opts) {
	case 0:
	case 1:
		o = opts[0]
	default:
		return nil, fmt.Errorf("dynamolocal.Start: at most one Options, got %d", len(opts))
	}
	if err := checkTools(); err != nil {
		return nil, err
	}
	dir, err := fetch(ctx)
	if err != nil {
		return nil, fmt.Errorf("fetch DynamoDB Local: %w", err)
	}
	in := &Instance{dir: dir}
	if o.DBPath != "" {
		if in.dbPath, err = filepath.Abs(o.DBPath); err != nil {
			return nil, fmt.Errorf("DynamoDB Local data folder %q: %w", o.DBPath, err)
		}
	}
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		in.Port = port
		in.Endpoint = "http://127.0.0.1:" + strconv.Itoa(port)
		in.mu.Lock()
		err = in.start(ctx)
		in.mu.Unlock()
		if err == nil {
			return in, nil
		}
		// Another process took the port between our pick and the JVM's
		// bind: pick another one.
		if !errors.Is(err, errPortTaken) || attempt == startAttempts {
			return nil, err
		}
	}
}

// Stop kills DynamoDB Local and waits for the process to end. Stopping a
// stopped instance does nothing. An in-memory instance loses all its data.
func (in *Instance) Stop() error {
	if in == nil {
		return nil
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.stop()
}

// Restart stops the instance if it is running and starts a fresh DynamoDB
// Local process on the same port, returning once it answers. Use it to
// simulate an outage: Stop in the middle of the work, then Restart.
//
// An in-memory instance comes back EMPTY: every table and item is gone and
// tests must create their tables again. With [Options.DBPath] the data
// survives. Restarting the instance returned by [Shared] therefore wipes
// the data of every test in the process; fault-injection tests should use
// their own instance from [Start].
//
// Restart fails if another process has taken the port meanwhile.
func (in *Instance) Restart(ctx context.Context) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if err := in.stop(); err != nil {
		return err
	}
	return in.start(ctx)
}

// errPortTaken marks a start that failed because the port was not free.
var errPortTaken = errors.New("port already in use")

// start runs a new java process on in.Port and waits for it to answer.
// in.mu must be held and in.proc must be nil.
func (in *Instance) start(ctx context.Context) error {
	// DynamoDB Local binds every interface; make sure the port is free on
	// all of them, or the readiness probe might talk to someone else's
	// server while our JVM fails to bind.
	if l, err := net.Listen("tcp", ":"+strconv.Itoa(in.Port)); err != nil {
		return fmt.Errorf("start DynamoDB Local on port %d: %w (%v)", in.Port, errPortTaken, err)
	} else if err := l.Close(); err != nil {
		return fmt.Errorf("start DynamoDB Local on port %d: release the probe listener: %w", in.Port, err)
	}

	args := []string{
		"-Djava.library.path=" + filepath.Join(in.dir, "DynamoDBLocal_lib"),
		"-jar", filepath.Join(in.dir, "DynamoDBLocal.jar"),
	}
	if in.dbPath == "" {
		args = append(args, "-inMemory")
	} else {
		args = append(args, "-dbPath", in.dbPath)
	}
	args = append(args, "-sharedDb", "-disableTelemetry", "-port", strconv.Itoa(in.Port))

	// Not CommandContext: the process outlives the ctx that started it.
	cmd := exec.Command("java", args...)
	cmd.Dir = in.dir
	cmd.Env = append(os.Environ(), "DDB_LOCAL_TELEMETRY=0")
	out := &tailBuffer{max: outputLimit}
	cmd.Stdout, cmd.Stderr = out, out
	killWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start DynamoDB Local (java %s): %w", strings.Join(args, " "), err)
	}
	p := &process{cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	in.proc = p

	if err := in.waitReady(ctx, p); err != nil {
		_ = in.stop()
		return err
	}
	return nil
}

// waitReady polls ListTables until the process answers 200, exits, ctx
// ends or startTimeout passes.
func (in *Instance) waitReady(ctx context.Context, p *process) error {
	deadline := time.NewTimer(startTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		if ready(ctx, in.Endpoint) {
			select {
			case <-p.done: // an answer, but not from our process
			default:
				return nil
			}
		}
		select {
		case <-p.done:
			err := fmt.Errorf("DynamoDB Local on port %d exited before it answered (%v); its output:\n%s", in.Port, p.err, p.out)
			if strings.Contains(p.out.String(), "Address already in use") {
				err = fmt.Errorf("%w: %w", errPortTaken, err)
			}
			return err
		case <-ctx.Done():
			return fmt.Errorf("wait for DynamoDB Local on port %d: %w; its output so far:\n%s", in.Port, ctx.Err(), p.out)
		case <-deadline.C:
			return fmt.Errorf("DynamoDB Local on port %d did not answer ListTables within %s; its output:\n%s", in.Port, startTimeout, p.out)
		case <-tick.C:
		}
	}
}

// stop kills the running process, if any, and waits for it. in.mu must be
// held.
func (in *Instance) stop() error {
	p := in.proc
	if p == nil {
		return nil
	}
	in.proc = nil
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stop DynamoDB Local on port %d: %w", in.Port, err)
	}
	<-p.done // the kill's "signal: killed" from Wait is expected
	return nil
}

// probeClient is used for readiness probes only: no keep-alive, so that no
// idle connection outlives a probe, and a short timeout, so that a process
// that accepted the connection but is still starting cannot hold us.
var probeClient = &http.Client{
	Timeout:   2 * time.Second,
	Transport: &http.Transport{DisableKeepAlives: true}, // and no proxy
}

// ready reports whether a DynamoDB Local at endpoint answers ListTables
// with 200. The request looks signed enough for DynamoDB Local, which
// checks that a SigV4 Authorization header is present but not the
// signature.
func ready(ctx context.Context, endpoint string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+"/", strings.NewReader("{}"))
	if err != nil {
		return false
	}
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810.ListTables")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0")
	res, err := probeClient.Do(req)
	if err != nil {
		return false
	}
	_ = res.Body.Close()
	return res.StatusCode == http.StatusOK
}

// checkTools returns ErrMissingTools when java or npm is not on PATH.
func checkTools() error {
	var missing []string
	for _, tool := range []string{"java", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w (not on PATH: %s)", ErrMissingTools, strings.Join(missing, ", "))
	}
	return nil
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port for DynamoDB Local: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("find a free port for DynamoDB Local: %w", err)
	}
	return port, nil
}

var shared struct {
	mu      sync.Mutex
	started bool
	in      *Instance
	err     error
}

// Shared returns the process-wide in-memory DynamoDB Local, starting it on
// first use. Every later call returns the same instance, or the same error:
// when the first start fails, every test that asks fails fast with the
// reason instead of trying again. ctx bounds only the start. Tests sharing
// it should each use their own table names (the instance is -sharedDb, so
// all clients see all tables). TestMain calls [StopShared] after m.Run.
func Shared(ctx context.Context) (*Instance, error) {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.started {
		shared.in, shared.err = Start(ctx)
		shared.started = true
	}
	return shared.in, shared.err
}

// StopShared stops the instance started by [Shared], if any; a later call
// to Shared starts a new one. It waits for a start in progress to finish.
func StopShared() {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.in != nil {
		_ = shared.in.Stop()
	}
	shared.started, shared.in, shared.err = false, nil, nil
}

// tailBuffer keeps the last max bytes written to it: a process's output,
// kept for error messages without growing without bound.
type tailBuffer struct {
	mu      sync.Mutex
	buf     []byte
	max     int
	dropped bool
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(p)
	if len(p) > b.max {
		p = p[len(p)-b.max:]
		b.dropped = true
	}
	if over := len(b.buf) + len(p) - b.max; over > 0 {
		b.buf = b.buf[:copy(b.buf, b.buf[over:])]
		b.dropped = true
	}
	b.buf = append(b.buf, p...)
	return n, nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := string(bytes.TrimRight(b.buf, "\n"))
	if b.dropped {
		s = "[earlier output dropped]\n" + s
	}
	if s == "" {
		s = "(no output)"
	}
	return s
}
