package wasm

import "github.com/fedele-crm/fedele/core/plugins"

// Engine runs tenants' modules on h, each loaded from blobs on first use:
// with h itself as the plugins.Validator, it is what the composition root
// (package app) wires to the plugin registry, runner and service.
func (h *Host) Engine(blobs plugins.Blobs) plugins.Engine { return NewEngine(h, BlobLoader(blobs)) }
