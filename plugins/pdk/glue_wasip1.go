//go:build wasip1

package pdk

import (
	"errors"
	"time"
	"unsafe"

	extism "github.com/extism/go-pdk"
)

// The host copies a batch into the module's memory, and the results out of
// it, in one call each (extism's kernel would take one call per eight
// bytes). These are Fedele's; a module using them runs only on Fedele.

//go:wasmimport extism:host/env input_length
func inputLength() uint64

//go:wasmimport extism:host/user fedele_read_input
func readInput(ptr unsafe.Pointer, n uint32) uint32

//go:wasmimport extism:host/user fedele_write_output
func writeOutput(ptr unsafe.Pointer, n uint32) uint32

func input() ([]byte, error) {
	n := inputLength()
	if n == 0 {
		return nil, nil
	}
	buf := make([]byte, n)
	if readInput(unsafe.Pointer(&buf[0]), uint32(n)) != 0 {
		return nil, errors.New("pdk: the host refused to copy the input")
	}
	return buf, nil
}

func output(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if writeOutput(unsafe.Pointer(&b[0]), uint32(len(b))) != 0 {
		return errors.New("pdk: the host refused the output (too large?)")
	}
	return nil
}

// RunScore runs a score plugin's export: it reads the batch the host sent,
// calls decide for every record with the host's time, and writes the
// results. It returns the export's status code.
func RunScore(decide func(*ScoreRecord, time.Time) ScoreResult) int32 {
	in, err := input()
	if err != nil {
		return fail(err)
	}
	return respond(ScoreBatch(in, time.Now(), decide))
}

// RunRoute runs a route plugin's export.
func RunRoute(decide func(*RouteRecord, time.Time) RouteResult) int32 {
	in, err := input()
	if err != nil {
		return fail(err)
	}
	return respond(RouteBatch(in, time.Now(), decide))
}

// RunCampaign runs a campaign plugin's export.
func RunCampaign(decide func(*CampaignRecord, time.Time) CampaignResult) int32 {
	in, err := input()
	if err != nil {
		return fail(err)
	}
	return respond(CampaignBatch(in, time.Now(), decide))
}

func respond(out []byte, err error) int32 {
	if err == nil {
		err = output(out)
	}
	if err != nil {
		return fail(err)
	}
	return 0
}

func fail(err error) int32 {
	extism.SetError(err)
	return 1
}

// Log writes a line to the plugin's logs, which the host keeps (capped)
// with every call and shows in dry runs and failures.
func Log(msg string) { extism.Log(extism.LogInfo, msg) }
