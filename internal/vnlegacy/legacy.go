package vnlegacy

import (
	"strings"
	"unicode"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/unicode/norm"
)

// Encodings reported by Detect and FontEncoding.
const (
	TCVN3 = "tcvn3"
	VNI   = "vni"
)

// tcvn3 maps the bytes 0xA1–0xFE of TCVN 5712:1993 table VN3 to Unicode,
// from the standard's code chart: the seven capital letters with a shape
// mark, their small forms, then the small vowels with a tone mark in the
// chart's order (grave, hook, tilde, acute, dot below). Bytes below 0x80
// are ASCII; the other bytes are unassigned in VN3 and kept as they are.
var tcvn3 = [256]rune{
	0xA1: 'Ă', 0xA2: 'Â', 0xA3: 'Ê', 0xA4: 'Ô', 0xA5: 'Ơ', 0xA6: 'Ư', 0xA7: 'Đ',
	0xA8: 'ă', 0xA9: 'â', 0xAA: 'ê', 0xAB: 'ô', 0xAC: 'ơ', 0xAD: 'ư', 0xAE: 'đ',
	0xB5: 'à', 0xB6: 'ả', 0xB7: 'ã', 0xB8: 'á', 0xB9: 'ạ',
	0xBB: 'ằ', 0xBC: 'ẳ', 0xBD: 'ẵ', 0xBE: 'ắ', 0xC6: 'ặ',
	0xC7: 'ầ', 0xC8: 'ẩ', 0xC9: 'ẫ', 0xCA: 'ấ', 0xCB: 'ậ',
	0xCC: 'è', 0xCE: 'ẻ', 0xCF: 'ẽ', 0xD0: 'é', 0xD1: 'ẹ',
	0xD2: 'ề', 0xD3: 'ể', 0xD4: 'ễ', 0xD5: 'ế', 0xD6: 'ệ',
	0xD7: 'ì', 0xD8: 'ỉ', 0xDC: 'ĩ', 0xDD: 'í', 0xDE: 'ị',
	0xDF: 'ò', 0xE1: 'ỏ', 0xE2: 'õ', 0xE3: 'ó', 0xE4: 'ọ',
	0xE5: 'ồ', 0xE6: 'ổ', 0xE7: 'ỗ', 0xE8: 'ố', 0xE9: 'ộ',
	0xEA: 'ờ', 0xEB: 'ở', 0xEC: 'ỡ', 0xED: 'ớ', 0xEE: 'ợ',
	0xEF: 'ù', 0xF1: 'ủ', 0xF2: 'ũ', 0xF3: 'ú', 0xF4: 'ụ',
	0xF5: 'ừ', 0xF6: 'ử', 0xF7: 'ữ', 0xF8: 'ứ', 0xF9: 'ự',
	0xFA: 'ỳ', 0xFB: 'ỷ', 0xFC: 'ỹ', 0xFD: 'ý', 0xFE: 'ỵ',
}

// Combining marks used to build VNI letters.
const (
	grave      = '\u0300'
	acute      = '\u0301'
	circumflex = '\u0302'
	tilde      = '\u0303'
	breve      = '\u0306'
	hook       = '\u0309'
	horn       = '\u031B'
	dotBelow   = '\u0323'
)

// vniMark is what a VNI mark byte adds to the vowel before it: a shape
// (circumflex or breve, 0 for none) and a tone (0 for none). The byte
// values are those of the VNI Windows chart; upper- and lower-case marks
// are the same marks for capital and small vowels.
type vniMark struct {
	shape, tone rune
	// only lists the base vowels the mark goes with ("" for any).
	only string
}

var vniMarks = map[byte]vniMark{
	0xF9: {0, acute, ""}, 0xF8: {0, grave, ""}, 0xFB: {0, hook, ""}, 0xF5: {0, tilde, ""}, 0xEF: {0, dotBelow, ""},
	0xE2: {circumflex, 0, "aeo"}, 0xE1: {circumflex, acute, "aeo"}, 0xE0: {circumflex, grave, "aeo"},
	0xE5: {circumflex, hook, "aeo"}, 0xE3: {circumflex, tilde, "aeo"}, 0xE4: {circumflex, dotBelow, "aeo"},
	0xEA: {breve, 0, "a"}, 0xE9: {breve, acute, "a"}, 0xE8: {breve, grave, "a"},
	0xFA: {breve, hook, "a"}, 0xFC: {breve, tilde, "a"}, 0xEB: {breve, dotBelow, "a"},
}

// vniSingle are the VNI bytes that are a whole letter on their own.
var vniSingle = map[byte]rune{
	0xF1: 'đ', 0xD1: 'Đ', 0xF4: 'ơ', 0xD4: 'Ơ', 0xF6: 'ư', 0xD6: 'Ư',
	0xED: 'í', 0xCD: 'Í', 0xEC: 'ì', 0xCC: 'Ì', 0xE6: 'ỉ', 0xC6: 'Ỉ',
	0xF3: 'ĩ', 0xD3: 'Ĩ', 0xF2: 'ị', 0xD2: 'Ị', 0xEE: 'ỵ', 0xCE: 'Ỵ',
}

