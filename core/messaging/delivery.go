// Package messaging is the one door every sender goes through to reach a
// contact: Delivery.Request applies the tenant's delivery policy at the
// moment of sending — consent on the channel, an address that is not
// suppressed, frequency caps across channels with priorities, quiet hours
// in the recipient's time zone — and answers requested (a message.requested
// event a provider integration consumes), deferred (a durable timer that
// runs the whole policy again when it is due) or skipped with a reason,
// recorded either way. One message at most exists per contact and name
// (campaign and step, or key), whatever retries happen. Receipts from the
// provider, suppressions and the signed one-click unsubscribe (RFC 8058)
// live here too.
//
// It must never deliver anything itself (providers do, from the event),
// never decide who is in a campaign (segments and campaigns do), and never
// let a send pass a check it did not make at the moment of sending.
package messaging

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/contacts"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/core/tenancy"
	"github.com/fedele-crm/fedele/core/timers"
)

// TimerKind is the kind of the timers that send deferred messages.
const TimerKind = "message.send"

// MaxDeferrals bounds how often one message is deferred: a message held
// that long is skipped (deferred_too_often), never kept forever.
const MaxDeferrals = 20

// Delivery applies the delivery policy and records messages.
type Delivery struct {
	store    store.Store
	tenants  *tenancy.Tenants
	contacts *contacts.Contacts
	timers   *timers.Service
	now      func() time.Time
	// PublicURL is the base of the one-click unsubscribe links
	// ("https://crm.example.com"): the address the public reaches the API at.
	PublicURL string
	// CampaignGate, when set, is asked before a deferred message of a
	// campaign is sent: a cancelled campaign's held messages are skipped
	// (campaign_cancelled), never sent after the cancel; a paused one's
	// wait (campaign_paused) until it is resumed.
	CampaignGate func(ctx context.Context, tenant, campaignID string) (Gate, error)
}

// New returns the delivery service. timers may be nil only for a process
// that never defers (its deferrals then fail).
func New(s store.Store, tenants *tenancy.Tenants, cs *contacts.Contacts, ts *timers.Service, now func() time.Time, publicURL string) *Delivery {
	return &Delivery{store: s, tenants: tenants, contacts: cs, timers: ts, now: func() time.Time { return now().UTC() },
		PublicURL: strings.TrimRight(publicURL, "/")}
}

var messages = store.Collection{Name: "message", Shards: 8}

// MessageKey is the key of a message.
func MessageKey(tenant, id string) store.Key { return store.Key{PK: messages.PK(tenant, id), SK: id} }

// nameKey is the marker that makes a message unique per contact and name.
func nameKey(tenant, contactID, name string) store.Key {
	return store.Tenant(tenant).Marker("message-name", contactID, name)
}

// sendLogKey is a contact's recent sends, for the caps.
func sendLogKey(tenant, contactID string) store.Key {
	return store.Tenant(tenant).Marker("message-sends", contactID)
}

// PolicyKey is the tenant's delivery policy.
func PolicyKey(tenant string) store.Key { return store.Tenant(tenant).Marker("messaging-policy") }

// CampaignPKs are the partitions listing a campaign's messages (gsi1).
func CampaignPKs(tenant, campaignID string) []string {
	return messages.PKs(tenant, "campaign", campaignID)
}

var messageDoc = record.Doc[Message]{
	Name:    "message",
	Version: func(m *Message) *int64 { return &m.Version },
	Index: func(m *Message) map[store.Index]store.Key {
		// A tenant's messages of one campaign, for its performance; the
		// tenant comes from the message's key, written beside it.
		if m.CampaignID == "" || m.tenant == "" {
			return nil
		}
		return map[store.Index]store.Key{store.GSI1: {PK: messages.PK(m.tenant, m.ID, "campaign", m.CampaignID), SK: m.ID}}
	},
}

var policyDoc = record.Doc[Policy]{Name: "messaging policy", Version: func(p *Policy) *int64 { return &p.Version }}

var sendLogDoc = record.Doc[sendLog]{Name: "send log",
	// A log nobody added to for the longest window counts nothing.
	TTL: func(l *sendLog) time.Time {
		if len(l.Sends) == 0 {
			return time.Time{}
		}
		return l.Sends[len(l.Sends)-1].At.Add(MaxCapWindow)
	}}

