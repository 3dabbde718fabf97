package dynamolocal

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

const (
	// Package is the one npm package this package ever downloads. Its
	// package/emulator/ folder is DynamoDB Local 1.25.1 (the version
	// printed by `java -jar DynamoDBLocal.jar -version`).
	Package = "amplify-dynamodb-simulator@2.9.30"

	// Integrity is the registry's sha512 of Package's tarball, in npm's
	// Subresource Integrity form. A tarball that does not match is refused,
	// whatever registry or mirror npm is configured to use.
	Integrity = "sha512-xTeeRLvzEfqyd5lh3bH4c0kHvSHHmmhD5ZDsHFKAQ5g2Zl6JqlFdutaQhCLHzxEp6Ry1o7TB6niIoXuQAnSewQ=="

	// folderName is the emulator folder's name inside the cache folder.
	folderName = "dynamodb-local-2.9.30"

	// emulatorPrefix is where the tarball keeps DynamoDB Local.
	emulatorPrefix = "package/emulator/"
)

// fetchMu serialises fetch within this process.
var fetchMu sync.Mutex

// cacheDir is the folder the emulator is kept in between runs:
// $FEDELE_CACHE_DIR, else <os.UserCacheDir()>/fedele.
func cacheDir() (string, error) {
	if d := os.Getenv("FEDELE_CACHE_DIR"); d != "" {
		return filepath.Abs(d)
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find a cache folder (set FEDELE_CACHE_DIR): %w", err)
	}
	return filepath.Join(d, "fedele"), nil
}

// fetch returns the folder holding DynamoDBLocal.jar and DynamoDBLocal_lib/,
// downloading and unpacking Package the first time.
//
// It is safe for concurrent use by several processes sharing one cache: each
// one that finds the cache empty downloads into its own temporary folder
// next to the final one and renames it into place. A directory rename is
// atomic, so the final folder is either absent or complete; when the rename
// fails because another process got there first, that process's copy is
// used and ours is thrown away.
//
// Within one process, fetches are serialised (fetchMu), so parallel tests
// starting instances at once download the package once, not once each.
func fetch(ctx context.Context) (string, error) {
	fetchMu.Lock()
	defer fetchMu.Unlock()
	cache, err := cacheDir()
	if err != nil {
		return "", err
	}
	final := filepath.Join(cache, folderName)
	if complete(final) {
		return final, nil
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", fmt.Errorf("create cache folder: %w", err)
	}
	work, err := os.MkdirTemp(cache, "."+folderName+".fetch-")
	if err != nil {
		return "", fmt.Errorf("create a download folder: %w", err)
	}
	defer os.RemoveAll(work)

	tgz, err := npmPack(ctx, work)
	if err != nil {
		return "", err
	}
	if err := verify(tgz); err != nil {
		return "", err
	}
	staged := filepath.Join(work, "emulator")
	if err := extract(tgz, emulatorPrefix, staged); err != nil {
		return "", fmt.Errorf("unpack %s: %w", Package, err)
	}
	if !complete(staged) {
		return "", fmt.Errorf("%s has no %sDynamoDBLocal.jar and DynamoDBLocal_lib/", Package, emulatorPrefix)
	}
	if err := os.Rename(staged, final); err != nil {
		if complete(final) {
			return final, nil // another process renamed its copy first
		}
		return "", fmt.Errorf("move DynamoDB Local into %s: %w (if that folder is left over from an interrupted run, delete it)", final, err)
	}
	return final, nil
}

// complete reports whether dir holds a usable emulator.
func complete(dir string) bool {
	jar, err := os.Stat(filepath.Join(dir, "DynamoDBLocal.jar"))
	if err != nil || !jar.Mode().IsRegular() || jar.Size() == 0 {
		return false
	}
	lib, err := os.Stat(filepath.Join(dir, "DynamoDBLocal_lib"))
	return err == nil && lib.IsDir()
}

// npmPack downloads Package's tarball into dir and returns its path.
func npmPack(ctx context.Context, dir string) (string, error) {
	cmd := exec.CommandContext(ctx, "npm", "pack", Package, "--ignore-scripts", "--loglevel=warn")
	cmd.Dir = dir
	// Nothing but the package itself: no update check of npm, no funding
	// or audit requests.
	cmd.Env = append(os.Environ(),
		"npm_config_update_notifier=false",
		"npm_config_fund=false",
		"npm_config_audit=false",
	)
	var stdout bytes.Buffer
	stderr := &tailBuffer{max: outputLimit}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("npm pack %s: %w; npm said:\n%s", Package, err, stderr)
	}
	// npm prints the tarball's file name as the last line of its output.
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if name := strings.TrimSpace(lines[len(lines)-1]); strings.HasSuffix(name, ".tgz") && filepath.Base(name) == name {
		if p := filepath.Join(dir, name); isFile(p) {
			return p, nil
		}
	}
	// Some npm configurations print something else; the folder is ours
	// alone, so the one .tgz in it is the package.
	found, err := filepath.Glob(filepath.Join(dir, "*.tgz"))
	if err == nil && len(found) == 1 {
		return found[0], nil
	}
	return "", fmt.Errorf("npm pack %s: cannot tell which file it wrote; stdout:\n%s\nstderr:\n%s", Package, stdout.String(), stderr)
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// verify checks the tarball against Integrity.
func verify(tgz string) error {
	f, err := os.Open(tgz)
	if err != nil {
		return fmt.Errorf("verify %s: %w", Package, err)
	}
	defer f.Close()
	h := sha512.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("verify %s: read %s: %w", Package, tgz, err)
	}
	if got := "sha512-" + base64.StdEncoding.EncodeToString(h.Sum(nil)); got != Integrity {
		return fmt.Errorf("npm pack %s gave a tarball with integrity %s, want %s: refusing to use it", Package, got, Integrity)
	}
	return nil
}

// extract writes the regular files and folders of the gzipped tar archive
// tgz found under prefix into dst, with prefix removed. It refuses entries
// whose names would land outside dst (absolute paths, "..") and entries of
// any other type (links, devices), so that nothing can be written outside
// dst either directly or through a link.
func extract(tgz, prefix, dst string) error {
	f, err := os.Open(tgz)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("read %s: %w", tgz, err)
	}
	defer gz.Close()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	tr := tar.NewReader(gz)
	files := 0
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", tgz, err)
		}
		rel, ok := strings.CutPrefix(h.Name, prefix)
		if !ok || strings.Trim(rel, "/") == "" {
			continue // outside the part we want
		}
		rel = filepath.FromSlash(strings.TrimSuffix(rel, "/"))
		if !filepath.IsLocal(rel) {
			return fmt.Errorf("%s: entry %q would be written outside %s", tgz, h.Name, dst)
		}
		target := filepath.Join(dst, rel)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := writeFile(target, tr); err != nil {
				return err
			}
			files++
		default:
			return fmt.Errorf("%s: entry %q has type %q; only files and folders are accepted", tgz, h.Name, h.Typeflag)
		}
	}
	if files == 0 {
		return fmt.Errorf("%s has no files under %s", tgz, prefix)
	}
	return nil
}

func writeFile(path string, r io.Reader) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	w, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(w, r)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
