// Package segments is who is in which audience: segments (a CEL expression
// over one typed view of a contact — its fields, consent, company, score,
// purchase summary, RFM, lifecycle and CLV — and behavioural functions over
// its history), static lists, and live membership. Membership is
// re-evaluated by a consumer on every event that can change it and by a
// timer at the instant a time-relative condition flips; each change is a
// segment.entered or segment.exited event in the same transaction.
// Re-evaluating a whole segment and exporting its members are jobs.
//
// It must never query a contact's history per evaluation (what the
// functions read is kept incrementally, on the profile and in its own
// per-contact state), never run an expression that was not type-checked
// and cost-bounded when saved, and never let one tenant's contacts reach
// another's segment: every key is spelled through store.Tenant.
package segments