// DecodeTCVN3 converts TCVN3 bytes to NFC Unicode text.
func DecodeTCVN3(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b) * 2)
	for _, c := range b {
		sb.WriteRune(TCVN3Rune(c))
	}
	return norm.NFC.String(sb.String())
}

// TCVN3Rune returns the Unicode letter of one TCVN3 byte; unassigned bytes
// above 0x7F are read as Windows-1252.
func TCVN3Rune(c byte) rune {
	if r := tcvn3[c]; r != 0 {
		return r
	}
	if c < 0x80 {
		return rune(c)
	}
	return charmap.Windows1252.DecodeByte(c)
}

// DecodeVNI converts VNI Windows bytes to NFC Unicode text.
func DecodeVNI(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b) * 2)
	for i := 0; i < len(b); i++ {
		c := b[i]
		base := rune(c)
		if r, ok := vniSingle[c]; ok {
			base = r
		} else if c >= 0x80 {
			base = charmap.Windows1252.DecodeByte(c)
		}
		if i+1 < len(b) && isVNIBase(base) {
			if m, ok := markOf(b[i+1]); ok && (m.only == "" || strings.ContainsRune(m.only, unicode.ToLower(base))) {
				sb.WriteRune(base)
				if m.shape != 0 {
					sb.WriteRune(m.shape)
				}
				if m.tone != 0 {
					sb.WriteRune(m.tone)
				}
				i++
				continue
			}
		}
		sb.WriteRune(base)
	}
	return norm.NFC.String(sb.String())
}

// markOf looks up a VNI mark byte in either case.
func markOf(c byte) (vniMark, bool) {
	if m, ok := vniMarks[c]; ok {
		return m, true
	}
	if c >= 0xC0 && c <= 0xDF { // capital marks: the small mark's byte less 0x20
		m, ok := vniMarks[c+0x20]
		return m, ok
	}
	return vniMark{}, false
}

func isVNIBase(r rune) bool {
	switch unicode.ToLower(r) {
	case 'a', 'e', 'o', 'u', 'y', 'ơ', 'ư':
		return true
	}
	return false
}

// Bytes returns the single-byte code of each rune of s, as the legacy
// text was before a reader decoded it as Windows-1252 (or Latin-1, for
// U+0080–U+009F). ok is false when s has a rune that no byte decodes to,
// which Unicode Vietnamese text always has.
func Bytes(s string) (b []byte, ok bool) {
	b = make([]byte, 0, len(s))
	for _, r := range s {
		switch {
		case r < 0x80:
			b = append(b, byte(r))
		case r < 0x100: // Latin-1 readers give U+0080–U+009F for those bytes
			b = append(b, byte(r))
		default:
			c, ok := charmap.Windows1252.EncodeRune(r)
			if !ok {
				return nil, false
			}
			b = append(b, c)
		}
	}
	return b, true
}

// Decode converts legacy bytes in encoding enc (TCVN3 or VNI) to Unicode.
// Any other enc returns the bytes read as Windows-1252.
func Decode(b []byte, enc string) string {
	switch enc {
	case TCVN3:
		return DecodeTCVN3(b)
	case VNI:
		return DecodeVNI(b)
	}
	s, _ := charmap.Windows1252.NewDecoder().Bytes(b)
	return string(s)
}

// tcvn3Families are the TCVN3 font families as some PDF writers name them
// without the leading dot. Other "Vn…" names, such as the vntex LaTeX
// fonts (VnNimbusRomanNo9L), are Unicode-era fonts and are not listed.
var tcvn3Families = []string{"vntime", "vnarial", "vnavant", "vncourier", "vnhelvetica", "vnblack", "vnbook", "vncentury", "vncommercial", "vnsouvenir", "vnuniverse", "vnlucida", "vngothic"}

// FontEncoding returns the legacy encoding a PDF font's BaseFont name
// implies, "" for none, and whether the font is one of the TCVN3 "H"
// families (.VnTimeH, .VnArialH…), whose small-letter codes draw capitals.
// A subset prefix ("ABCDEF+") and a style suffix (",Bold", "-Italic") are
// ignored.
func FontEncoding(baseFont string) (enc string, capitals bool) {
	name := baseFont
	if i := strings.IndexByte(name, '+'); i == 6 {
		name = name[i+1:]
	}
	family := name
	if i := strings.IndexAny(family, ",-"); i > 0 && !strings.HasPrefix(strings.ToLower(family), "vni-") {
		family = family[:i]
	} else if strings.HasPrefix(strings.ToLower(family), "vni-") {
		return VNI, false
	}
	lower := strings.ToLower(family)
	tcvn := strings.HasPrefix(lower, ".vn")
	for _, f := range tcvn3Families {
		tcvn = tcvn || strings.HasPrefix(lower, f)
	}
	if tcvn {
		for _, style := range []string{"BoldItalic", "Bold", "Italic"} {
			family = strings.TrimSuffix(family, style)
		}
		return TCVN3, strings.HasSuffix(family, "H")
	}
	return "", false
}
