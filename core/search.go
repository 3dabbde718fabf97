package core

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Search: what a record is found by (its tokens) and what a query asks
// (its words), both in one folded form, so that "Éloïse" finds "eloise" and
// "ELOISE" alike. A word matches a token it is a prefix of; a query matches
// a record when each of its words matches one of the record's tokens.

// Bounds of search. MinSearchWord is what an index query needs (its
// partition is the first two characters of a token); MaxNameTokens bounds
// the index entries a name writes, which a record's transaction must fit
// beside its e-mails, phones and tags (docs/keys.md, "Search").
const (
	MinSearchWord  = 2
	MaxSearchQuery = 200
	MaxNameTokens  = 5
	// maxSortName bounds a sort key's name part, far under an index key's
	// 1 024 bytes.
	maxSortName = 200
)

// specialFolds are letters that do not decompose into a base letter and a
// mark, spelled as a reader who lacks them types them.
var specialFolds = map[rune]string{
	'ß': "ss", 'ẞ': "ss", 'æ': "ae", 'Æ': "ae", 'œ': "oe", 'Œ': "oe", 'ø': "o", 'Ø': "o",
	'đ': "d", 'Đ': "d", 'ð': "d", 'Ð': "d", 'ł': "l", 'Ł': "l", 'ı': "i", 'þ': "th", 'Þ': "th",
}

// Fold puts s in the form search compares: lower case, without accents
// (canonical decomposition, marks dropped), without apostrophes (O'Brien is
// obrien), spaces collapsed.
func Fold(s string) string {
	var b strings.Builder
	space := false
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r), r == '\'', r == '’', r == 'ʼ':
			continue
		case unicode.IsSpace(r) || unicode.IsControl(r):
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		if f, ok := specialFolds[r]; ok {
			b.WriteString(f)
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// NameTokens are the words of a name, folded, split at anything that is not
// a letter or a digit ("Jean-Luc" is jean and luc), without duplicates.
func NameTokens(names ...string) []string {
	var out []string
	for _, n := range names {
		for _, w := range strings.FieldsFunc(Fold(n), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			if !slices.Contains(out, w) {
				out = append(out, w)
			}
		}
	}
	return out
}

// PhoneToken is an E.164 number's token: its digits, from the country code.
func PhoneToken(e164 string) string { return strings.TrimPrefix(e164, "+") }

// Indexable reports whether a token is long enough to be found through the
// index: a word shorter than MinSearchWord never drives a query.
func Indexable(token string) bool { return utf8.RuneCountInString(token) >= MinSearchWord }

// SearchPartition is the part of a token that names its index partition.
func SearchPartition(token string) string {
	i := 0
	for n := range token {
		if i == MinSearchWord {
			return token[:n]
		}
		i++
	}
	return token
}

// SortName is the name part of a record's sort key: folded, bounded.
func SortName(name string) string {
	s := Fold(name)
	if len(s) <= maxSortName {
		return s
	}
	cut := maxSortName
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// SearchQuery is a parsed q: its folded words, the one that drives the
// index query (the longest) first.
type SearchQuery struct {
	Words []string
}

// ParseSearch reads q. A query of only digits and phone punctuation is one
// phone word (its digits); a word holding "@" or "." is kept whole (an
// e-mail or domain prefix); other words split at punctuation, as names do.
func ParseSearch(q string) (SearchQuery, error) {
	bad := func(msg string) error {
		return &Error{Code: CodeInvalid, Message: "validation failed", Fields: []FieldError{{Path: "q", Message: msg, Value: q}}}
	}
	if !utf8.ValidString(q) || len(q) > MaxSearchQuery {
		return SearchQuery{}, bad("must be valid text of up to 200 bytes")
	}
	f := Fold(q)
	var words []string
	if digits, ok := phoneDigits(f); ok {
		words = []string{digits}
	} else {
		for _, w := range strings.Fields(f) {
			if strings.ContainsAny(w, "@.") {
				words = appendNew(words, w)
				continue
			}
			for _, p := range NameTokens(w) {
				words = appendNew(words, p)
			}
		}
	}
	best := -1
	for i, w := range words {
		if Indexable(w) && (best < 0 || utf8.RuneCountInString(w) > utf8.RuneCountInString(words[best])) {
			best = i
		}
	}
	if best < 0 {
		return SearchQuery{}, bad("needs a word of at least 2 letters or digits")
	}
	words[0], words[best] = words[best], words[0]
	return SearchQuery{Words: words}, nil
}

// Driver is the word the index is queried with.
func (q SearchQuery) Driver() string { return q.Words[0] }

// Match reports whether every word is a prefix of one of tokens.
func (q SearchQuery) Match(tokens []string) bool {
	for _, w := range q.Words {
		found := false
		for _, t := range tokens {
			if strings.HasPrefix(t, w) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// First is the smallest of tokens the driving word is a prefix of: the one
// entry, among a record's, that stands for it in a search, so that a record
// matching through several tokens is listed once. "" when none.
func (q SearchQuery) First(tokens []string) string {
	first := ""
	for _, t := range tokens {
		if strings.HasPrefix(t, q.Driver()) && (first == "" || t < first) {
			first = t
		}
	}
	return first
}

func phoneDigits(f string) (string, bool) {
	var b strings.Builder
	for _, r := range f {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case strings.ContainsRune("+-() .", r):
		default:
			return "", false
		}
	}
	return b.String(), b.Len() >= MinSearchWord
}

func appendNew(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}
