package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/store"
)

// Where the registry keeps its items, and how it reads and writes them.

// Keys. Every key begins with the tenant, as in core/crm (KEYS.md).
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

func (r *Registry) getJSON(ctx context.Context, k store.Key, v any) (int64, error) {
	it, err := r.store.Get(ctx, k)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return 0, err
		}
		return 0, fmt.Errorf("load %s: %w", k, storeErr(err))
	}
	if err := json.Unmarshal(it.Data, v); err != nil {
		return 0, fmt.Errorf("decode %s: %w", k, err)
	}
	return it.Version, nil
}

// putJSON is the conditional write of v at k over version prev (0: must not
// exist yet).
func putJSON(k store.Key, prev int64, v any) (store.Write, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return store.Write{}, fmt.Errorf("encode %s: %w", k, err)
	}
	cond := store.Cond{Version: prev}
	if prev == 0 {
		cond = store.Cond{MustNotExist: true}
	}
	return store.Write{Op: store.OpPut, Item: store.Item{Key: k, Version: prev + 1, Data: data}, Cond: cond}, nil
}

func isRace(err error) bool {
	if tx, ok := errors.AsType[*store.TxCancelledError](err); ok {
		return errors.Is(tx.Reason, store.ErrConditionFailed)
	}
	return errors.Is(err, store.ErrConditionFailed)
}

func storeErr(err error) error {
	if errors.Is(err, store.ErrThrottled) || errors.Is(err, store.ErrUnavailable) {
		return &core.Error{Code: core.CodeUnavailable, Message: "the store is busy; retry"}
	}
	return err
}

func sortTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }
