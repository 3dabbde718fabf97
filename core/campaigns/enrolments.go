package campaigns

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/messaging"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
)

// Enrolment is one recipient of a campaign: the variant (or holdout) the
// campaign put them in, and the message asked for them.
type Enrolment struct {
	CampaignID string       `json:"campaign_id"`
	ContactID  string       `json:"contact_id"`
	Variant    string       `json:"variant" doc:"A variant's name, or holdout (sent nothing)."`
	DecidedBy  core.Decider `json:"decided_by" doc:"The tenant's campaign plugin or the built-in rules."` // core.Deciders
	EnrolledAt time.Time    `json:"enrolled_at"`
	SendAt     time.Time    `json:"send_at,omitzero" doc:"When the message is not sent before (a scheduled or local time, a plugin's delay)."`
	// ConvertedAt is the first goal event within the attribution window:
	// a recipient converts once per campaign.
	ConvertedAt time.Time `json:"converted_at,omitzero"`
	// ConvertedOrder, Revenue and Currency: the order that converted the
	// recipient and what it counts for now — its net, moved by its later
	// refunds and cancellation (OrderVersion, the order's version last
	// applied, keeps an older event from undoing a newer one).
	ConvertedOrder string `json:"converted_order_id,omitempty" doc:"The order that converted the recipient, when the goal is an order."`
	Revenue        int64  `json:"revenue,omitempty" doc:"Minor units: that order's net now (refunds off; 0 once cancelled or refunded in full)."`
	Currency       string `json:"currency,omitempty"`
	OrderVersion   int64  `json:"order_version,omitempty" doc:"The order's version the revenue reflects."`
	Version        int64  `json:"-"`
}

// recipients indexes enrolments by campaign, spread over 8 partitions
// (a campaign to 100 000 contacts writes them fast).
var recipients = store.Collection{Name: "campaign-recipient", Shards: 8}

// enrolmentKey is a contact's enrolment in a campaign: the contact's
// partition lists its campaigns (for conversions), gsi1 the campaign's
// recipients.
func enrolmentKey(tenant, contactID, campaignID string) store.Key {
	return store.Tenant(tenant).Key(campaignID, "campaign-enrolment", contactID)
}

func enrolmentsPK(tenant, contactID string) string {
	return store.Tenant(tenant).PK("campaign-enrolment", contactID)
}

var enrolmentDoc = record.Doc[Enrolment]{Name: "enrolment", Version: func(e *Enrolment) *int64 { return &e.Version }}

func enrolmentWrite(tenant string, e *Enrolment, prev int64) (store.Write, error) {
	w, err := enrolmentDoc.Put(enrolmentKey(tenant, e.ContactID, e.CampaignID), prev, e)
	if err != nil {
		return w, err
	}
	w.Item.IndexKeys = map[store.Index]store.Key{store.GSI1: {PK: recipients.PK(tenant, e.ContactID, e.CampaignID), SK: e.ContactID}}
	return w, nil
}

// putEnrolments writes new enrolments, a hundred a transaction; one
// already there (a retried step) is kept as it is.
func (s *Service) putEnrolments(ctx context.Context, tenant string, es []Enrolment) error {
	for chunk := range slices.Chunk(es, store.MaxTxItems) {
		ws := make([]store.Write, len(chunk))
		for i := range chunk {
			w, err := enrolmentWrite(tenant, &chunk[i], 0)
			if err != nil {
				return err
			}
			ws[i] = w
		}
		err := s.store.Transact(ctx, ws)
		if err == nil {
			continue
		}
		if !errors.Is(err, store.ErrConditionFailed) {
			return fmt.Errorf("record enrolments: %w", record.StoreError(err))
		}
		// Some were written by an earlier try of this step: one by one.
		for _, w := range ws {
			if err := s.store.Put(ctx, w.Item, w.Cond); err != nil && !errors.Is(err, store.ErrConditionFailed) {
				return fmt.Errorf("record enrolment: %w", record.StoreError(err))
			}
		}
	}
	return nil
}

// Enrolment returns a contact's enrolment in a campaign.
func (s *Service) Enrolment(ctx context.Context, tenant, campaignID, contactID string) (Enrolment, error) {
	e, v, err := enrolmentDoc.Get(ctx, s.store, enrolmentKey(tenant, contactID, campaignID))
	if core.ErrorCode(err) == core.CodeNotFound {
		return e, core.Errorf(core.CodeNotFound, "contact %s is not a recipient of campaign %s", contactID, campaignID)
	}
	e.Version = v
	return e, err
}

// CampaignRecipient is an enrolment as the recipients list shows it, with
// where its message stands.
type CampaignRecipient struct {
	Enrolment
	MessageID     string           `json:"message_id,omitempty" doc:"The message asked of the delivery policy (GET /v1/messages/{id}); none for the holdout."`
	MessageStatus messaging.Status `json:"message_status,omitempty" doc:"The message's status now; none for the holdout."` // messaging.Statuses
	MessageReason messaging.Reason `json:"message_reason,omitempty" doc:"Why it was skipped."`                             // messaging.Reasons
}

// Recipients lists a campaign's enrolments in contact id order, each with
// its message's status; the cursor is bound to the tenant and campaign.
func (s *Service) Recipients(ctx context.Context, tenant, campaignID string, limit int, cursor string) ([]CampaignRecipient, string, error) {
	if err := record.CheckLimit(limit); err != nil {
		return nil, "", err
	}
	if _, err := s.Get(ctx, tenant, campaignID); err != nil {
		return nil, "", err
	}
	filter := record.FilterKey("campaign-recipients", campaignID)
	sc := ""
	if cursor != "" {
		c, err := record.DecodeListCursor(cursor, tenant, filter)
		if err != nil {
			return nil, "", err
		}
		sc = c
	}
	page, err := store.QueryMerged(ctx, s.store, store.Query{Index: store.GSI1}, recipients.PKs(tenant, campaignID), limit, sc)
	if errors.Is(err, store.ErrBadCursor) {
		return nil, "", record.BadCursor()
	}
	if err != nil {
		return nil, "", fmt.Errorf("recipients of %s: %w", campaignID, record.StoreError(err))
	}
	out := make([]CampaignRecipient, 0, len(page.Items))
	for _, it := range page.Items {
		e, err := enrolmentDoc.Decode(it)
		if err != nil {
			return nil, "", err
		}
		r := CampaignRecipient{Enrolment: e}
		if e.Variant != Holdout {
			if m, err := s.delivery.ByName(ctx, tenant, e.ContactID, campaignID, Step); err == nil {
				r.MessageID, r.MessageStatus, r.MessageReason = m.ID, m.Status, m.Reason
			} else if core.ErrorCode(err) != core.CodeNotFound {
				return nil, "", err
			}
		}
		out = append(out, r)
	}
	next := ""
	if page.Next != "" {
		next = record.EncodeListCursor(page.Next, tenant, filter)
	}
	return out, next, nil
}
