// Package timers is the one mechanism for "do this at that time": a tenant's
// code schedules a timer (a handler kind, a subject, a due time, a payload,
// an idempotency key), may cancel or reschedule it, and the handler
// registered for its kind (in package app, the composition root) acts on it
// once it is due — exactly once: the handler returns store writes that
// commit in one transaction with the timer's change to fired, guarded by
// the version it was read at, so a redelivery, a crash before the commit,
// a cancel or a reschedule racing the firing can never apply it twice.
// A handler that fails is retried with exponential backoff, then the timer
// is dead-lettered (kept, listed, logged).
//
// Finding what is due is a range query on a due index partitioned by due
// minute and spread over shards (see keys.go and docs/keys.md). Locally,
// Run wakes at the next due time; in AWS the scheduler function drains the
// due minutes every minute and hands each timer to the worker through a
// timer.due event (Dispatch), and the worker acts on it (Act).
//
// It must never read the wall clock (time comes from the Clock it is
// given), never know a handler's domain, and never import an engine.
package timers
