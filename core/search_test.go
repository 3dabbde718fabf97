package core_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core"
)

func TestFold(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"Éloïse", "eloise"},
		{"  ÅNGSTRÖM  Straße ", "angstrom strasse"},
		{"O'Brien", "obrien"},
		{"Łukasz Øster", "lukasz oster"},
		{"ada@Example.com", "ada@example.com"},
	} {
		if got := core.Fold(tt.in); got != tt.want {
			t.Errorf("Fold(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseSearch(t *testing.T) {
	for _, tt := range []struct {
		q    string
		want []string // driver first
		bad  bool
	}{
		{q: "Ada", want: []string{"ada"}},
		{q: "ada LOVE", want: []string{"love", "ada"}},
		{q: "Jean-Luc", want: []string{"jean", "luc"}},
		{q: "ada.love@ex", want: []string{"ada.love@ex"}},
		{q: "+1 (415) 555", want: []string{"1415555"}},
		{q: "Zoë j", want: []string{"zoe", "j"}},
		{q: "a", bad: true},
		{q: "a b", bad: true},
		{q: "!!", bad: true},
	} {
		got, err := core.ParseSearch(tt.q)
		if tt.bad {
			if core.ErrorCode(err) != core.CodeInvalid {
				t.Errorf("ParseSearch(%q) = %v, %v; want invalid", tt.q, got, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseSearch(%q): %v", tt.q, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got.Words); diff != "" {
			t.Errorf("ParseSearch(%q) words (-want +got):\n%s", tt.q, diff)
		}
	}
}
