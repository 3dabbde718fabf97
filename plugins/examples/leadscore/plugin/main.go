//go:build wasip1

// Command plugin is the example score plugin as a module: leadscore's logic
// behind the score contract through plugins/pdk. Built by
// testdata/plugins/build.sh with
//
//	GOOS=wasip1 GOARCH=wasm go build -trimpath -buildmode=c-shared
package main

import (
	"github.com/fedele-crm/fedele/plugins/examples/leadscore"
	"github.com/fedele-crm/fedele/plugins/pdk"
)

//go:wasmexport score
func score() int32 { return pdk.RunScore(leadscore.Decide) }

func main() {}
