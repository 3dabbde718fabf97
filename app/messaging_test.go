package app_test

import (
	"slices"
	"testing"

	"github.com/fedele-crm/fedele/app"
	"github.com/fedele-crm/fedele/core/messaging"
	"github.com/fedele-crm/fedele/core/messaging/messagingtest"
	"github.com/fedele-crm/fedele/core/store/memstore"
	"github.com/fedele-crm/fedele/internal/testsupport/enginetest"
)

// The delivery scenarios of core/messaging/messagingtest, on each real
// engine, with a fake clock: consent revoked between scheduling and
// sending, a capped message deferred and then sent, quiet hours across DST
// changes in two time zones, a double delivery requesting one message.
func TestDeliveryOnEveryEngine(t *testing.T) {
	for name, open := range enginetest.Engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			t.Run("consent revoked before sending", func(t *testing.T) { messagingtest.ConsentRevoked(t, open(t)) })
			t.Run("capped, deferred, then sent", func(t *testing.T) { messagingtest.CappedThenSent(t, open(t)) })
			t.Run("quiet hours across DST", func(t *testing.T) { messagingtest.QuietHoursAcrossDST(t, open(t)) })
			t.Run("double delivery, one message", func(t *testing.T) { messagingtest.DoubleDelivery(t, open(t)) })
		})
	}
}

// The composition root acts on deferred messages: its timers know the kind.
func TestAppSendsDeferredMessages(t *testing.T) {
	a, err := app.New(app.Ports{Store: memstore.New()})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(a.Timers.Kinds(), messaging.TimerKind) || a.Messaging == nil {
		t.Fatalf("timer kinds %v, messaging %v", a.Timers.Kinds(), a.Messaging)
	}
}