func mergeSize(m map[string]any) int {
	if len(m) == 0 {
		return 0
	}
	b, err := json.Marshal(m)
	if err != nil {
		return -1
	}
	return len(b)
}

// Policy returns the tenant's delivery policy (an empty one at version 0
// when none was set: no caps, no quiet hours).
func (d *Delivery) Policy(ctx context.Context, tenant string) (Policy, error) {
	p, v, err := policyDoc.Get(ctx, d.store, PolicyKey(tenant))
	if core.ErrorCode(err) == core.CodeNotFound {
		return Policy{}, nil
	}
	p.Version = v
	return p, err
}

// SetPolicy replaces the tenant's delivery policy; ifVersion > 0 must be
// the version it replaces (If-Match).
func (d *Delivery) SetPolicy(ctx context.Context, tenant string, p Policy, ifVersion int64) (Policy, error) {
	if err := p.Normalize(); err != nil {
		return Policy{}, err
	}
	_, cur, err := policyDoc.Get(ctx, d.store, PolicyKey(tenant))
	if err != nil && core.ErrorCode(err) != core.CodeNotFound {
		return Policy{}, err
	}
	if ifVersion > 0 && cur != ifVersion {
		return Policy{}, record.Stale("messaging policy", tenant, ifVersion, cur)
	}
	p.UpdatedAt = d.now()
	w, err := policyDoc.Put(PolicyKey(tenant), cur, &p)
	if err != nil {
		return Policy{}, err
	}
	if err := d.store.Put(ctx, w.Item, w.Cond); errors.Is(err, store.ErrConditionFailed) {
		return Policy{}, record.Stale("messaging policy", tenant, ifVersion, -1)
	} else if err != nil {
		return Policy{}, fmt.Errorf("store messaging policy: %w", record.StoreError(err))
	}
	return p, nil
}

// Get returns one message; another tenant's is not found.
func (d *Delivery) Get(ctx context.Context, tenant, id string) (Message, error) {
	m, _, err := d.get(ctx, tenant, id)
	return m, err
}

// ByName returns the message of a contact and campaign step (a campaign's
// recipients list shows each one's); none asked yet is not found.
func (d *Delivery) ByName(ctx context.Context, tenant, contactID, campaignID, step string) (Message, error) {
	r := Request{CampaignID: campaignID, Step: step}
	it, err := d.store.Get(ctx, nameKey(tenant, contactID, r.name()))
	if errors.Is(err, store.ErrNotFound) {
		return Message{}, core.Errorf(core.CodeNotFound, "no message of campaign %s to %s", campaignID, contactID)
	} else if err != nil {
		return Message{}, fmt.Errorf("look up message: %w", record.StoreError(err))
	}
	id, err := record.PointerID(it)
	if err != nil {
		return Message{}, err
	}
	return d.Get(ctx, tenant, id)
}

func (d *Delivery) get(ctx context.Context, tenant, id string) (Message, int64, error) {
	if !core.ValidID(id) {
		return Message{}, 0, core.Errorf(core.CodeNotFound, "message %s not found", id)
	}
	m, v, err := messageDoc.Get(ctx, d.store, MessageKey(tenant, id))
	if core.ErrorCode(err) == core.CodeNotFound {
		return m, 0, core.Errorf(core.CodeNotFound, "message %s not found", id)
	}
	m.tenant = tenant
	return m, v, err
}

