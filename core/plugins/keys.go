package plugins

import (
	"context"
	"fmt"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
)

// Where the registry keeps its items, and how it reads and writes them.

// Keys, spelled through store.Tenant like every other (docs/keys.md).
func pluginPK(tenant, name string) string { return store.Tenant(tenant).PK("plugin", name) }

func headKey(tenant, name string) store.Key { return store.Key{PK: pluginPK(tenant, name), SK: "#"} }

func versionKey(tenant, name string, n int) store.Key {
	return store.Key{PK: pluginPK(tenant, name), SK: fmt.Sprintf("v#%06d", n)}
}

func activeKey(tenant string, kind Kind) store.Key {
	return store.Tenant(tenant).Marker("plugin-active", string(kind))
}

func shadowKey(tenant string, kind Kind) store.Key {
	return store.Tenant(tenant).Marker("plugin-shadow", string(kind))
}

// indexPK lists a tenant's plugins, one item per name.
func indexPK(tenant string) string { return store.Tenant(tenant).PK("plugins") }

func failuresPK(tenant, name string) string {
	return store.Tenant(tenant).PK("plugin", name, "failures")
}

// getJSON reads the document at k into v through the one persistence type
// (record.Doc); a missing one answers store.ErrNotFound, which the
// registry's callers branch on.
func getJSON[T any](ctx context.Context, s store.Store, k store.Key, v *T) (int64, error) {
	doc, version, err := record.Doc[T]{Name: "plugin document"}.Get(ctx, s, k)
	if core.ErrorCode(err) == core.CodeNotFound {
		return 0, fmt.Errorf("%s: %w", k, store.ErrNotFound)
	}
	if err != nil {
		return 0, err
	}
	*v = doc
	return version, nil
}

// putJSON is the conditional write of v at k over version prev (0: must not
// exist yet), through record.Doc.
func putJSON[T any](k store.Key, prev int64, v T) (store.Write, error) {
	return record.Doc[T]{Name: "plugin document"}.Put(k, prev, &v)
}
