package wasmbin

import (
	"fmt"
)

// Limits bound a module's structure. They are checked on the bytes, before
// any compiler sees them: the cost of compiling grows with all of these.
type Limits struct {
	MaxFunctions       int    // defined and imported functions
	MaxBodyBytes       int    // one function body
	MaxCodeBytes       int    // all function bodies
	MaxNesting         int    // block nesting in one function
	MaxBrTable         int    // targets of one br_table
	MaxTables          int    // tables, imported or defined
	MaxTableElements   uint64 // initial elements of a table
	MaxMemoryPages     uint64 // initial 64 KiB pages of memory
	MaxGlobals         int
	AllowStart         bool                              // a start section runs at instantiation, before any budget
	AllowImport        func(module, name string) bool    // nil allows none
	AllowedExportNames func(name string, kind byte) bool // nil allows every export
}

// DefaultLimits fit what standard Go and TinyGo emit for a plugin with room
// to spare, and refuse the known compile bombs (a 200 000-target br_table,
// 20 000 nested blocks) outright.
func DefaultLimits() Limits {
	return Limits{
		MaxFunctions:     50_000,
		MaxBodyBytes:     1 << 20,
		MaxCodeBytes:     32 << 20,
		MaxNesting:       4_096,
		MaxBrTable:       16_384,
		MaxTables:        2,
		MaxTableElements: 100_000,
		MaxMemoryPages:   1_024, // 64 MiB
		MaxGlobals:       10_000,
	}
}

// LimitError names the limit a module broke.
type LimitError struct {
	Limit string // such as "br_table width"
	Value uint64
	Max   uint64
	Where string // such as "function 12"
}

func (e *LimitError) Error() string {
	if e.Where != "" {
		return fmt.Sprintf("%s: %s %d over the limit of %d", e.Where, e.Limit, e.Value, e.Max)
	}
	return fmt.Sprintf("%s %d over the limit of %d", e.Limit, e.Value, e.Max)
}

// Stats is the shape of a module, as Check measures it.
type Stats struct {
	Functions, Tables, Globals           int
	CodeBytes, MaxBodyBytes              int
	MaxNesting, MaxBrTable               int
	MaxTableElements, InitialMemoryPages uint64
	HasStart                             bool
	Imports                              [][2]string
}

// Check measures module and holds it to lim. A module that is not wasm, or
// that has an instruction this package does not know, fails too.
func Check(module []byte, lim Limits) (Stats, error) {
	st, err := Measure(module)
	if err != nil {
		return st, err
	}
	over := func(name string, v, m uint64) error {
		if v > m {
			return &LimitError{Limit: name, Value: v, Max: m}
		}
		return nil
	}
	for _, c := range []error{
		over("functions", uint64(st.Functions), uint64(lim.MaxFunctions)),
		over("function body bytes", uint64(st.MaxBodyBytes), uint64(lim.MaxBodyBytes)),
		over("code bytes", uint64(st.CodeBytes), uint64(lim.MaxCodeBytes)),
		over("block nesting", uint64(st.MaxNesting), uint64(lim.MaxNesting)),
		over("br_table width", uint64(st.MaxBrTable), uint64(lim.MaxBrTable)),
		over("tables", uint64(st.Tables), uint64(lim.MaxTables)),
		over("table elements", st.MaxTableElements, lim.MaxTableElements),
		over("initial memory pages", st.InitialMemoryPages, lim.MaxMemoryPages),
		over("globals", uint64(st.Globals), uint64(lim.MaxGlobals)),
	} {
		if c != nil {
			return st, c
		}
	}
	if st.HasStart && !lim.AllowStart {
		return st, &LimitError{Limit: "start sections", Value: 1, Max: 0}
	}
	for _, imp := range st.Imports {
		if lim.AllowImport == nil || !lim.AllowImport(imp[0], imp[1]) {
			return st, fmt.Errorf("%w: import %s.%s is not provided by the host", ErrForbiddenImport, imp[0], imp[1])
		}
	}
	return st, nil
}

// ErrForbiddenImport is a module importing what the host does not offer.
var ErrForbiddenImport = fmt.Errorf("forbidden import")

