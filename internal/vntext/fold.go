package vntext

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Fold returns s in lower case without diacritics, with đ and Đ as d, for
// diacritic-insensitive search and matching: "Kế Hoạch" → "ke hoach",
// "Đảng" → "dang". Anything besides letters is kept. The input may be in any
// normalisation form; the result is NFC.
func Fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range norm.NFD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		switch r {
		case 'đ', 'Đ', 'Ð', 'ð': // Ð (eth) is a common stand-in for Đ
			r = 'd'
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return norm.NFC.String(b.String())
}

// Syllables returns the lower-cased NFC syllables of s: the runs of letters
// and digits, with punctuation and white space dropped. A '.' or ',' between
// two digits stays inside its number, so "tăng 7,52%" gives "tăng", "7,52".
// Vietnamese writes one syllable per space-separated word, so these are the
// units for ROUGE and similarity.
func Syllables(s string) []string {
	s = norm.NFC.String(s)
	var out []string
	start := -1
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		inWord := unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
		if !inWord && (r == '.' || r == ',') && start >= 0 {
			prev, _ := utf8.DecodeLastRuneInString(s[:i])
			next, _ := utf8.DecodeRuneInString(s[i+size:])
			inWord = unicode.IsDigit(prev) && unicode.IsDigit(next)
		}
		switch {
		case inWord && start < 0:
			start = i
		case !inWord && start >= 0:
			out = append(out, strings.ToLower(s[start:i]))
			start = -1
		}
		i += size
	}
	if start >= 0 {
		out = append(out, strings.ToLower(s[start:]))
	}
	return out
}
