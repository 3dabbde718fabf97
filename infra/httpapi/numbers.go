package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"
)

// Numbers a field cannot hold never reach a decoder. encoding/json fails on
// them with Go's words ("cannot unmarshal number 1e400 into Go value of type
// float64") and without the field's path, and where a body is first decoded
// into a tree (huma's validation, a patched document's schema check) that
// failure was a 400 echoing the whole body, or a 500. So every JSON body is
// scanned once, before huma reads it, against the operation's own request
// schema: one place for every operation, each number held to the range of
// its field, the refusal a 422 naming the field.

// numbersInRange is the huma middleware that refuses a JSON body holding a
// number beyond the range of its field. It runs after requireScope, so that
// a caller without the scope learns nothing from the body.
func (s *Server) numbersInRange(ctx huma.Context, next func(huma.Context)) {
	op := ctx.Operation()
	schema := jsonBodySchema(op, ctx.Header("Content-Type"))
	if schema == nil {
		next(ctx)
		return
	}
	body, err := io.ReadAll(ctx.BodyReader())
	// huma reads the body again from here, and meets a read error (a body
	// over its limit) exactly where it would have.
	rest := &bodyContext{humaContext: ctx, body: io.MultiReader(bytes.NewReader(body), errReader{err})}
	if err != nil {
		next(rest)
		return
	}
	if errs := numberProblems(body, s.api.OpenAPI().Components.Schemas, schema); len(errs) > 0 {
		_ = huma.WriteErr(s.api, ctx, 422, "validation failed", errs...)
		return
	}
	next(rest)
}

// bodyContext is a huma.Context whose body has been read once already.
type bodyContext struct {
	humaContext
	body io.Reader
}

// humaContext names huma.Context for embedding: a field called Context
// would hide its method Context.
type humaContext = huma.Context

func (c *bodyContext) BodyReader() io.Reader { return c.body }

// errReader answers err (io.EOF when nil) to every read.
type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) {
	if r.err == nil {
		return 0, io.EOF
	}
	return 0, r.err
}

// jsonBodySchema is the schema of an operation's JSON request body for the
// request's content type, or nil when the body is not JSON (a module upload).
func jsonBodySchema(op *huma.Operation, contentType string) *huma.Schema {
	if op.RequestBody == nil || len(op.RequestBody.Content) == 0 {
		return nil
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "" {
		mt = "application/json" // what huma assumes of a body without a type
	}
	if mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return nil
	}
	if c, ok := op.RequestBody.Content[mt]; ok && c.Schema != nil {
		return c.Schema
	}
	for ct, c := range op.RequestBody.Content {
		if ct == "application/json" || strings.HasSuffix(ct, "+json") {
			return c.Schema
		}
	}
	return nil
}

// pathElem is one step of a JSON path: a member's key, or an element's index.
type pathElem struct {
	key   string
	index int // -1 for a key
}

// frame is an object or array being scanned.
type frame struct {
	schema    *huma.Schema // the container's, nil when unknown
	object    bool
	expectKey bool // an object between members
	at        pathElem
}

// numberProblems scans data once and reports every number beyond the range
// of the field it is in: an integer field's (int64, or int32 by its schema's
// format) or, for any other field — a number, a custom field's value, a
// member the schema does not know — the range of a float64. Anything that is
// not JSON is left to the decoders, which say where it breaks. The work is
// linear in the size of data.
func numberProblems(data []byte, reg huma.Registry, root *huma.Schema) []error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var (
		stack []frame
		errs  []error
	)
	valueSchema := func() *huma.Schema {
		if len(stack) == 0 {
			return resolve(reg, root)
		}
		top := &stack[len(stack)-1]
		if top.schema == nil {
			return nil
		}
		if top.object {
			if p, ok := top.schema.Properties[top.at.key]; ok {
				return resolve(reg, p)
			}
			if ap, ok := top.schema.AdditionalProperties.(*huma.Schema); ok {
				return resolve(reg, ap)
			}
			return nil
		}
		return resolve(reg, top.schema.Items)
	}
	afterValue := func() {
		if len(stack) == 0 {
			return
		}
		top := &stack[len(stack)-1]
		if top.object {
			top.expectKey = true
		} else {
			top.at.index++
		}
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return errs // the end, or not JSON: the decoders explain
		}
		if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].expectKey {
			if k, ok := tok.(string); ok {
				stack[n-1].at, stack[n-1].expectKey = pathElem{key: k, index: -1}, false
				continue
			}
			stack = stack[:n-1] // '}'
			afterValue()
			continue
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				stack = append(stack, frame{schema: valueSchema(), object: true, expectKey: true})
			case '[':
				stack = append(stack, frame{schema: valueSchema(), at: pathElem{index: 0}})
			default: // ']'
				stack = stack[:len(stack)-1]
				afterValue()
			}
			continue
		case json.Number:
			if msg := numberOutOfRange(string(v), valueSchema()); msg != "" {
				errs = append(errs, &huma.ErrorDetail{Location: pathOf(stack), Message: msg, Value: string(v)})
			}
		}
		afterValue()
	}
}

func resolve(reg huma.Registry, s *huma.Schema) *huma.Schema {
	for s != nil && s.Ref != "" {
		s = reg.SchemaFromRef(s.Ref)
	}
	return s
}

// pathOf spells the location of the value being scanned, as huma does
// ("body.items[3].custom.size").
func pathOf(stack []frame) string {
	var b strings.Builder
	b.WriteString("body")
	for _, f := range stack {
		if f.at.index >= 0 {
			fmt.Fprintf(&b, "[%d]", f.at.index)
		} else {
			b.WriteString(".")
			b.WriteString(f.at.key)
		}
	}
	return b.String()
}

// numberOutOfRange says why the number text cannot be held by a field of
// schema s (nil: any number), or "" when it can. A fraction in an integer
// field is left to the schema's own check ("expected integer").
func numberOutOfRange(text string, s *huma.Schema) string {
	f, err := strconv.ParseFloat(text, 64)
	integer := s != nil && s.Type == huma.TypeInteger
	if !integer {
		if err != nil {
			return fmt.Sprintf("is beyond the range of a number (±%g)", math.MaxFloat64)
		}
		return ""
	}
	bits := 64
	if s.Format == "int32" {
		bits = 32
	}
	lo, hi := int64(-1)<<(bits-1), int64(1)<<(bits-1)-1
	_, intErr := strconv.ParseInt(text, 10, bits)
	if intErr == nil || err == nil && f != math.Trunc(f) {
		return ""
	}
	// The range the message gives is the field's own when its schema has
	// one (a probability's 0 to 100), not the machine's.
	min, max := lo, hi
	if s.Minimum != nil && *s.Minimum > float64(lo) {
		min = int64(math.Ceil(*s.Minimum))
	}
	if s.Maximum != nil && *s.Maximum < float64(hi) {
		max = int64(math.Floor(*s.Maximum))
	}
	if err != nil || errors.Is(intErr, strconv.ErrRange) || f < float64(lo) || f >= -float64(lo) {
		return fmt.Sprintf("must be an integer from %d to %d", min, max)
	}
	return fmt.Sprintf("must be an integer from %d to %d, written in digits without a fraction or an exponent", min, max)
}
