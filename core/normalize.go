package core

import (
	"errors"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// Errors of normalisation; validation turns them into field messages.
var (
	ErrBadEmail  = errors.New("not a valid e-mail address")
	ErrBadPhone  = errors.New("not a valid phone number")
	ErrBadRegion = errors.New("not a known ISO 3166-1 region code")
)

// NormalizeEmail trims and lower-cases an address and checks that it is a
// bare addr-spec (no display name) with a dotted domain. Lower-casing the
// local part is technically lossy but is what every CRM does: two contacts
// differing only in case are the same person.
func NormalizeEmail(raw string) (string, error) {
	if !utf8.ValidString(raw) {
		return "", ErrBadEmail // ToLower would quietly turn bad bytes into U+FFFD
	}
	s := strings.ToLower(strings.TrimSpace(raw))
	if s == "" || len(s) > 254 {
		return "", ErrBadEmail
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == '<' || r == '>' {
			return "", ErrBadEmail
		}
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Name != "" || addr.Address != s {
		return "", ErrBadEmail
	}
	at := strings.LastIndexByte(s, '@')
	local, domain := s[:at], s[at+1:]
	if local == "" || len(local) > 64 || !strings.Contains(domain, ".") {
		return "", ErrBadEmail
	}
	// Host names only: no address literals ([127.0.0.1]), no empty labels,
	// no label that starts or ends with a dash, no underscores.
	for _, label := range strings.Split(domain, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' ||
			strings.ContainsAny(label, "[]_:") {
			return "", ErrBadEmail
		}
	}
	return s, nil
}

// NormalizePhone reads raw as a phone number, using region for numbers
// written without an international prefix, and returns it in E.164.
func NormalizePhone(raw, region string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" || len(s) > 64 {
		return "", ErrBadPhone
	}
	num, err := phonenumbers.Parse(s, strings.ToUpper(region))
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return "", ErrBadPhone
	}
	e164 := phonenumbers.Format(num, phonenumbers.E164)
	if len(e164) > 16 { // E.164 allows 15 digits; phonenumbers accepts longer ones for some regions (DE)
		return "", ErrBadPhone
	}
	return e164, nil
}

// NormalizeRegion upper-cases an ISO 3166-1 alpha-2 code and checks that it
// is one phonenumbers knows, which is every region that has phone numbers.
func NormalizeRegion(raw string) (string, error) {
	s := strings.ToUpper(strings.TrimSpace(raw))
	if _, ok := phonenumbers.GetSupportedRegions()[s]; !ok {
		return "", ErrBadRegion
	}
	return s, nil
}

// NormalizeDomain reduces what people paste as a company's domain
// ("https://www.Example.com/about") to the bare host ("example.com").
func NormalizeDomain(raw string) (string, bool) {
	s := strings.ToLower(strings.TrimSpace(raw))
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	for strings.HasPrefix(s, "www.") { // all of them, so that normalising is idempotent
		s = s[len("www."):]
	}
	s = strings.TrimSuffix(s, ".")
	if len(s) < 3 || len(s) > 253 || !strings.Contains(s, ".") {
		return "", false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "", false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return "", false
			}
		}
	}
	return s, true
}

// CheckText records a problem at path when s is not valid UTF-8, is longer
// than max characters or holds a control character: the rule of every
// free-text field, in every area.
func CheckText(p *Problems, path, s string, max int) { checkText(p, path, s, max) }
