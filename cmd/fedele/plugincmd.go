package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	"github.com/fedele-crm/fedele/core/plugins"
	"github.com/fedele-crm/fedele/infra/wasm"
)

var pluginUsage = `usage:
  fedele plugin init <` + kindAlternatives() + `> <dir> [--fedele DIR]
  fedele plugin build <dir>
  fedele plugin test <module.wasm> --kind K [--input batch.json]
  fedele plugin push <module.wasm> --name N --kind K [--fields contact.emails,…] [--activate] [--url URL] [--key KEY]
  fedele plugin activate <name> <version> [--url URL] [--key KEY]
  fedele plugin rollback <name> [--url URL] [--key KEY]`

// kindAlternatives is the kinds as a usage line writes them: score|route|campaign.
func kindAlternatives() string {
	names := make([]string, len(plugins.Kinds))
	for i, k := range plugins.Kinds {
		names[i] = string(k)
	}
	return strings.Join(names, "|")
}

func pluginCommand(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New(pluginUsage)
	}
	switch args[0] {
	case "init":
		return pluginInit(args[1:], stdout)
	case "build":
		return pluginBuild(ctx, args[1:], stdout)
	case "test":
		return pluginTest(ctx, args[1:], stdout)
	case "push":
		return pluginPush(ctx, args[1:], stdout)
	case "activate":
		return pluginActivate(ctx, args[1:], stdout)
	case "rollback":
		return pluginRollback(ctx, args[1:], stdout)
	}
	return fmt.Errorf("unknown plugin command %q\n%s", args[0], pluginUsage)
}

// pluginInit writes a buildable skeleton: the decision in plain Go (tested
// natively with go test), the export behind a wasip1 build tag, a sample
// batch, and a go.mod that finds the PDK in the Fedele module on this disk.
func pluginInit(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("plugin init", flag.ContinueOnError)
	fedele := fs.String("fedele", "", "the Fedele module's folder, for the PDK (default: found above the current folder)")
	kindArg, dir, err := twoArgs(fs, args, "<kind> <dir>")
	if err != nil {
		return err
	}
	kind := plugins.Kind(kindArg)
	if !kind.Valid() {
		return fmt.Errorf("kind must be %s, not %q", plugins.KindChoice(), kind)
	}
	if *fedele == "" {
		if *fedele, err = findFedele(); err != nil {
			return err
		}
	}
	if *fedele, err = filepath.Abs(*fedele); err != nil {
		return err
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s is not empty", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	name := strings.ToLower(filepath.Base(filepath.Clean(dir)))
	fixture, _, err := wasm.Fixture(kind)
	if err != nil {
		return err
	}
	data := map[string]string{"Name": name, "Kind": kindArg, "Fedele": *fedele, "Go": "1.26.0",
		"Type": strings.ToUpper(kindArg[:1]) + kindArg[1:]}
	files := map[string]string{
		"go.mod":         skeletonGoMod,
		"decide.go":      skeletonDecide[kind],
		"decide_test.go": skeletonTest,
		"main_wasip1.go": skeletonMain,
		"input.json":     string(fixture),
		".gitignore":     "*.wasm\n",
		"README.md":      skeletonReadme,
	}
	for file, text := range files {
		t, err := template.New(file).Parse(text)
		if err != nil {
			return fmt.Errorf("template %s: %w", file, err)
		}
		var b bytes.Buffer
		if err := t.Execute(&b, data); err != nil {
			return fmt.Errorf("template %s: %w", file, err)
		}
		if err := os.WriteFile(filepath.Join(dir, file), b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "Created a %s plugin in %s. Next:\n\n    fedele plugin build %s\n", kind, dir, dir)
	return nil
}

// findFedele walks up from the current folder to the Fedele module.
func findFedele() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.HasPrefix(b, []byte("module github.com/fedele-crm/fedele\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("cannot find the Fedele module above this folder: pass --fedele DIR")
		}
		dir = parent
	}
}

// pluginBuild builds a plugin folder into <dir>/<name>.wasm with standard Go.
func pluginBuild(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return errors.New("usage: fedele plugin build <dir>")
	}
	dir, err := filepath.Abs(args[0])
	if err != nil {
		return err
	}
	goCmd := func(env []string, args ...string) error {
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, "go.sum")); errors.Is(err, os.ErrNotExist) {
		if err := goCmd(nil, "mod", "tidy"); err != nil {
			return err
		}
	}
	out := filepath.Join(dir, filepath.Base(dir)+".wasm")
	start := time.Now()
	if err := goCmd([]string{"GOOS=wasip1", "GOARCH=wasm"}, "build", "-trimpath", "-buildmode=c-shared", "-o", out, "."); err != nil {
		return err
	}
	st, err := os.Stat(out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Built %s (%.1f MiB) in %s. Next:\n\n    fedele plugin test %s --kind <kind> --input %s\n",
		out, float64(st.Size())/(1<<20), time.Since(start).Round(100*time.Millisecond), out, filepath.Join(dir, "input.json"))
	return nil
}

