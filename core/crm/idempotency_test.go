package crm_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/crm"
	"github.com/fedele-crm/fedele/infra/embedded"
)

func TestIdempotencyKeyOfADeadRequestIsReleased(t *testing.T) {
	st, err := embedded.Open(filepath.Join(t.TempDir(), "f.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	is := crm.NewIdempotency(st, func() time.Time { return now })
	ctx := context.Background()
	if r, err := is.Begin(ctx, "acme", "k", "fp"); r != nil || err != nil {
		t.Fatalf("first claim: %v %v", r, err)
	}
	// The process that claimed it dies: no Finish, no Abandon.
	if _, err := is.Begin(ctx, "acme", "k", "fp"); core.ErrorCode(err) != core.CodeConflict {
		t.Fatalf("claim while the first may still run: %v, want a conflict", err)
	}
	now = now.Add(3 * time.Minute)
	if r, err := is.Begin(ctx, "acme", "k", "fp"); r != nil || err != nil {
		t.Fatalf("claim after the first died: %v %v, want a fresh claim", r, err)
	}
	if err := is.Finish(ctx, "acme", "k", "fp", crm.Response{Status: 201, Body: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	r, err := is.Begin(ctx, "acme", "k", "fp")
	if err != nil || r == nil || r.Status != 201 {
		t.Fatalf("replay: %+v %v", r, err)
	}
	// A large answer (a batch) is kept compressed and replayed whole.
	big := []byte(strings.Repeat(`{"id":"01M87KPGMESJWY4DJ1QXMEW4HX","first_name":"Grace"},`, 20000))
	if r, err := is.Begin(ctx, "acme", "big", "fp"); r != nil || err != nil {
		t.Fatal(r, err)
	}
	if err := is.Finish(ctx, "acme", "big", "fp", crm.Response{Status: 200, Body: big}); err != nil {
		t.Fatalf("finish with %d bytes: %v", len(big), err)
	}
	if r, err := is.Begin(ctx, "acme", "big", "fp"); err != nil || r == nil || !bytes.Equal(r.Body, big) {
		t.Fatalf("replay of a large answer: %v", err)
	}
	// Another tenant's same key is its own.
	if r, err := is.Begin(ctx, "globex", "k", "fp"); r != nil || err != nil {
		t.Fatalf("other tenant: %v %v", r, err)
	}
	// Past the 24 h TTL the key is forgotten even before a sweep.
	now = now.Add(crm.IdempotencyTTL + time.Minute)
	if r, err := is.Begin(ctx, "acme", "k", "other"); r != nil || err != nil {
		t.Fatalf("after the TTL: %v %v", r, err)
	}
}
