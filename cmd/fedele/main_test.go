package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/app"
	"github.com/fedele-crm/fedele/infra/dynamo"
	"github.com/fedele-crm/fedele/infra/wasm"
	"github.com/fedele-crm/fedele/internal/testsupport/dynamolocal"
	"github.com/fedele-crm/fedele/internal/testsupport/fakebus"
)

// lockedBuffer lets the test read what the server prints while it runs.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var (
	keyPattern  = regexp.MustCompile(`fdl_[a-z0-9]{52}`)
	addrPattern = regexp.MustCompile(`listening on (http://[0-9.:]+)`)
)

// startServe runs `fedele serve` on a free port and returns its URL, what it
// printed, and a stop function that returns serve's error.
func startServe(t *testing.T, data string, extra ...string) (string, *lockedBuffer, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &lockedBuffer{}
	done := make(chan error, 1)
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data", data}, extra...)
	go func() { done <- run(ctx, args, out, io.Discard) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := addrPattern.FindStringSubmatch(out.String()); m != nil {
			stop := func() error { cancel(); return <-done }
			t.Cleanup(func() { cancel() })
			return m[1], out, stop
		}
		select {
		case err := <-done:
			cancel()
			t.Fatalf("serve ended before listening: %v; printed %q", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve did not print its address; printed %q", out.String())
		}
		time.Sleep(10 * time.Millisecond) // polling what a goroutine prints; bounded by the deadline
	}
}

func TestServeBootstrapsOnceAndShutsDownCleanly(t *testing.T) {
	data := t.TempDir()
	url, out, stop := startServe(t, data)
	key := keyPattern.FindString(out.String())
	if key == "" {
		t.Fatalf("first start printed no key: %q", out.String())
	}
	req, _ := http.NewRequest("GET", url+"/v1/contacts", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("list with the printed key: %v %v", res, err)
	}
	res.Body.Close()

	// While it runs, the store is locked: keys create says so instead of hanging.
	err = run(context.Background(), []string{"keys", "create", "--data", data, "--tenant", "acme", "--scopes", "crm:read"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("keys create beside a running server: %v", err)
	}
	if err := stop(); err != nil {
		t.Fatalf("serve after cancel: %v", err)
	}

	// Stopped, the store is free: a key for a new tenant works on the next start.
	var created bytes.Buffer
	if err := run(context.Background(), []string{"keys", "create", "--data", data, "--tenant", "acme", "--scopes", "crm:read,crm:write"}, &created, io.Discard); err != nil {
		t.Fatalf("keys create: %v", err)
	}
	acmeKey := keyPattern.FindString(created.String())
	url, out, stop = startServe(t, data)
	defer stop()
	if keyPattern.MatchString(out.String()) {
		t.Errorf("second start printed a key again: %q", out.String())
	}
	for _, k := range []string{key, acmeKey} {
		req, _ := http.NewRequest("GET", url+"/v1/contacts", nil)
		req.Header.Set("Authorization", "Bearer "+k)
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("key %s after restart: %v %v", k[:8], res, err)
		}
		res.Body.Close()
	}
}

func TestCommandErrors(t *testing.T) {
	for _, args := range [][]string{nil, {"nope"}, {"keys"}, {"keys", "create"}, {"keys", "create", "--tenant", "x", "--scopes", "root", "--data", t.TempDir()},
		{"serve", "--fast-forward", "0.5", "--data", t.TempDir()}, {"serve", "--fast-forward", "100", "--store", "dynamodb"},
		{"serve", "--event-retention-days", "0", "--data", t.TempDir()}, {"serve", "--event-retention-days", "5000", "--data", t.TempDir()}} {
		if err := run(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("run %q: no error", args)
		}
	}
}

// TestServePublishesToEventBridge: a write through the running server
// reaches a PutEvents endpoint through the real SDK client.
func TestServePublishesToEventBridge(t *testing.T) {
	bus := fakebus.New()
	defer bus.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &lockedBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--event-bus", "fedele", "--eventbridge-endpoint", bus.URL}, out, io.Discard)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !addrPattern.MatchString(out.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("no address: %q", out.String())
		}
		time.Sleep(10 * time.Millisecond) // polling what the server prints
	}
	url := addrPattern.FindStringSubmatch(out.String())[1]
	req, _ := http.NewRequest("POST", url+"/v1/contacts", strings.NewReader(`{"first_name":"Bus"}`))
	req.Header.Set("Authorization", "Bearer "+keyPattern.FindString(out.String()))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("create: %v %v", res, err)
	}
	res.Body.Close()
	// The contact's creation, and the score the local scoring consumer gave
	// it, both reach the bus.
	seen := func() map[string]int {
		types := map[string]int{}
		for _, e := range bus.Accepted() {
			if e.EventBusName != "fedele" {
				t.Errorf("an event to bus %q", e.EventBusName)
			}
			types[e.DetailType]++
		}
		return types
	}
	for got := seen(); got["contact.created"] == 0 || got["contact.scored"] == 0; got = seen() {
		if time.Now().After(deadline) {
			t.Fatalf("the bus got %v, want contact.created and contact.scored", got)
		}
		time.Sleep(10 * time.Millisecond) // polling the relay
	}
	if got := seen(); got["contact.created"] != 1 || got["contact.scored"] != 1 {
		t.Errorf("bus got %v", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
}

func TestKeysCreateOnDynamoDB(t *testing.T) {
	local, err := dynamolocal.Shared(context.Background())
	if err != nil {
		t.Fatalf("DynamoDB Local: %v", err)
	}
	var out bytes.Buffer
	args := []string{"keys", "create", "--store", "dynamodb", "--dynamodb-endpoint", local.Endpoint, "--table", "cmd-keys", "--create-table",
		"--tenant", "acme", "--scopes", "crm:read"}
	if err := run(context.Background(), args, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	client, _ := dynamo.Connect(context.Background(), local.Endpoint)
	defer dynamo.DeleteTable(context.Background(), client, "cmd-keys")
	a, err := app.New(app.Ports{Store: dynamo.New(client, "cmd-keys")})
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.APIKeys.Authenticate(context.Background(), keyPattern.FindString(out.String()))
	if err != nil || p.TenantID != "acme" {
		t.Fatalf("the printed key: %+v %v", p, err)
	}
}

func TestMain(m *testing.M) {
	wasm.RunCompilerIfChild() // plugin uploads compile in a child: this binary
	code := m.Run()
	dynamolocal.StopShared()
	os.Exit(code)
}
