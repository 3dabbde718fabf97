package segments

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/fedele-crm/fedele/core/plugins"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
)

// TableBlobs keeps blobs in the table itself, cut into items of at most
// blobChunk bytes, for a process that was given no blob store (fedele
// serve without a plugin folder, tests): exports still work, at the
// table's price per byte. Blobs expire after BlobTTL.
type TableBlobs struct {
	Store store.Store
	Now   func() time.Time
}

// BlobTTL is how long an export's file is kept in the table.
const BlobTTL = 7 * 24 * time.Hour

const blobChunk = 300 * 1024

var _ plugins.Blobs = TableBlobs{}

func blobPK(key string) (string, error) {
	rest, ok := strings.CutPrefix(key, "tenants/")
	tenant, name, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 || tenant == "" || name == "" {
		return "", fmt.Errorf("%w: %q names no tenant", plugins.ErrInvalidBlobKey, key)
	}
	return store.Tenant(tenant).PK("blob", name), nil
}

// Put stores data at key, replacing what was there.
func (b TableBlobs) Put(ctx context.Context, key string, data []byte) error {
	pk, err := blobPK(key)
	if err != nil {
		return err
	}
	if err := b.Delete(ctx, key); err != nil {
		return err
	}
	exp := b.Now().Add(BlobTTL)
	for i := 0; i == 0 || i*blobChunk < len(data); i++ {
		part := data[i*blobChunk : min(len(data), (i+1)*blobChunk)]
		if err := b.Store.Put(ctx, store.Item{Key: store.Key{PK: pk, SK: pad6(i)}, Version: 1, ExpiresAt: exp, Data: part}, store.Cond{}); err != nil {
			return fmt.Errorf("put blob %s: %w", key, record.StoreError(err))
		}
	}
	return nil
}

// Get reads the blob at key.
func (b TableBlobs) Get(ctx context.Context, key string) ([]byte, error) {
	pk, err := blobPK(key)
	if err != nil {
		return nil, err
	}
	var out []byte
	found := false
	cursor := ""
	for {
		page, err := b.Store.Query(ctx, store.Query{PK: pk, Cursor: cursor, Consistent: true, Limit: 10})
		if err != nil {
			return nil, fmt.Errorf("get blob %s: %w", key, record.StoreError(err))
		}
		for _, it := range page.Items {
			if it.Expired(b.Now()) {
				return nil, plugins.ErrBlobNotFound
			}
			found = true
			out = append(out, it.Data...)
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	if !found {
		return nil, plugins.ErrBlobNotFound
	}
	return out, nil
}

// Delete removes the blob at key.
func (b TableBlobs) Delete(ctx context.Context, key string) error {
	pk, err := blobPK(key)
	if err != nil {
		return err
	}
	page, err := b.Store.Query(ctx, store.Query{PK: pk, Consistent: true})
	if err != nil {
		return fmt.Errorf("delete blob %s: %w", key, record.StoreError(err))
	}
	for _, it := range page.Items {
		if err := b.Store.Delete(ctx, it.Key, store.Cond{}); err != nil {
			return fmt.Errorf("delete blob %s: %w", key, record.StoreError(err))
		}
	}
	return nil
}
