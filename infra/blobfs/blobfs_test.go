package blobfs_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core/plugins"
	"github.com/fedele-crm/fedele/core/plugins/blobtest"
	"github.com/fedele-crm/fedele/infra/blobfs"
)

func open(t *testing.T, dir string) *blobfs.Store {
	t.Helper()
	s, err := blobfs.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) plugins.Blobs { return open(t, t.TempDir()) })
}

// files lists every file and folder under dir, relative and slash-separated.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel != "." {
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func TestHostileKeysStayInside(t *testing.T) {
	// The store's folder is a child of a watched parent: anything a key
	// managed to write outside the store would appear beside it.
	parent := t.TempDir()
	dir := filepath.Join(parent, "blobs")
	s := open(t, dir)
	keys := []string{"../x", "../../x", "/etc/passwd", "/tmp/x", "a//b", "a\\b", "..\\x", "", ".", "a/../../x", "a/./b", "a/"}
	for _, key := range keys {
		t.Run(key, func(t *testing.T) {
			err := s.Put(t.Context(), key, []byte("hostile"))
			if !errors.Is(err, blobfs.ErrInvalidKey) {
				t.Errorf("put %q: %v, want ErrInvalidKey", key, err)
			}
			if _, err := s.Get(t.Context(), key); !errors.Is(err, blobfs.ErrInvalidKey) {
				t.Errorf("get %q: %v, want ErrInvalidKey", key, err)
			}
			if err := s.Delete(t.Context(), key); !errors.Is(err, blobfs.ErrInvalidKey) {
				t.Errorf("delete %q: %v, want ErrInvalidKey", key, err)
			}
		})
	}
	if diff := cmp.Diff([]string{"blobs"}, files(t, parent)); diff != "" {
		t.Errorf("files beside the store (-want +got):\n%s", diff)
	}
	if got := files(t, dir); len(got) != 0 {
		t.Errorf("files in the store after refused keys: %v", got)
	}
}

// A symlink planted in the folder (by hand, or by another program) must
// not lead a valid key out of it.
func TestSymlinkCannotLeadOut(t *testing.T) {
	parent := t.TempDir()
	outside := filepath.Join(parent, "outside")
	if err := os.Mkdir(outside, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "secret.wasm"), []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(parent, "blobs")
	s := open(t, dir)
	if err := os.MkdirAll(filepath.Join(dir, "tenants"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "tenants", "evil")); err != nil {
		t.Skipf("no symlinks here: %v", err)
	}
	key := "tenants/evil/secret.wasm"
	if got, err := s.Get(t.Context(), key); err == nil {
		t.Errorf("get through a symlink read %q from outside the folder", got)
	}
	if err := s.Put(t.Context(), "tenants/evil/new.wasm", []byte("x")); err == nil {
		t.Error("put through a symlink succeeded")
	}
	_ = s.Delete(t.Context(), key)
	if diff := cmp.Diff([]string{"secret.wasm"}, files(t, outside)); diff != "" {
		t.Errorf("files outside the store (-want +got):\n%s", diff)
	}
}

// Put leaves no temporary file behind and the file holds the blob under
// the key's own path, so the folder stays readable by hand.
func TestLayout(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	key := plugins.ModuleKey("acme", strings.Repeat("ab", 32))
	for _, data := range []string{"first", "second"} {
		if err := s.Put(t.Context(), key, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"tenants", "tenants/acme", "tenants/acme/modules", key}
	if diff := cmp.Diff(want, files(t, dir)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(key)))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "second" {
		t.Errorf("file holds %q, want %q", got, "second")
	}
	info, err := os.Stat(filepath.Join(dir, filepath.FromSlash(key)))
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		t.Errorf("blob readable by others: %v", perm)
	}
}

// A stale temporary file from a crashed Put is invisible to keys.
func TestTempFilesUnreachable(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	key := plugins.ModuleKey("acme", strings.Repeat("cd", 32))
	if err := s.Put(t.Context(), key, []byte("x")); err != nil {
		t.Fatal(err)
	}
	stale := "tenants/acme/modules/.tmp-" + strings.Repeat("cd", 32) + ".wasm-CRASHED"
	if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(stale)), []byte("torn"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(t.Context(), stale); !errors.Is(err, blobfs.ErrInvalidKey) {
		t.Errorf("get of a temporary file's name: %v, want ErrInvalidKey", err)
	}
}

func TestContextCancelled(t *testing.T) {
	s := open(t, t.TempDir())
	key := plugins.ModuleKey("acme", strings.Repeat("ef", 32))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Put(ctx, key, []byte("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("put with a cancelled context: %v", err)
	}
	if _, err := s.Get(t.Context(), key); !errors.Is(err, plugins.ErrBlobNotFound) {
		t.Errorf("a cancelled put stored something: %v", err)
	}
}
