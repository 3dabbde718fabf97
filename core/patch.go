package core

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MergePatch applies an RFC 7396 JSON merge patch to doc: objects merge key by
// key, null removes a key, anything else replaces. Both must be JSON; a patch
// that is not an object replaces the whole document, as the RFC says.
func MergePatch(doc, patch []byte) ([]byte, error) {
	var d, p any
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("merge patch: document: %w", err)
	}
	if err := DecodeJSON(patch, &p); err != nil {
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

// DecodeJSON decodes exactly one JSON value into v, refusing unknown fields,
// and explains a failure as an invalid-request *Error naming the field.
func DecodeJSON(data []byte, v any) error {
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
		p         Problems
	)
	switch {
	case errors.As(err, &typeErr):
		p.Add(typeErr.Field, "must be %s, not %s", typeErr.Type, typeErr.Value)
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
	code := CodeInvalid
	if typeErr == nil && !strings.HasPrefix(err.Error(), "json: unknown field ") {
		code = CodeMalformed
	}
	return &Error{Code: code, Message: "the body is not valid JSON for this resource", Fields: p}
}

// readOnly lists what a writer may not set: the store assigns these.
var readOnly = []string{"id", "version", "created_at", "updated_at"}

// PatchFields applies a merge patch to the writable fields current and decodes
// the result into next. Read-only fields in the patch are errors, so that a
// client copying a whole record back learns they were not applied.
func PatchFields[F any](current *F, patch []byte, next *F) error {
	var top map[string]json.RawMessage
	if err := DecodeJSON(patch, &top); err != nil {
		return err
	}
	var p Problems
	if top == nil { // the patch null would replace the record by nothing: every field erased
		p.Add("", "a merge patch of a record must be a JSON object, not null")
	}
	for _, k := range readOnly {
		if _, ok := top[k]; ok {
			p.Add(k, "is read-only")
		}
	}
	if err := p.Err(); err != nil {
		return err
	}
	doc, err := json.Marshal(current)
	if err != nil {
		return fmt.Errorf("encode current fields: %w", err)
	}
	merged, err := MergePatch(doc, patch)
	if err != nil {
		return err
	}
	return DecodeJSON(merged, next)
}
