// Package starttrace times a Lambda function's cold start step by step, so
// that the cold-start benchmark can say where the time goes instead of only
// how much there is: with FEDELE_INIT_TRACE=1 a function writes one JSON
// line to stderr after its first response, naming each step of its main and
// the first request (which pays for whatever was left to first use).
//
// It must never change what a function does, nor cost more than a nil
// check when the variable is not set.
package starttrace

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"
)

// Env turns tracing on when set to 1.
const Env = "FEDELE_INIT_TRACE"

// Msg marks the line a trace writes, for whoever parses stderr.
const Msg = "start trace"

// Step is one timed stretch of a start.
type Step struct {
	Name string  `json:"name"`
	Ms   float64 `json:"ms"`
}

// Report is the line a trace writes.
type Report struct {
	Msg string `json:"msg"`
	// MainUnixNano is when main began, on the wall clock, so that a parent
	// that noted when it started the process can tell the time spent before
	// main (loading, the runtime, package inits) from the rest.
	MainUnixNano int64  `json:"main_unix_nano"`
	Steps        []Step `json:"steps"`
}

// Trace collects a start's steps. A nil *Trace does nothing, which is what
// Start returns when tracing is off.
type Trace struct {
	out   io.Writer
	main  time.Time
	last  time.Time
	steps []Step
	once  sync.Once
}

// Start begins a trace at the top of main when FEDELE_INIT_TRACE=1, and
// returns nil otherwise.
func Start() *Trace {
	if os.Getenv(Env) != "1" {
		return nil
	}
	now := time.Now()
	return &Trace{out: os.Stderr, main: now, last: now}
}

// Step ends the stretch since the previous step (or main) as name.
func (t *Trace) Step(name string) {
	if t == nil {
		return
	}
	now := time.Now()
	t.steps = append(t.steps, Step{Name: name, Ms: float64(now.Sub(t.last).Nanoseconds()) / 1e6})
	t.last = now
}

// FirstRequest wraps h so that the first request it serves is timed as the
// step "first-request" and the trace is written when it ends. Later
// requests pass straight through.
func (t *Trace) FirstRequest(h http.Handler) http.Handler {
	if t == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		first := false
		t.once.Do(func() { first = true })
		if !first {
			h.ServeHTTP(w, r)
			return
		}
		// From the last step of main to here is the Lambda client's start
		// and the wait for the first event.
		t.Step("runtime-api")
		h.ServeHTTP(w, r)
		t.Step("first-request")
		t.write()
	})
}

func (t *Trace) write() {
	line, err := json.Marshal(Report{Msg: Msg, MainUnixNano: t.main.UnixNano(), Steps: t.steps})
	if err != nil {
		line = []byte(fmt.Sprintf(`{"msg":%q,"error":%q}`, Msg, err))
	}
	_, _ = t.out.Write(append(line, '\n'))
}
