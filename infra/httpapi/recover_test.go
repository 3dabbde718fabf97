package httpapi_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/app"
	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/contacts"
	"github.com/fedele-crm/fedele/core/store"
)

// panicky is a store whose contact reads panic, standing in for a bug.
type panicky struct{ store.Store }

func (p panicky) Get(ctx context.Context, k store.Key) (store.Item, error) {
	if isContact(k) {
		panic("bug in the store")
	}
	return p.Store.Get(ctx, k)
}

func (p panicky) GetMany(ctx context.Context, keys []store.Key) ([]store.Item, error) {
	for _, k := range keys {
		if isContact(k) {
			panic("bug in the store")
		}
	}
	return p.Store.GetMany(ctx, keys)
}

func isContact(k store.Key) bool {
	return slices.Contains(contacts.ContactPKs(store.TenantOf(k.PK)), k.PK)
}

func TestPanicIsAPlain500(t *testing.T) {
	e := newEnv(t, engines["embedded"](t))
	a, err := app.New(app.Ports{Store: panicky{e.store}, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	c := &client{t: t, url: srv.URL, auth: e.a.auth}
	res := c.do("GET", "/v1/contacts/"+core.NewID(time.Now()), nil)
	p := res.want(t, 500, nil).problem(t)
	if strings.Contains(string(res.Body), "goroutine") || strings.Contains(p.Detail, "bug") {
		t.Errorf("500 leaks internals: %s", res.Body)
	}
	// The server lives on.
	c.do("GET", "/v1/tenant", nil).want(t, 200, nil)
}
