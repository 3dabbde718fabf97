package core_test

import (
	"errors"
	"strings"
	"testing"
	"unicode"

	"github.com/fedele-crm/fedele/core"
)

// domainOfLen returns a valid domain of exactly n bytes (n >= 5), made of
// labels of at most 63 characters and ending in ".com".
func domainOfLen(n int) string {
	var b strings.Builder
	for rest := n - len(".com"); rest > 0; {
		if b.Len() > 0 {
			b.WriteByte('.')
			rest--
		}
		l := min(rest, 63)
		if rest-l == 1 { // never leave room for a lone dot
			l--
		}
		b.WriteString(strings.Repeat("d", l))
		rest -= l
	}
	b.WriteString(".com")
	return b.String()
}

func TestNormalizeEmail(t *testing.T) {
	local64 := strings.Repeat("a", 64)
	max254 := local64 + "@" + domainOfLen(254-65)
	if len(max254) != 254 {
		t.Fatalf("test set-up: built a %d-byte address, want 254", len(max254))
	}
	tests := []struct {
		name string
		in   string
		want string // "" means ErrBadEmail
	}{
		{"plain", "alice@example.com", "alice@example.com"},
		{"trimmed and lower-cased", "  Alice.Smith@Example.COM \t", "alice.smith@example.com"},
		{"plus and dots in local part", "Bob.O+crm@mail.example.co.uk", "bob.o+crm@mail.example.co.uk"},
		{"short domain", "a@b.co", "a@b.co"},
		{"exactly 254 characters", max254, max254},
		{"local part of exactly 64", local64 + "@example.com", local64 + "@example.com"},
		{"over 254 characters", local64 + "@" + domainOfLen(254-64), ""},
		{"local part over 64", strings.Repeat("a", 65) + "@example.com", ""},
		{"empty", "", ""},
		{"blank", "   ", ""},
		{"display name", "Alice <alice@example.com>", ""},
		{"quoted display name", `"Alice" <alice@example.com>`, ""},
		{"angle brackets only", "<alice@example.com>", ""},
		{"quoted local part", `"alice"@example.com`, ""},
		{"comment", "alice(work)@example.com", ""},
		{"missing @", "alice.example.com", ""},
		{"two @", "alice@home@example.com", ""},
		{"empty local part", "@example.com", ""},
		{"empty domain", "alice@", ""},
		{"no dot in domain", "alice@localhost", ""},
		{"leading dot in domain", "alice@.example.com", ""},
		{"trailing dot in domain", "alice@example.com.", ""},
		{"double dot in domain", "alice@example..com", ""},
		{"leading dot in local part", ".alice@example.com", ""},
		{"trailing dot in local part", "alice.@example.com", ""},
		{"double dot in local part", "al..ice@example.com", ""},
		{"space in local part", "al ice@example.com", ""},
		{"space in domain", "alice@exa mple.com", ""},
		{"tab inside", "al\tice@example.com", ""},
		{"non-breaking space inside", "al\u00a0ice@example.com", ""},
		{"NUL", "alice\x00@example.com", ""},
		{"control character", "ali\x01ce@example.com", ""},
		{"DEL", "alice\x7f@example.com", ""},
		{"line break inside", "alice@exam\nple.com", ""},
		{"comma-separated list", "alice@example.com, bob@example.com", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := core.NormalizeEmail(tt.in)
			if tt.want == "" {
				if !errors.Is(err, core.ErrBadEmail) {
					t.Errorf("NormalizeEmail(%q) = %q, %v; want ErrBadEmail", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("NormalizeEmail(%q) = %q, %v; want %q, nil", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestNormalizePhone(t *testing.T) {
	tests := []struct {
		name, in, region string
		want             string // "" means ErrBadPhone
	}{
		{"US national with parentheses and dash", "(202) 555-0123", "US", "+12025550123"},
		{"US national digits only", "2025550123", "US", "+12025550123"},
		{"US national with dots", "202.555.0123", "US", "+12025550123"},
		{"US with trunk prefix 1", "1 202 555 0123", "US", "+12025550123"},
		{"region is case-insensitive", "2025550123", "us", "+12025550123"},
		{"IT landline keeps its leading 0", "06 1234 5678", "IT", "+390612345678"},
		{"IT mobile", "333 123 4567", "IT", "+393331234567"},
		{"IT with 00 international prefix", "0039 333 1234567", "IT", "+393331234567"},
		{"GB national drops trunk 0", "020 7946 0958", "GB", "+442079460958"},
		{"GB mobile with dashes", "07911-123-456", "GB", "+447911123456"},
		{"DE national", "030 12345678", "DE", "+493012345678"},
		{"DE with parentheses", "(030) 1234-5678", "DE", "+493012345678"},
		{"already E.164", "+12025550123", "US", "+12025550123"},
		{"E.164 with spaces", "+44 20 7946 0958", "GB", "+442079460958"},
		{"E.164 ignores the region", "+39 06 1234 5678", "US", "+390612345678"},
		{"E.164 without a region", "+49 30 12345678", "", "+493012345678"},
		{"E.164 with unknown region", "+1 202 555 0123", "XX", "+12025550123"},
		{"surrounding blanks", "  +1 202 555 0123\t", "", "+12025550123"},
		{"empty", "", "US", ""},
		{"blank", "   ", "US", ""},
		{"too short", "123", "US", ""},
		{"too short E.164", "+1 202", "", ""},
		{"too long", "202555012345678", "US", ""},
		{"more than the 15 digits of E.164", "20100000000000", "DE", ""}, // phonenumbers calls it valid
		{"blanks past 64 characters are trimmed first", "+1 202 555 0123" + strings.Repeat(" ", 60), "US", "+12025550123"},
		{"over 64 characters of digits", strings.Repeat("1", 65), "US", ""},
		{"letters", "call me maybe", "US", ""},
		{"unassigned country code", "+999 1234 5678", "", ""},
		{"invalid US area code", "(012) 555-0123", "US", ""},
		{"national number without region", "2025550123", "", ""},
		{"national number with unknown region", "2025550123", "XX", ""},
		{"GB number read as US", "020 7946 0958", "US", ""},
		{"US number read as GB", "2025550123", "GB", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := core.NormalizePhone(tt.in, tt.region)
			if tt.want == "" {
				if !errors.Is(err, core.ErrBadPhone) {
					t.Errorf("NormalizePhone(%q, %q) = %q, %v; want ErrBadPhone", tt.in, tt.region, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("NormalizePhone(%q, %q) = %q, %v; want %q, nil", tt.in, tt.region, got, err, tt.want)
			}
		})
	}
}

func TestNormalizeRegion(t *testing.T) {
	tests := []struct {
		in, want string // want "" means ErrBadRegion
	}{
		{"IT", "IT"},
		{"it", "IT"},
		{" gb ", "GB"},
		{"De", "DE"},
		{"US", "US"},
		{"", ""},
		{"   ", ""},
		{"XX", ""},
		{"UK", ""}, // the ISO code is GB
		{"USA", ""},
		{"001", ""}, // phonenumbers' non-geographic entity
		{"I", ""},
		{"I T", ""},
	}
	for _, tt := range tests {
		got, err := core.NormalizeRegion(tt.in)
		if tt.want == "" {
			if !errors.Is(err, core.ErrBadRegion) {
				t.Errorf("NormalizeRegion(%q) = %q, %v; want ErrBadRegion", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizeRegion(%q) = %q, %v; want %q, nil", tt.in, got, err, tt.want)
		}
	}
}

func TestNormalizeDomain(t *testing.T) {
	label63 := strings.Repeat("a", 63)
	tests := []struct {
		in, want string // want "" means refused
	}{
		{"https://www.Example.com/about", "example.com"},
		{"example.com", "example.com"},
		{"  EXAMPLE.com  ", "example.com"},
		{"http://shop.example.co.uk?ref=x#top", "shop.example.co.uk"},
		{"example.com/", "example.com"},
		{"example.com.", "example.com"},
		{"www.example.com", "example.com"},
		{"ftp://files.example.org/pub", "files.example.org"},
		{"my-company.io", "my-company.io"},
		{"a.b", "a.b"},
		{"xn--bcher-kva.example", "xn--bcher-kva.example"},
		{label63 + ".com", label63 + ".com"},
		{domainOfLen(253), domainOfLen(253)},
		{"", ""},
		{"   ", ""},
		{"https://", ""},
		{"com", ""},
		{"localhost", ""},
		{"www.com", ""}, // "com" once www. is gone
		{"a.", ""},
		{"-example.com", ""},
		{"example-.com", ""},
		{"example.-com", ""},
		{"exa_mple.com", ""},
		{"exa mple.com", ""},
		{"example..com", ""},
		{".example.com", ""},
		{"bücher.example", ""},
		{"user@example.com", ""},
		{"example.com:8080", ""},
		{strings.Repeat("a", 64) + ".com", ""},
		{domainOfLen(254), ""},
	}
	for _, tt := range tests {
		got, ok := core.NormalizeDomain(tt.in)
		if tt.want == "" {
			if ok {
				t.Errorf("NormalizeDomain(%q) = %q, true; want refused", tt.in, got)
			}
			continue
		}
		if !ok || got != tt.want {
			t.Errorf("NormalizeDomain(%q) = %q, %v; want %q, true", tt.in, got, ok, tt.want)
		}
	}
}

func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{
		"alice@example.com", "  Alice.Smith@Example.COM ", "Alice <alice@example.com>", `"a b"@example.com`,
		"a@b.c", "a@[127.0.0.1]", "alice@example..com", ".a@example.com", "\xff@example.com", "İ@example.com",
		"ǅ@example.com", "a@exämple.com", "alice(c)@example.com", strings.Repeat("a", 64) + "@" + domainOfLen(189), "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := core.NormalizeEmail(raw)
		if err != nil {
			if !errors.Is(err, core.ErrBadEmail) || got != "" {
				t.Fatalf("NormalizeEmail(%q) = %q, %v; a refusal must be \"\", ErrBadEmail", raw, got, err)
			}
			return
		}
		if got == "" || len(got) > 254 {
			t.Errorf("NormalizeEmail(%q) = %q: want 1-254 bytes, got %d", raw, got, len(got))
		}
		if lower := strings.ToLower(got); lower != got {
			t.Errorf("NormalizeEmail(%q) = %q: not lower-case (lower-cased: %q)", raw, got, lower)
		}
		if strings.ContainsFunc(got, unicode.IsSpace) {
			t.Errorf("NormalizeEmail(%q) = %q: contains white space", raw, got)
		}
		if strings.Count(got, "@") < 1 {
			t.Errorf("NormalizeEmail(%q) = %q: no @", raw, got)
		}
		again, err := core.NormalizeEmail(got)
		if err != nil || again != got {
			t.Errorf("NormalizeEmail(%q) = %q, but normalising that again = %q, %v; want %q, nil", raw, got, again, err, got)
		}
	})
}

func FuzzNormalizePhone(f *testing.F) {
	for _, s := range [][2]string{
		{"(202) 555-0123", "US"}, {"+12025550123", ""}, {"06 1234 5678", "IT"}, {"020 7946 0958", "GB"},
		{"030 12345678", "DE"}, {"0039 333 1234567", "IT"}, {"+800 1234 5678", ""}, {"123", "US"},
		{"tel:+1-202-555-0123", "us"}, {"+44 (0) 20 7946 0958", "GB"}, {"2025550123 ext. 12", "US"}, {"", ""},
		{"+39 06 1234 5678", "xx"}, {"1-800-FLOWERS", "US"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, raw, region string) {
		got, err := core.NormalizePhone(raw, region)
		if err != nil {
			if !errors.Is(err, core.ErrBadPhone) || got != "" {
				t.Fatalf("NormalizePhone(%q, %q) = %q, %v; a refusal must be \"\", ErrBadPhone", raw, region, got, err)
			}
			return
		}
		if len(got) < 2 || got[0] != '+' || strings.IndexFunc(got[1:], func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
			t.Errorf("NormalizePhone(%q, %q) = %q: want + followed by digits only", raw, region, got)
		}
		if len(got) > 16 {
			t.Errorf("NormalizePhone(%q, %q) = %q: E.164 allows at most 15 digits", raw, region, got)
		}
		for _, r := range []string{region, ""} {
			again, err := core.NormalizePhone(got, r)
			if err != nil || again != got {
				t.Errorf("NormalizePhone(%q, %q) = %q, but NormalizePhone(%q, %q) = %q, %v; want %q, nil", raw, region, got, got, r, again, err, got)
			}
		}
	})
}

func TestNormalizationEdges(t *testing.T) {
	for _, bad := range []string{"a@[127.0.0.1]", "a@-x.com", "a@x-.com", "a@x_y.com", "\xff@example.com"} {
		if got, err := core.NormalizeEmail(bad); err == nil {
			t.Errorf("NormalizeEmail(%q) = %q, want an error", bad, got)
		}
	}
	if d, ok := core.NormalizeDomain("https://www.www.Example.com/x"); !ok || d != "example.com" {
		t.Errorf("NormalizeDomain of www.www.: %q %v", d, ok)
	}
	if _, ok := core.NormalizeTag("\xffvip"); ok {
		t.Error("NormalizeTag accepted invalid UTF-8")
	}
	for id, want := range map[string]bool{"acme": true, "a": true, "acme-": false, "-acme": false, "a-b": true} {
		if core.ValidTenantID(id) != want {
			t.Errorf("ValidTenantID(%q) = %v, want %v", id, !want, want)
		}
	}
}
