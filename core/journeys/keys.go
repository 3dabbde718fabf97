package journeys

import (
	"fmt"

	"github.com/fedele-crm/fedele/core/store"
)

// Access patterns (docs/keys.md, "Journeys"):
//
//	journey                 T#<t>#journey                       | <id>
//	live journeys (gsi1)    T#<t>#journey-live                  | <id>           active ones, read per event
//	version                 T#<t>#journey-version#<id>          | <n, 6 digits>
//	enrolment               T#<t>#journey-enrolment#<contact>   | <journey>#<enrolment>   a contact's, by journey
//	entry (the marker)      T#<t>#journey-entry#<journey>#<contact> | #   one active enrolment, last entry and exit
//	trigger marker          T#<t>#journey-trigger#<journey>#<trigger key> | #   a trigger enrols once
//	counters                T#<t>#journey-stats#<journey>#<shard>       | #   StatShards documents merged on read

func journeysPK(tenant string) string { return store.Tenant(tenant).PK("journey") }

func journeyKey(tenant, id string) store.Key { return store.Tenant(tenant).Key(id, "journey") }

func liveJourneysPK(tenant string) string { return store.Tenant(tenant).PK("journey-live") }

func versionsPK(tenant, id string) string { return store.Tenant(tenant).PK("journey-version", id) }

func versionKey(tenant, id string, n int64) store.Key {
	return store.Key{PK: versionsPK(tenant, id), SK: fmt.Sprintf("%06d", n)}
}

func enrolmentsPK(tenant, contactID string) string {
	return store.Tenant(tenant).PK("journey-enrolment", contactID)
}

// EnrolmentKey is the key of one enrolment.
func EnrolmentKey(tenant, contactID, journeyID, enrolmentID string) store.Key {
	return store.Key{PK: enrolmentsPK(tenant, contactID), SK: journeyID + "#" + enrolmentID}
}

func entryKey(tenant, journeyID, contactID string) store.Key {
	return store.Tenant(tenant).Marker("journey-entry", journeyID, contactID)
}

func triggerKey(tenant, journeyID, key string) store.Key {
	return store.Tenant(tenant).Marker("journey-trigger", journeyID, key)
}

// StatShards is how many counter documents a journey's counts are spread
// over, so that concurrent consumers rarely race on one.
const StatShards = 8

func statsKey(tenant, journeyID string, shard int) store.Key {
	return store.Tenant(tenant).Marker("journey-stats", journeyID, fmt.Sprint(shard))
}
