package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/record"
)

type contextT = context.Context

// ProblemBase prefixes every problem type URI; the part after it is stable
// and is what clients should branch on.
const ProblemBase = "https://fedele.dev/problems/"

var statusOf = map[core.Code]int{
	core.CodeMalformed:    http.StatusBadRequest,
	core.CodeInvalid:      http.StatusUnprocessableEntity,
	core.CodeNotFound:     http.StatusNotFound,
	core.CodeConflict:     http.StatusConflict,
	core.CodeStale:        http.StatusPreconditionFailed,
	core.CodeUnauthorized: http.StatusUnauthorized,
	core.CodeForbidden:    http.StatusForbidden,
	core.CodeTooLarge:     http.StatusRequestEntityTooLarge,
	core.CodeUnavailable:  http.StatusServiceUnavailable,
}

// typeOf names a status's problem type when huma itself raised it.
var typeOf = map[int]core.Code{
	http.StatusBadRequest:            core.CodeMalformed,
	http.StatusUnprocessableEntity:   core.CodeInvalid,
	http.StatusNotFound:              core.CodeNotFound,
	http.StatusConflict:              core.CodeConflict,
	http.StatusPreconditionFailed:    core.CodeStale,
	http.StatusUnauthorized:          core.CodeUnauthorized,
	http.StatusForbidden:             core.CodeForbidden,
	http.StatusRequestEntityTooLarge: core.CodeTooLarge,
	http.StatusServiceUnavailable:    core.CodeUnavailable,
	http.StatusTooManyRequests:       "rate_limited",
	http.StatusMethodNotAllowed:      "method_not_allowed",
	http.StatusUnsupportedMediaType:  "unsupported_media_type",
	http.StatusNotAcceptable:         "not_acceptable",
}

func init() {
	// Huma's own errors (schema validation, unreadable bodies, 413) get the
	// same stable types as ours.
	huma.NewError = func(status int, msg string, errs ...error) huma.StatusError {
		m := newProblem(status, msg)
		for _, e := range errs {
			if e != nil {
				m.Add(e)
			}
		}
		if status == http.StatusUnprocessableEntity && strings.HasPrefix(msg, "validation failed") {
			m.Detail = "validation failed"
		}
		return m.bounded()
	}
}

func problemType(status int, code core.Code) string {
	if code == "" {
		code = typeOf[status]
	}
	if code == "" {
		if status >= 500 {
			return ProblemBase + "internal"
		}
		return "about:blank"
	}
	return ProblemBase + string(code)
}

// problem maps an error of a use case to its problem response. in says where
// field paths point ("body", "query", "header"), as huma's own errors do.
func (s *Server) problem(ctx context.Context, err error, in string) error {
	m, h := s.problemModel(ctx, err, in)
	if h != nil {
		return huma.ErrorWithHeaders(m, h)
	}
	return m
}

// problemModel is problem's answer before it is handed to huma. Anything that
// is not a *core.Error is logged and answered as a bare 500, so internals
// never leak.
func (s *Server) problemModel(ctx context.Context, err error, in string) (*ErrorModel, http.Header) {
	// A store that is busy or away is a 503 to retry, wherever a use case
	// forgot to say so: never a 500. The cause is logged, as a 500's is.
	var ce *core.Error
	if !errors.As(err, &ce) {
		if mapped := record.StoreError(err); errors.As(mapped, &ce) {
			s.log.WarnContext(ctx, "store error answered as a problem", slog.String("error", err.Error()))
			err = mapped
		}
	}
	if !errors.As(err, &ce) {
		s.log.ErrorContext(ctx, "internal error", slog.String("error", err.Error()))
		return newProblem(500, "internal error; the request id in the logs says more"), nil
	}
	status := statusOf[ce.Code]
	m := newProblem(status, ce.Message)
	m.Type = problemType(status, ce.Code)
	fields := ce.Fields
	if len(fields) > maxErrors {
		m.ErrorsOmitted, fields = len(fields)-maxErrors, fields[:maxErrors]
	}
	for _, f := range fields {
		loc := f.Path
		switch {
		case f.Path == "Idempotency-Key":
			loc = "header.Idempotency-Key"
		case f.Path == "":
			loc = in
		case in != "":
			loc = in + "." + f.Path
		}
		m.Errors = append(m.Errors, &huma.ErrorDetail{Location: loc, Message: f.Message, Value: f.Value})
	}
	m.bounded()
	if ce.Code == core.CodeUnavailable {
		return m, http.Header{"Retry-After": {"1"}}
	}
	return m, nil
}

// writeError writes err as a problem from plain net/http middleware.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error, in string) {
	m, h := s.problemModel(r.Context(), err, in)
	for k, v := range h {
		w.Header()[k] = v
	}
	writeProblem(w, m)
}

// writeProblem writes a problem from plain net/http middleware, outside huma.
func writeProblem(w http.ResponseWriter, m *ErrorModel) {
	w.Header().Set("Content-Type", "application/problem+json")
	if m.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="fedele"`)
	}
	w.WriteHeader(m.Status)
	_ = json.NewEncoder(w).Encode(m)
}

// newProblem is a problem with no field details, for middleware.
func newProblem(status int, detail string) *ErrorModel {
	return &ErrorModel{ErrorModel: huma.ErrorModel{Status: status, Title: http.StatusText(status), Detail: detail, Type: problemType(status, "")}}
}
