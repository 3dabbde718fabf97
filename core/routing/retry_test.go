package routing_test

import (
	"context"
	"errors"
	"testing"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/store"
)

// KNOWN BUG, reported, not fixed (non-test code is out of this change's
// scope). This test states the correct rule and fails today.
//
// The rule: a lead that gets an owner gets its contact.assigned too. Route
// sets the owner with contacts.Patch, a commit of its own, before the
// consumer commits the decision's writes (contact.assigned and the
// round-robin position) with its processed marker. When that commit fails
// — here two deliveries decided at once and the second loses the
// position's version check — the consumer framework retries Handle, which
// now finds the owner set and returns nothing: the owner stays, the
// decision is never recorded and the position never moves. The owner
// should be set in the same transaction as the record (return the
// contact's write among the consumer's writes instead of patching).
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
	owner := w.owner(t, l2.ID)
	got := assignments(t, again)
	if owner != "" && (len(got) != 1 || got[0].OwnerID != owner) {
		t.Errorf("BUG: after a retried commit lead 2 is owned by %q but the retry records %+v: its contact.assigned is lost", owner, got)
	}
}
