// Package dynamolocal fetches and runs the real DynamoDB Local for tests and
// local development: `npm pack amplify-dynamodb-simulator@2.9.30` holds its
// jar, which runs on Java 17.
//
// It must never be imported by production code (functions/, the server's
// non-test paths), and it must never download anything but that one pinned
// npm package.
package dynamolocal

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
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
	"time"
)

// Package is the pinned npm package that carries DynamoDB Local.
const Package = "amplify-dynamodb-simulator@2.9.30"

// ErrMissingTools says what to install when Java or npm is absent.
var ErrMissingTools = errors.New("DynamoDB tests need Java 17+ and npm: apt-get install -y default-jre-headless npm (or run .ci/run, which installs them)")

// Instance is a running DynamoDB Local.
type Instance struct {
	Endpoint string // http://127.0.0.1:<Port>
	Port     int
	dir      string // the emulator folder
	dbPath   string // "" for in-memory

	mu   sync.Mutex
	cmd  *exec.Cmd
	out  *boundedBuffer
	done chan struct{}
}

// Options change how DynamoDB Local runs.
type Options struct {
	// DBPath keeps the data in a folder, so that it survives Stop and
	// Restart; empty means in memory (gone when the process stops).
	DBPath string
}

// Start fetches DynamoDB Local when it is not cached yet and runs it on a
// free loopback port, returning once it answers.
func Start(ctx context.Context, opts Options) (*Instance, error) {
	for _, tool := range []string{"java", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("%w (%s not found)", ErrMissingTools, tool)
		}
	}
	dir, err := fetch(ctx)
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	in := &Instance{Endpoint: "http://127.0.0.1:" + strconv.Itoa(port), Port: port, dir: dir, dbPath: opts.DBPath}
	if err := in.start(ctx); err != nil {
		return nil, err
	}
	return in, nil
}

func (in *Instance) start(ctx context.Context) error {
	args := []string{"-Djava.library.path=" + filepath.Join(in.dir, "DynamoDBLocal_lib"), "-jar", filepath.Join(in.dir, "DynamoDBLocal.jar"),
		"-sharedDb", "-port", strconv.Itoa(in.Port)}
	if in.dbPath == "" {
		args = append(args, "-inMemory")
	} else {
		args = append(args, "-dbPath", in.dbPath)
	}
	// Not CommandContext: the instance outlives the context that started it.
	cmd := exec.Command("java", args...)
	cmd.Dir = in.dir
	out := &boundedBuffer{max: 64 << 10}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start DynamoDB Local: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	in.mu.Lock()
	in.cmd, in.out, in.done = cmd, out, done
	in.mu.Unlock()

	deadline := time.Now().Add(60 * time.Second)
	for {
		if ready(in.Endpoint) {
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("DynamoDB Local exited before it answered: %s", out.String())
		case <-ctx.Done():
			_ = in.Stop()
			return ctx.Err()
		default:
		}
		if time.Now().After(deadline) {
			_ = in.Stop()
			return fmt.Errorf("DynamoDB Local did not answer within 60 s: %s", out.String())
		}
		time.Sleep(50 * time.Millisecond) // polling a starting JVM, bounded by the deadline
	}
}

// ready reports whether DynamoDB Local answers ListTables.
func ready(endpoint string) bool {
	req, err := http.NewRequest(http.MethodPost, endpoint+"/", strings.NewReader("{}"))
	if err != nil {
		return false
	}
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810.ListTables")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0")
	client := http.Client{Timeout: time.Second}
	res, err := client.Do(req)
	if err != nil {
		return false
	}
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}

// Stop kills DynamoDB Local and waits for it to end. It is idempotent.
func (in *Instance) Stop() error {
	in.mu.Lock()
	cmd, done := in.cmd, in.done
	in.cmd = nil
	in.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = cmd.Process.Kill()
	<-done
	return nil
}

// Restart starts a stopped instance again on the same port (and, with a
// DBPath, the same data), for tests that take the store away mid-flight.
func (in *Instance) Restart(ctx context.Context) error {
	if err := in.Stop(); err != nil {
		return err
	}
	return in.start(ctx)
}

var (
	sharedOnce sync.Once
	shared     *Instance
	sharedErr  error
)

// Shared starts one in-memory DynamoDB Local per test process, on first use.
func Shared(ctx context.Context) (*Instance, error) {
	sharedOnce.Do(func() { shared, sharedErr = Start(ctx, Options{}) })
	return shared, sharedErr
}

// StopShared stops the shared instance, if one was started; TestMain calls it.
func StopShared() {
	if shared != nil {
		_ = shared.Stop()
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// cacheDir is where the emulator is kept between runs.
func cacheDir() (string, error) {
	if d := os.Getenv("FEDELE_CACHE_DIR"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find a cache folder (set FEDELE_CACHE_DIR): %w", err)
	}
	return filepath.Join(d, "fedele"), nil
}

// fetch returns the folder holding DynamoDBLocal.jar, downloading the npm
// package the first time. Test packages run in parallel processes, so the
// package is unpacked into a private folder and renamed into place: the
// first rename wins and the others use its result.
func fetch(ctx context.Context) (string, error) {
	cache, err := cacheDir()
	if err != nil {
		return "", err
	}
	final := filepath.Join(cache, "dynamodb-local-2.9.30")
	jar := filepath.Join(final, "DynamoDBLocal.jar")
	if _, err := os.Stat(jar); err == nil {
		return final, nil
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", fmt.Errorf("create cache %s: %w", cache, err)
	}
	work, err := os.MkdirTemp(cache, "fetch-")
	if err != nil {
		return "", fmt.Errorf("create a fetch folder: %w", err)
	}
	defer os.RemoveAll(work)

	cmd := exec.CommandContext(ctx, "npm", "pack", Package, "--silent")
	cmd.Dir = work
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("npm pack %s: %w: %s", Package, err, stderr.String())
	}
	lines := strings.Fields(strings.TrimSpace(string(out)))
	if len(lines) == 0 {
		return "", fmt.Errorf("npm pack %s printed no file name", Package)
	}
	tgz := filepath.Join(work, lines[len(lines)-1])
	unpacked := filepath.Join(work, "emulator")
	if err := extract(tgz, "package/emulator/", unpacked); err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(unpacked, "DynamoDBLocal.jar")); err != nil {
		return "", fmt.Errorf("%s holds no package/emulator/DynamoDBLocal.jar", Package)
	}
	if err := os.Rename(unpacked, final); err != nil {
		if _, statErr := os.Stat(jar); statErr == nil {
			return final, nil // another process got there first
		}
		return "", fmt.Errorf("move DynamoDB Local into %s: %w", final, err)
	}
	return final, nil
}

// extract writes the entries of a .tgz under prefix into dst, refusing
// entries that would land outside it.
func extract(tgz, prefix, dst string) error {
	f, err := os.Open(tgz)
	if err != nil {
		return fmt.Errorf("open %s: %w", tgz, err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("read %s: %w", tgz, err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", tgz, err)
		}
		name, ok := strings.CutPrefix(h.Name, prefix)
		if !ok || name == "" {
			continue
		}
		target := filepath.Join(dst, filepath.FromSlash(name))
		if !strings.HasPrefix(target, filepath.Clean(dst)+string(os.PathSeparator)) {
			return fmt.Errorf("%s: entry %q leaves the folder", tgz, h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			w, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
			if err != nil {
				return err
			}
			_, err = io.Copy(w, tr)
			if cerr := w.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("write %s: %w", target, err)
			}
		}
	}
}

// boundedBuffer keeps the first max bytes of a process's output, for errors.
type boundedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *boundedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
