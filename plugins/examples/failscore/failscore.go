// Package failscore is a score plugin that works until it meets a contact
// tagged "boom", and then loops until its fuel runs out: the tests' plugin
// that passes upload and fails in production. Not an example to follow.
package failscore

import (
	"slices"
	"time"

	"github.com/fedele-crm/fedele/plugins/pdk"
)

var sink int

// Decide scores 42, or never returns for a contact tagged "boom".
func Decide(r *pdk.ScoreRecord, _ time.Time) pdk.ScoreResult {
	if slices.Contains(r.Contact.Tags, "boom") {
		for sink >= 0 { // 2^63 steps: as good as forever, under any fuel budget
			sink++
		}
	}
	return pdk.ScoreResult{Score: 42}
}
