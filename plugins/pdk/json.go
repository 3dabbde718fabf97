package pdk

import (
	"errors"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// A small JSON reader and writer without reflection. Inside a Go-built
// module encoding/json costs 10-16 µs per small record, ten times native:
// reflection is slow on wasm. These decode straight into the contract's
// types. The reader is strict where the host is (it only ever reads the
// host's own JSON) but never panics on bad input: errors stick.

var errSyntax = errors.New("pdk: malformed JSON input")

type reader struct {
	b   []byte
	i   int
	err error
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = errSyntax
	}
	r.i = len(r.b)
}

func (r *reader) ws() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

func (r *reader) peek() byte {
	r.ws()
	if r.i >= len(r.b) {
		return 0
	}
	return r.b[r.i]
}

func (r *reader) expect(c byte) {
	if r.peek() != c {
		r.fail()
		return
	}
	r.i++
}

// null consumes a null and reports whether there was one.
func (r *reader) null() bool {
	if r.peek() == 'n' && r.i+4 <= len(r.b) && string(r.b[r.i:r.i+4]) == "null" {
		r.i += 4
		return true
	}
	return false
}

// Objects and arrays are read with loops, not callbacks: inside a Go-built
// module a closure call is an indirect call through Go's resumable stack,
// and decoding a batch makes thousands of them.
//
//	if r.open('{') {
//		for n := 0; r.more('}', &n); {
//			switch string(r.key()) { … }
//		}
//	}

// open consumes the opening c of an object or array and reports whether
// there is one; null is an absent one, anything else an error.
func (r *reader) open(c byte) bool {
	if r.null() {
		return false
	}
	if r.peek() != c {
		r.fail()
		return false
	}
	r.i++
	return true
}

// more reports whether another element or key follows, consuming the
// separator before it or the closing byte after the last; n counts them.
func (r *reader) more(closing byte, n *int) bool {
	if r.err != nil {
		return false
	}
	c := r.peek()
	if c == closing {
		r.i++
		return false
	}
	if *n > 0 {
		if c != ',' {
			r.fail()
			return false
		}
		r.i++
	}
	*n++
	return true
}

// key reads an object's key and its colon.
func (r *reader) key() []byte {
	k := r.rawString()
	r.expect(':')
	return k
}

// rawString reads a string; the result aliases the input when it has no
// escapes, so it is only for keys compared at once.
func (r *reader) rawString() []byte {
	r.expect('"')
	start := r.i
	for r.i < len(r.b) {
		switch c := r.b[r.i]; {
		case c == '"':
			s := r.b[start:r.i]
			r.i++
			return s
		case c == '\\':
			r.i = start - 1
			return []byte(r.unescape())
		case c < 0x20:
			r.fail()
			return nil
		default:
			r.i++
		}
	}
	r.fail()
	return nil
}

func (r *reader) str() string {
	if r.null() {
		return ""
	}
	if r.peek() != '"' {
		r.fail()
		return ""
	}
	s := r.rawString()
	if len(s) == 0 {
		return ""
	}
	// Strings alias the input (an escaped one is a fresh copy): a batch's
	// strings cost no allocation, and the input must not change while the
	// records are in use.
	return unsafe.String(&s[0], len(s))
}

// unescape reads a string with escapes, from its opening quote.
func (r *reader) unescape() string {
	r.i++ // the quote
	out := make([]byte, 0, 16)
	for r.i < len(r.b) {
		c := r.b[r.i]
		switch {
		case c == '"':
			r.i++
			return string(out)
		case c < 0x20:
			r.fail()
			return ""
		case c != '\\':
			out = append(out, c)
			r.i++
			continue
		}
		if r.i+1 >= len(r.b) {
			break
		}
		e := r.b[r.i+1]
		r.i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			ru := r.hex4()
			if utf16.IsSurrogate(ru) && r.i+1 < len(r.b) && r.b[r.i] == '\\' && r.b[r.i+1] == 'u' {
				r.i += 2
				ru = utf16.DecodeRune(ru, r.hex4())
			}
			out = utf8.AppendRune(out, ru)
		default:
			r.fail()
			return ""
		}
	}
	r.fail()
	return ""
}

func (r *reader) hex4() rune {
	if r.i+4 > len(r.b) {
		r.fail()
		return 0
	}
	v, err := strconv.ParseUint(string(r.b[r.i:r.i+4]), 16, 16)
	if err != nil {
		r.fail()
		return 0
	}
	r.i += 4
	return rune(v)
}

// numberBytes reads a number in JSON's grammar, which is stricter than
// strconv's: no leading zeros, plus signs, bare dots or hex.
func (r *reader) numberBytes() []byte {
	r.ws()
	start := r.i
	digits := func() int {
		n := 0
		for r.i < len(r.b) && r.b[r.i] >= '0' && r.b[r.i] <= '9' {
			r.i++
			n++
		}
		return n
	}
	if r.i < len(r.b) && r.b[r.i] == '-' {
		r.i++
	}
	if r.i < len(r.b) && r.b[r.i] == '0' {
		r.i++
	} else if digits() == 0 {
		r.fail()
		return nil
	}
	if r.i < len(r.b) && r.b[r.i] == '.' {
		r.i++
		if digits() == 0 {
			r.fail()
			return nil
		}
	}
	if r.i < len(r.b) && (r.b[r.i] == 'e' || r.b[r.i] == 'E') {
		r.i++
		if r.i < len(r.b) && (r.b[r.i] == '+' || r.b[r.i] == '-') {
			r.i++
		}
		if digits() == 0 {
			r.fail()
			return nil
		}
	}
	return r.b[start:r.i]
}