// Request asks for one message: it is requested now, deferred to the
// first time the policy allows, or skipped with a reason — and recorded
// either way. A request repeated for the same contact and name (campaign
// and step, or key) answers the first one's message and does nothing.
func (d *Delivery) Request(ctx context.Context, tenant string, r Request) (Outcome, error) {
	if err := r.Normalize(); err != nil {
		return Outcome{}, err
	}
	marker := nameKey(tenant, r.ContactID, r.name())
	for attempt := 0; ; attempt++ {
		if it, err := d.store.Get(ctx, marker); err == nil {
			id, err := record.PointerID(it)
			if err != nil {
				return Outcome{}, err
			}
			m, err := d.Get(ctx, tenant, id)
			return Outcome{Message: m, Duplicate: true}, err
		} else if !errors.Is(err, store.ErrNotFound) {
			return Outcome{}, fmt.Errorf("look up message: %w", record.StoreError(err))
		}
		now := d.now()
		m := Message{ID: core.NewID(now), CreatedAt: now, Request: r, tenant: tenant}
		writes, due, err := d.decide(ctx, tenant, &m, 0, now)
		if err != nil {
			return Outcome{}, err
		}
		pointer, _ := json.Marshal(record.Pointer{ID: m.ID})
		writes = append(writes, store.Write{Op: store.OpPut, Cond: store.Cond{MustNotExist: true},
			Item: store.Item{Key: marker, Version: 1, Data: pointer}})
		err = d.store.Transact(ctx, writes)
		if err == nil {
			if !due.IsZero() {
				d.timers.Notify(due)
			}
			return Outcome{Message: m}, nil
		}
		// Another request of the same message, or another send to the
		// contact, got there first: read again and decide again.
		if !errors.Is(err, store.ErrConditionFailed) || attempt == record.MaxRetries {
			return Outcome{}, fmt.Errorf("record message: %w", record.StoreError(err))
		}
	}
}

// TimerHandler sends deferred messages when their timer is due: the whole
// policy runs again then, so consent revoked, an address suppressed or a
// cap filled meanwhile is obeyed.
func (d *Delivery) TimerHandler() timers.Handler {
	return timers.Handler{Kind: TimerKind, Handle: func(ctx context.Context, t core.Timer) ([]store.Write, error) {
		m, v, err := d.get(ctx, t.Tenant, t.Subject)
		if core.ErrorCode(err) == core.CodeNotFound {
			return nil, nil // nothing to send: its contact's data was erased
		}
		if err != nil {
			return nil, err
		}
		if m.Status != StatusDeferred {
			return nil, nil // decided already (a duplicate firing)
		}
		if m.CampaignID != "" && d.CampaignGate != nil {
			gate, err := d.CampaignGate(ctx, t.Tenant, m.CampaignID)
			if err != nil {
				return nil, err
			}
			switch gate {
			case GateCancelled:
				writes, _, err := d.skip(ctx, t.Tenant, &m, v, d.now(), ReasonCancelled)
				return writes, err
			case GatePaused:
				return d.holdPaused(ctx, t.Tenant, &m, v, d.now())
			}
		}
		writes, _, err := d.decide(ctx, t.Tenant, &m, v, d.now())
		return writes, err
	}}
}

// Gate is what a message's campaign says of sending it now.
type Gate int

const (
	GateOpen      Gate = iota // send, through the whole policy
	GatePaused                // hold until the campaign is resumed
	GateCancelled             // skip: the campaign is cancelled
)

// PausedRecheck is how often a paused campaign's held message looks again:
// after a resume it goes within this long.
const PausedRecheck = time.Hour

// holdPaused defers m while its campaign is paused. The hold does not
// count against MaxDeferrals however long the pause lasts (a message past
// its own expiry is still skipped), and only its first recheck is an event
// (message.deferred by campaign_paused): the later ones move the timer.
func (d *Delivery) holdPaused(ctx context.Context, tenant string, m *Message, prev int64, now time.Time) ([]store.Write, error) {
	if d.timers == nil {
		return nil, errors.New("messaging: no timer service to defer with")
	}
	again := m.DeferredBy == HoldPaused
	at := now.Add(PausedRecheck)
	if !m.Expires.IsZero() && at.After(m.Expires) {
		writes, _, err := d.skip(ctx, tenant, m, prev, now, ReasonExpired)
		return writes, err
	}
	m.Status, m.DeferredUntil, m.DeferredBy = StatusDeferred, at, HoldPaused
	_, tw, err := d.timers.ScheduleWrite(ctx, tenant, core.TimerRequest{Kind: TimerKind, Subject: m.ID, Due: at,
		Key: fmt.Sprintf("%s#paused#%d", m.ID, at.Unix())})
	if err != nil {
		return nil, err
	}
	if again {
		m.UpdatedAt = now
		m.tenant = tenant
		w, err := messageDoc.Put(MessageKey(tenant, m.ID), prev, m)
		return []store.Write{w, tw}, err
	}
	writes, err := d.record(ctx, tenant, m, prev, now, events.MessageDeferred)
	return append(writes, tw), err
}

