package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/fedele-crm/fedele/core"
)

// mergePatch applies an RFC 7396 JSON merge patch to doc: objects merge key by
// key, null removes a key, anything else replaces. Both must be JSON; a patch
// that is not an object replaces the whole document, as the RFC says.
func mergePatch(doc, patch []byte) ([]byte, error) {
	var d, p any
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("merge patch: document: %w", err)
	}
	if err := decodeJSON(patch, &p); err != nil {
		return nil, err
	}
	return json.Marshal(mergeValue(d, p))
}

func mergeValue(doc, patch any) any {
	po, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	do, ok := doc.(map[string]any)
	if !ok {
		do = map[string]any{}
	}
	for k, pv := range po {
		if pv == nil {
			delete(do, k)
			continue
		}
		do[k] = mergeValue(do[k], pv)
	}
	return do
}

// decodeJSON decodes exactly one JSON value into v, refusing unknown fields,
// and explains a failure as an invalid-request *Error naming the field.
func decodeJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			err = errors.New("unexpected data after the JSON value")
		}
	}
	if err == nil {
		return nil
	}
	var (
		typeErr   *json.UnmarshalTypeError
		syntaxErr *json.SyntaxError
		p         core.Problems
	)
	switch {
	case errors.As(err, &typeErr):
		p.Add(typeErr.Field, "must be %s, not %s", jsonKind(typeErr.Type), jsonValueKind(typeErr.Value))
	case errors.As(err, &syntaxErr):
		p.Add("", "malformed JSON at byte %d: %v", syntaxErr.Offset, syntaxErr)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		p.Add(field, "is not a known field")
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		p.Add("", "malformed JSON: unexpected end of input")
	default:
		p.Add("", "malformed JSON: %v", err)
	}
	code := core.CodeInvalid
	if typeErr == nil && !strings.HasPrefix(err.Error(), "json: unknown field ") {
		code = core.CodeMalformed
	}
	return &core.Error{Code: code, Message: "the body is not valid JSON for this resource", Fields: p}
}

// jsonKind says what JSON a Go type is decoded from, in the API's words:
// a client never sees a Go type's name.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeFor[time.Time]() {
		return "a time (RFC 3339)"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		lo := int64(-1) << (t.Bits() - 1)
		return fmt.Sprintf("an integer from %d to %d, in digits", lo, -(lo + 1))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return fmt.Sprintf("an integer from 0 to %d, in digits", uint64(1)<<t.Bits()-1)
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Struct, reflect.Map:
		return "a JSON object"
	case reflect.Slice, reflect.Array:
		return "a JSON array"
	}
	return "another JSON value"
}

// jsonValueKind rewords encoding/json's name for what it met ("number 1e2",
// "array", "bool").
func jsonValueKind(v string) string {
	switch {
	case strings.HasPrefix(v, "number "):
		return strings.TrimPrefix(v, "number ")
	case v == "bool":
		return "a boolean"
	case v == "array" || v == "object":
		return "an " + v
	case v == "string" || v == "number":
		return "a " + v
	}
	return v
}

// readOnly lists what a writer may not set: the store assigns these.
var readOnly = []string{"id", "version", "created_at", "updated_at"}

// documentCheck validates a record's JSON document before it is decoded, such
// as against the API's JSON Schema. encoding/json alone matches keys without
// regard to case (a patch of "First_Name" would be silently lost) and names
// fields without their array indexes; a schema check does neither.
type documentCheck func(doc []byte) error

// patchFields applies a merge patch to the writable fields current and decodes
// the result into next. Read-only fields in the patch are errors, so that a
// client copying a whole record back learns they were not applied. check,
// when not nil, sees the merged document first.
func patchFields[F any](current *F, patch []byte, next *F, check documentCheck) error {
	var top map[string]json.RawMessage
	if err := decodeJSON(patch, &top); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(json.Unmarshal(patch, &top), &typeErr) && typeErr.Field == "" {
			// An array or a scalar would replace the whole record (RFC 7396):
			// that is never what a client of a record means.
			return core.Invalid("", "a merge patch of a record must be a JSON object, not "+jsonValueKind(typeErr.Value), nil)
		}
		return err
	}
	var p core.Problems
	if top == nil { // the patch null would replace the record by nothing: every field erased
		p.Add("", "a merge patch of a record must be a JSON object, not null")
	}
	for _, k := range readOnly {
		if _, ok := top[k]; ok {
			p.Add(k, "is read-only")
		}
	}
	if len(p) == 0 {
		var tree any
		_ = json.Unmarshal(patch, &tree) // decodeJSON accepted it
		checkKeys(&p, tree, reflect.TypeFor[F](), "")
	}
	if err := p.Err(); err != nil {
		return err
	}
	doc, err := json.Marshal(current)
	if err != nil {
		return fmt.Errorf("encode current fields: %w", err)
	}
	merged, err := mergePatch(doc, patch)
	if err != nil {
		return err
	}
	if check != nil {
		if err := check(merged); err != nil {
			return err
		}
	}
	return decodeJSON(merged, next)
}

// checkKeys reports every object key in v that is not exactly the JSON name
// of a field of t. encoding/json matches names without regard to case, so in
// a merged document a patch's "First_Name" would sit beside the stored
// "first_name" and lose to it, silently.
func checkKeys(p *core.Problems, v any, t reflect.Type, path string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return // a type error, reported when decoding
		}
		fields := jsonFields(t)
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			ft, ok := fields[k]
			if !ok {
				*p = append(*p, core.FieldError{Path: joinPath(path, k), Message: "is not a known field", Value: obj[k]})
				continue
			}
			checkKeys(p, obj[k], ft, joinPath(path, k))
		}
	case reflect.Slice:
		list, _ := v.([]any)
		for i, e := range list {
			checkKeys(p, e, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	}
}

// jsonFields maps the JSON names of t's fields, embedded structs flattened,
// to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-" || !f.IsExported():
		case f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct:
			maps.Copy(out, jsonFields(f.Type))
		case name == "":
			out[f.Name] = f.Type
		default:
			out[name] = f.Type
		}
	}
	return out
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// mergeInto is the typed change of a merge patch: it applies patch to the
// fields a use case hands it, checking the patched document with check.
func mergeInto[F any](patch []byte, check documentCheck) func(*F) error {
	return func(f *F) error {
		var next F
		if err := patchFields(f, patch, &next, check); err != nil {
			return err
		}
		*f = next
		return nil
	}
}