// Measure reads a module's shape without judging it.
func Measure(module []byte) (Stats, error) {
	var st Stats
	sections, err := split(module)
	if err != nil {
		return st, err
	}
	for _, s := range sections {
		r := &reader{b: s.body}
		switch s.id {
		case secImport:
			n := r.u32()
			for range n {
				mod := string(r.bytes(int(r.u32())))
				name := string(r.bytes(int(r.u32())))
				st.Imports = append(st.Imports, [2]string{mod, name})
				switch kind := r.byte(); kind {
				case 0x00:
					r.u32()
					st.Functions++
				case 0x01:
					r.byte()
					st.Tables++
					st.MaxTableElements = max(st.MaxTableElements, r.limitsMin())
				case 0x02:
					st.InitialMemoryPages += r.limitsMin()
				case 0x03:
					r.byte()
					r.byte()
					st.Globals++
				case 0x04:
					r.byte()
					r.u32()
				default:
					return st, fmt.Errorf("%w: import kind %d", ErrMalformed, kind)
				}
			}
		case 3: // function
			st.Functions += int(r.u32())
		case 4: // table
			n := r.u32()
			for range n {
				if r.off < len(r.b) && r.b[r.off] == 0x40 { // table with an initialiser expression
					return st, fmt.Errorf("%w: tables with initialisers", ErrUnsupported)
				}
				r.byte()
				st.Tables++
				st.MaxTableElements = max(st.MaxTableElements, r.limitsMin())
			}
		case 5: // memory
			n := r.u32()
			for range n {
				st.InitialMemoryPages += r.limitsMin()
			}
		case secGlobal:
			st.Globals += int(r.u32())
		case 8: // start
			st.HasStart = true
		case secCode:
			n := r.u32()
			for f := uint32(0); f < n; f++ {
				size := r.u32()
				fn := r.bytes(int(size))
				if r.err != nil {
					break
				}
				st.CodeBytes += len(fn)
				st.MaxBodyBytes = max(st.MaxBodyBytes, len(fn))
				fr := &reader{b: fn}
				for range fr.u32() {
					fr.u32()
					fr.byte()
				}
				var bs bodyStats
				if _, err := decodeBody(fr, &bs); err != nil {
					return st, fmt.Errorf("function %d: %w", f, err)
				}
				st.MaxNesting = max(st.MaxNesting, bs.maxDepth)
				st.MaxBrTable = max(st.MaxBrTable, bs.maxBrTable)
			}
		}
		if r.err != nil {
			return st, fmt.Errorf("%w: section %d: %v", ErrMalformed, s.id, r.err)
		}
	}
	return st, nil
}

// limitsMin reads limits and returns the minimum (the initial size).
func (r *reader) limitsMin() uint64 {
	flags := r.byte()
	wide := 5
	if flags&0x04 != 0 {
		wide = 10
	}
	minimum := r.leb(wide)
	if flags&0x01 != 0 {
		r.leb(wide)
	}
	return minimum
}

// Metered reports whether module carries the fuel tank Instrument adds: a
// host must run nothing else.
func Metered(module []byte) bool {
	exports, err := Exports(module)
	return err == nil && exports[ExportName] == ExportGlobal
}

// Export kinds.
const (
	ExportFunc   byte = 0x00
	ExportTable  byte = 0x01
	ExportMemory byte = 0x02
	ExportGlobal byte = 0x03
)

// Exports lists a module's exports by name, with their kinds.
func Exports(module []byte) (map[string]byte, error) {
	sections, err := split(module)
	if err != nil {
		return nil, err
	}
	out := map[string]byte{}
	for _, s := range sections {
		if s.id != secExport {
			continue
		}
		r := &reader{b: s.body}
		n := r.u32()
		for range n {
			name := string(r.bytes(int(r.u32())))
			kind := r.byte()
			r.u32()
			if r.err != nil {
				return nil, fmt.Errorf("%w: export section: %v", ErrMalformed, r.err)
			}
			out[name] = kind
		}
	}
	return out, nil
}
