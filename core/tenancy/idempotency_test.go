package tenancy_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/store/memstore"
	"github.com/fedele-crm/fedele/core/tenancy"
)

func TestIdempotencyKeyOfADeadRequestIsReleased(t *testing.T) {
	st := memstore.New()
	defer st.Close()
	now := time.Now()
	is := tenancy.NewIdempotency(st, func() time.Time { return now })
	ctx := context.Background()
	if _, replay, err := is.Begin(ctx, "acme", "k", "fp"); replay || err != nil {
		t.Fatalf("first claim: replay %v, %v", replay, err)
	}
	// The process that claimed it dies: no Finish, no Abandon.
	if _, _, err := is.Begin(ctx, "acme", "k", "fp"); core.ErrorCode(err) != core.CodeConflict {
		t.Fatalf("claim while the first may still run: %v, want a conflict", err)
	}
	now = now.Add(3 * time.Minute)
	if _, replay, err := is.Begin(ctx, "acme", "k", "fp"); replay || err != nil {
		t.Fatalf("claim after the first died: replay %v, %v, want a fresh claim", replay, err)
	}
	if err := is.Finish(ctx, "acme", "k", "fp", []byte("x")); err != nil {
		t.Fatal(err)
	}
	r, replay, err := is.Begin(ctx, "acme", "k", "fp")
	if err != nil || !replay || string(r) != "x" {
		t.Fatalf("replay: %q %v %v", r, replay, err)
	}
	// A large answer (a batch) is kept compressed and replayed whole.
	big := []byte(strings.Repeat(`{"id":"01M87KPGMESJWY4DJ1QXMEW4HX","first_name":"Grace"},`, 20000))
	if _, replay, err := is.Begin(ctx, "acme", "big", "fp"); replay || err != nil {
		t.Fatal(replay, err)
	}
	if err := is.Finish(ctx, "acme", "big", "fp", big); err != nil {
		t.Fatalf("finish with %d bytes: %v", len(big), err)
	}
	if r, replay, err := is.Begin(ctx, "acme", "big", "fp"); err != nil || !replay || !bytes.Equal(r, big) {
		t.Fatalf("replay of a large answer: %v", err)
	}
	// Another tenant's same key is its own.
	if _, replay, err := is.Begin(ctx, "globex", "k", "fp"); replay || err != nil {
		t.Fatalf("other tenant: %v %v", replay, err)
	}
	// Past the 24 h TTL the key is forgotten even before a sweep.
	now = now.Add(tenancy.IdempotencyTTL + time.Minute)
	if _, replay, err := is.Begin(ctx, "acme", "k", "other"); replay || err != nil {
		t.Fatalf("after the TTL: %v %v", replay, err)
	}
}

// A change's own not-found (deleting a custom field that is not defined)
// is not reported as the tenant missing.
func TestUpdateKeepsTheChangesNotFound(t *testing.T) {
	st := memstore.New()
	defer st.Close()
	ts := tenancy.NewTenants(st, time.Now)
	ctx := context.Background()
	if _, err := ts.Create(ctx, "acme", "Acme", "US"); err != nil {
		t.Fatal(err)
	}
	_, err := ts.DeleteField(ctx, "acme", core.EntityContact, "nope")
	if core.ErrorCode(err) != core.CodeNotFound || !strings.Contains(err.Error(), "custom field") {
		t.Errorf("delete an undefined field: %v, want the field not found", err)
	}
	if _, err := ts.Update(ctx, "globex", func(*core.Tenant) error { return nil }); err == nil || !strings.Contains(err.Error(), "tenant globex not found") {
		t.Errorf("update a missing tenant: %v", err)
	}
}
