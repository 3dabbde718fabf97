package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"hash/fnv"
	"net/http"
	"reflect"
	"strconv"
	"sync"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/fedele-crm/fedele/core"
)

// operation describes an authenticated operation that needs scope. What
// its document says beyond this — description, security, the statuses it
// may answer — declareAnswers derives from what the operation is.
func operation(id, method, path, summary string, scope core.Scope, tag string) huma.Operation {
	return huma.Operation{
		OperationID: id, Method: method, Path: path, Summary: summary, Tags: []string{tag},
		Metadata: map[string]any{scopeKey: scope},
	}
}

// notYet marks an operation that reads a document computed in the
// background (the latest RFM distribution, the latest CLV fit): until the
// first computation it is not found, though no path parameter names it.
func notYet(op huma.Operation) huma.Operation {
	op.Metadata[notYetKey] = true
	return op
}

const notYetKey = "fedele-not-yet"

// docTags are the document's tags; every operation's tag is one of them
// (TestOperationsAreDeclared).
var docTags = []*huma.Tag{
	{Name: "Meta", Description: "The server itself: liveness."},
	{Name: "Contacts", Description: "People: their fields, consent, e-mail upserts and batches, timeline and score, re-scoring jobs."},
	{Name: "Companies", Description: "Organisations contacts belong to, unique by domain."},
	{Name: "Team", Description: "The tenant's users: the sales reps and agents work is routed to."},
	{Name: "Activities", Description: "Calls, e-mails, meetings, notes and tasks logged on contacts, companies and deals."},
	{Name: "Sales", Description: "Pipelines and their stages, deals, the forecast and pipeline reports."},
	{Name: "Tenant", Description: "The caller's tenant: its settings, custom fields and API keys."},
	{Name: "Events", Description: "The tenant's domain events, to poll, and daily counts of them."},
	{Name: "Plugins", Description: "The tenant's WebAssembly plugins: versions, dry runs, activation, shadow runs, rollback, statistics."},
	{Name: "Timers", Description: "Durable timers: what must happen later, scheduled, cancelled, and how late they fire."},
	{Name: "Commerce", Description: "The product catalogue (unique SKUs, prices per currency) and customers' orders, ingested idempotently by external id, with refunds by line."},
	{Name: "Analytics", Description: "What orders say about customers: purchase summaries and lifecycle states, RFM scores and segments, lifetime value fits, retention, cohorts, revenue and the KPIs every team reads."},
	{Name: "Jobs", Description: "Background jobs (re-scoring, RFM, the analytics jobs): progress and results."},
	{Name: "Marketing", Description: "Segments (CEL conditions over the contact view, kept live), static lists, their members, previews and exports; one-off campaigns with A/B variants and a holdout, their recipients, audit and performance."},
	{Name: "Messages", Description: "The one door to reach a contact: the delivery policy (consent, suppressions, frequency caps, quiet hours), messages and their receipts, one-click unsubscribe."},
}

// Security schemes. API keys and JWTs carry the same scopes; OpenAPI can
// list scopes only in an OAuth 2 scheme's flows, so the JWT scheme declares
// them and each operation names the one it needs there.
const (
	apiKeyScheme = "apiKey"
	jwtScheme    = "jwt"
)

// scopeDocs say what each scope allows; TestOperationsAreDeclared holds
// them to core.Scopes.
var scopeDocs = map[string]string{
	string(core.ScopeRead):         "Read contacts, companies, the team, activities, deals and reports.",
	string(core.ScopeWrite):        "crm:read, and create, change and delete them.",
	string(core.ScopePluginsAdmin): "Upload, run, activate and roll back plugins.",
	string(core.ScopeAdmin):        "Every scope, and the tenant's settings, custom fields, API keys, pipelines, team and events.",
	// A delivery provider's key: receipts only.
	string(core.ScopeMessageReceipts): "Report what happened to messages (a delivery provider's receipts); nothing else.",
}

func securitySchemes() map[string]*huma.SecurityScheme {
	return map[string]*huma.SecurityScheme{
		apiKeyScheme: {Type: "http", Scheme: "bearer",
			Description: "An API key: `fdl_` followed by 52 characters, holding some of the scopes listed under `jwt`. An operation needs the scope it names there."},
		jwtScheme: {Type: "oauth2",
			Description: "Behind API Gateway with the JWT authorizer on (template.yaml, EnableJwtAuth): a JWT from the deployment's issuer, whose claims name the tenant and the scopes. The token URL is the issuer's.",
			Flows: &huma.OAuthFlows{ClientCredentials: &huma.OAuthFlow{
				TokenURL: "https://issuer.invalid/oauth2/token",
				Scopes:   scopeDocs,
			}}},
	}
}

