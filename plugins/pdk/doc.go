// Package pdk is what a plugin author writes a Fedele plugin with, in Go:
// the contract's records and results for each kind, a JSON codec for them
// that uses no reflection, and (built for wasip1) the glue that reads the
// host's input and writes the output through extism's go-pdk.
//
// A score plugin is a main package with one export:
//
//	//go:wasmexport score
//	func score() int32 { return pdk.RunScore(decide) }
//
//	func decide(r *pdk.ScoreRecord, now time.Time) pdk.ScoreResult { ... }
//
// built with GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared. The
// codec is plain Go and runs natively too, so plugins are unit-tested with
// go test. Inside a module, encoding/json spends 10-16 µs per small record
// on reflection; this codec is what makes a batch of a thousand records
// cheap. It must never use reflection (encoding/json, fmt's %v on records)
// nor anything the sandbox does not offer: files, network, environment.
package pdk
