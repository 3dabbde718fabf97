//go:build wasip1

// Command plugin is the example route plugin as a module.
package main

import (
	"github.com/fedele-crm/fedele/plugins/examples/roundrobin"
	"github.com/fedele-crm/fedele/plugins/pdk"
)

//go:wasmexport route
func route() int32 { return pdk.RunRoute(roundrobin.Decide) }

func main() {}