func (r *reader) float() float64 {
	if r.null() {
		return 0
	}
	f, err := strconv.ParseFloat(string(r.numberBytes()), 64)
	if err != nil {
		r.fail()
	}
	return f
}

func (r *reader) int() int64 {
	if r.null() {
		return 0
	}
	nb := r.numberBytes()
	n, err := strconv.ParseInt(string(nb), 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(string(nb), 64)
		if ferr != nil || f != float64(int64(f)) {
			r.fail()
			return 0
		}
		return int64(f)
	}
	return n
}

func (r *reader) bool() bool {
	switch {
	case r.null():
		return false
	case r.peek() == 't' && r.i+4 <= len(r.b) && string(r.b[r.i:r.i+4]) == "true":
		r.i += 4
		return true
	case r.peek() == 'f' && r.i+5 <= len(r.b) && string(r.b[r.i:r.i+5]) == "false":
		r.i += 5
		return false
	}
	r.fail()
	return false
}

func (r *reader) strings() []string {
	var out []string
	if r.open('[') {
		for n := 0; r.more(']', &n); {
			out = append(out, r.str())
		}
	}
	return out
}

// any reads a value of unknown type into string, float64, bool, nil,
// []any or map[string]any.
func (r *reader) any(depth int) any {
	if depth > 64 {
		r.fail()
		return nil
	}
	switch c := r.peek(); {
	case c == '"':
		return r.str()
	case c == '{':
		m := map[string]any{}
		r.open('{')
		for n := 0; r.more('}', &n); {
			k := string(r.key())
			m[k] = r.any(depth + 1)
		}
		return m
	case c == '[':
		var a []any
		r.open('[')
		for n := 0; r.more(']', &n); {
			a = append(a, r.any(depth+1))
		}
		return a
	case c == 't' || c == 'f':
		return r.bool()
	case c == 'n':
		r.null()
		return nil
	default:
		return r.float()
	}
}

func (r *reader) fields() map[string]any {
	if r.peek() != '{' {
		if !r.null() {
			r.fail()
		}
		return nil
	}
	m, _ := r.any(0).(map[string]any)
	return m
}

// skip reads past one value of any kind.
func (r *reader) skip() { r.any(0) }

// writer appends JSON.
type writer struct{ b []byte }

func (w *writer) raw(s string) { w.b = append(w.b, s...) }

func (w *writer) byte(c byte) { w.b = append(w.b, c) }

func (w *writer) key(first bool, k string) {
	if !first {
		w.b = append(w.b, ',')
	}
	w.str(k)
	w.b = append(w.b, ':')
}

func (w *writer) int(n int64) { w.b = strconv.AppendInt(w.b, n, 10) }

func (w *writer) float(f float64) { w.b = strconv.AppendFloat(w.b, f, 'g', -1, 64) }

func (w *writer) bool(v bool) { w.b = strconv.AppendBool(w.b, v) }

const hexDigits = "0123456789abcdef"

func (w *writer) str(s string) {
	w.b = append(w.b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			w.b = append(w.b, s[start:i]...)
			switch c {
			case '"', '\\':
				w.b = append(w.b, '\\', c)
			case '\n':
				w.b = append(w.b, '\\', 'n')
			case '\r':
				w.b = append(w.b, '\\', 'r')
			case '\t':
				w.b = append(w.b, '\\', 't')
			default:
				w.b = append(w.b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			w.b = append(w.b, s[start:i]...)
			w.b = append(w.b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	w.b = append(w.b, s[start:]...)
	w.b = append(w.b, '"')
}

func (w *writer) strings(ss []string) {
	w.byte('[')
	for i, s := range ss {
		if i > 0 {
			w.byte(',')
		}
		w.str(s)
	}
	w.byte(']')
}

// any writes what reader.any reads, and ints.
func (w *writer) any(v any) {
	switch x := v.(type) {
	case nil:
		w.raw("null")
	case string:
		w.str(x)
	case bool:
		w.bool(x)
	case float64:
		w.float(x)
	case int:
		w.int(int64(x))
	case int64:
		w.int(x)
	case []string:
		w.strings(x)
	case []any:
		w.byte('[')
		for i, e := range x {
			if i > 0 {
				w.byte(',')
			}
			w.any(e)
		}
		w.byte(']')
	case map[string]any:
		w.byte('{')
		first := true
		for _, k := range sortedKeys(x) {
			w.key(first, k)
			first = false
			w.any(x[k])
		}
		w.byte('}')
	case map[string]string:
		w.byte('{')
		first := true
		for _, k := range sortedKeys(x) {
			w.key(first, k)
			first = false
			w.str(x[k])
		}
		w.byte('}')
	default:
		w.raw("null") // not a JSON value this package makes
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys) // JSON objects come out in one order: a call replays byte for byte
	return keys
}
