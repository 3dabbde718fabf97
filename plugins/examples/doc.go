// Package examples holds the example plugins, one package each (plain Go
// logic on plugins/pdk, with its module's main in plugin/), and their
// native tests. Nothing here may depend on the host: the examples are what
// a tenant's developer starts from.
package examples
