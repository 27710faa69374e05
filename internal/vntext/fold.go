package vntext

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Fold returns s in lower case without diacritics, with đ and Đ as d, for
// diacritic-insensitive search and matching: "Kế Hoạch" → "ke hoach",
// "Đảng" → "dang". Anything besides letters is kept. The input may be in any
// normalisation form; the result is NFC.
func Fold(s string) string {
	if out, ok := foldLatin(s); ok {
		return out
	}
	return foldSlow(s)
}

// foldLatin is Fold for the common case of text in Latin script (ASCII,
// Latin-1, Latin Extended, combining diacritics, Latin Extended
// Additional, which holds Vietnamese, and General Punctuation): each rune is replaced by its own
// fold from a table, without building the NFD and NFC forms of the whole
// string. In these blocks no composition can apply once the marks are
// gone, so the result equals foldSlow's. ok is false when s holds other
// runes.
func foldLatin(s string) (string, bool) {
	i := 0
	for i < len(s) && s[i] < utf8.RuneSelf {
		i++
	}
	if i == len(s) {
		return strings.ToLower(s), true
	}
	tab := latinFolds()
	b := make([]byte, 0, len(s))
	b = append(b, strings.ToLower(s[:i])...)
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b = append(b, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError:
			return "", false
		case r < 0x370:
			b = append(b, tab.low[r-utf8.RuneSelf]...)
		case 0x1E00 <= r && r <= 0x1EFF:
			b = append(b, tab.ext[r-0x1E00]...)
		case 0x2000 <= r && r <= 0x206F:
			b = append(b, tab.punct[r-0x2000]...)
		default:
			return "", false
		}
		i += size
	}
	return string(b), true
}

// foldTable holds the fold of every non-ASCII rune below U+0370 (low), of
// Latin Extended Additional (ext) and of General Punctuation (punct:
// dashes, curly quotes).
type foldTable struct {
	low   [0x370 - utf8.RuneSelf]string
	ext   [0x100]string
	punct [0x70]string
}

// latinFolds builds the table once; it is read-only afterwards.
var latinFolds = sync.OnceValue(func() *foldTable {
	t := new(foldTable)
	for r := rune(utf8.RuneSelf); r < 0x370; r++ {
		t.low[r-utf8.RuneSelf] = foldSlow(string(r))
	}
	for r := rune(0x1E00); r <= 0x1EFF; r++ {
		t.ext[r-0x1E00] = foldSlow(string(r))
	}
	for r := rune(0x2000); r <= 0x206F; r++ {
		t.punct[r-0x2000] = foldSlow(string(r))
	}
	return t
})

// foldSlow is Fold for any script: NFD, marks dropped, lower case, NFC.
func foldSlow(s string) string {
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
