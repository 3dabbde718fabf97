//go:build wasip1

// Command plugin is flatscore as a module.
package main

import (
	"github.com/fedele-crm/fedele/plugins/examples/flatscore"
	"github.com/fedele-crm/fedele/plugins/pdk"
)

//go:wasmexport score
func score() int32 { return pdk.RunScore(flatscore.Decide) }

func main() {}
