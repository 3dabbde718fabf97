//go:build race

package wasm

// raceBuild is true in a binary built with -race: the compiler child is
// this binary, and the race detector makes it compile about twenty times
// slower and use several times the memory, and calls slower too.
const raceBuild = true
