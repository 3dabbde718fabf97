// Package wasmbin reads and rewrites the WebAssembly binaries tenants upload
// as plugins, before anything compiles them: Check holds a module to
// structural limits (compile bombs cost seconds and hundreds of MiB inside
// a compiler), and Instrument gives it a deterministic instruction
// budget.
//
// Instrument rewrites a module at upload so that every function
// entry and every loop header charges a cost to a mutable i64 global (the
// fuel tank, exported as ExportName) and traps with `unreachable` when the
// tank runs dry. A call then ends within its budget whatever the module
// does — an infinite loop, or an exponential recursion without a single
// loop, which wazero's context cancellation (checked at loop headers only)
// would let run on.
//
// Each metering point charges 1 plus the length of the straight-line run of
// instructions that follows it, so fuel tracks work done, not only calls
// and iterations; the count is the same on every run of the same input.
//
// It must never accept a module it cannot fully decode: an instruction it
// does not know makes Instrument fail, so nothing runs unmetered.
package wasmbin

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// ExportName is the exported global holding the remaining fuel. The host
// sets it before a call and reads it after.
const ExportName = "fedele_fuel"

// ErrMalformed is returned for a module that is not valid WebAssembly as far
// as instrumentation needs to read it.
var ErrMalformed = errors.New("malformed wasm module")

// ErrUnsupported is returned for an instruction the metering does not know.
var ErrUnsupported = errors.New("unsupported wasm instruction")

var magic = []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}

// Section ids.
const (
	secCustom = 0
	secImport = 2
	secGlobal = 6
	secExport = 7
	secCode   = 10
)

type section struct {
	id   byte
	body []byte
}

// Instrument returns the metered form of module.
func Instrument(module []byte) ([]byte, error) {
	sections, err := split(module)
	if err != nil {
		return nil, err
	}
	importedGlobals, definedGlobals, err := countGlobals(sections)
	if err != nil {
		return nil, err
	}
	fuelIndex := importedGlobals + definedGlobals // appended last: no index shifts

	// The tank: a mutable i64 starting empty, so a start function traps
	// before the host has filled it.
	tank := []byte{0x7E, 0x01, 0x42, 0x00, 0x0B}
	out := bytes.NewBuffer(append([]byte(nil), magic...))
	wroteGlobal, wroteExport := false, false
	export := append(appendName(nil, ExportName), 0x03)
	export = binary.AppendUvarint(export, uint64(fuelIndex))

	for i, s := range sections {
		// A missing global or export section goes where its id belongs.
		if s.id != secCustom && !wroteGlobal && order(s.id) > order(secGlobal) {
			writeSection(out, secGlobal, vecOf(1, tank))
			wroteGlobal = true
		}
		if s.id != secCustom && !wroteExport && order(s.id) > order(secExport) {
			writeSection(out, secExport, vecOf(1, export))
			wroteExport = true
		}
		switch s.id {
		case secGlobal:
			body, err := appendToVec(s.body, tank)
			if err != nil {
				return nil, err
			}
			writeSection(out, s.id, body)
			wroteGlobal = true
		case secExport:
			body, err := appendToVec(s.body, export)
			if err != nil {
				return nil, err
			}
			writeSection(out, s.id, body)
			wroteExport = true
		case secCode:
			body, err := meterCode(s.body, uint32(fuelIndex))
			if err != nil {
				return nil, fmt.Errorf("section %d (code): %w", i, err)
			}
			writeSection(out, s.id, body)
		default:
			writeSection(out, s.id, s.body)
		}
	}
	if !wroteGlobal {
		writeSection(out, secGlobal, vecOf(1, tank))
	}
	if !wroteExport {
		writeSection(out, secExport, vecOf(1, export))
	}
	return out.Bytes(), nil
}

// split reads a module's sections.
func split(module []byte) ([]section, error) {
	if len(module) < 8 || !bytes.Equal(module[:8], magic) {
		return nil, fmt.Errorf("%w: no wasm header", ErrMalformed)
	}
	var sections []section
	r := &reader{b: module[8:]}
	for !r.done() {
		id := r.byte()
		size := r.u32()
		body := r.bytes(int(size))
		if r.err != nil {
			return nil, fmt.Errorf("%w: section %d: %v", ErrMalformed, id, r.err)
		}
		sections = append(sections, section{id: id, body: body})
	}
	return sections, nil
}

// order is a section's place in the binary format (the tag and data count
// sections sit out of id order).
func order(id byte) int {
	switch id {
	case 13: // tag
		return 55
	case 12: // data count
		return 95
	}
	return int(id) * 10
}

func writeSection(out *bytes.Buffer, id byte, body []byte) {
	out.WriteByte(id)
	out.Write(binary.AppendUvarint(nil, uint64(len(body))))
	out.Write(body)
}

func vecOf(n int, items ...[]byte) []byte {
	b := binary.AppendUvarint(nil, uint64(n))
	for _, it := range items {
		b = append(b, it...)
	}
	return b
}

func appendName(b []byte, name string) []byte {
	b = binary.AppendUvarint(b, uint64(len(name)))
	return append(b, name...)
}

// appendToVec adds one item to a section that is a vector.
func appendToVec(body, item []byte) ([]byte, error) {
	r := &reader{b: body}
	n := r.u32()
	if r.err != nil {
		return nil, fmt.Errorf("%w: vector count: %v", ErrMalformed, r.err)
	}
	return append(binary.AppendUvarint(nil, uint64(n)+1), append(append([]byte(nil), r.b[r.off:]...), item...)...), nil
}

// countGlobals reads how many globals are imported and defined.
func countGlobals(sections []section) (imported, defined int, err error) {
	for _, s := range sections {
		r := &reader{b: s.body}
		switch s.id {
		case secGlobal:
			defined = int(r.u32())
		case secImport:
			n := r.u32()
			for range n {
				r.name()
				r.name()
				switch kind := r.byte(); kind {
				case 0x00: // function
					r.u32()
				case 0x01: // table: reftype, limits
					r.byte()
					r.limits()
				case 0x02: // memory
					r.limits()
				case 0x03: // global: valtype, mut
					r.byte()
					r.byte()
					imported++
				case 0x04: // tag
					r.byte()
					r.u32()
				default:
					return 0, 0, fmt.Errorf("%w: import kind %d", ErrMalformed, kind)
				}
			}
		}
		if r.err != nil {
			return 0, 0, fmt.Errorf("%w: section %d: %v", ErrMalformed, s.id, r.err)
		}
	}
	return imported, defined, nil
}
