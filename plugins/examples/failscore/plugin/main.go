//go:build wasip1

// Command plugin is failscore as a module.
package main

import (
	"github.com/fedele-crm/fedele/plugins/examples/failscore"
	"github.com/fedele-crm/fedele/plugins/pdk"
)

//go:wasmexport score
func score() int32 { return pdk.RunScore(failscore.Decide) }

func main() {}
