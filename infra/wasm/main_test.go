package wasm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/core/plugins"
	"github.com/fedele-crm/fedele/infra/wasm/wasmbin"
	"github.com/fedele-crm/fedele/internal/testsupport/dynamolocal"
)

func TestMain(m *testing.M) {
	RunCompilerIfChild()
	code := m.Run()
	dynamolocal.StopShared()
	os.Exit(code)
}

func readFile(t testing.TB, path ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{"..", ".."}, path...)...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// metered makes a runnable module without Prepare's checks, to see what
// the host does with what upload validation would have refused.
func metered(t testing.TB, kind plugins.Kind, raw []byte) *Module {
	t.Helper()
	code, err := wasmbin.Instrument(raw)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	return &Module{ID: hex.EncodeToString(sum[:]), Kind: kind, Code: code}
}

func newHost(t testing.TB, cfg Config) *Host {
	t.Helper()
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close(context.Background()) })
	return h
}

// inUse counts a tenant's instances, busy or idle.
func (h *Host) inUse(tenant string) (busy, idle int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for k, p := range h.pools {
		if k.tenant != tenant {
			continue
		}
		busy += len(p.slots)
		p.mu.Lock()
		idle += len(p.idle)
		p.mu.Unlock()
	}
	return busy, idle
}

var testNow = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func scoreInput(n int) []byte {
	b := []byte{'['}
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"contact":{"id":"c`...)
		b = append(b, byte('0'+i%10))
		b = append(b, `","emails":[{"address":"ada@example.com"}],"tags":["decision-maker"]},"company":{"size":"1001-5000"},"activities":[{"type":"meeting","at":"2026-11-20T10:00:00Z"},{"type":"call","at":"2026-10-01T10:00:00Z"}],"orders":{"count":1}}`...)
	}
	return append(b, ']')
}

func instrumentForTest(raw []byte) ([]byte, error) { return wasmbin.Instrument(raw) }
