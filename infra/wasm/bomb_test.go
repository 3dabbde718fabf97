package wasm

import (
	"context"
	"strings"
	"testing"
	"time"
)

// Structural limits refuse the known compile bombs before any compiler sees
// them; the child process is what holds the unknown ones. Here the bombs go
// straight to the child, past the limits, with its bounds turned down to
// where a small module still compiles: unbounded, the br_table bomb takes
// about 18 s here and the nested blocks about 2 s and 200 MiB.
func TestCompilerChildIsBounded(t *testing.T) {
	small := readFile(t, "testdata", "hostile", "unreachable.wasm")
	for _, tc := range []struct {
		name string
		bomb string
		cfg  Config
		says string
	}{
		{"deadline", "brtable_bomb.wasm", Config{CompileTimeout: 3 * time.Second}, "took over"},
		{"memory", "nested_blocks.wasm", Config{CompileMemory: 128 << 20}, "memory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if raceBuild {
				t.Skip("the race detector's own memory and slowness make these bounds meaningless")
			}
			h := newHost(t, tc.cfg)
			if err := h.compileInChild(context.Background(), metered(t, "score", small).Code); err != nil {
				t.Fatalf("a small module under the same bounds: %v", err)
			}
			err := h.compileInChild(context.Background(), metered(t, "score", readFile(t, "testdata", "hostile", tc.bomb)).Code)
			if ClassOf(err) != ClassCompile || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("err = %v, want a compile failure that says %q", err, tc.says)
			}
		})
	}
}
