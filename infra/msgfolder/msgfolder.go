// Package msgfolder is the example delivery provider: it takes the
// message.requested events Fedele publishes and writes each message as a
// JSON file into <folder>/<tenant>/<message id>.json, so that a developer
// running `fedele serve` sees on the laptop what a real e-mail or SMS
// provider would have been asked to send. A real integration has the same
// shape: it consumes message.requested (an EventBridge rule in AWS), sends
// with the message's idempotency key, and reports receipts to
// POST /v1/messages/{id}/events.
//
// It must never send anything anywhere, nor read or write the store: it
// is a publisher beside the bus, and its only effect is files.
package msgfolder

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/messaging"
)

// Outbox writes requested messages into a folder. It is an
// events.Publisher: `fedele serve --outbox` hands it the events the local
// relay delivers, beside the bus.
type Outbox struct {
	Dir string
}

// File is what one message's file holds: what a provider needs to send it.
type File struct {
	EventID        string         `json:"event_id"`
	Tenant         string         `json:"tenant"`
	MessageID      string         `json:"message_id"`
	IdempotencyKey string         `json:"idempotency_key"`
	ContactID      string         `json:"contact_id"`
	Channel        string         `json:"channel"`
	Address        string         `json:"address"`
	Template       string         `json:"template"`
	Merge          map[string]any `json:"merge,omitempty"`
	CampaignID     string         `json:"campaign_id,omitempty"`
	Variant        string         `json:"variant,omitempty"`
	Step           string         `json:"step,omitempty"`
	// Headers are the e-mail headers the provider adds (RFC 8058).
	Headers     map[string]string `json:"headers,omitempty"`
	RequestedAt time.Time         `json:"requested_at"`
	// Receipts says where the provider reports what happened.
	Receipts string `json:"receipts"`
}

// Publish writes each message.requested event's message; other events
// are not its business. Writing is idempotent (a redelivered event
// rewrites the same file with the same content), and atomic (a temporary
// file renamed), so a reader never sees half a message.
func (o Outbox) Publish(_ context.Context, evs []events.Envelope) []error {
	errs := make([]error, len(evs))
	for i, ev := range evs {
		if ev.DetailType != events.MessageRequested {
			continue
		}
		errs[i] = o.write(ev)
	}
	return errs
}

func (o Outbox) write(ev events.Envelope) error {
	var m messaging.Message
	if err := json.Unmarshal(ev.Detail.Entity.Data, &m); err != nil {
		return fmt.Errorf("outbox: decode message of event %s: %w", ev.Detail.EventID, err)
	}
	tenant := ev.Detail.Tenant
	if !core.ValidTenantID(tenant) || !core.ValidID(m.ID) {
		return fmt.Errorf("outbox: event %s names no message of a tenant", ev.Detail.EventID)
	}
	f := File{EventID: ev.Detail.EventID, Tenant: tenant, MessageID: m.ID, IdempotencyKey: m.IdempotencyKey, ContactID: m.ContactID,
		Channel: string(m.Channel), Address: m.Address, Template: m.Template, Merge: m.Merge, CampaignID: m.CampaignID,
		Variant: m.Variant, Step: m.Step, RequestedAt: m.RequestedAt, Receipts: "/v1/messages/" + m.ID + "/events"}
	if u := m.Unsubscribe; u != nil {
		f.Headers = map[string]string{"List-Unsubscribe": u.ListUnsubscribe, "List-Unsubscribe-Post": u.ListUnsubscribePost}
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("outbox: encode message %s: %w", m.ID, err)
	}
	dir := filepath.Join(o.Dir, tenant)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".msg-*")
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	defer os.Remove(tmp.Name()) // gone once renamed
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("outbox: write message %s: %w", m.ID, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("outbox: write message %s: %w", m.ID, err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, m.ID+".json")); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	return nil
}
