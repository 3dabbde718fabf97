// Package winback is the logic of the example campaign plugin: enrol
// customers whose last order is older than a threshold (the trigger's
// "threshold_days", 90 by default), in variant "b" for those who spent over
// 1000.00 in all and "a" otherwise, personalised with their first name, at
// once when they have been away over twice the threshold. It must never
// read a clock or do I/O: now is given.
package winback

import (
	"time"

	"github.com/fedele-crm/fedele/plugins/pdk"
)

// DefaultThreshold is how long without an order makes a customer lapsed.
const DefaultThreshold = 90 * 24 * time.Hour

// Decide enrols one contact or not.
func Decide(r *pdk.CampaignRecord, now time.Time) pdk.CampaignResult {
	threshold := DefaultThreshold
	if d, ok := r.Trigger.Data["threshold_days"].(float64); ok && d > 0 {
		threshold = time.Duration(d * float64(24*time.Hour))
	}
	last := r.Orders.LastOrderAt
	if r.Orders.Count == 0 || last.IsZero() {
		return pdk.CampaignResult{Enrol: false} // never a customer: nothing to win back
	}
	away := now.Sub(last)
	if away < threshold {
		return pdk.CampaignResult{Enrol: false}
	}
	variant := "a"
	if r.Orders.TotalMinor > 100_000 {
		variant = "b"
	}
	res := pdk.CampaignResult{Enrol: true, Variant: variant, Fields: map[string]string{"first_name": r.Contact.FirstName}}
	if len(r.Campaign.Variants) > 0 && !contains(r.Campaign.Variants, variant) {
		res.Variant = r.Campaign.Variants[0]
	}
	if away > 2*threshold {
		delay := int64(0) // long gone: write today
		res.DelaySeconds = &delay
	}
	return res
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
