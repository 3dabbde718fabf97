package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/fedele-crm/fedele/core"
)

// operation describes an authenticated operation that needs scope.
func operation(id, method, path, summary string, scope core.Scope, tag string) huma.Operation {
	return huma.Operation{
		OperationID: id, Method: method, Path: path, Summary: summary, Tags: []string{tag},
		Metadata: map[string]any{scopeKey: scope},
		Security: []map[string][]string{{"apiKey": {string(scope)}}},
		Errors:   []int{http.StatusUnauthorized, http.StatusForbidden},
	}
}

// readsItsBody marks an operation whose RawBody the handler checks itself
// (readFields, or a merge patch), so that huma does not validate the bytes
// against the placeholder schema a RawBody gets.
func readsItsBody(op huma.Operation) huma.Operation {
	op.SkipValidateBody = true
	return op
}

// tenantOf is the caller's tenant; requireScope guarantees a principal.
func tenantOf(ctx context.Context) string {
	p, _ := PrincipalFrom(ctx)
	return p.TenantID
}

// etag renders a version as a strong ETag.
func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

// ifMatch reads an If-Match header: 0 when absent or "*" (any version).
// Anything that is not one of our ETags can never match, so it is a 412.
func ifMatch(h string) (int64, error) {
	h = strings.TrimSpace(h)
	if h == "" || h == "*" {
		return 0, nil
	}
	v, err := strconv.ParseInt(strings.Trim(strings.TrimPrefix(h, "W/"), `"`), 10, 64)
	if err != nil || v <= 0 {
		return 0, core.Errorf(core.CodeStale, "If-Match %q is not a version of this record", h)
	}
	return v, nil
}

// documentBody describes a RawBody operation's body as fields, which huma
// cannot infer from []byte.
func documentBody(api huma.API, method, path string, fields any, description string, contentTypes ...string) {
	item := api.OpenAPI().Paths[path]
	op := map[string]*huma.Operation{http.MethodPost: item.Post, http.MethodPut: item.Put, http.MethodPatch: item.Patch}[method]
	schema := api.OpenAPI().Components.Schemas.Schema(reflect.TypeOf(fields), true, "")
	op.RequestBody.Required = true
	op.RequestBody.Description = description
	op.RequestBody.Content = map[string]*huma.MediaType{}
	for _, ct := range contentTypes {
		op.RequestBody.Content[ct] = &huma.MediaType{Schema: schema}
	}
}

// mergePatchBody documents a PATCH body as a JSON merge patch of fields.
func mergePatchBody(api huma.API, path string, fields any) {
	documentBody(api, http.MethodPatch, path, fields, "A JSON merge patch (RFC 7396): present keys replace, null removes, absent keys stay.",
		"application/merge-patch+json", "application/json")
}

// readFields decodes a record's body. Huma alone would stop at the JSON
// Schema and never show the domain's rules; here a body that breaks the
// schema is still decoded as far as it goes and checked by the domain too,
// so that one answer names every field at fault.
func readFields[F any](raw []byte, check documentCheck, domain func(F) error) (F, error) {
	var f F
	if !json.Valid(raw) {
		return f, decodeJSON(raw, &f) // answers what is malformed, and where
	}
	schemaErr := check(raw)
	if schemaErr == nil {
		return f, decodeJSON(raw, &f)
	}
	var se *core.Error
	if !errors.As(schemaErr, &se) {
		return f, schemaErr
	}
	_ = json.Unmarshal(raw, &f) // best effort: what decodes can still be checked
	var de *core.Error
	if errors.As(domain(f), &de) {
		// A set, not a search per field: a body can carry a hundred
		// thousand faults, and refusing it must stay linear.
		seen := make(map[string]bool, len(se.Fields))
		for _, fe := range se.Fields {
			seen[fe.Path] = true
		}
		for _, fe := range de.Fields {
			if !seen[fe.Path] {
				se.Fields = append(se.Fields, fe)
			}
		}
	}
	return f, se
}

// schemaCheck validates a document against the JSON Schema huma makes for
// fields, the one that validates full bodies, so that a patched document is
// held to the same rules and its problems read the same. The schema is made
// on first use, in a registry of its own configured as the API's.
func schemaCheck(fields any) documentCheck {
	type compiled struct {
		registry huma.Registry
		schema   *huma.Schema
	}
	get := sync.OnceValue(func() compiled {
		registry := humago.New(http.NewServeMux(), humaConfig(false)).OpenAPI().Components.Schemas
		return compiled{registry, registry.Schema(reflect.TypeOf(fields), true, "")}
	})
	return func(doc []byte) error {
		var v any
		if err := decodeJSON(doc, &v); err != nil {
			return err // a client's fault, said as decoding says it: never a 500
		}
		c := get()
		res := &huma.ValidateResult{}
		huma.Validate(c.registry, c.schema, huma.NewPathBuffer(make([]byte, 0, 64), 0), huma.ModeWriteToServer, v, res)
		var p core.Problems
		for _, e := range res.Errors {
			// Never e.Error() of a detail: it prints the value, which for
			// an unknown member is the whole object, once per member.
			var fe core.FieldError
			if d, ok := e.(*huma.ErrorDetail); ok {
				fe = core.FieldError{Path: d.Location, Message: d.Message, Value: ownValue(d.Location, d.Message, d.Value)}
			} else {
				fe = core.FieldError{Message: e.Error()}
			}
			p = append(p, fe)
		}
		return p.Err()
	}
}

// itemsPage is the body of every list.
type itemsPage[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty" doc:"Pass as cursor to get the next page; absent on the last page."`
}
