package messaging

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
)

// Suppression is an address nothing is sent to any more, and why.
type Suppression struct {
	Address   string    `json:"address"`
	Reason    string    `json:"reason" enum:"hard_bounce,complaint,unsubscribed"` // SuppressionReasons
	Channel   Channel   `json:"channel"`
	MessageID string    `json:"message_id,omitempty" doc:"The message whose receipt suppressed it."`
	At        time.Time `json:"at"`
}

// Why an address is suppressed.
const (
	SuppressHardBounce   = "hard_bounce"
	SuppressComplaint    = "complaint"
	SuppressUnsubscribed = "unsubscribed"
)

// SuppressionReasons lists every reason.
var SuppressionReasons = []string{SuppressHardBounce, SuppressComplaint, SuppressUnsubscribed}

// plausibleAddress says whether a could be a message's address: text a key
// can hold.
func plausibleAddress(a string) bool {
	return a != "" && len(a) <= 1000 && utf8.ValidString(a) && !strings.ContainsFunc(a, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

func suppressionsPK(tenant string) string { return store.Tenant(tenant).PK("suppression") }

func suppressionKey(tenant, address string) store.Key {
	return store.Key{PK: suppressionsPK(tenant), SK: address}
}

var suppressionDoc = record.Doc[Suppression]{Name: "suppression"}

// Suppression returns one suppressed address.
func (d *Delivery) Suppression(ctx context.Context, tenant, address string) (Suppression, error) {
	if !plausibleAddress(address) {
		// No address a message had can be spelled so: not suppressed.
		return Suppression{}, core.Errorf(core.CodeNotFound, "address is not suppressed")
	}
	s, _, err := suppressionDoc.Get(ctx, d.store, suppressionKey(tenant, address))
	if core.ErrorCode(err) == core.CodeNotFound {
		return s, core.Errorf(core.CodeNotFound, "%s is not suppressed", address)
	}
	return s, err
}

// Suppressions lists a tenant's suppressed addresses in address order.
func (d *Delivery) Suppressions(ctx context.Context, tenant string, limit int, cursor string) ([]Suppression, string, error) {
	if err := record.CheckLimit(limit); err != nil {
		return nil, "", err
	}
	page, err := d.store.Query(ctx, store.Query{PK: suppressionsPK(tenant), Limit: limit, Cursor: cursor})
	if errors.Is(err, store.ErrBadCursor) {
		return nil, "", core.Invalid("cursor", "is not a cursor of this list", cursor)
	}
	if err != nil {
		return nil, "", fmt.Errorf("list suppressions: %w", record.StoreError(err))
	}
	out := make([]Suppression, 0, len(page.Items))
	for _, it := range page.Items {
		s, err := suppressionDoc.Decode(it)
		if err != nil {
			return nil, "", err
		}
		out = append(out, s)
	}
	return out, page.Next, nil
}

// Unsuppress lifts a suppression (a person confirmed the address works
// again); an address not suppressed is not found.
func (d *Delivery) Unsuppress(ctx context.Context, tenant, address string) error {
	if _, err := d.Suppression(ctx, tenant, address); err != nil {
		return err
	}
	if err := d.store.Delete(ctx, suppressionKey(tenant, address), store.Cond{}); err != nil {
		return fmt.Errorf("delete suppression: %w", record.StoreError(err))
	}
	return nil
}

// rank orders statuses so that a message shows how far it got: a late
// "delivered" after an "opened" keeps it opened.
var rank = map[Status]int{StatusRequested: 1, StatusDelivered: 2, StatusOpened: 3, StatusClicked: 4,
	StatusBounced: 5, StatusUnsubscribed: 6, StatusComplained: 7}

var receiptEvents = map[ReceiptType]events.Type{
	ReceiptDelivered: events.MessageDelivered, ReceiptOpened: events.MessageOpened, ReceiptClicked: events.MessageClicked,
	ReceiptBounced: events.MessageBounced, ReceiptComplained: events.MessageComplained, ReceiptUnsubscribed: events.MessageUnsubscribed,
}

// Receive records a provider's receipt for a requested message: the
// message's status and receipts, a message.<type> event on the contact's
// timeline, and for a hard bounce, a complaint or an unsubscribe the
// address suppressed — in one transaction. A receipt with the same
// provider event id (or, without one, the same type and time) is taken
// once. A provider's unsubscribe also withdraws the channel's consent.
func (d *Delivery) Receive(ctx context.Context, tenant, id string, r Receipt) (Message, error) {
	if err := r.Normalize(d.now()); err != nil {
		return Message{}, err
	}
	m, _, err := d.receive(ctx, tenant, id, r)
	if err != nil || r.Type != ReceiptUnsubscribed {
		return m, err
	}
	// Also for a repeated receipt: a first one whose withdrawal did not
	// commit is completed by its retry (withdrawing twice changes nothing).
	return m, d.withdraw(ctx, tenant, m, "provider unsubscribe")
}

func (d *Delivery) receive(ctx context.Context, tenant, id string, r Receipt) (Message, bool, error) {
	dedupe := r.ProviderEventID
	if dedupe == "" {
		// Without the provider's id, the same report is the same content.
		b, _ := json.Marshal(r) // plain fields: cannot fail
		sum := sha256.Sum256(b)
		dedupe = "sum:" + hex.EncodeToString(sum[:16])
	}
	marker := store.Tenant(tenant).Marker("message-receipt", id, string(r.Type), dedupe)
	for attempt := 0; ; attempt++ {
		m, v, err := d.get(ctx, tenant, id)
		if err != nil {
			return m, false, err
		}
		if m.Status == StatusDeferred || m.Status == StatusSkipped {
			return m, false, core.Errorf(core.CodeConflict, "message %s was never requested (it is %s)", id, m.Status)
		}
		now := d.now()
		m.Receipts = append(m.Receipts, r)
		if n := len(m.Receipts); n > MaxReceipts {
			m.Receipts = slices.Clone(m.Receipts[n-MaxReceipts:])
		}
		m.LastReceipt = &r
		if s := Status(r.Type); rank[s] > rank[m.Status] {
			m.Status = s
		}
		writes, err := d.record(ctx, tenant, &m, v, now, receiptEvents[r.Type])
		if err != nil {
			return m, false, err
		}
		writes = append(writes, store.Write{Op: store.OpPut, Cond: store.Cond{MustNotExist: true},
			Item: store.Item{Key: marker, Version: 1, ExpiresAt: now.Add(events.Retention)}})
		if why := suppressFor(r); why != "" {
			sw, err := suppressionDoc.Put(suppressionKey(tenant, m.Address), 0, &Suppression{Address: m.Address, Reason: why,
				Channel: m.Channel, MessageID: m.ID, At: r.At})
			if err != nil {
				return m, false, err
			}
			sw.Cond = store.Cond{} // a later reason replaces an earlier one
			writes = append(writes, sw)
		}
		err = d.store.Transact(ctx, writes)
		if err == nil {
			return m, false, nil
		}
		var tc *store.TxCancelledError
		if errors.As(err, &tc) && tc.Key == marker {
			cur, err := d.Get(ctx, tenant, id)
			return cur, true, err // taken before: the first one's effect stands
		}
		if !errors.Is(err, store.ErrConditionFailed) || attempt == record.MaxRetries {
			return m, false, fmt.Errorf("record receipt: %w", record.StoreError(err))
		}
	}
}

func suppressFor(r Receipt) string {
	switch {
	case r.Type == ReceiptBounced && r.Bounce == BounceHard:
		return SuppressHardBounce
	case r.Type == ReceiptComplained:
		return SuppressComplaint
	case r.Type == ReceiptUnsubscribed:
		return SuppressUnsubscribed
	}
	return ""
}

// withdraw denies the message's channel consent on its contact, through
// the contacts repository (its contact.updated event says so).
func (d *Delivery) withdraw(ctx context.Context, tenant string, m Message, source string) error {
	now := d.now()
	_, err := d.contacts.Update(ctx, tenant, m.ContactID, 0, func(f *core.ContactFields) error {
		if f.Consent == nil {
			f.Consent = &core.Consent{}
		}
		slot := map[Channel]**core.ChannelConsent{Email: &f.Consent.Email, SMS: &f.Consent.SMS, Push: &f.Consent.Push,
			Post: &f.Consent.Post, Phone: &f.Consent.Phone}[m.Channel]
		if *slot != nil && (*slot).Status == core.ConsentDenied {
			return nil // already withdrawn: no change, no event
		}
		*slot = &core.ChannelConsent{Status: core.ConsentDenied, At: now, Source: source}
		return nil
	})
	if core.ErrorCode(err) == core.CodeNotFound {
		return nil // the contact is gone; its suppression stands
	}
	return err
}
