package scoring

import "github.com/fedele-crm/fedele/core/store"

// ScoreKey is where a contact's current score is, for readers that batch
// their reads of many contacts (segments' evaluation) instead of asking
// Current one by one.
func ScoreKey(tenant, contactID string) store.Key { return scoreKey(tenant, contactID) }
