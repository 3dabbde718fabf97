// Package layers holds, as a test, the import rules between Fedele's layers:
// core imports only the standard library, itself and a named allowlist of
// pure libraries; infra never imports cmd or functions; nothing that ships
// imports test support; plugins import only the standard library, go-pdk and
// plugins. The rules are read from `go list` of the whole module, so they
// see every package and build the way the go tool does.
//
// It holds no code that runs in Fedele and must never be imported: it exists
// only for its test.
package layers
