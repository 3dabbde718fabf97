package wasm

import (
	"errors"
	"fmt"
	"strings"
)

// Class names why a plugin call or an upload failed. The values are stable:
// they are recorded with every failure and counted in a version's stats.
type Class string

// The classes of failure, in the order a module meets them.
const (
	ClassMalformed     Class = "malformed"        // not WebAssembly, or truncated
	ClassLimit         Class = "structural_limit" // over a structural limit, or a forbidden import
	ClassCompile       Class = "compile_error"    // the compiler refused it, or ran out of time or memory
	ClassMissingExport Class = "missing_export"   // no function for its kind
	ClassTrap          Class = "trap"             // unreachable, out-of-bounds access, stack overflow, a Go panic
	ClassFuel          Class = "out_of_fuel"      // the instruction budget ran out
	ClassTimeout       Class = "timeout"          // the wall-clock backstop, or sleeping past it
	ClassMemory        Class = "out_of_memory"    // memory grew to the cap
	ClassOutputSize    Class = "output_too_large" // more output than the cap
	ClassContract      Class = "contract"         // output not JSON, wrong length, or against the schema
	ClassPluginError   Class = "plugin_error"     // the plugin returned an error of its own
	ClassUnavailable   Class = "unavailable"      // the host could not run it (busy, closed)
)

// Failure is a failed plugin call or upload. Message is the host's account;
// PluginError and Logs are what the plugin said, kept so that its author can
// see why.
type Failure struct {
	Class       Class
	Message     string
	PluginError string
	Logs        []string
	Fuel        int64 // fuel used before it failed
	Err         error // the underlying cause, when there is one
}

func (f *Failure) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "plugin %s: %s", f.Class, f.Message)
	if f.PluginError != "" {
		fmt.Fprintf(&b, ": plugin said %q", f.PluginError)
	}
	return b.String()
}

func (f *Failure) Unwrap() error { return f.Err }

// ClassOf returns the class of a failure, or "" for an error that is not one.
func ClassOf(err error) Class {
	if f, ok := errors.AsType[*Failure](err); ok {
		return f.Class
	}
	return ""
}

func fail(c Class, err error, format string, args ...any) *Failure {
	return &Failure{Class: c, Message: fmt.Sprintf(format, args...), Err: err}
}
