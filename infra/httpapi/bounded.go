package httpapi

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/validation"
)

// A refusal must cost less than the request it refuses. huma's validator
// gives each unknown member the whole object it sits in as its value, so a
// 6 KB body of 500 unknown members was answered with 2.9 MB, and 4 000 of
// them with no answer in 15 s: the encoder wrote the object once per error.
// Every problem the API writes is bounded here, whoever made it: each
// error's value is the value at its own location, cut to maxValueBytes of
// JSON, and the list stops at maxErrors with the count of the rest.
const (
	maxErrors     = 50
	maxValueBytes = 64
	cutMarker     = "…" // ends a value that was cut
)

// ErrorModel is the problem+json body of every error answer: RFC 9457's
// members, the errors at fault, and how many more there were. It is named
// as huma's, so that the document's schema keeps its name.
type ErrorModel struct {
	huma.ErrorModel
	ErrorsOmitted int `json:"errors_omitted,omitempty" doc:"Errors not listed: at most 50 are."`
}

// bounded caps m's errors and cuts each one's value, in place.
func (m *ErrorModel) bounded() *ErrorModel {
	if n := len(m.Errors); n > maxErrors {
		m.ErrorsOmitted += n - maxErrors
		m.Errors = m.Errors[:maxErrors:maxErrors]
	}
	for i, d := range m.Errors {
		if d == nil {
			continue
		}
		c := *d // huma may share details between results; never write through
		c.Value = clipValue(ownValue(c.Location, c.Message, c.Value))
		m.Errors[i] = &c
	}
	return m
}

// ownValue is the value at an error's location. huma reports an unknown
// member at the member's location with the whole object as the value.
func ownValue(loc, msg string, v any) any {
	obj, ok := v.(map[string]any)
	if msg != validation.MsgUnexpectedProperty || !ok {
		return v
	}
	for i := len(loc) - 1; i >= 0; i-- {
		if loc[i] == '.' {
			if own, ok := obj[loc[i+1:]]; ok {
				return own
			}
		}
	}
	if own, ok := obj[loc]; ok { // a location without a prefix
		return own
	}
	return nil
}

// clipValue is v when its JSON fits in maxValueBytes; else the first bytes
// of its JSON (of a string, the string's) followed by cutMarker. Only what
// it keeps is encoded: the work is bounded whatever v holds.
func clipValue(v any) any {
	switch x := v.(type) {
	case nil, bool, float64, float32, int, int64, int32, uint, uint64, uint32:
		return v
	case string:
		if len(x) <= maxValueBytes {
			return x
		}
		return cutUTF8(x, maxValueBytes) + cutMarker
	}
	var b bytes.Buffer
	if writeBounded(&b, v, maxValueBytes) {
		return v
	}
	return cutUTF8(b.String(), maxValueBytes) + cutMarker
}

// cutUTF8 is s cut to at most n bytes, on a character boundary.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// writeBounded writes v's JSON to b until b holds more than limit bytes,
// and reports whether it wrote all of it. Object members go in key order,
// as encoding/json writes them; of a large object only the smallest keys
// that can fit are sorted.
func writeBounded(b *bytes.Buffer, v any, limit int) bool {
	if b.Len() > limit {
		return false
	}
	switch x := v.(type) {
	case map[string]any:
		keys := smallestKeys(x, limit/4+1) // each member takes at least 4 bytes: "":0
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, k, limit)
			b.WriteByte(':')
			if !writeBounded(b, x[k], limit) {
				return false
			}
		}
		if len(keys) < len(x) {
			b.WriteString(",") // more members than could fit
			return false
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			if !writeBounded(b, e, limit) {
				return false
			}
		}
		b.WriteByte(']')
	case string:
		writeString(b, x, limit)
	default:
		// A domain's own value (a number, a list of strings): small, as
		// the domain names one field's value.
		j, err := json.Marshal(x)
		if err != nil {
			j = []byte(strconv.Quote(err.Error()))
		}
		b.Write(j)
	}
	return b.Len() <= limit
}

// writeString writes s as a JSON string, only as much of it as can fit.
func writeString(b *bytes.Buffer, s string, limit int) {
	room := max(limit-b.Len(), 0) + 1
	j, _ := json.Marshal(cutUTF8(s, room)) // a string always encodes
	if len(s) > room {
		j = j[:len(j)-1] // open: it was cut
	}
	b.Write(j)
}

// smallestKeys returns the n smallest keys of m in order, in one pass.
func smallestKeys(m map[string]any, n int) []string {
	keys := make([]string, 0, min(n, len(m))+1)
	for k := range m {
		if len(keys) == n && k >= keys[n-1] {
			continue
		}
		i, _ := slices.BinarySearch(keys, k)
		keys = slices.Insert(keys, i, k)
		if len(keys) > n {
			keys = keys[:n]
		}
	}
	return keys
}