// answers are the statuses an operation may answer for what it is, each
// with why; declareAnswers gives each operation those that apply.
var answers = map[int]string{
	http.StatusBadRequest:            "The body is not well-formed JSON.",
	http.StatusUnauthorized:          "No API key, or one that is unknown or revoked.",
	http.StatusForbidden:             "The API key lacks the operation's scope.",
	http.StatusNotFound:              "No such record in the caller's tenant.",
	http.StatusConflict:              "The change conflicts with the tenant's data (a unique value, a record in use, a concurrent change), or the Idempotency-Key was used for another request.",
	http.StatusPreconditionFailed:    "If-Match names no current version of the record.",
	http.StatusRequestEntityTooLarge: "The body is over 1 MiB (20 MiB for a plugin module), whatever the method.",
	http.StatusUnsupportedMediaType:  "The body's Content-Type is not one the operation takes.",
	http.StatusUnprocessableEntity:   "A parameter or a field is invalid; each error names its location.",
	http.StatusInternalServerError:   "A fault of ours; the request id (X-Request-Id) in the logs says more.",
	http.StatusServiceUnavailable:    "The store or the plugin runtime is unavailable; retry after Retry-After.",
	http.StatusTooManyRequests:       "Over the tenant's or the API key's request rate; retry after Retry-After (RateLimit-* headers on every answer say how much is left).",
}

// declareAnswers completes an operation's document from what it is, so that
// every operation — those of other files too — declares every status it
// can answer, with the problem schema, without a list of its own: an
// operation that needs a scope may be refused (401, 403) and reads the
// store to authenticate (503); a path parameter may name nothing (404);
// parameters and bodies may be invalid (422); a body may be malformed,
// too large, or of another type (400, 413, 415); a write may conflict
// (409); an If-Match may be stale (412). It runs as huma adds each
// operation to the document (OpenAPI.OnAddOperation).
func declareAnswers(oapi *huma.OpenAPI, op *huma.Operation) {
	scope, scoped := op.Metadata[scopeKey].(core.Scope)
	if op.Description == "" {
		op.Description = op.Summary + "."
	}
	// limitBody refuses any request over the limit, whatever its method;
	// any operation refuses a query parameter it does not declare (422).
	statuses := []int{http.StatusInternalServerError, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity}
	op.Security = []map[string][]string{{}} // open to anyone
	if scoped {
		op.Description += "\n\nNeeds the `" + string(scope) + "` scope."
		op.Security = []map[string][]string{{apiKeyScheme: {}}, {jwtScheme: {string(scope)}}}
		statuses = append(statuses, http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests, http.StatusServiceUnavailable)
	}
	if op.Method != http.MethodGet && op.Method != http.MethodHead {
		statuses = append(statuses, http.StatusConflict)
	}
	if op.Metadata[notYetKey] == true {
		statuses = append(statuses, http.StatusNotFound)
	}
	for _, p := range op.Parameters {
		switch {
		case p.In == "path":
			statuses = append(statuses, http.StatusNotFound)
		case p.In == "header" && p.Name == "If-Match":
			statuses = append(statuses, http.StatusPreconditionFailed)
		}
	}
	if op.RequestBody != nil {
		statuses = append(statuses, http.StatusBadRequest, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity)
	}
	problem := &huma.MediaType{Schema: oapi.Components.Schemas.Schema(reflect.TypeFor[ErrorModel](), true, "Error")}
	if op.Responses == nil {
		op.Responses = map[string]*huma.Response{}
	}
	delete(op.Responses, "default") // every answer is declared by its status
	for _, status := range statuses {
		r := &huma.Response{Description: answers[status], Content: map[string]*huma.MediaType{"application/problem+json": problem}}
		if status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests {
			r.Headers = map[string]*huma.Param{"Retry-After": {
				Description: "Seconds to wait before retrying.", Schema: &huma.Schema{Type: huma.TypeInteger}}}
		}
		op.Responses[strconv.Itoa(status)] = r
	}
}

// alsoAnswers declares a success an operation answers besides its default
// one, in the same shape (body and headers).
func alsoAnswers(api huma.API, method, path string, status int, description string) {
	op := operationAt(api, method, path)
	like := op.Responses[strconv.Itoa(op.DefaultStatus)]
	op.Responses[strconv.Itoa(status)] = &huma.Response{Description: description, Headers: like.Headers, Content: like.Content}
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

// derivedETag is the ETag of an answer that shows a record and what is
// kept beside it (a contact's score and customer profile): the record's
// version, then "+" and a digest of the rest, so that it changes when any
// of it does while If-Match still reads the record's version from it.
func derivedETag(version int64, derived ...string) string {
	if len(derived) == 0 {
		return etag(version)
	}
	h := fnv.New64a()
	for _, d := range derived {
		h.Write([]byte(d))
		h.Write([]byte{0})
	}
	return `"` + strconv.FormatInt(version, 10) + "+" + strconv.FormatUint(h.Sum64(), 36) + `"`
}

// documentBody describes a RawBody operation's body as fields, which huma
// cannot infer from []byte.
func documentBody(api huma.API, method, path string, fields any, description string, contentTypes ...string) {
	op := operationAt(api, method, path)
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

// operationAt is the document's operation at method and path.
func operationAt(api huma.API, method, path string) *huma.Operation {
	item := api.OpenAPI().Paths[path]
	return map[string]*huma.Operation{http.MethodGet: item.Get, http.MethodPost: item.Post, http.MethodPut: item.Put,
		http.MethodPatch: item.Patch, http.MethodDelete: item.Delete}[method]
}

// apiLicense is the license the document names. The repository has no
// LICENSE file yet: this must name the one its maintainers publish.
var apiLicense = struct{ name, id string }{"Apache License 2.0", "Apache-2.0"}