// decide applies the policy to m at now and returns the writes that record
// the answer: m itself (over version prev), its event, and the contact's
// send log (requested) or the send timer (deferred). It sets m's status.
// due is the new timer's due time, when it defers.
func (d *Delivery) decide(ctx context.Context, tenant string, m *Message, prev int64, now time.Time) (writes []store.Write, due time.Time, err error) {
	logKey := sendLogKey(tenant, m.ContactID)
	c, items, err := d.contacts.GetWith(ctx, tenant, m.ContactID, PolicyKey(tenant), logKey, tenancy.TenantKey(tenant))
	if core.ErrorCode(err) == core.CodeNotFound {
		return d.skip(ctx, tenant, m, prev, now, ReasonNoContact)
	}
	if err != nil {
		return nil, due, err
	}
	var (
		pol        Policy
		log        sendLog
		logVersion int64
		ten        = core.Tenant{ID: tenant}
	)
	for _, it := range items {
		switch it.Key {
		case PolicyKey(tenant):
			if pol, err = policyDoc.Decode(it); err == nil {
				err = pol.Normalize() // computes the parsed windows and minutes
			}
		case logKey:
			if !it.Expired(now) {
				log, err = sendLogDoc.Decode(it)
			}
			logVersion = it.Version
		default:
			err = json.Unmarshal(it.Data, &ten)
		}
		if err != nil {
			return nil, due, fmt.Errorf("read policy for message %s: %w", m.ID, err)
		}
	}

	if !consented(c.Consent, m.Channel) {
		return d.skip(ctx, tenant, m, prev, now, ReasonNoConsent)
	}
	m.Address = address(c, m.Channel)
	if m.Address == "" {
		return d.skip(ctx, tenant, m, prev, now, ReasonNoAddress)
	}
	if _, err := d.store.Get(ctx, suppressionKey(tenant, m.Address)); err == nil {
		return d.skip(ctx, tenant, m, prev, now, ReasonSuppressed)
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, due, fmt.Errorf("check suppression: %w", record.StoreError(err))
	}
	if !m.Expires.IsZero() && !now.Before(m.Expires) {
		return d.skip(ctx, tenant, m, prev, now, ReasonExpired)
	}

	// When: not before its time, outside the recipient's quiet hours,
	// within every cap.
	loc, src := RecipientZone(c, ten)
	m.TimeZone, m.TimeZoneSource = loc.String(), src
	q, quiet := pol.quiet(m.Channel)
	later := func(t time.Time) time.Time {
		if quiet {
			return q.QuietUntil(t, loc)
		}
		return t
	}
	at, by := now, ""
	if m.NotBefore.After(now) {
		at, by = m.NotBefore, "not_before"
	}
	if t := later(at); t.After(at) {
		at, by = t, "quiet_hours"
	}
	if !at.After(now) {
		log.Sends = pol.keep(log.Sends, now)
		ok, free := pol.capsAllow(log.Sends, m.Channel, m.Priority, now)
		if !ok {
			if m.OnCap == CapDrop {
				return d.skip(ctx, tenant, m, prev, now, ReasonCapped)
			}
			at, by = later(free), "cap"
		}
	}
	if at.After(now) {
		return d.deferTo(ctx, tenant, m, prev, now, at, by)
	}

	m.Status, m.Reason, m.RequestedAt, m.DeferredUntil = StatusRequested, "", now, time.Time{}
	m.IdempotencyKey = m.ID
	if m.Channel == Email {
		if m.Unsubscribe, err = d.unsubscribeFor(ctx, tenant, m); err != nil {
			return nil, due, err
		}
	}
	writes, err = d.record(ctx, tenant, m, prev, now, events.MessageRequested)
	if err != nil {
		return nil, due, err
	}
	if pol.capped(m.Channel) {
		log.Sends = append(log.Sends, send{At: now, Channel: m.Channel})
		w, err := sendLogDoc.Put(logKey, logVersion, &log)
		if err != nil {
			return nil, due, err
		}
		writes = append(writes, w)
	}
	return writes, due, nil
}

