package messaging_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/messaging"
	"github.com/fedele-crm/fedele/core/messaging/messagingtest"
	"github.com/fedele-crm/fedele/core/store/memstore"
)

func email(contactID, step string) messaging.Request {
	return messaging.Request{ContactID: contactID, Channel: messaging.Email, Template: "news", CampaignID: "news", Step: step}
}

func TestReceiptsMoveTheMessageAndSuppress(t *testing.T) {
	t.Parallel()
	r := messagingtest.NewRig(t, memstore.New())
	ctx := context.Background()
	c := r.Contact(t, "acme", "ada@example.com", "")
	m := r.Request(t, "acme", email(c.ID, "1")).Message
	if m.Status != messaging.StatusRequested || m.Address != "ada@example.com" || m.IdempotencyKey != m.ID {
		t.Fatalf("requested: %+v", m)
	}
	receive := func(rc messaging.Receipt) (messaging.Message, error) {
		return r.Delivery.Receive(ctx, "acme", m.ID, rc)
	}
	steps := []struct {
		rc   messaging.Receipt
		want messaging.Status
	}{
		{messaging.Receipt{Type: messaging.ReceiptDelivered, ProviderEventID: "e1"}, messaging.StatusDelivered},
		{messaging.Receipt{Type: messaging.ReceiptOpened, ProviderEventID: "e2"}, messaging.StatusOpened},
		{messaging.Receipt{Type: messaging.ReceiptClicked, URL: "https://example.com/sale", ProviderEventID: "e3"}, messaging.StatusClicked},
		{messaging.Receipt{Type: messaging.ReceiptDelivered, ProviderEventID: "e4"}, messaging.StatusClicked}, // late: keeps how far it got
		{messaging.Receipt{Type: messaging.ReceiptClicked, URL: "https://example.com/sale", ProviderEventID: "e3"}, messaging.StatusClicked},
	}
	for i, s := range steps {
		got, err := receive(s.rc)
		if err != nil || got.Status != s.want {
			t.Fatalf("receipt %d (%s): %s, %v; want %s", i, s.rc.Type, got.Status, err, s.want)
		}
	}
	tl := r.Timeline(t, "acme", c.ID)
	if tl[events.MessageDelivered] != 2 || tl[events.MessageOpened] != 1 || tl[events.MessageClicked] != 1 {
		t.Fatalf("timeline %v: the repeated click must count once", tl)
	}
	if got := r.Message(t, "acme", m.ID); len(got.Receipts) != 4 || got.LastReceipt == nil || got.LastReceipt.ProviderEventID != "e4" {
		t.Fatalf("receipts kept: %+v", got.Receipts)
	}

	// A soft bounce suppresses nothing; a hard one the address.
	if _, err := receive(messaging.Receipt{Type: messaging.ReceiptBounced, Bounce: messaging.BounceSoft}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Delivery.Suppression(ctx, "acme", "ada@example.com"); core.ErrorCode(err) != core.CodeNotFound {
		t.Fatalf("after a soft bounce: %v, want not suppressed", err)
	}
	if _, err := receive(messaging.Receipt{Type: messaging.ReceiptBounced, Bounce: messaging.BounceHard}); err != nil {
		t.Fatal(err)
	}
	s, err := r.Delivery.Suppression(ctx, "acme", "ada@example.com")
	if err != nil || s.Reason != messaging.SuppressHardBounce || s.MessageID != m.ID {
		t.Fatalf("after a hard bounce: %+v, %v", s, err)
	}
	if next := r.Request(t, "acme", email(c.ID, "2")).Message; next.Status != messaging.StatusSkipped || next.Reason != messaging.ReasonSuppressed {
		t.Fatalf("to a suppressed address: %s (%s)", next.Status, next.Reason)
	}
	if _, err := r.Delivery.Suppression(ctx, "globex", "ada@example.com"); core.ErrorCode(err) != core.CodeNotFound {
		t.Fatalf("another tenant's suppression list: %v", err)
	}
	if err := r.Delivery.Unsuppress(ctx, "acme", "ada@example.com"); err != nil {
		t.Fatal(err)
	}
	if next := r.Request(t, "acme", email(c.ID, "3")).Message; next.Status != messaging.StatusRequested {
		t.Fatalf("after the suppression was lifted: %s (%s)", next.Status, next.Reason)
	}
	if _, err := receive(messaging.Receipt{Type: messaging.ReceiptComplained}); err != nil {
		t.Fatal(err)
	}
	if s, err := r.Delivery.Suppression(ctx, "acme", "ada@example.com"); err != nil || s.Reason != messaging.SuppressComplaint {
		t.Fatalf("after a complaint: %+v, %v", s, err)
	}
	list, _, err := r.Delivery.Suppressions(ctx, "acme", 50, "")
	if err != nil || len(list) != 1 {
		t.Fatalf("suppressions: %+v, %v", list, err)
	}
}

func TestReceiptRefusals(t *testing.T) {
	t.Parallel()
	r := messagingtest.NewRig(t, memstore.New())
	ctx := context.Background()
	c := r.Contact(t, "acme", "ada@example.com", "")
	m := r.Request(t, "acme", email(c.ID, "1")).Message
	req := email(c.ID, "later")
	req.NotBefore = messagingtest.T0.Add(time.Hour)
	deferred := r.Request(t, "acme", req).Message
	for _, tc := range []struct {
		name, tenant, id string
		rc               messaging.Receipt
		code             core.Code
	}{
		{"another tenant's message", "globex", m.ID, messaging.Receipt{Type: messaging.ReceiptDelivered}, core.CodeNotFound},
		{"not an id", "acme", "nope", messaging.Receipt{Type: messaging.ReceiptDelivered}, core.CodeNotFound},
		{"a message never requested", "acme", deferred.ID, messaging.Receipt{Type: messaging.ReceiptDelivered}, core.CodeConflict},
		{"unknown type", "acme", m.ID, messaging.Receipt{Type: "read"}, core.CodeInvalid},
		{"a click without its url", "acme", m.ID, messaging.Receipt{Type: messaging.ReceiptClicked}, core.CodeInvalid},
		{"a bounce without its kind", "acme", m.ID, messaging.Receipt{Type: messaging.ReceiptBounced}, core.CodeInvalid},
		{"from the future", "acme", m.ID, messaging.Receipt{Type: messaging.ReceiptOpened, At: messagingtest.T0.Add(time.Hour)}, core.CodeInvalid},
	} {
		if _, err := r.Delivery.Receive(ctx, tc.tenant, tc.id, tc.rc); core.ErrorCode(err) != tc.code {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
		}
	}
}

func TestOneClickUnsubscribe(t *testing.T) {
	t.Parallel()
	r := messagingtest.NewRig(t, memstore.New())
	ctx := context.Background()
	c := r.Contact(t, "acme", "ada@example.com", "")
	m := r.Request(t, "acme", email(c.ID, "1")).Message
	u := m.Unsubscribe
	if u == nil || !strings.HasPrefix(u.URL, "https://crm.example.com/u/") || u.ListUnsubscribe != "<"+u.URL+">" ||
		u.ListUnsubscribePost != "List-Unsubscribe=One-Click" {
		t.Fatalf("unsubscribe headers: %+v", u)
	}
	tok := strings.TrimPrefix(u.URL, "https://crm.example.com/u/")

	// Altered, truncated or foreign tokens find nothing.
	other := r.Contact(t, "globex", "bob@example.com", "")
	foreign := r.Request(t, "globex", email(other.ID, "1")).Message
	foreignTok := strings.TrimPrefix(foreign.Unsubscribe.URL, "https://crm.example.com/u/")
	payload, sig, _ := strings.Cut(tok, ".")
	_, foreignSig, _ := strings.Cut(foreignTok, ".")
	flip := []byte(payload)
	flip[len(flip)/2] ^= 1
	for name, bad := range map[string]string{
		"empty": "", "no signature": payload, "altered payload": string(flip) + "." + sig,
		"another tenant's signature": payload + "." + foreignSig, "truncated signature": payload + "." + sig[:10],
		"garbage": "%%%.%%%", "long": strings.Repeat("a", 600),
	} {
		if _, err := r.Delivery.CheckUnsubscribe(ctx, bad); core.ErrorCode(err) != core.CodeNotFound {
			t.Errorf("%s: %v, want not found", name, err)
		}
		if err := r.Delivery.Unsubscribe(ctx, bad); core.ErrorCode(err) != core.CodeNotFound {
			t.Errorf("%s: unsubscribe %v, want not found", name, err)
		}
	}

	target, err := r.Delivery.CheckUnsubscribe(ctx, tok)
	if err != nil || target.Address != "ada@example.com" || target.Channel != messaging.Email {
		t.Fatalf("check: %+v, %v", target, err)
	}
	if tl := r.Timeline(t, "acme", c.ID); tl[events.MessageUnsubscribed] != 0 {
		t.Fatalf("a GET changed something: %v", tl)
	}
	for range 2 {
		if err := r.Delivery.Unsubscribe(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	got, err := r.Contacts.Get(ctx, "acme", c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if e := got.Consent.Email; e.Status != core.ConsentDenied || e.Source != "one-click unsubscribe" {
		t.Fatalf("consent after unsubscribing: %+v", e)
	}
	if got.Consent.SMS.Status != core.ConsentGranted {
		t.Fatalf("the other channels' consent changed: %+v", got.Consent.SMS)
	}
	tl := r.Timeline(t, "acme", c.ID)
	if tl[events.MessageUnsubscribed] != 1 || tl[events.ContactUpdated] != 1 {
		t.Fatalf("timeline %v: want one message.unsubscribed and one contact.updated", tl)
	}
	if s, err := r.Delivery.Suppression(ctx, "acme", "ada@example.com"); err != nil || s.Reason != messaging.SuppressUnsubscribed {
		t.Fatalf("suppression: %+v, %v", s, err)
	}
	if next := r.Request(t, "acme", email(c.ID, "2")).Message; next.Reason != messaging.ReasonNoConsent {
		t.Fatalf("after unsubscribing: %s (%s), want skipped for no consent", next.Status, next.Reason)
	}
	if fc, _ := r.Contacts.Get(ctx, "globex", other.ID); fc.Consent.Email.Status != core.ConsentGranted {
		t.Fatal("another tenant's contact was unsubscribed")
	}
}

func TestSigningKeyRotation(t *testing.T) {
	t.Parallel()
	r := messagingtest.NewRig(t, memstore.New())
	ctx := context.Background()
	c := r.Contact(t, "acme", "ada@example.com", "")
	first := strings.TrimPrefix(r.Request(t, "acme", email(c.ID, "1")).Message.Unsubscribe.URL, "https://crm.example.com/u/")
	for i := 1; i <= messaging.MaxSigningKeys; i++ {
		if err := r.Delivery.RotateSigningKey(ctx, "acme"); err != nil {
			t.Fatal(err)
		}
		_, err := r.Delivery.CheckUnsubscribe(ctx, first)
		if wantOK := i < messaging.MaxSigningKeys; (err == nil) != wantOK {
			t.Fatalf("after %d rotations: %v, want valid %v", i, err, wantOK)
		}
	}
	newer := strings.TrimPrefix(r.Request(t, "acme", email(c.ID, "2")).Message.Unsubscribe.URL, "https://crm.example.com/u/")
	if _, err := r.Delivery.CheckUnsubscribe(ctx, newer); err != nil {
		t.Fatalf("a link signed after the rotations: %v", err)
	}
}

func TestSkipReasons(t *testing.T) {
	t.Parallel()
	r := messagingtest.NewRig(t, memstore.New())
	ctx := context.Background()
	c := r.Contact(t, "acme", "ada@example.com", "")
	noEmail, err := r.Contacts.Create(ctx, "acme", core.ContactFields{FirstName: "Bo", Phones: []core.Phone{{Number: "+393471234568"}},
		Consent: &core.Consent{Email: &core.ChannelConsent{Status: core.ConsentGranted, Source: "form"}}})
	if err != nil {
		t.Fatal(err)
	}
	gone := r.Contact(t, "acme", "gone@example.com", "")
	if _, err := r.Contacts.Delete(ctx, "acme", gone.ID, 0); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		req  messaging.Request
		want messaging.Reason
	}{
		{"never asked for push", messaging.Request{ContactID: c.ID, Channel: messaging.Push, Template: "t", Key: "k1"}, messaging.ReasonNoConsent},
		{"no address", messaging.Request{ContactID: noEmail.ID, Channel: messaging.Email, Template: "t", Key: "k1"}, messaging.ReasonNoAddress},
		{"deleted contact", messaging.Request{ContactID: gone.ID, Channel: messaging.Email, Template: "t", Key: "k1"}, messaging.ReasonNoContact},
		{"another tenant's contact", messaging.Request{ContactID: c.ID, Channel: messaging.Email, Template: "t", Key: "k2"}, messaging.ReasonNoContact},
		{"expired before it could go", messaging.Request{ContactID: c.ID, Channel: messaging.Email, Template: "t", Key: "k3",
			NotBefore: messagingtest.T0.Add(2 * time.Hour), Expires: messagingtest.T0.Add(3 * time.Hour)}, ""},
	} {
		tenant := "acme"
		if tc.name == "another tenant's contact" {
			tenant = "globex"
		}
		m := r.Request(t, tenant, tc.req).Message
		if tc.want == "" {
			continue
		}
		if m.Status != messaging.StatusSkipped || m.Reason != tc.want {
			t.Errorf("%s: %s (%s), want skipped (%s)", tc.name, m.Status, m.Reason, tc.want)
		}
	}
	// Quiet hours that outlast a message's expiry skip it as expired.
	r.SetPolicy(t, "acme", messaging.Policy{QuietHours: map[string]messaging.QuietHours{"email": {Start: "09:00", End: "18:00"}}})
	req := messaging.Request{ContactID: c.ID, Channel: messaging.Email, Template: "t", Key: "flash", Expires: messagingtest.T0.Add(time.Hour)}
	if m := r.Request(t, "acme", req).Message; m.Reason != messaging.ReasonExpired {
		t.Errorf("held past its expiry: %s (%s)", m.Status, m.Reason)
	}
	// SMS has no quiet hours of its own here: it goes.
	req = messaging.Request{ContactID: c.ID, Channel: messaging.SMS, Template: "t", Key: "sms"}
	if m := r.Request(t, "acme", req).Message; m.Status != messaging.StatusRequested || m.Address != "+393471234567" {
		t.Errorf("sms: %s (%s) to %q", m.Status, m.Reason, m.Address)
	}
}
