//go:build wasip1

// Command plugin is the example score plugin as a module: leadscore's logic
// behind the score contract, built with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o leadscore.wasm .
//
// Its only clock is the host's (time.Now inside the sandbox).
package main

import (
	"encoding/json"
	"time"

	"github.com/extism/go-pdk"

	"github.com/fedele-crm/fedele/plugins/examples/leadscore"
)

//go:wasmexport score
func score() int32 {
	var batch []leadscore.Record
	if err := json.Unmarshal(pdk.Input(), &batch); err != nil {
		pdk.SetError(err)
		return 1
	}
	now := time.Now()
	out := make([]leadscore.Result, len(batch))
	for i := range batch {
		out[i] = leadscore.Decide(&batch[i], now)
	}
	b, err := json.Marshal(out)
	if err != nil {
		pdk.SetError(err)
		return 1
	}
	pdk.Output(b)
	return 0
}

func main() {}
