package messaging

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
)

// UnsubscribePath is the public path of one-click unsubscribe links; the
// token is its last segment.
const UnsubscribePath = "/u/"

// MaxSigningKeys is how many unsubscribe signing keys a tenant keeps: the
// newest signs, every kept one verifies, so links in mail sent before a
// rotation keep working until two more rotations.
const MaxSigningKeys = 3

// signingKeys is a tenant's unsubscribe signing keys, newest last. They
// are made on first use and live in the table with the tenant's data.
type signingKeys struct {
	Keys []signingKey `json:"keys"`
}

type signingKey struct {
	ID        string    `json:"id"`
	Secret    []byte    `json:"secret"`
	CreatedAt time.Time `json:"created_at"`
}

var signingDoc = record.Doc[signingKeys]{Name: "unsubscribe signing keys"}

func signingKeysKey(tenant string) store.Key {
	return store.Tenant(tenant).Marker("messaging-signing-keys")
}

func newSigningKey(now time.Time) signingKey {
	secret := make([]byte, 32)
	_, _ = rand.Read(secret) // crypto/rand.Read never fails (Go 1.24+)
	return signingKey{ID: core.NewID(now), Secret: secret, CreatedAt: now}
}

// keys returns the tenant's signing keys, making the first one if need be.
func (d *Delivery) keys(ctx context.Context, tenant string) (signingKeys, error) {
	ks, _, err := signingDoc.Get(ctx, d.store, signingKeysKey(tenant))
	if core.ErrorCode(err) != core.CodeNotFound {
		return ks, err
	}
	ks = signingKeys{Keys: []signingKey{newSigningKey(d.now())}}
	if err := signingDoc.Create(ctx, d.store, signingKeysKey(tenant), &ks); core.ErrorCode(err) == core.CodeConflict {
		ks, _, err = signingDoc.Get(ctx, d.store, signingKeysKey(tenant)) // another request made it first
		return ks, err
	} else if err != nil {
		return ks, err
	}
	return ks, nil
}

// RotateSigningKey adds a new unsubscribe signing key, which signs from
// now on; the oldest beyond MaxSigningKeys stops verifying (its links
// answer 404).
func (d *Delivery) RotateSigningKey(ctx context.Context, tenant string) error {
	_, err := signingDoc.Update(ctx, d.store, signingKeysKey(tenant), true, func(ks *signingKeys, _ bool) error {
		ks.Keys = append(ks.Keys, newSigningKey(d.now()))
		if n := len(ks.Keys); n > MaxSigningKeys {
			ks.Keys = slices.Clone(ks.Keys[n-MaxSigningKeys:])
		}
		return nil
	})
	return err
}

// tokenClaims is what an unsubscribe token says, signed.
type tokenClaims struct {
	Tenant, KeyID, MessageID, ContactID string
	Channel                             Channel
}

const tokenVersion = "1"

func (c tokenClaims) payload() string {
	return strings.Join([]string{tokenVersion, c.Tenant, c.KeyID, c.MessageID, c.ContactID, string(c.Channel)}, "|")
}

func mac(secret []byte, payload string) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(payload))
	return h.Sum(nil)
}

var b64 = base64.RawURLEncoding

// signToken makes the token of claims with key: the payload and its
// HMAC-SHA256, each base64url, joined by a dot.
func signToken(c tokenClaims, key signingKey) string {
	c.KeyID = key.ID
	p := c.payload()
	return b64.EncodeToString([]byte(p)) + "." + b64.EncodeToString(mac(key.Secret, p))
}

// MaxTokenLength bounds what the parser reads.
const MaxTokenLength = 512

var errBadToken = errors.New("not an unsubscribe token")

// parseToken reads a token's claims without checking its signature: the
// tenant it names says which keys verify it.
func parseToken(tok string) (tokenClaims, []byte, error) {
	if len(tok) > MaxTokenLength {
		return tokenClaims{}, nil, errBadToken
	}
	enc, sig, ok := strings.Cut(tok, ".")
	if !ok {
		return tokenClaims{}, nil, errBadToken
	}
	p, err1 := b64.DecodeString(enc)
	s, err2 := b64.DecodeString(sig)
	if err1 != nil || err2 != nil || len(s) != sha256.Size {
		return tokenClaims{}, nil, errBadToken
	}
	parts := strings.Split(string(p), "|")
	if len(parts) != 6 || parts[0] != tokenVersion {
		return tokenClaims{}, nil, errBadToken
	}
	c := tokenClaims{Tenant: parts[1], KeyID: parts[2], MessageID: parts[3], ContactID: parts[4], Channel: Channel(parts[5])}
	if !core.ValidTenantID(c.Tenant) || !core.ValidID(c.KeyID) || !core.ValidID(c.MessageID) || !core.ValidID(c.ContactID) ||
		!slices.Contains(Channels, c.Channel) {
		return tokenClaims{}, nil, errBadToken
	}
	if c.payload() != string(p) {
		return tokenClaims{}, nil, errBadToken // one spelling per claims, so a token is never malleable
	}
	return c, s, nil
}

