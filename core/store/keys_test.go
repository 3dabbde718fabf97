package store_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fedele-crm/fedele/core/store"
)

func TestTenantKeys(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{store.Tenant("acme").PK(), "T#acme"},
		{store.Tenant("acme").PK("contact-email", "ada@example.com"), "T#acme#contact-email#ada@example.com"},
		{store.Tenant("acme").Marker("idem", "k").String(), "T#acme#idem#k|#"},
		{store.Global("APIKEY", "ab"), "APIKEY#ab"},
		{store.TenantOf("T#acme#contact#3"), "acme"},
		{store.TenantOf("APIKEY#ab"), ""},
		{store.Collection{Name: "contact", Shards: 1}.PK("acme", "01J"), "T#acme#contact"},
		{strings.Join(store.Collection{Name: "contact-tag", Shards: 2}.PKs("acme", "vip"), ","), "T#acme#contact-tag#vip#0,T#acme#contact-tag#vip#1"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

// handSpelled reports whether Go source spells a key prefix by hand
// instead of through the key builder.
func handSpelled(src string) bool {
	for _, p := range []string{`"T#`, `"APIKEY#`, `"OUTBOX#`} {
		if strings.Contains(src, p) {
			return true
		}
	}
	return false
}

// TestKeysAreSpelledOnlyByTheBuilder walks the module: no production file
// but keys.go writes a key prefix itself, so every tenant key goes through
// store.Tenant (and begins with its tenant).
func TestKeysAreSpelledOnlyByTheBuilder(t *testing.T) {
	if !handSpelled(`k := store.Key{PK: "T#" + tenant + "#x"}`) || handSpelled(`k := store.Tenant(tenant).PK("x")`) {
		t.Fatal("the checker does not tell a hand-spelled key from a built one")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	self := filepath.Join(root, "core", "store", "keys.go")
	checked := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		// Conformance suites and test servers spell raw keys on purpose:
		// they test the store itself, below the key builder.
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "storetest" || d.Name() == "testsupport") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || path == self {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		checked++
		if handSpelled(string(src)) {
			rel, _ := filepath.Rel(root, path)
			t.Errorf("%s spells a key by hand: use store.Tenant, store.Collection or store.Global", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("checked only %d files under %s: is this the module root?", checked, root)
	}
}
