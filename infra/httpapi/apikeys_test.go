package httpapi_test

import (
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/app"
	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/clock"
	"github.com/fedele-crm/fedele/core/tenancy"
)

type keyWithSecret struct {
	Secret string `json:"secret"`
	tenancy.KeyInfo
}

// TestAPIKeys: keys are listed without their secrets, record their last
// use at most once a minute, rotate with a grace for the old secret, and
// are revoked — at once where revoked, within the auth cache's lifetime
// on a server that had just served the key; another tenant's key ids are
// not found; each change is an event.
func TestAPIKeys(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		var made keyWithSecret
		e.a.do("POST", "/v1/api-keys", map[string]any{"name": "ingest", "scopes": []string{"crm:read"}}).want(t, 201, &made)
		if made.Prefix != made.Secret[:12] || !strings.HasPrefix(made.Prefix, tenancy.KeyPrefix) || made.ID == "" {
			t.Fatalf("made %+v: prefix must be the secret's first 12 characters", made)
		}
		k := &client{t: t, url: e.url, auth: "Bearer " + made.Secret}

		// The list shows every key, never a secret or its hash.
		r := e.a.do("GET", "/v1/api-keys", nil).want(t, 200, nil)
		var page struct{ Items []tenancy.KeyInfo }
		r.want(t, 200, &page)
		if len(page.Items) != 2 || page.Items[1].ID != made.ID || page.Items[1].Name != "ingest" ||
			!slices.Equal(page.Items[1].Scopes, []core.Scope{core.ScopeRead}) || page.Items[1].LastUsedAt != nil {
			t.Errorf("list %+v, want the admin's key then the new one, never used", page.Items)
		}
		if body := string(r.Body); strings.Contains(body, made.Secret) || strings.Contains(body, "hash") {
			t.Errorf("the list shows a secret or a hash: %s", body)
		}

		// Last used: written on first use, not again within the minute.
		lastUsed := func() time.Time {
			var got tenancy.KeyInfo
			e.a.do("GET", "/v1/api-keys/"+made.ID, nil).want(t, 200, &got)
			if got.LastUsedAt == nil {
				t.Fatalf("key %s has no last use", made.ID)
			}
			return *got.LastUsedAt
		}
		k.do("GET", "/v1/contacts", nil).want(t, 200, nil)
		first := lastUsed()
		if d := e.now().Sub(first); d < 0 || d > 5*time.Second {
			t.Errorf("last used %v, %v before now", first, d)
		}
		e.advance(tenancy.KeyCacheTTL + time.Second) // the cache forgets: the key is read again
		k.do("GET", "/v1/contacts", nil).want(t, 200, nil)
		if got := lastUsed(); !got.Equal(first) {
			t.Errorf("last used rewritten within the minute: %v, then %v", first, got)
		}
		e.advance(time.Minute)
		k.do("GET", "/v1/contacts", nil).want(t, 200, nil)
		if got := lastUsed(); !got.After(first) {
			t.Errorf("last used %v not moved after a minute (was %v)", got, first)
		}

		// Another tenant cannot see, rotate or revoke it.
		e.b.do("GET", "/v1/api-keys/"+made.ID, nil).want(t, 404, nil).problem(t)
		e.b.do("POST", "/v1/api-keys/"+made.ID+"/rotate", nil).want(t, 404, nil).problem(t)
		e.b.do("DELETE", "/v1/api-keys/"+made.ID, nil).want(t, 404, nil).problem(t)
		var bPage struct{ Items []tenancy.KeyInfo }
		e.b.do("GET", "/v1/api-keys", nil).want(t, 200, &bPage)
		if slices.ContainsFunc(bPage.Items, func(i tenancy.KeyInfo) bool { return i.ID == made.ID }) {
			t.Errorf("globex lists acme's key: %+v", bPage.Items)
		}
		// Only admin manages keys.
		k.do("GET", "/v1/api-keys", nil).want(t, 403, nil)

		// Rotate: the new secret works, the old one for its grace only.
		var rotated keyWithSecret
		e.a.do("POST", "/v1/api-keys/"+made.ID+"/rotate?grace_seconds=600", nil).want(t, 200, &rotated)
		if rotated.ID != made.ID || rotated.Secret == made.Secret || rotated.Prefix != rotated.Secret[:12] ||
			rotated.PreviousExpiresAt == nil || rotated.PreviousExpiresAt.Sub(e.now()) > 600*time.Second {
			t.Fatalf("rotated %+v", rotated)
		}
		k2 := &client{t: t, url: e.url, auth: "Bearer " + rotated.Secret}
		k2.do("GET", "/v1/contacts", nil).want(t, 200, nil)
		k.do("GET", "/v1/contacts", nil).want(t, 200, nil)
		e.advance(601 * time.Second)
		k.do("GET", "/v1/contacts", nil).want(t, 401, nil).problem(t)
		k2.do("GET", "/v1/contacts", nil).want(t, 200, nil)

		// Revoke: a second server that has just served the key keeps it
		// for at most the cache's lifetime; this one refuses it at once.
		other, err := app.New(app.Ports{Store: e.store, Clock: clock.Func(e.now), Log: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(other.Handler())
		t.Cleanup(srv.Close)
		k2other := &client{t: t, url: srv.URL, auth: k2.auth}
		k2other.do("GET", "/v1/contacts", nil).want(t, 200, nil)
		e.a.do("DELETE", "/v1/api-keys/"+made.ID, nil).want(t, 204, nil)
		k2.do("GET", "/v1/contacts", nil).want(t, 401, nil).problem(t)
		e.advance(tenancy.KeyCacheTTL)
		k2other.do("GET", "/v1/contacts", nil).want(t, 401, nil).problem(t)
		e.a.do("GET", "/v1/api-keys/"+made.ID, nil).want(t, 404, nil)
		e.a.do("DELETE", "/v1/api-keys/"+made.ID, nil).want(t, 404, nil)

		// Events, each checked against its schema, never with a secret.
		var types []string
		for _, ev := range outbox(t, e.store, "acme") {
			if strings.HasPrefix(string(ev.DetailType), "api_key.") {
				types = append(types, string(ev.DetailType))
				if data := string(ev.Detail.Entity.Data); strings.Contains(data, made.Secret) || strings.Contains(data, rotated.Secret) || strings.Contains(data, "hash") {
					t.Errorf("%s carries a secret or a hash: %s", ev.DetailType, data)
				}
			}
		}
		// The new key, its rotation, its revocation (the fixture's keys' are dropped).
		if want := []string{"api_key.created", "api_key.rotated", "api_key.revoked"}; !slices.Equal(types, want) {
			t.Errorf("api key events %v, want %v", types, want)
		}
	})
}