// TokenTenant is the tenant a token names, unverified: enough to choose
// whose budget a public request spends (a forged one spends the forger's
// own address's), never to act on.
func TokenTenant(tok string) (string, bool) {
	c, _, err := parseToken(tok)
	return c.Tenant, err == nil
}

// verify checks a token against its tenant's keys: a forged, altered or
// retired token, and one of a tenant that is not there, are all simply
// not found.
func (d *Delivery) verify(ctx context.Context, tok string) (tokenClaims, error) {
	notFound := core.Errorf(core.CodeNotFound, "no such unsubscribe link")
	c, sig, err := parseToken(tok)
	if err != nil {
		return c, notFound
	}
	ks, _, err := signingDoc.Get(ctx, d.store, signingKeysKey(c.Tenant))
	if core.ErrorCode(err) == core.CodeNotFound {
		return c, notFound
	}
	if err != nil {
		return c, err
	}
	i := slices.IndexFunc(ks.Keys, func(k signingKey) bool { return k.ID == c.KeyID })
	if i < 0 || !hmac.Equal(sig, mac(ks.Keys[i].Secret, c.payload())) {
		return c, notFound
	}
	return c, nil
}

// unsubscribeFor signs the one-click unsubscribe of an e-mail message.
func (d *Delivery) unsubscribeFor(ctx context.Context, tenant string, m *Message) (*Unsubscribe, error) {
	ks, err := d.keys(ctx, tenant)
	if err != nil {
		return nil, err
	}
	tok := signToken(tokenClaims{Tenant: tenant, MessageID: m.ID, ContactID: m.ContactID, Channel: m.Channel}, ks.Keys[len(ks.Keys)-1])
	url := d.PublicURL + UnsubscribePath + tok
	return &Unsubscribe{URL: url, ListUnsubscribe: "<" + url + ">", ListUnsubscribePost: "List-Unsubscribe=One-Click"}, nil
}

// UnsubscribeTarget is what a link would unsubscribe, for its confirmation page.
type UnsubscribeTarget struct {
	Channel Channel
	Address string
}

// CheckUnsubscribe verifies a link and says what it unsubscribes,
// changing nothing (the page a GET shows: mail scanners follow links, so
// only a POST acts).
func (d *Delivery) CheckUnsubscribe(ctx context.Context, tok string) (UnsubscribeTarget, error) {
	c, err := d.verify(ctx, tok)
	if err != nil {
		return UnsubscribeTarget{}, err
	}
	m, err := d.Get(ctx, c.Tenant, c.MessageID)
	if err != nil || m.ContactID != c.ContactID || m.Channel != c.Channel {
		return UnsubscribeTarget{}, core.Errorf(core.CodeNotFound, "no such unsubscribe link")
	}
	return UnsubscribeTarget{Channel: m.Channel, Address: m.Address}, nil
}

// Unsubscribe acts on a one-click unsubscribe (RFC 8058): the contact's
// consent on the channel is denied (source "one-click unsubscribe", with
// its contact.updated event), the address is suppressed and the message
// gets its message.unsubscribed event. The token is the only authority;
// acting twice changes nothing more.
func (d *Delivery) Unsubscribe(ctx context.Context, tok string) error {
	c, err := d.verify(ctx, tok)
	if err != nil {
		return err
	}
	m, err := d.Get(ctx, c.Tenant, c.MessageID)
	if err != nil || m.ContactID != c.ContactID || m.Channel != c.Channel {
		return core.Errorf(core.CodeNotFound, "no such unsubscribe link")
	}
	ctx = events.WithCause(ctx, events.Cause{Actor: events.Actor{Type: "system", ID: "one-click-unsubscribe"}})
	if err := d.withdraw(ctx, c.Tenant, m, "one-click unsubscribe"); err != nil {
		return fmt.Errorf("withdraw consent: %w", err)
	}
	_, _, err = d.receive(ctx, c.Tenant, m.ID, Receipt{Type: ReceiptUnsubscribed, At: d.now(), ProviderEventID: "one-click"})
	return err
}
