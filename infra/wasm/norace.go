//go:build !race

package wasm

const raceBuild = false
