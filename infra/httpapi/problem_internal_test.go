package httpapi

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/store"
)

// A store error that reaches the one mapping unwrapped — a use case that
// forgot record.StoreError — is still the problem it stands for, never a
// 500; anything else unknown stays a 500.
func TestStoreErrorsAreMappedOnce(t *testing.T) {
	s := New(Config{})
	for _, c := range []struct {
		err    error
		status int
	}{
		{fmt.Errorf("start re-scoring: %w", store.ErrUnavailable), 503},
		{fmt.Errorf("put: %w", &store.TxCancelledError{Reason: store.ErrThrottled}), 503},
		{fmt.Errorf("put: %w", store.ErrItemTooLarge), 413},
		{core.Errorf(core.CodeNotFound, "no contact"), 404},
		{errors.New("a bug"), 500},
	} {
		if m, _ := s.problemModel(context.Background(), c.err, ""); m.Status != c.status {
			t.Errorf("%v: %d, want %d", c.err, m.Status, c.status)
		}
	}
}
