// Package core is Fedele's domain: tenants and principals, contacts and
// companies, their validation and normalisation, and the one error
// vocabulary every adapter maps to its own protocol.
//
// It imports only the standard library and small pure libraries (ulid,
// phonenumbers). It must never import the AWS SDK, wazero/extism, an HTTP
// server or an engine: internal/layers' test enforces that, over core and
// everything below it.
package core

import (
	"errors"
	"fmt"
	"strings"
)

// Code classifies an error for callers that branch on it; infra/httpapi maps
// each code to one HTTP status, in one place.
type Code string

const (
	CodeMalformed    Code = "malformed"           // the body cannot be read as JSON at all
	CodeInvalid      Code = "invalid"             // the request breaks a rule; Fields says where
	CodeNotFound     Code = "not_found"           // absent, or another tenant's (never say which)
	CodeConflict     Code = "conflict"            // unique value taken, or state forbids it
	CodeStale        Code = "precondition_failed" // If-Match names an old version
	CodeUnauthorized Code = "unauthorized"        // no or bad credentials
	CodeForbidden    Code = "forbidden"           // credentials lack a scope
	CodeTooLarge     Code = "too_large"           // a body or item over its limit
	CodeUnavailable  Code = "unavailable"         // the store throttled or is busy; retry
)

// FieldError names one field at fault by its JSON path ("emails[1].address").
type FieldError struct {
	Path    string `json:"path"`
	Message string `json:"message"`
	Value   any    `json:"value,omitempty"`
}

// Error is the error every use case returns for what the caller did wrong.
// Anything else that escapes a use case is an internal failure.
type Error struct {
	Code    Code
	Message string
	Fields  []FieldError
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return string(e.Code) + ": " + e.Message
	}
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Path + ": " + f.Message
	}
	return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, strings.Join(parts, "; "))
}

// Errorf makes an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the *Error in err's chain, or "" when there is
// none (an internal failure).
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// Problems collects field errors so validation reports every field at fault,
// not only the first.
type Problems []FieldError

// Add records a problem at path.
func (p *Problems) Add(path, format string, args ...any) {
	*p = append(*p, FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
}

// Err returns nil when nothing was recorded, else an invalid-request *Error.
func (p Problems) Err() error {
	if len(p) == 0 {
		return nil
	}
	return &Error{Code: CodeInvalid, Message: "validation failed", Fields: p}
}

// Invalid is the invalid-request *Error of one field at fault.
func Invalid(path, message string, value any) *Error {
	return &Error{Code: CodeInvalid, Message: "validation failed", Fields: []FieldError{{Path: path, Message: message, Value: value}}}
}
