// Package flatscore is the smallest score plugin there is: every contact
// scores 50, a little more with an e-mail address. It is what `fedele
// plugin init score` starts a new plugin from, and the tests' candidate
// that disagrees with leadscore. It must never read a clock or do I/O.
package flatscore

import (
	"time"

	"github.com/fedele-crm/fedele/plugins/pdk"
)

// Decide scores one contact.
func Decide(r *pdk.ScoreRecord, _ time.Time) pdk.ScoreResult {
	if len(r.Contact.Emails) > 0 {
		return pdk.ScoreResult{Score: 60, Reasons: []string{"has an e-mail address"}}
	}
	return pdk.ScoreResult{Score: 50}
}
