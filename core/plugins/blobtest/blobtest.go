// Package blobtest is the conformance suite of the plugins.Blobs port:
// every adapter (a folder in infra/blobfs, S3 in infra/s3blob) must pass Run
// unchanged, so that a module stored locally behaves as one stored in AWS.
// It tests what the port promises and the key grammar both adapters share;
// it must never import an adapter.
package blobtest

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/fedele-crm/fedele/core/plugins"
)

// Run runs the suite; open returns a fresh, empty store and registers its
// own cleanup.
func Run(t *testing.T, open func(t *testing.T) plugins.Blobs) {
	tests := []struct {
		name string
		test func(*testing.T, plugins.Blobs)
	}{
		{"RoundTrip", testRoundTrip},
		{"Overwrite", testOverwrite},
		{"Missing", testMissing},
		{"Delete", testDelete},
		{"TenantsApart", testTenantsApart},
		{"OwnCopy", testOwnCopy},
		{"ConcurrentPuts", testConcurrentPuts},
		{"UnsafeKeys", testUnsafeKeys},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.test(t, open(t))
		})
	}
}

// moduleID is a module id as the registry makes them: 64 hex digits.
func moduleID(n int) string {
	return fmt.Sprintf("%064x", n)
}

// random is deterministic so that a failure replays.
func random(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func mustPut(t *testing.T, b plugins.Blobs, key string, data []byte) {
	t.Helper()
	if err := b.Put(t.Context(), key, data); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

// wantBlob fails unless key holds exactly want. It reports lengths and the
// first differing byte rather than a diff, which would be megabytes long.
func wantBlob(t *testing.T, b plugins.Blobs, key string, want []byte) {
	t.Helper()
	got, err := b.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	if bytes.Equal(got, want) {
		return
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	t.Errorf("get %s: %d bytes, want %d; first difference at byte %d", key, len(got), len(want), i)
}

func wantMissing(t *testing.T, b plugins.Blobs, key string) {
	t.Helper()
	got, err := b.Get(t.Context(), key)
	if !errors.Is(err, plugins.ErrBlobNotFound) {
		t.Errorf("get %s: %d bytes, error %v; want ErrBlobNotFound", key, len(got), err)
	}
}

func testRoundTrip(t *testing.T, b plugins.Blobs) {
	every := make([]byte, 256)
	for i := range every {
		every[i] = byte(i)
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", []byte{}},
		{"small", []byte("\x00asm\x01\x00\x00\x00")},
		{"every byte value", every},
		{"5 MiB random", random(5<<20, 1)},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := plugins.ModuleKey("acme", moduleID(i))
			mustPut(t, b, key, tc.data)
			wantBlob(t, b, key, tc.data)
		})
	}
}

func testOverwrite(t *testing.T, b plugins.Blobs) {
	key := plugins.ModuleKey("acme", moduleID(1))
	// The second blob is shorter so that a write that does not truncate
	// leaves a tail behind and fails.
	for _, data := range [][]byte{random(64<<10, 2), []byte("second"), {}, []byte("third")} {
		mustPut(t, b, key, data)
		wantBlob(t, b, key, data)
	}
}

func testMissing(t *testing.T, b plugins.Blobs) {
	mustPut(t, b, plugins.ModuleKey("acme", moduleID(1)), []byte("x"))
	tests := []struct {
		name string
		key  string
	}{
		{"never put", plugins.ModuleKey("acme", moduleID(2))},
		{"other tenant", plugins.ModuleKey("globex", moduleID(1))},
		{"a folder of blobs is no blob", "tenants/acme/modules"},
		{"a path through a blob", plugins.ModuleKey("acme", moduleID(1)) + "/inner"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { wantMissing(t, b, tc.key) })
	}
}

func testDelete(t *testing.T, b plugins.Blobs) {
	key := plugins.ModuleKey("acme", moduleID(1))
	sibling := plugins.ModuleKey("acme", moduleID(2))
	mustPut(t, b, key, []byte("x"))
	mustPut(t, b, sibling, []byte("y"))
	for i := range 2 {
		// The second time the key is already gone: not an error.
		if err := b.Delete(t.Context(), key); err != nil {
			t.Fatalf("delete %d of %s: %v", i+1, key, err)
		}
		wantMissing(t, b, key)
	}
	wantBlob(t, b, sibling, []byte("y"))
	if err := b.Delete(t.Context(), plugins.ModuleKey("nobody", moduleID(9))); err != nil {
		t.Errorf("delete of a key never put: %v", err)
	}
	// Deleting a folder's name must not take its blobs with it.
	if err := b.Delete(t.Context(), "tenants/acme/modules"); err != nil {
		t.Errorf("delete of a folder's name: %v", err)
	}
	wantBlob(t, b, sibling, []byte("y"))
	// A deleted key can be put again.
	mustPut(t, b, key, []byte("again"))
	wantBlob(t, b, key, []byte("again"))
}

func testTenantsApart(t *testing.T, b plugins.Blobs) {
	id := moduleID(7)
	tenants := []string{"acme", "globex", "acme-eu", "ac"}
	for _, tenant := range tenants {
		mustPut(t, b, plugins.ModuleKey(tenant, id), []byte("module of "+tenant))
	}
	for _, tenant := range tenants {
		wantBlob(t, b, plugins.ModuleKey(tenant, id), []byte("module of "+tenant))
	}
	if err := b.Delete(t.Context(), plugins.ModuleKey("acme", id)); err != nil {
		t.Fatal(err)
	}
	wantMissing(t, b, plugins.ModuleKey("acme", id))
	for _, tenant := range tenants[1:] {
		wantBlob(t, b, plugins.ModuleKey(tenant, id), []byte("module of "+tenant))
	}
}

// testOwnCopy: a caller reusing its buffers must not change what is stored.
func testOwnCopy(t *testing.T, b plugins.Blobs) {
	key := plugins.ModuleKey("acme", moduleID(1))
	data := []byte("original")
	mustPut(t, b, key, data)
	copy(data, "XXXXXXXX")
	got, err := b.Get(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	copy(got, "YYYYYYYY")
	wantBlob(t, b, key, []byte("original"))
}

func testConcurrentPuts(t *testing.T, b plugins.Blobs) {
	const workers = 16
	blobs := make([][]byte, workers)
	for i := range blobs {
		blobs[i] = random(32<<10+i, uint64(100+i))
	}
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for i := range workers {
		wg.Go(func() {
			// Half the tenants share a folder, half get a new one, so that
			// folder creation races as well.
			key := plugins.ModuleKey(fmt.Sprintf("t%d", i%(workers/2)), moduleID(i))
			errs[i] = b.Put(t.Context(), key, blobs[i])
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("put %d: %v", i, err)
		}
	}
	for i := range workers {
		wantBlob(t, b, plugins.ModuleKey(fmt.Sprintf("t%d", i%(workers/2)), moduleID(i)), blobs[i])
	}
}

// testUnsafeKeys: the port's keys are safe file and object names by
// construction (plugins.ModuleKey); every adapter refuses any other, with an
// error rather than a panic, so that a key never works in one place only.
func testUnsafeKeys(t *testing.T, b plugins.Blobs) {
	good := plugins.ModuleKey("acme", moduleID(1))
	mustPut(t, b, good, []byte("x"))
	keys := []string{
		"",
		"..",
		"../x",
		"tenants/../../x",
		"tenants/acme/../globex/modules/x.wasm",
		"./x",
		"/etc/passwd",
		"a//b",
		"a/",
		"a\\b",
		"..\\x",
		"a b",
		"a\x00b",
		"tenants/acme/modules/é.wasm",
		"tenants/acme/modules/.hidden",
		"a?b",
		"a%2Fb",
	}
	for _, key := range keys {
		t.Run(fmt.Sprintf("%q", key), func(t *testing.T) {
			if err := b.Put(t.Context(), key, []byte("hostile")); err == nil {
				t.Errorf("put %q: accepted", key)
			}
			if got, err := b.Get(t.Context(), key); err == nil || errors.Is(err, plugins.ErrBlobNotFound) {
				t.Errorf("get %q: %d bytes, error %v; want a refusal", key, len(got), err)
			}
			if err := b.Delete(t.Context(), key); err == nil {
				t.Errorf("delete %q: accepted", key)
			}
		})
	}
	wantBlob(t, b, good, []byte("x"))
}
