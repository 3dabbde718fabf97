package wasmbin

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// reader reads the binary format; the first error sticks and later reads
// return zero values.
type reader struct {
	b   []byte
	off int
	err error
}

var errShort = errors.New("unexpected end")

func (r *reader) done() bool { return r.err != nil || r.off >= len(r.b) }

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if r.off >= len(r.b) {
		r.fail(errShort)
		return 0
	}
	c := r.b[r.off]
	r.off++
	return c
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b)-r.off {
		r.fail(errShort)
		return nil
	}
	out := r.b[r.off : r.off+n]
	r.off += n
	return out
}

// leb reads an LEB128 number of at most max bytes (unsigned value).
func (r *reader) leb(max int) uint64 {
	var v uint64
	for i := 0; i < max; i++ {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		if i < 10 {
			v |= uint64(c&0x7f) << (7 * i)
		}
		if c&0x80 == 0 {
			return v
		}
	}
	r.fail(errors.New("LEB128 too long"))
	return 0
}

func (r *reader) u32() uint32 { return uint32(r.leb(5)) }
func (r *reader) skipS32()    { r.leb(5) }
func (r *reader) skipS64()    { r.leb(10) }

func (r *reader) name() { r.bytes(int(r.u32())) }

func (r *reader) limits() {
	flags := r.byte()
	wide := 5
	if flags&0x04 != 0 { // memory64
		wide = 10
	}
	r.leb(wide)
	if flags&0x01 != 0 {
		r.leb(wide)
	}
}

func (r *reader) memarg() {
	align := r.u32()
	if align&0x40 != 0 { // multi-memory: a memory index follows
		r.u32()
	}
	r.leb(10) // offset (u64 for memory64)
}

func (r *reader) blocktype() {
	if r.off >= len(r.b) {
		r.fail(errShort)
		return
	}
	switch c := r.b[r.off]; {
	case c == 0x40 || (c >= 0x6F && c <= 0x7F) || c == 0x63 || c == 0x64:
		r.off++ // empty, a value type, or a reference type
		if c == 0x63 || c == 0x64 {
			r.skipS64() // (ref null? heaptype)
		}
	default:
		r.skipS64() // a type index, as s33
	}
}

// instr is one decoded instruction.
type instr struct {
	start, end int // byte range in the function body
	op         byte
	control    bool // ends a straight-line run
}

// bodyStats is what Check needs of a function body.
type bodyStats struct {
	maxDepth   int // deepest block nesting
	maxBrTable int // widest br_table
}

// decodeBody decodes the instructions of a function body after its locals,
// checking that blocks balance and the body ends with its final `end`.
func decodeBody(r *reader, st *bodyStats) ([]instr, error) {
	var out []instr
	depth := 0
	for {
		if r.done() {
			if r.err != nil {
				return nil, fmt.Errorf("%w: %v", ErrMalformed, r.err)
			}
			return nil, fmt.Errorf("%w: function body without its end", ErrMalformed)
		}
		in := instr{start: r.off}
		op := r.byte()
		in.op = op
		switch {
		case op == 0x00 || op == 0x0F: // unreachable, return
			in.control = true
		case op == 0x01 || op == 0x1A || op == 0x1B || op == 0xD1 || (op >= 0x45 && op <= 0xC4):
			// nop, drop, select, ref.is_null, numeric: no immediates
		case op == 0x02 || op == 0x03 || op == 0x04: // block, loop, if
			r.blocktype()
			depth++
			st.maxDepth = max(st.maxDepth, depth)
			in.control = true
		case op == 0x05: // else
			in.control = true
		case op == 0x0B: // end
			in.control = true
			if depth == 0 {
				in.end = r.off
				out = append(out, in)
				if r.off != len(r.b) {
					return nil, fmt.Errorf("%w: bytes after the function's end", ErrMalformed)
				}
				return out, r.err
			}
			depth--
		case op == 0x0C || op == 0x0D: // br, br_if
			r.u32()
			in.control = true
		case op == 0x0E: // br_table
			n := r.u32()
			st.maxBrTable = max(st.maxBrTable, int(n))
			for i := uint32(0); i <= n && r.err == nil; i++ {
				r.u32()
			}
			in.control = true
		case op == 0x10 || op == 0x12 || op == 0xD2 || (op >= 0x20 && op <= 0x26) || op == 0x3F || op == 0x40:
			// call, return_call, ref.func, local/global/table get/set, memory.size/grow
			r.u32()
			in.control = op == 0x10 || op == 0x12
		case op == 0x11 || op == 0x13: // call_indirect, return_call_indirect
			r.u32()
			r.u32()
			in.control = true
		case op == 0x1C: // select t*
			n := r.u32()
			for i := uint32(0); i < n && r.err == nil; i++ {
				r.byte()
			}
		case op >= 0x28 && op <= 0x3E: // loads and stores
			r.memarg()
		case op == 0x41:
			r.skipS32()
		case op == 0x42:
			r.skipS64()
		case op == 0x43:
			r.bytes(4)
		case op == 0x44:
			r.bytes(8)
		case op == 0xD0: // ref.null
			r.byte()
		case op == 0xFC:
			if err := r.prefixFC(); err != nil {
				return nil, err
			}
		case op == 0xFD:
			if err := r.prefixFD(); err != nil {
				return nil, err
			}
		case op == 0xFE:
			if sub := r.u32(); sub == 0x03 { // atomic.fence
				r.byte()
			} else {
				r.memarg()
			}
		default:
			return nil, fmt.Errorf("%w: opcode 0x%02x at byte %d", ErrUnsupported, op, in.start)
		}
		if r.err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMalformed, r.err)
		}
		in.end = r.off
		out = append(out, in)
	}
}

