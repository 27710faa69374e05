package extract

import (
	"strings"
	"unicode"

	"github.com/bantin/bantin/internal/model"
	"github.com/bantin/bantin/internal/vnlegacy"
)

// Legacy-font bytes travel through the layout as runes of Unicode's
// supplementary private use area B, one block of 256 per encoding, so that
// glyphs of a TCVN3 or VNI font on a page with Unicode fonts are decoded,
// and only they.
const (
	legacyBase    = 0x100000
	legacyTCVN3   = legacyBase
	legacyTCVN3H  = legacyBase + 0x100
	legacyVNI     = legacyBase + 0x200
	legacyEnd     = legacyBase + 0x300
	repairedNote  = "text in legacy Vietnamese fonts (%s) converted to Unicode"
	statisticNote = "text typed in the legacy %s encoding (recognised by its syllables) converted to Unicode"
)

// legacyRune carries byte c of a legacy-encoded font.
func legacyRune(enc string, capitals bool, c byte) rune {
	switch {
	case enc == vnlegacy.VNI:
		return legacyVNI + rune(c)
	case capitals:
		return legacyTCVN3H + rune(c)
	}
	return legacyTCVN3 + rune(c)
}

// decodeLegacy converts the runs of legacy runes in a line to Unicode and
// returns the encodings it found.
func decodeLegacy(line string) (string, []string) {
	if !strings.ContainsFunc(line, isLegacyRune) {
		return line, nil
	}
	var b strings.Builder
	var found []string
	rs := []rune(line)
	for i := 0; i < len(rs); {
		r := rs[i]
		if !isLegacyRune(r) {
			b.WriteRune(r)
			i++
			continue
		}
		block := (r - legacyBase) >> 8
		var raw []byte
		for i < len(rs) && isLegacyRune(rs[i]) && (rs[i]-legacyBase)>>8 == block {
			raw = append(raw, byte(rs[i]))
			i++
		}
		enc := vnlegacy.TCVN3
		if block == 2 {
			enc = vnlegacy.VNI
		}
		s := vnlegacy.Decode(raw, enc)
		if block == 1 {
			s = strings.ToUpper(s)
		}
		b.WriteString(s)
		found = appendUnique(found, enc)
	}
	return b.String(), found
}

func isLegacyRune(r rune) bool { return r >= legacyBase && r < legacyEnd }

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// repairStatistically converts paragraphs whose text, taken together,
// reads as TCVN3 or VNI mojibake (fonts whose names do not say so) and
// returns the encoding, "" when nothing was converted. Paragraphs are
// converted one by one only where each reads better converted, so Unicode
// paragraphs in the same document are kept.
func repairStatistically(paras []model.Paragraph) string {
	var all strings.Builder
	for _, p := range paras {
		all.WriteString(p.Text)
		all.WriteByte('\n')
	}
	enc := vnlegacy.Detect(all.String())
	if enc == "" {
		return ""
	}
	for i, p := range paras {
		raw, ok := vnlegacy.Bytes(p.Text)
		if !ok {
			continue
		}
		conv := vnlegacy.Decode(raw, enc)
		if vnlegacy.Count(conv).Syllables >= vnlegacy.Count(p.Text).Syllables {
			paras[i].Text = Normalize(conv)
		}
	}
	return enc
}

// repairLines is repairStatistically for raw lines, before Normalize drops
// the soft hyphen that is TCVN3's "ư".
// Lines already in Unicode (with characters no legacy byte decodes to,
// or marked in done) are left out of the detection and kept.
func repairLines(lines []string, done []bool) string {
	skip := func(i int) bool { return i < len(done) && done[i] }
	var sample []string
	for i, l := range lines {
		if _, ok := vnlegacy.Bytes(l); ok && !skip(i) {
			sample = append(sample, l)
		}
	}
	enc := vnlegacy.Detect(strings.Join(sample, "\n"))
	if enc == "" {
		return ""
	}
	for i, l := range lines {
		raw, ok := vnlegacy.Bytes(l)
		if !ok || skip(i) {
			continue
		}
		if conv := vnlegacy.Decode(raw, enc); vnlegacy.Count(conv).Syllables >= vnlegacy.Count(l).Syllables {
			lines[i] = conv
		}
	}
	return enc
}

// hasLetters reports whether s has a letter.
func hasLetters(s string) bool { return strings.IndexFunc(s, unicode.IsLetter) >= 0 }
