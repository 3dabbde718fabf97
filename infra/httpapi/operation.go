package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

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

// mergePatchBody documents a RawBody operation's body as a JSON merge patch
// of fields, which huma cannot infer from []byte.
func mergePatchBody(api huma.API, path string, fields any) {
	op := api.OpenAPI().Paths[path].Patch
	schema := api.OpenAPI().Components.Schemas.Schema(reflect.TypeOf(fields), true, "")
	op.RequestBody.Required = true
	op.RequestBody.Description = "A JSON merge patch (RFC 7396): present keys replace, null removes, absent keys stay."
	op.RequestBody.Content = map[string]*huma.MediaType{
		"application/merge-patch+json": {Schema: schema},
		"application/json":             {Schema: schema},
	}
}

// schemaCheck validates a document against the JSON Schema huma made for
// fields, the one that validates full bodies, so that a patched document is
// held to the same rules and its problems read the same.
func (s *Server) schemaCheck(fields any) core.DocumentCheck {
	registry := s.api.OpenAPI().Components.Schemas
	schema := registry.Schema(reflect.TypeOf(fields), true, "")
	return func(doc []byte) error {
		var v any
		if err := json.Unmarshal(doc, &v); err != nil {
			return fmt.Errorf("decode patched document: %w", err)
		}
		res := &huma.ValidateResult{}
		huma.Validate(registry, schema, huma.NewPathBuffer(make([]byte, 0, 64), 0), huma.ModeWriteToServer, v, res)
		var p core.Problems
		for _, e := range res.Errors {
			fe := core.FieldError{Message: e.Error()}
			if d, ok := e.(*huma.ErrorDetail); ok {
				fe = core.FieldError{Path: d.Location, Message: d.Message, Value: d.Value}
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
