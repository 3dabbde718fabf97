package wasmbin_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/fedele-crm/fedele/infra/wasm/wasmbin"
)

func header() []byte { return []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00} }

// oneFunction is a module with one void function whose body is code.
func oneFunction(code []byte, extra ...[]byte) []byte {
	m := append(header(), sec(1, vec(voidType)...)...)
	for _, e := range extra {
		m = append(m, e...)
	}
	m = append(m, sec(3, vec([]byte{0x00})...)...)
	return append(m, sec(10, vec(body(noLocals, code...))...)...)
}

func TestLimitsRefuseCompileBombs(t *testing.T) {
	wideTable := []byte{0x02, 0x40, 0x41, 0x00, 0x0E} // block; i32.const 0; br_table
	wideTable = binary.AppendUvarint(wideTable, 200_000)
	wideTable = append(wideTable, bytes.Repeat([]byte{0x00}, 200_000)...)
	wideTable = append(wideTable, 0x00, 0x0B, 0x0B)
	deep := append(bytes.Repeat([]byte{0x02, 0x40}, 20_000), append(bytes.Repeat([]byte{0x0B}, 20_000), 0x0B)...)
	memory := sec(5, vec([]byte{0x00, 0x80, 0x10})...)            // 2048 pages
	table := sec(4, vec([]byte{0x70, 0x00, 0x80, 0x89, 0x7A})...) // 2 000 000 elements
	start := func() []byte {
		m := append(header(), sec(1, vec(voidType)...)...)
		m = append(m, sec(3, vec([]byte{0x00})...)...)
		m = append(m, sec(8, 0x00)...)
		return append(m, sec(10, vec(body(noLocals, 0x0B))...)...)
	}()
	imports := append(header(), sec(1, vec(voidType)...)...)
	imports = append(imports, sec(2, vec(append(append(name("env"), name("open_socket")...), 0x00, 0x00))...)...)
	for _, tc := range []struct {
		name  string
		m     []byte
		limit string
		want  error
	}{
		{"br_table with 200 000 targets", oneFunction(wideTable), "br_table width", nil},
		{"20 000 nested blocks", oneFunction(deep), "block nesting", nil},
		{"128 MiB of initial memory", oneFunction([]byte{0x0B}, memory), "initial memory pages", nil},
		{"a huge table", oneFunction([]byte{0x0B}, table), "table elements", nil},
		{"a start section", start, "start sections", nil},
		{"an import the host does not provide", imports, "", wasmbin.ErrForbiddenImport},
		{"not wasm", []byte("#!/bin/sh\nrm -rf /"), "", wasmbin.ErrMalformed},
		{"truncated", oneFunction(wideTable)[:1000], "", wasmbin.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := wasmbin.Check(tc.m, wasmbin.DefaultLimits())
			var le *wasmbin.LimitError
			switch {
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("%v, want %v", err, tc.want)
			case tc.want == nil && (!errors.As(err, &le) || le.Limit != tc.limit):
				t.Fatalf("%v, want the %q limit", err, tc.limit)
			}
		})
	}
}

// TestLimitsFitGoModules: a real Go program passes the default limits, with
// its WASI imports allowed (the plugin host allows only its own).
func TestLimitsFitGoModules(t *testing.T) {
	raw := goProbe(t)
	lim := wasmbin.DefaultLimits()
	lim.AllowImport = func(module, _ string) bool { return module == "wasi_snapshot_preview1" }
	st, err := wasmbin.Check(raw, lim)
	if err != nil {
		t.Fatalf("a Go program breaks the default limits: %v (%+v)", err, st)
	}
	t.Logf("Go probe: %d functions, %d code bytes, largest body %d, nesting %d, widest br_table %d, %d memory pages",
		st.Functions, st.CodeBytes, st.MaxBodyBytes, st.MaxNesting, st.MaxBrTable, st.InitialMemoryPages)
	if st.Functions == 0 || st.MaxNesting == 0 || !strings.HasPrefix(st.Imports[0][0], "wasi") {
		t.Errorf("measure missed the module's shape: %+v", st)
	}
}
