// Package ratelimit is the API's request budget: token buckets per tenant,
// per API key and per client address, their arithmetic (bucket.go, pure,
// driven by a clock it is given), and two limiters behind one interface —
// Memory, in-process, for a process that is the only server (`fedele
// serve` on its embedded file), and Shared, which keeps each bucket in the
// store so that the limit holds across every Lambda instance, leasing a
// few tokens at a time so that a request rarely costs a store round trip.
//
// It must never import an engine or an adapter, nor know HTTP: the API's
// middleware turns a Decision into headers and a 429.
package ratelimit
