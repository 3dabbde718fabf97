package plugins

import (
	"context"
	"errors"
)

// Blobs stores modules' bytes by key: a folder locally, S3 in AWS. Keys are
// built here only (ModuleKey), begin with the tenant, and are safe as file
// and object names.
type Blobs interface {
	Put(ctx context.Context, key string, data []byte) error
	// Get answers ErrBlobNotFound for a key never put or deleted.
	Get(ctx context.Context, key string) ([]byte, error)
	// Delete removes a key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// ErrBlobNotFound is a Get of a key that holds nothing.
var ErrBlobNotFound = errors.New("blob not found")

// ModuleKey is where a tenant's metered module with the given SHA-256 of
// its upload lives.
func ModuleKey(tenant, moduleID string) string {
	return "tenants/" + tenant + "/modules/" + moduleID + ".wasm"
}
