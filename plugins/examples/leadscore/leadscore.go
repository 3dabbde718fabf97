// Package leadscore is the logic of the example score plugin: fit from the
// contact's and company's fields plus engagement from recent activities,
// decayed by age, and orders. It is plain Go on plugins/pdk's types, so the
// same code runs natively (its tests, and the benchmarks' baseline) and
// inside the module (./plugin, built for wasip1). It must never read a
// clock or do I/O: now is given.
package leadscore

import (
	"slices"
	"time"

	"github.com/fedele-crm/fedele/plugins/pdk"
)

// Decide scores one contact at now.
func Decide(r *pdk.ScoreRecord, now time.Time) pdk.ScoreResult {
	var res pdk.ScoreResult
	fit := 0
	if len(r.Contact.Emails) > 0 {
		fit += 10
	}
	if len(r.Contact.Phones) > 0 {
		fit += 5
	}
	switch r.Contact.LifecycleStage {
	case "mql":
		fit += 10
	case "sql":
		fit += 15
	}
	if slices.Contains(r.Contact.Tags, "decision-maker") {
		fit += 20
		res.Reasons = append(res.Reasons, "decision maker")
	}
	if c := r.Company; c != nil {
		switch c.Size {
		case "1001-5000", "5001-10000", "10001+":
			fit += 25
			res.Tags = append(res.Tags, "enterprise")
		case "51-200", "201-500", "501-1000":
			fit += 15
		}
	}
	engagement := 0.0
	for _, a := range r.Activities {
		age := now.Sub(a.At).Hours() / 24
		w := 1.0
		if age > 0 {
			w = 30 / (30 + age) // half weight after a month
		}
		switch a.Type {
		case "meeting":
			engagement += 10 * w
		case "call":
			engagement += 6 * w
		default:
			engagement += 2 * w
		}
	}
	if r.Orders.Count > 0 {
		engagement += 15
		res.Tags = append(res.Tags, "customer")
	}
	res.Score = min(max(fit+int(min(engagement, 40)), 0), 100)
	if engagement >= 20 {
		res.Reasons = append(res.Reasons, "engaged")
	}
	return res
}
