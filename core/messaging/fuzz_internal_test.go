package messaging

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// FuzzParseToken: whatever a link holds, parsing never panics, and what it
// accepts is claims of one spelling, which sign to the same payload again.
func FuzzParseToken(f *testing.F) {
	key := signingKey{ID: "01KBE9Z0000000000000000000", Secret: []byte("0123456789abcdef0123456789abcdef")}
	good := signToken(tokenClaims{Tenant: "acme", MessageID: "01KBE9Z0000000000000000001", ContactID: "01KBE9Z0000000000000000002", Channel: Email}, key)
	for _, s := range []string{good, "", ".", "a.b", good + "x", strings.Replace(good, ".", "..", 1), strings.Repeat("A", 600),
		b64.EncodeToString([]byte("1|acme|k|m|c|email")) + "." + b64.EncodeToString(make([]byte, 32))} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		c, sig, err := parseToken(tok)
		if err != nil {
			return
		}
		if len(sig) != 32 || !slices.Contains(Channels, c.Channel) {
			t.Fatalf("accepted %q: %+v", tok, c)
		}
		enc, _, _ := strings.Cut(tok, ".")
		if p, _ := b64.DecodeString(enc); string(p) != c.payload() {
			t.Fatalf("claims %+v re-spell as %q, token held %q", c, c.payload(), p)
		}
	})
}

// FuzzReceiptBody: any JSON body of POST /v1/messages/{id}/events decodes
// and normalises without panicking, and an accepted receipt keeps the
// rules (a click has its URL, a bounce its kind, nothing from the future).
func FuzzReceiptBody(f *testing.F) {
	for _, s := range []string{`{"type":"delivered"}`, `{"type":"clicked","url":"https://x.example/a"}`,
		`{"type":"bounced","bounce":"hard","provider_event_id":"e1"}`, `{"type":"opened","at":"2026-03-03T09:00:00Z"}`,
		`{"type":"bounced"}`, `{"type":"clicked"}`, `{}`, `[]`, `{"type":"delivered","url":"x"}`, `{"type":"opened","at":"9999-01-01T00:00:00Z"}`} {
		f.Add([]byte(s))
	}
	now := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		var r Receipt
		if json.Unmarshal(body, &r) != nil {
			return
		}
		if r.Normalize(now) != nil {
			return
		}
		switch {
		case !slices.Contains(ReceiptTypes, r.Type),
			(r.Type == ReceiptClicked) != (r.URL != ""),
			(r.Type == ReceiptBounced) != (r.Bounce != ""),
			r.At.After(now.Add(5 * time.Minute)), r.At.IsZero():
			t.Fatalf("accepted %s as %+v", body, r)
		}
	})
}
