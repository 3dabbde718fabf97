package plugins

import (
	"context"
	"errors"
	"fmt"
	"strings"
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

// ErrInvalidBlobKey is a key that is not a safe name in a folder or bucket.
var ErrInvalidBlobKey = errors.New("invalid blob key")

// CheckBlobKey reports why key cannot name a blob, or nil if it can: one or
// more "/"-separated segments of [A-Za-z0-9._-], none empty and none
// beginning with a dot, at most S3's 1024 bytes. That refuses "..", ".",
// absolute paths, backslashes, doubled or trailing slashes and hidden
// names without a list of special cases, and it is what ModuleKey builds.
// Every Blobs adapter holds keys to it, so a key works everywhere or
// nowhere.
func CheckBlobKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty", ErrInvalidBlobKey)
	}
	if len(key) > 1024 {
		return fmt.Errorf("%w: longer than 1024 bytes", ErrInvalidBlobKey)
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "" {
			return fmt.Errorf("%w: %q has an empty segment", ErrInvalidBlobKey, key)
		}
		if seg[0] == '.' {
			return fmt.Errorf("%w: %q has a segment beginning with a dot", ErrInvalidBlobKey, key)
		}
		for i := 0; i < len(seg); i++ {
			if c := seg[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
				return fmt.Errorf("%w: %q has byte %q", ErrInvalidBlobKey, key, c)
			}
		}
	}
	return nil
}
