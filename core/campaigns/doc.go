// Package campaigns is one-off campaigns: a message on one channel to the
// members of a segment or list, sent now, at a time, or at a wall-clock
// time in each recipient's own zone, split deterministically into A/B
// variants and a holdout that receives nothing; the tenant's campaign
// plugin decides per recipient (enrol, variant, personalisation, delay)
// with the built-in rules as fallback. A launch is a core/jobs job over the
// audience in pages; every send goes through core/messaging's Request, so
// consent, suppressions, caps and quiet hours are checked when the message
// is sent, never only at enrolment. Performance (requested, sent,
// delivered, opened, clicked, unsubscribed, converted, revenue per
// variant and holdout) is kept incrementally by a consumer of message.*
// and goal events, and the uplift against the holdout comes with a 95%
// confidence interval.
//
// It must never deliver a message itself nor bypass messaging's policy,
// never assign a recipient by anything but the hash of campaign and
// contact (a retried step must assign the same), never read another
// tenant's audience (every key is spelled through store.Tenant), and never
// claim a difference is significant when its interval spans zero.
package campaigns
