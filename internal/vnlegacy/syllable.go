package vnlegacy

import (
	"strings"
	"sync"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// onsets are the initial consonants of Vietnamese spelling, longest first.
var onsets = []string{"ngh", "ch", "gh", "gi", "kh", "ng", "nh", "ph", "qu", "th", "tr", "b", "c", "d", "đ", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "x", ""}

// nuclei are the vowel groups of a rhyme with their optional medial
// (o/u): everything between the onset and the final consonant or glide.
var nuclei = map[string]bool{
	"a": true, "ă": true, "â": true, "e": true, "ê": true, "i": true, "y": true,
	"o": true, "ô": true, "ơ": true, "u": true, "ư": true,
	"ia": true, "iê": true, "yê": true, "ua": true, "uô": true, "ưa": true, "ươ": true,
	"oa": true, "oă": true, "oe": true, "uâ": true, "uê": true, "uy": true, "uơ": true,
	"uyê": true, "uya": true, "oo": true, "ôô": true, "uă": true, "ue": true, "ui": true,
}

// openNuclei may end a syllable without a final consonant or glide.
var openNuclei = map[string]bool{
	"a": true, "e": true, "ê": true, "i": true, "y": true, "o": true, "ô": true, "ơ": true,
	"u": true, "ư": true, "ia": true, "ua": true, "ưa": true, "oa": true, "oe": true,
	"uê": true, "uy": true, "uya": true, "uơ": true, "ue": true,
}

// codas are the final consonants and glides, longest first.
var codas = []string{"ch", "ng", "nh", "c", "m", "n", "p", "t", "i", "y", "o", "u", ""}

// toneOf splits a lower-case syllable into its tone mark (0 for level
// tone) and the toneless letters, NFC.
func toneOf(s string) (rune, string) {
	if t, out, ok := toneOfFast(s); ok {
		return t, out
	}
	var tone rune
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		switch r {
		case grave, acute, tilde, hook, dotBelow:
			if tone != 0 {
				return -1, ""
			}
			tone = r
		default:
			b.WriteRune(r)
		}
	}
	return tone, norm.NFC.String(b.String())
}

// ValidSyllable reports whether w (one word, any case) is spelt as a
// Vietnamese syllable: an onset, a rhyme made of a vowel group and an
// optional final, and at most one tone, which after a stop final (c, ch,
// p, t) must be the acute or the dot below.
func ValidSyllable(w string) bool {
	if w == "" || len(w) > 24 {
		return false
	}
	tone, s := toneOf(strings.ToLower(w))
	if tone < 0 || s == "" {
		return false
	}
	for _, r := range s {
		if r > unicode.MaxASCII && !strings.ContainsRune("ăâêôơưđ", r) {
			return false
		}
	}
	for _, on := range onsets {
		rest, ok := strings.CutPrefix(s, on)
		if !ok {
			continue
		}
		if on == "gi" && rest == "" { // "gì", "gi"
			return true
		}
		if rhymeOK(rest, tone) {
			return true
		}
		if on == "gi" && rhymeOK("i"+rest, tone) { // "gìn" = g + ìn
			return true
		}
	}
	return false
}

func rhymeOK(rest string, tone rune) bool {
	for _, coda := range codas {
		nuc, ok := strings.CutSuffix(rest, coda)
		if !ok || nuc == "" || !nuclei[nuc] {
			continue
		}
		if coda == "" && !openNuclei[nuc] {
			continue
		}
		switch coda {
		case "c", "ch", "p", "t":
			if tone != 0 && tone != acute && tone != dotBelow {
				continue
			}
		}
		return true
	}
	return false
}

// Stats counts the words of a text: Words is every run of letters,
// digits and the symbols OCR confuses with them (split at white space and
// punctuation that separates words), Syllables those that are valid
// Vietnamese syllables, Marked those with a letter only Vietnamese uses
// (ă â đ ê ô ơ ư or a tone mark), and Garbled those that mix letters with
// digits or symbols, or Latin with Cyrillic, or are capitalised inside.
//
// Broken counts the words with a Vietnamese letter or tone mark that are
// no valid syllable ("quc", "ngưòi"), Latin and Cyrillic the words
// written in one script only. Links, e-mail addresses and paths are not
// words.
type Stats struct {
	Words, Syllables, Marked, Garbled, Broken, Latin, Cyrillic int
}

// SyllableShare is the share of words that are valid syllables, 0 for no
// words.
func (s Stats) SyllableShare() float64 {
	if s.Words == 0 {
		return 0
	}
	return float64(s.Syllables) / float64(s.Words)
}

