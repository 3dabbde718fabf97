package segments

import (
	"github.com/fedele-crm/fedele/core/store"
)

// Keys of segments, lists and memberships; docs/keys.md maps them.

// MemberShards spreads a segment's members over this many partitions, so
// that a segment every contact enters (an import) is not bound by one
// partition's write ceiling; members pages merge them (QueryMerged).
const MemberShards = 8

var members = store.Collection{Name: "segment-member", Shards: MemberShards}

// segmentKey is where a segment or list is stored: one partition per
// tenant, read whole by the membership consumer (a tenant has at most
// MaxDynamic dynamic segments).
func segmentKey(tenant, id string) store.Key { return store.Tenant(tenant).Key(id, "segment") }

func segmentsPK(tenant string) string { return store.Tenant(tenant).PK("segment") }

// dynamicPK is the gsi1 partition of a tenant's dynamic segments: what
// the membership consumer reads on every event.
func dynamicPK(tenant string) string { return store.Tenant(tenant).PK("segment-dynamic") }

// memberKey is a contact's membership of a segment.
func memberKey(tenant, segmentID, contactID string) store.Key {
	return store.Key{PK: members.PK(tenant, contactID, segmentID), SK: contactID}
}

func memberPKs(tenant, segmentID string) []string { return members.PKs(tenant, segmentID) }

// stateKey is a contact's membership state: the segments it is in, the
// pending flips, and when it last did each kind of thing.
func stateKey(tenant, contactID string) store.Key {
	return store.Tenant(tenant).Marker("segment-contact", contactID)
}

// exportPartKey is part n of an export's file, in the blob store.
func exportPartKey(tenant, jobID string, n int) string {
	return "tenants/" + tenant + "/exports/" + jobID + "/part-" + pad6(n)
}

func pad6(n int) string {
	s := []byte("000000")
	for i := 5; i >= 0 && n > 0; i-- {
		s[i] = byte('0' + n%10)
		n /= 10
	}
	return string(s)
}
