package messaging_test

import (
	"testing"

	"github.com/fedele-crm/fedele/core/messaging/messagingtest"
	"github.com/fedele-crm/fedele/core/store/memstore"
)

// The delivery scenarios on the in-memory store; app runs them on the
// embedded file and DynamoDB Local.
func TestConsentRevokedBetweenSchedulingAndSending(t *testing.T) {
	t.Parallel()
	messagingtest.ConsentRevoked(t, memstore.New())
}

func TestCappedMessageDeferredThenSent(t *testing.T) {
	t.Parallel()
	messagingtest.CappedThenSent(t, memstore.New())
}

func TestQuietHoursAcrossDST(t *testing.T) {
	t.Parallel()
	messagingtest.QuietHoursAcrossDST(t, memstore.New())
}

func TestDoubleDeliveryRequestsOneMessage(t *testing.T) {
	t.Parallel()
	messagingtest.DoubleDelivery(t, memstore.New())
}