func (d *Delivery) skip(ctx context.Context, tenant string, m *Message, prev int64, now time.Time, why Reason) ([]store.Write, time.Time, error) {
	m.Status, m.Reason, m.DeferredUntil = StatusSkipped, why, time.Time{}
	w, err := d.record(ctx, tenant, m, prev, now, events.MessageSkipped)
	return w, time.Time{}, err
}

func (d *Delivery) deferTo(ctx context.Context, tenant string, m *Message, prev int64, now, at time.Time, by string) ([]store.Write, time.Time, error) {
	if !m.Expires.IsZero() && at.After(m.Expires) {
		return d.skip(ctx, tenant, m, prev, now, ReasonExpired)
	}
	if m.Deferrals >= MaxDeferrals {
		return d.skip(ctx, tenant, m, prev, now, ReasonTooManyTry)
	}
	if d.timers == nil {
		return nil, time.Time{}, errors.New("messaging: no timer service to defer with")
	}
	m.Deferrals++
	m.Status, m.DeferredUntil, m.DeferredBy = StatusDeferred, at, by
	// Keyed by the message and its deferral: scheduled once however often
	// this decision is retried, and a new timer for each new deferral.
	t, tw, err := d.timers.ScheduleWrite(ctx, tenant, core.TimerRequest{Kind: TimerKind, Subject: m.ID, Due: at,
		Key: fmt.Sprintf("%s#%d", m.ID, m.Deferrals)})
	if err != nil {
		return nil, time.Time{}, err
	}
	writes, err := d.record(ctx, tenant, m, prev, now, events.MessageDeferred)
	return append(writes, tw), t.Next, err
}

// record is the message's write over prev and its event, on the contact's
// timeline.
func (d *Delivery) record(ctx context.Context, tenant string, m *Message, prev int64, now time.Time, typ events.Type) ([]store.Write, error) {
	m.UpdatedAt = now
	m.tenant = tenant
	w, err := messageDoc.Put(MessageKey(tenant, m.ID), prev, m)
	if err != nil {
		return nil, err
	}
	ew, err := messageEvent(ctx, tenant, m, typ, now)
	if err != nil {
		return nil, err
	}
	return []store.Write{w, ew}, nil
}

func messageEvent(ctx context.Context, tenant string, m *Message, typ events.Type, at time.Time) (store.Write, error) {
	data, err := json.Marshal(m)
	if err != nil {
		return store.Write{}, fmt.Errorf("encode message %s: %w", m.ID, err)
	}
	ev := events.New(ctx, tenant, typ, at, events.Entity{Type: "message", ID: m.ID, Data: data})
	ev.Timeline = &events.Entity{Type: "contact", ID: m.ContactID}
	return events.OutboxWrite(ev)
}

// consented says whether consent on ch is granted: an absent channel was
// never asked, which is not consent.
func consented(c *core.Consent, ch Channel) bool {
	if c == nil {
		return false
	}
	var cc *core.ChannelConsent
	switch ch {
	case Email:
		cc = c.Email
	case SMS:
		cc = c.SMS
	case Push:
		cc = c.Push
	case Post:
		cc = c.Post
	case Phone:
		cc = c.Phone
	}
	return cc != nil && cc.Status == core.ConsentGranted
}

// address is where a message on ch goes: the primary e-mail; the first
// mobile number for SMS (the first number when none is labelled mobile);
// the first number for a call; the contact itself for push (the provider
// holds the devices); the postal address on one line, when it has a
// street and a country.
func address(c core.Contact, ch Channel) string {
	switch ch {
	case Email:
		if a := c.PrimaryEmail(); a != "" {
			return a
		}
		if len(c.Emails) > 0 {
			return c.Emails[0].Address
		}
	case SMS:
		for _, p := range c.Phones {
			if p.Label == "mobile" {
				return p.Number
			}
		}
		fallthrough
	case Phone:
		if len(c.Phones) > 0 {
			return c.Phones[0].Number
		}
	case Push:
		return c.ID
	case Post:
		a := c.Address
		if a == nil || a.Line1 == "" || a.Country == "" {
			return ""
		}
		var parts []string
		for _, s := range []string{strings.TrimSpace(c.FirstName + " " + c.LastName), a.Line1, a.Line2, strings.TrimSpace(a.PostalCode + " " + a.City), a.Region, a.Country} {
			if s != "" {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, ", ")
	}
	return ""
}
