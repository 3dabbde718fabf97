package ratelimit

import "github.com/fedele-crm/fedele/core/store"

// bucketKey is where Shared keeps a bucket: alone in its partition, so
// that buckets of one tenant spread over DynamoDB partitions.
func bucketKey(b Bucket) store.Key { return store.Tenant(b.Tenant).Marker("ratelimit", b.Name) }