// pluginTest runs a module as the server would: the same validation at
// upload (limits, compile, contract on the built-in fixture), then a call
// on the input under the same caps, printing output, time, memory and fuel.
func pluginTest(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("plugin test", flag.ContinueOnError)
	kind := fs.String("kind", "", plugins.KindChoice())
	inputFile := fs.String("input", "", "a batch of the kind's input contract (default: the built-in fixture)")
	module, err := oneArg(fs, args, "<module.wasm>")
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(module)
	if err != nil {
		return err
	}
	input, n, err := wasm.Fixture(plugins.Kind(*kind))
	if err != nil {
		return fmt.Errorf("--kind must be %s: %w", plugins.KindChoice(), err)
	}
	if *inputFile != "" {
		if input, err = os.ReadFile(*inputFile); err != nil {
			return err
		}
		var recs []json.RawMessage
		if err := json.Unmarshal(input, &recs); err != nil {
			return fmt.Errorf("%s is not a JSON array of records: %w", *inputFile, err)
		}
		n = len(recs)
	}
	cache, err := os.MkdirTemp("", "fedele-plugin-test-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(cache)
	host, err := wasm.New(wasm.Config{CacheDir: cache})
	if err != nil {
		return err
	}
	defer host.Close(ctx)
	m, err := host.Prepare(ctx, plugins.Kind(*kind), raw)
	if err != nil {
		return fmt.Errorf("refused at upload: %w", err)
	}
	res, err := host.Run(ctx, wasm.Call{Tenant: "test", Module: m, Input: input, Records: n, Now: time.Now().UTC(), Seed: 1})
	for _, line := range res.Logs {
		fmt.Fprintln(stdout, "log:", line)
	}
	if err != nil {
		return fmt.Errorf("the call failed: %w", err)
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, res.Output, "", "  ") != nil {
		pretty.Write(res.Output)
	}
	fmt.Fprintf(stdout, "%s\n\nsha256 %s: %d records in %s, %.1f MiB of memory, %d fuel (%d per record)\n",
		pretty.String(), m.ID, n, res.Duration.Round(time.Microsecond), float64(res.MemoryBytes)/(1<<20), res.Fuel, res.Fuel/int64(max(n, 1)))
	return nil
}

// pluginPush uploads a module through the API, and activates it if asked.
func pluginPush(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("plugin push", flag.ContinueOnError)
	name := fs.String("name", "", "the plugin's name")
	kind := fs.String("kind", "", plugins.KindChoice())
	fields := fs.String("fields", "", "comma-separated input fields the plugin needs (default: all)")
	activate := fs.Bool("activate", false, "activate the new version")
	url, key := apiFlags(fs)
	module, err := oneArg(fs, args, "<module.wasm>")
	if err != nil {
		return err
	}
	if *name == "" || *kind == "" || *key == "" {
		return errors.New("push needs --name, --kind and an API key (--key or $FEDELE_KEY)")
	}
	raw, err := os.ReadFile(module)
	if err != nil {
		return err
	}
	path := fmt.Sprintf("/v1/plugins/%s/versions?kind=%s", *name, *kind)
	if *fields != "" {
		path += "&fields=" + *fields
	}
	var v plugins.Version
	if err := call(ctx, http.MethodPost, *url+path, *key, "application/wasm", raw, &v); err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	fmt.Fprintf(stdout, "Uploaded %s version %d (sha256 %s).\n", v.Name, v.Number, v.ModuleID)
	if *activate {
		var a plugins.Activation
		if err := call(ctx, http.MethodPost, fmt.Sprintf("%s/v1/plugins/%s/versions/%d/activate", *url, v.Name, v.Number), *key, "", nil, &a); err != nil {
			return fmt.Errorf("activate: %w", err)
		}
		printActivation(stdout, "Activated", a)
	}
	return nil
}

// pluginActivate makes a version of a plugin the one its kind runs.
func pluginActivate(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("plugin activate", flag.ContinueOnError)
	url, key := apiFlags(fs)
	name, version, err := twoArgs(fs, args, "<name> <version>")
	if err != nil {
		return err
	}
	if *key == "" {
		return errors.New("activate needs an API key (--key or $FEDELE_KEY)")
	}
	var a plugins.Activation
	if err := call(ctx, http.MethodPost, fmt.Sprintf("%s/v1/plugins/%s/versions/%s/activate", *url, name, version), *key, "", nil, &a); err != nil {
		return fmt.Errorf("activate: %w", err)
	}
	printActivation(stdout, "Activated", a)
	return nil
}

// pluginRollback returns a plugin to its version that was active before.
func pluginRollback(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("plugin rollback", flag.ContinueOnError)
	url, key := apiFlags(fs)
	name, err := oneArg(fs, args, "<name>")
	if err != nil {
		return err
	}
	if *key == "" {
		return errors.New("rollback needs an API key (--key or $FEDELE_KEY)")
	}
	var a plugins.Activation
	if err := call(ctx, http.MethodPost, fmt.Sprintf("%s/v1/plugins/%s/rollback", *url, name), *key, "", nil, &a); err != nil {
		return fmt.Errorf("rollback: %w", err)
	}
	printActivation(stdout, "Rolled back to", a)
	return nil
}

func apiFlags(fs *flag.FlagSet) (url, key *string) {
	url = fs.String("url", envOr("FEDELE_URL", "http://127.0.0.1:8080"), "the API's address ($FEDELE_URL)")
	key = fs.String("key", os.Getenv("FEDELE_KEY"), "an API key with plugins:admin ($FEDELE_KEY)")
	return url, key
}

// printActivation says what now runs and, loudly when it is another
// plugin, what stopped running: activating one plugin of a kind silently
// switching off another is what surprised people.
func printActivation(w io.Writer, what string, a plugins.Activation) {
	fmt.Fprintf(w, "%s %s version %d: it decides every %s from now on.\n", what, a.Name, a.Number, a.Kind)
	switch r := a.Replaced; {
	case r == nil:
	case r.Name != a.Name:
		fmt.Fprintf(w, "It replaces %s version %d, which no longer runs: a tenant runs one %s plugin at a time.\n", r.Name, r.Version, a.Kind)
	default:
		fmt.Fprintf(w, "It replaces version %d.\n", r.Version)
	}
}

func call(ctx context.Context, method, url, key, contentType string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return err
	}
	if res.StatusCode >= 300 {
		return fmt.Errorf("%s: %s", res.Status, b)
	}
	return json.Unmarshal(b, out)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// oneArg parses flags placed before or after one positional argument.
func oneArg(fs *flag.FlagSet, args []string, what string) (string, error) {
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return "", err
	}
	if len(pos) != 1 {
		return "", fmt.Errorf("want %s", what)
	}
	return pos[0], nil
}

func twoArgs(fs *flag.FlagSet, args []string, what string) (string, string, error) {
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return "", "", err
	}
	if len(pos) != 2 {
		return "", "", fmt.Errorf("want %s", what)
	}
	return pos[0], pos[1], nil
}

// parseInterleaved lets flags come after positional arguments, as people
// type them (flag stops at the first non-flag).
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
