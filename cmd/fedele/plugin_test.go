package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/core/plugins"
)

// A fresh skeleton of each kind goes init → build → test → push to a
// running `fedele serve`, and the pushed score plugin then scores contacts
// there, until one call rolls it back.
func TestPluginCLIFromSkeletonToServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds three modules with Go")
	}
	ctx := context.Background()
	url, out, stop := startServe(t, t.TempDir())
	defer stop()
	key := keyPattern.FindString(out.String())
	if key == "" {
		t.Fatalf("no key printed: %q", out.String())
	}
	fedele, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	api := func(method, path string, body any, v any) int {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, url+path, rd)
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if v != nil && json.Unmarshal(b, v) != nil {
			t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
		}
		return res.StatusCode
	}
	cli := func(args ...string) string {
		t.Helper()
		var b bytes.Buffer
		if err := run(ctx, args, &b, io.Discard); err != nil {
			t.Fatalf("fedele %s: %v\n%s", strings.Join(args, " "), err, b.String())
		}
		return b.String()
	}

	for _, k := range plugins.Kinds {
		kind := string(k)
		t.Run(kind, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "my"+kind)
			cli("plugin", "init", kind, dir, "--fedele", fedele)
			cli("plugin", "build", dir)
			module := filepath.Join(dir, "my"+kind+".wasm")
			tested := cli("plugin", "test", module, "--kind", kind, "--input", filepath.Join(dir, "input.json"))
			if !strings.Contains(tested, "fuel") {
				t.Errorf("plugin test printed %q", tested)
			}
			pushed := cli("plugin", "push", module, "--name", "my"+kind, "--kind", kind, "--activate", "--url", url, "--key", key)
			if !strings.Contains(pushed, "Activated my"+kind+" version 1") {
				t.Errorf("push printed %q", pushed)
			}
		})
	}

	// The score plugin scores a contact on the server.
	var c struct{ ID string }
	if api("POST", "/v1/contacts", map[string]any{"first_name": "Ada", "emails": []map[string]any{{"address": "ada@example.com"}}}, &c) != 201 {
		t.Fatal("create contact")
	}
	score := func() (int, string) {
		var sc struct {
			Score     int
			DecidedBy string `json:"decided_by"`
		}
		api("POST", "/v1/contacts/"+c.ID+"/score", nil, &sc)
		return sc.Score, sc.DecidedBy
	}
	if s, by := score(); s != 60 || by != "plugin" {
		t.Fatalf("skeleton score %d by %s, want 60 by the plugin", s, by)
	}

	// A second version that scores higher, pushed and activated; then back.
	dir := filepath.Join(t.TempDir(), "myscore")
	cli("plugin", "init", "score", dir, "--fedele", fedele)
	src, _ := os.ReadFile(filepath.Join(dir, "decide.go"))
	if err := os.WriteFile(filepath.Join(dir, "decide.go"), bytes.Replace(src, []byte("Score: 50"), []byte("Score: 80"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	cli("plugin", "build", dir)
	cli("plugin", "push", filepath.Join(dir, "myscore.wasm"), "--name", "myscore", "--kind", "score", "--activate", "--url", url, "--key", key)
	if s, _ := score(); s != 90 {
		t.Fatalf("version 2 scored %d, want 90", s)
	}
	var back struct{ Version int }
	if code := api("POST", "/v1/plugins/myscore/rollback", nil, &back); code != 200 || back.Version != 1 {
		t.Fatalf("rollback: %d %+v", code, back)
	}
	if s, _ := score(); s != 60 {
		t.Fatalf("after rollback scored %d, want 60", s)
	}
}

func TestPluginCLIErrors(t *testing.T) {
	for _, args := range [][]string{
		{"plugin"}, {"plugin", "nope"}, {"plugin", "init", "scorer", t.TempDir()}, {"plugin", "init", "score"},
		{"plugin", "build"}, {"plugin", "test", "missing.wasm", "--kind", "score"},
		{"plugin", "test", filepath.Join("..", "..", "testdata", "hostile", "infinite_loop.wasm"), "--kind", "score"},
		{"plugin", "push", "x.wasm"},
	} {
		if err := run(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("fedele %s succeeded", strings.Join(args, " "))
		}
	}
	err := run(context.Background(), []string{"plugin", "test", filepath.Join("..", "..", "testdata", "hostile", "sleeps.wasm"), "--kind", "score"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "timeout") {
		t.Errorf("a sleeping plugin: %v", err)
	}
}

// The CLI says when an activation switches another plugin off, and a
// rollback stays within the plugin: the sequence, with the built
// examples (no Go build).
func TestPluginCLISaysWhatAnActivationReplaced(t *testing.T) {
	ctx := context.Background()
	url, out, stop := startServe(t, t.TempDir())
	defer stop()
	key := keyPattern.FindString(out.String())
	if key == "" {
		t.Fatalf("no key printed: %q", out.String())
	}
	examples := filepath.Join("..", "..", "testdata", "plugins")
	remote := []string{"--url", url, "--key", key}
	for _, step := range []struct {
		args    []string
		says    string // what the output must contain
		errSays string // or what the error must contain
	}{
		{[]string{"plugin", "push", filepath.Join(examples, "leadscore.wasm"), "--name", "leads", "--kind", "score", "--activate"},
			"Activated leads version 1: it decides every score from now on.\n", ""},
		{[]string{"plugin", "push", filepath.Join(examples, "flatscore.wasm"), "--name", "myscore", "--kind", "score", "--activate"},
			"It replaces leads version 1, which no longer runs", ""},
		{[]string{"plugin", "push", filepath.Join(examples, "leadscore.wasm"), "--name", "myscore", "--kind", "score"},
			"Uploaded myscore version 2", ""},
		{[]string{"plugin", "activate", "myscore", "2"}, "Activated myscore version 2: it decides every score from now on.\nIt replaces version 1.\n", ""},
		{[]string{"plugin", "rollback", "myscore"}, "Rolled back to myscore version 1", ""},
		{[]string{"plugin", "rollback", "myscore"}, "", "409"},
		{[]string{"plugin", "activate", "leads", "1"}, "It replaces myscore version 1, which no longer runs", ""},
	} {
		var b bytes.Buffer
		err := run(ctx, append(step.args, remote...), &b, io.Discard)
		switch {
		case step.errSays != "" && (err == nil || !strings.Contains(err.Error(), step.errSays)):
			t.Fatalf("fedele %s: error %v, want one saying %q", strings.Join(step.args, " "), err, step.errSays)
		case step.errSays == "" && err != nil:
			t.Fatalf("fedele %s: %v", strings.Join(step.args, " "), err)
		case !strings.Contains(b.String(), step.says):
			t.Fatalf("fedele %s printed %q, want %q in it", strings.Join(step.args, " "), b.String(), step.says)
		}
	}
	for _, args := range [][]string{{"plugin", "activate", "leads"}, {"plugin", "rollback"}, {"plugin", "activate", "leads", "1", "--key", ""}} {
		if err := run(ctx, args, io.Discard, io.Discard); err == nil {
			t.Errorf("fedele %s succeeded", strings.Join(args, " "))
		}
	}
}

// serve compiles the development tenant's active plugins at start, before
// any call: a restart on an empty compilation cache refills it by itself.
func TestServeWarmsActivePluginsAtStart(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	url, out, stop := startServe(t, data)
	key := keyPattern.FindString(out.String())
	if key == "" {
		t.Fatalf("no key printed: %q", out.String())
	}
	if err := run(ctx, []string{"plugin", "push", filepath.Join("..", "..", "testdata", "plugins", "leadscore.wasm"),
		"--name", "leads", "--kind", "score", "--activate", "--url", url, "--key", key}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(data, "wasm-cache")
	if err := os.RemoveAll(cache); err != nil {
		t.Fatal(err)
	}
	_, _, stop = startServe(t, data)
	defer stop()
	deadline := time.Now().Add(30 * time.Second)
	for cachedFiles(cache) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("nothing compiled into the cache 30 s after start, with no call made")
		}
		time.Sleep(20 * time.Millisecond) // polling a folder another goroutine fills; bounded by the deadline
	}
}

func cachedFiles(dir string) int {
	n := 0
	_ = filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}
