package extract

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/bantin/bantin/internal/model"
)

// garbledShare is the share of garbled words above which a page's text
// layer is reported as poor OCR.
const garbledShare = 0.15

// garbledPages returns the pages whose text looks like a poor OCR layer:
// many words that mix Latin with Cyrillic letters, Cyrillic words on a
// Latin page, or digits and symbols between letters ("h9i", "E>i~u"), as
// ABBYY FineReader produces when it reads Vietnamese with the wrong
// language.
func garbledPages(paras []model.Paragraph) []int {
	type count struct{ words, bad, latin, cyrillic int }
	per := map[int]*count{}
	var order []int
	for _, p := range paras {
		c := per[p.Page]
		if c == nil {
			c = &count{}
			per[p.Page] = c
			order = append(order, p.Page)
		}
		for _, w := range strings.Fields(p.Text) {
			c.words++
			latin, cyrillic, bad := scripts(w)
			switch {
			case bad:
				c.bad++
			case latin:
				c.latin++
			case cyrillic:
				c.cyrillic++
			}
		}
	}
	var out []int
	for _, pg := range order {
		c := per[pg]
		bad := c.bad
		if c.latin > c.cyrillic {
			bad += c.cyrillic // Cyrillic words on a Latin page: misread letters
		}
		if c.words >= 20 && float64(bad) > garbledShare*float64(c.words) {
			out = append(out, pg)
		}
	}
	return out
}

// scripts reports whether a word has Latin and Cyrillic letters, and
// whether it is garbled: both scripts at once, or a digit or an odd symbol
// between letters.
func scripts(w string) (latin, cyrillic, garbled bool) {
	w = strings.TrimFunc(w, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	prevLetter := false
	for i, r := range w {
		switch {
		case r < utf8.RuneSelf && ('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z'):
			latin = true // unicode.Is(unicode.Latin, r), without the table
		case unicode.Is(unicode.Latin, r):
			latin = true
		case unicode.Is(unicode.Cyrillic, r):
			cyrillic = true
		case (unicode.IsDigit(r) || strings.ContainsRune("~€\\|{}<>", r)) && prevLetter && nextIsLetter(w, i):
			garbled = true
		}
		prevLetter = unicode.IsLetter(r)
	}
	return latin, cyrillic, garbled || latin && cyrillic
}

// nextIsLetter reports whether the rune after the one at byte i of w is a
// letter (an invalid byte reads as U+FFFD, as in []rune(w)).
func nextIsLetter(w string, i int) bool {
	_, size := utf8.DecodeRuneInString(w[i:])
	if i+size >= len(w) {
		return false
	}
	r, _ := utf8.DecodeRuneInString(w[i+size:])
	return unicode.IsLetter(r)
}
