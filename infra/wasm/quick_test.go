package wasm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/infra/wasm/wasmbin"
)

func TestQuick(t *testing.T) {
	raw, err := os.ReadFile("../../testdata/plugins/leadscore.wasm")
	if err != nil {
		t.Fatal(err)
	}
	code, err := wasmbin.Instrument(raw)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	m := &Module{ID: hex.EncodeToString(sum[:]), Kind: "score", Code: code}
	h, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(context.Background())
	in := `[{"contact":{"id":"c1","email":"a@b.c","job_title":"CEO"},"activities":[{"type":"meeting","at":"2026-11-01T00:00:00Z"}]}]`
	for i := 0; i < 3; i++ {
		start := time.Now()
		res, err := h.Run(context.Background(), Call{Tenant: "t1", Module: m, Input: []byte(in), Records: 1, Now: time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)})
		t.Logf("%s fuel=%d mem=%d out=%s err=%v logs=%v", time.Since(start), res.Fuel, res.MemoryBytes, res.Output, err, res.Logs)
	}
}
