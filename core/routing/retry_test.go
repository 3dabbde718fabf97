package routing_test

import (
	"context"
	"errors"
	"testing"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/store"
)

// The rule: a lead that gets an owner gets its contact.assigned too, and
// the round-robin position moves with it. The owner's write is among the
// consumer's writes, committed with contact.assigned and the position under
// the processed marker: when that commit fails — here two deliveries
// decided at once and the second loses the position's version check — the
// framework retries Handle, which decides again from scratch. (It used to
// set the owner with a commit of its own first, so the retry found the
// owner set and recorded nothing.)
func TestRouteIsRecordedWhenItsCommitIsRetried(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	h := w.router.Consumer()
	_, ev1 := w.create(t, core.ContactFields{FirstName: "L1"})
	l2, ev2 := w.create(t, core.ContactFields{FirstName: "L2"})

	// Two deliveries decide before either commits (two workers at once).
	w1, err := h.Handle(ctx, ev1)
	if err != nil {
		t.Fatal(err)
	}
	w2, err := h.Handle(ctx, ev2)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.st.Transact(ctx, w1); err != nil {
		t.Fatalf("first commit: %v", err)
	}
	var tc *store.TxCancelledError
	if err := w.st.Transact(ctx, w2); !errors.As(err, &tc) {
		t.Fatalf("second commit: %v, want a cancellation on the routing position", err)
	}

	// The framework retries the second delivery (events.Consumers.deliver).
	again, err := h.Handle(ctx, ev2)
	if err != nil {
		t.Fatal(err)
	}
	if w.owner(t, l2.ID) != "" {
		t.Fatalf("lead 2 has an owner although its commit failed")
	}
	if err := w.st.Transact(ctx, again); err != nil {
		t.Fatalf("retried commit: %v", err)
	}
	owner := w.owner(t, l2.ID)
	got := assignments(t, again)
	if owner == "" || len(got) != 1 || got[0].OwnerID != owner {
		t.Errorf("after a retried commit lead 2 is owned by %q and the retry records %+v: want one contact.assigned naming the owner", owner, got)
	}
}
