// Package lambdaenv reads a Lambda function's configuration from its
// environment, collecting every problem so that a function that starts
// misconfigured says all of what is wrong at once, then stops.
//
// It must never read anything but environment variables, and never supply
// a default for a variable without which the function would do harm.
package lambdaenv

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"
)

// Env is one function's configuration being read.
type Env struct {
	problems []string
}

// Required returns a variable that must be set and non-empty.
func (e *Env) Required(name string) string {
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		e.problems = append(e.problems, name+" is not set")
	}
	return v
}

// Optional returns a variable, or def when it is unset or empty.
func (e *Env) Optional(name, def string) string {
	if v := strings.TrimSpace(os.Getenv(name)); v != "" {
		return v
	}
	return def
}

// Err reports every problem found, or nil.
func (e *Env) Err() error {
	if len(e.problems) == 0 {
		return nil
	}
	return errors.New("configuration: " + strings.Join(e.problems, "; "))
}

// Fail records a problem found while interpreting a value.
func (e *Env) Fail(format string, args ...any) {
	e.problems = append(e.problems, fmt.Sprintf(format, args...))
}

// Fatal reports an error that stops the function before it can serve: to
// the log, and to the Lambda Runtime API's init/error endpoint (so that the
// invocation fails with that message instead of a bare "exited"), then exits.
func Fatal(log *slog.Logger, function string, err error) {
	log.Error(function+" cannot start", slog.String("error", err.Error()))
	if api := os.Getenv("AWS_LAMBDA_RUNTIME_API"); api != "" {
		body, _ := json.Marshal(map[string]any{"errorMessage": err.Error(), "errorType": "Runtime.ConfigurationError"})
		req, rerr := http.NewRequest(http.MethodPost, "http://"+api+"/2018-06-01/runtime/init/error", bytes.NewReader(body))
		if rerr == nil {
			req.Header.Set("Lambda-Runtime-Function-Error-Type", "Runtime.ConfigurationError")
			client := http.Client{Timeout: 2 * time.Second}
			if res, err := client.Do(req); err == nil {
				res.Body.Close()
			}
		}
	}
	os.Exit(1)
}
