// Package journeys is triggered journeys: a journey is a versioned
// definition — a trigger (an event with a CEL filter, a segment entry, a
// contact's date with an offset and yearly recurrence, or an API call),
// steps (waits, sends, branches, the campaign plugin, contact updates, a
// wait for an event with a timeout), a goal, an exit and a re-entry policy
// — and its enrolments run it contact by contact on core/timers.
//
// Time is the journey's own: an enrolment starts at its trigger's time
// (an order's placed_at, not the time it was ingested), each wait ends at
// that time plus its delay, and a step already due when its timer fires
// runs at once, in order, exactly once. Every wait is one timer keyed by
// (enrolment, steps run, step), so scheduling again never makes two. A
// goal met, an unsubscribe from the journey's channel, or the contact's
// deletion exits at once, whatever step the enrolment is at: its pending
// timer is cancelled in the same transaction. One enrolment per (contact,
// journey) runs at a time unless the journey allows re-entry always; the
// entry marker and a per-trigger marker make a double-delivered trigger
// enrol once. Publishing a version never moves running enrolments unless
// the version carries an explicit migration rule (docs/journeys.md).
//
// It must never deliver a message (messaging.Request decides and records
// every send), never write a contact except through core/contacts, never
// read the wall clock (its time comes from the clock it is given), and
// never let one tenant's events reach another's journeys: every key is
// spelled through store.Tenant.
package journeys
