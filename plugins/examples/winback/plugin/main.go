//go:build wasip1

// Command plugin is the example campaign plugin as a module.
package main

import (
	"github.com/fedele-crm/fedele/plugins/examples/winback"
	"github.com/fedele-crm/fedele/plugins/pdk"
)

//go:wasmexport campaign
func campaign() int32 { return pdk.RunCampaign(winback.Decide) }

func main() {}
