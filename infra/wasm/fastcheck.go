package wasm

import "unicode/utf8"

// scoreOutputOK is a fast, one-sided check of a score plugin's output: true
// means the output certainly keeps schemas/plugins/score.output.json for n
// records; false means only "not proven here", and the schema validator
// then decides and explains. Re-scoring a tenant sends thousands of batches
// through the host, and the general validator spends about 6 µs a record
// building and walking a document; this reads the bytes once. Anything
// unusual — escapes in strings, fractions, exponents, repeated keys — is
// left to the schema. FuzzScoreOutputOK holds it to never say true where
// the schema says no.
func scoreOutputOK(out []byte, n int) bool {
	s := scan{b: out}
	if !s.take('[') {
		return false
	}
	count := 0
	if s.take(']') {
		return n == 0 && s.end()
	}
	for {
		if !s.scoreResult() {
			return false
		}
		count++
		if count > 10000 {
			return false
		}
		if s.take(',') {
			continue
		}
		if s.take(']') {
			return count == n && s.end()
		}
		return false
	}
}

type scan struct {
	b []byte
	i int
}

func (s *scan) ws() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\n' || s.b[s.i] == '\t' || s.b[s.i] == '\r') {
		s.i++
	}
}

func (s *scan) take(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *scan) end() bool {
	s.ws()
	return s.i == len(s.b)
}

// str reads a string without escapes and returns its length in runes, or
// -1 when it is not one.
func (s *scan) str() int {
	if !s.take('"') {
		return -1
	}
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			body := s.b[start:s.i]
			s.i++
			if !utf8.Valid(body) {
				return -1
			}
			return utf8.RuneCount(body)
		case c == '\\' || c < 0x20:
			return -1
		}
		s.i++
	}
	return -1
}

// key reads one of the score result's keys and its colon.
func (s *scan) key() string {
	s.ws()
	for _, k := range [...]string{"score", "reasons", "tags", "error"} {
		if len(s.b)-s.i >= len(k)+2 && s.b[s.i] == '"' && string(s.b[s.i+1:s.i+1+len(k)]) == k && s.b[s.i+1+len(k)] == '"' {
			s.i += len(k) + 2
			if s.take(':') {
				return k
			}
			return ""
		}
	}
	return ""
}

// strings reads an array of at most maxItems strings of at most maxLen
// runes each.
func (s *scan) strings(maxItems, maxLen int) bool {
	if !s.take('[') {
		return false
	}
	if s.take(']') {
		return true
	}
	for n := 1; ; n++ {
		if l := s.str(); l < 0 || l > maxLen || n > maxItems {
			return false
		}
		if s.take(']') {
			return true
		}
		if !s.take(',') {
			return false
		}
	}
}

// scoreResult reads {"score":0..100[,"reasons":[…]][,"tags":[…]]} in any
// order, or {"error":"…"}, each key at most once.
func (s *scan) scoreResult() bool {
	if !s.take('{') {
		return false
	}
	var score, reasons, tags, errKey bool
	for first := true; ; first = false {
		if s.take('}') {
			return !first && (score && !errKey || errKey && !score && !reasons && !tags)
		}
		if !first && !s.take(',') {
			return false
		}
		switch s.key() {
		case "score":
			if score {
				return false
			}
			score = true
			s.ws()
			v, digits := 0, 0
			for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' && digits < 4 {
				v = v*10 + int(s.b[s.i]-'0')
				s.i++
				digits++
			}
			if digits == 0 || digits > 3 || v > 100 || (digits > 1 && s.b[s.i-digits] == '0') {
				return false
			}
			if s.i < len(s.b) && (s.b[s.i] == '.' || s.b[s.i] == 'e' || s.b[s.i] == 'E') {
				return false
			}
		case "reasons":
			if reasons || !s.strings(20, 200) {
				return false
			}
			reasons = true
		case "tags":
			if tags || !s.strings(10, 64) {
				return false
			}
			tags = true
		case "error":
			if errKey {
				return false
			}
			errKey = true
			if l := s.str(); l < 1 || l > 1000 {
				return false
			}
		default:
			return false
		}
	}
}