func (r *reader) prefixFC() error {
	switch sub := r.u32(); {
	case sub <= 7: // saturating truncations
	case sub == 8 || sub == 10 || sub == 12 || sub == 14: // memory.init, memory.copy, table.init, table.copy
		r.u32()
		r.u32()
	case sub == 9 || sub == 11 || sub == 13 || (sub >= 15 && sub <= 17): // data.drop, memory.fill, elem.drop, table.grow/size/fill
		r.u32()
	default:
		return fmt.Errorf("%w: 0xfc %d", ErrUnsupported, sub)
	}
	return nil
}

func (r *reader) prefixFD() error {
	switch sub := r.u32(); {
	case sub <= 11 || sub == 92 || sub == 93: // v128 loads and stores
		r.memarg()
	case sub == 12 || sub == 13: // v128.const, i8x16.shuffle
		r.bytes(16)
	case sub >= 21 && sub <= 34: // extract and replace lane
		r.byte()
	case sub >= 84 && sub <= 91: // load and store lane
		r.memarg()
		r.byte()
	case sub <= 0x113: // every other SIMD instruction has no immediate
	default:
		return fmt.Errorf("%w: 0xfd %d", ErrUnsupported, sub)
	}
	return nil
}

// appendSLEB appends v as signed LEB128 (what i64.const takes).
func appendSLEB(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// meter is the charge of cost: subtract it from the tank, trap when the
// tank went below zero. Self-contained, so no branch depth around it moves.
func meter(b []byte, global uint32, cost int64) []byte {
	g := binary.AppendUvarint(nil, uint64(global))
	b = append(b, 0x23)
	b = append(b, g...)
	b = append(b, 0x42)
	b = appendSLEB(b, cost)
	b = append(b, 0x7D, 0x24)
	b = append(b, g...)
	b = append(b, 0x23)
	b = append(b, g...)
	return append(b, 0x42, 0x00, 0x53, 0x04, 0x40, 0x00, 0x0B)
}

// run is the cost of the straight line starting at instruction i: itself
// and what follows up to and including the next control instruction.
func run(ins []instr, i int) int64 {
	n := int64(1)
	for ; i < len(ins); i++ {
		n++
		if ins[i].control {
			break
		}
	}
	return n
}

// meterCode rewrites the code section with metering.
func meterCode(body []byte, global uint32) ([]byte, error) {
	r := &reader{b: body}
	n := r.u32()
	out := binary.AppendUvarint(nil, uint64(n))
	for f := uint32(0); f < n; f++ {
		size := r.u32()
		fn := r.bytes(int(size))
		if r.err != nil {
			return nil, fmt.Errorf("%w: function %d: %v", ErrMalformed, f, r.err)
		}
		metered, err := meterFunction(fn, global)
		if err != nil {
			return nil, fmt.Errorf("function %d: %w", f, err)
		}
		out = binary.AppendUvarint(out, uint64(len(metered)))
		out = append(out, metered...)
	}
	if !r.done() {
		return nil, fmt.Errorf("%w: bytes after the last function", ErrMalformed)
	}
	return out, nil
}

func meterFunction(fn []byte, global uint32) ([]byte, error) {
	r := &reader{b: fn}
	groups := r.u32()
	for range groups {
		r.u32()
		r.byte()
	}
	if r.err != nil {
		return nil, fmt.Errorf("%w: locals: %v", ErrMalformed, r.err)
	}
	locals := r.off
	ins, err := decodeBody(r, &bodyStats{})
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(fn)+32)
	out = append(out, fn[:locals]...)
	out = meter(out, global, run(ins, 0))
	for i, in := range ins {
		out = append(out, fn[in.start:in.end]...)
		if in.op == 0x03 { // a loop: charge every iteration, at its header
			out = meter(out, global, run(ins, i+1))
		}
	}
	return out, nil
}