// Count returns the word statistics of text.
func Count(text string) Stats {
	var st Stats
	for _, tok := range strings.Fields(text) {
		tok = strings.TrimFunc(tok, func(r rune) bool {
			return unicode.IsPunct(r) && r != '~' || unicode.IsSpace(r)
		})
		if tok == "" || isNumber(tok) || strings.Contains(tok, "://") || strings.HasPrefix(tok, "www.") || strings.ContainsAny(tok, "@/\\") {
			continue
		}
		st.Words++
		latin, cyrillic := scriptsOf(tok)
		if latin && !cyrillic {
			st.Latin++
		} else if cyrillic && !latin {
			st.Cyrillic++
		}
		if ValidSyllable(tok) {
			st.Syllables++
			if marked(tok) {
				st.Marked++
			}
			continue
		}
		switch {
		case garbled(tok):
			st.Garbled++
		case marked(tok):
			st.Broken++
		}
	}
	return st
}

func scriptsOf(w string) (latin, cyrillic bool) {
	for _, r := range w {
		latin = latin || unicode.Is(unicode.Latin, r)
		cyrillic = cyrillic || unicode.Is(unicode.Cyrillic, r)
	}
	return latin, cyrillic
}

// BadShare is the share of words that are garbled, broken Vietnamese, or
// Cyrillic on a page that is mostly Latin (letters an OCR engine misread):
// a measure of how poor a text layer is that does not punish foreign
// words. 0 for no words.
func (s Stats) BadShare() float64 {
	if s.Words == 0 {
		return 0
	}
	bad := s.Garbled + s.Broken
	if s.Latin > s.Cyrillic {
		bad += s.Cyrillic
	}
	return float64(bad) / float64(s.Words)
}

func isNumber(s string) bool {
	for _, r := range s {
		if !unicode.IsDigit(r) && !strings.ContainsRune(".,/-:%", r) {
			return false
		}
	}
	return true
}

func marked(w string) bool {
	tab := runeTable()
	fast := true
	for _, r := range w {
		if r < 0x80 {
			continue
		}
		ri, ok := tab[unicode.ToLower(r)]
		if !ok {
			fast = false
			break
		}
		if ri.marked {
			return true
		}
	}
	if fast {
		return false
	}
	for _, r := range norm.NFD.String(strings.ToLower(w)) {
		if r == 'đ' || (r >= 0x300 && r <= 0x323) {
			return true
		}
	}
	return false
}

// garbled reports whether a word mixes letters with digits or symbols,
// Latin with Cyrillic letters, or has a capital after a small letter.
func garbled(w string) bool {
	var latin, cyrillic, other, lowerSeen, upperAfterLower bool
	letters := 0
	for _, r := range w {
		switch {
		case unicode.Is(unicode.Latin, r):
			latin = true
		case unicode.Is(unicode.Cyrillic, r):
			cyrillic = true
		case unicode.IsLetter(r), unicode.Is(unicode.Mn, r), r == '-', r == '\'', r == '’':
		default:
			other = true
		}
		if unicode.IsLetter(r) {
			letters++
			if unicode.IsLower(r) {
				lowerSeen = true
			} else if unicode.IsUpper(r) && lowerSeen {
				upperAfterLower = true
			}
		}
	}
	return letters > 0 && (other || latin && cyrillic || upperAfterLower)
}

type runeInfo struct {
	base   rune // the rune without its tone mark, NFC
	tone   rune
	marked bool
	ok     bool
}

var runeTable = sync.OnceValue(func() map[rune]runeInfo {
	m := map[rune]runeInfo{}
	for r := rune(0x80); r < 0x2000; r++ {
		d := norm.NFD.String(string(r))
		var tone rune
		var b strings.Builder
		bad := false
		mk := false
		for _, x := range d {
			if x == 'đ' || (x >= 0x300 && x <= 0x323) {
				mk = true
			}
			switch x {
			case grave, acute, tilde, hook, dotBelow:
				if tone != 0 {
					bad = true
				}
				tone = x
			default:
				b.WriteRune(x)
			}
		}
		rest := []rune(norm.NFC.String(b.String()))
		if bad || len(rest) != 1 || (rest[0] >= 0x300 && rest[0] < 0x370) {
			continue
		}
		m[r] = runeInfo{base: rest[0], tone: tone, marked: mk, ok: true}
	}
	return m
})

func toneOfFast(s string) (rune, string, bool) {
	tab := runeTable()
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return 0, s, true
	}
	var tone rune
	var b strings.Builder
	for _, r := range s {
		if r < 0x80 {
			b.WriteRune(r)
			continue
		}
		ri, ok := tab[r]
		if !ok {
			return 0, "", false
		}
		if ri.tone != 0 {
			if tone != 0 {
				return -1, "", true
			}
			tone = ri.tone
		}
		b.WriteRune(ri.base)
	}
	return tone, b.String(), true
}
