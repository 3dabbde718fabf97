// Package timeline is the area of what happened: activities (calls,
// e-mails, meetings, notes, tasks), the timeline of a record and the
// tenant's event stream read from the outbox, and the daily event counts.
//
// It must never import an engine or an adapter, and never write an event
// itself: events are written by the changes they describe.
package timeline
