package vntext

import (
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// ParseNumber parses a number written with Vietnamese conventions: ',' is
// the decimal separator and '.' groups thousands ("13,45" = 13.45,
// "1.234.567" = 1234567, "18.245,6" = 18245.6). A single '.' followed by
// exactly three digits groups thousands ("1.250" = 1250); followed by any
// other number of digits it is a decimal point ("3.5" = 3.5), since it
// cannot be a thousands separator. When both separators appear, the last
// one is the decimal separator, so English "1,234.5" = 1234.5; several
// commas with three-digit groups ("1,234,567") are English thousands. A
// single comma is always decimal: "1,250" = 1.25.
//
// An optional leading sign ('-', '+', '−') and surrounding white space are
// allowed; nothing else (no units, no spaces inside). ok is false when s is
// not a well-formed number.
func ParseNumber(s string) (float64, bool) {
	v, _, ok := parseNumber(strings.TrimSpace(s))
	return v, ok
}

// parseNumber is ParseNumber; grouped says a thousands separator was used.
func parseNumber(s string) (v float64, grouped, ok bool) {
	neg := false
	switch {
	case strings.HasPrefix(s, "-"), strings.HasPrefix(s, "+"):
		neg = s[0] == '-'
		s = s[1:]
	case strings.HasPrefix(s, "−"):
		neg = true
		s = s[len("−"):]
	}
	if s == "" || !isASCIIDigit(s[0]) || !isASCIIDigit(s[len(s)-1]) {
		return 0, false, false
	}
	dots, commas := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '.':
			dots++
		case c == ',':
			commas++
		case !isASCIIDigit(c):
			return 0, false, false
		}
	}
	var intPart, frac string
	var thousands byte
	switch {
	case dots > 0 && commas > 0:
		dec := byte(',')
		thousands = '.'
		if strings.LastIndexByte(s, '.') > strings.LastIndexByte(s, ',') {
			dec, thousands = '.', ','
		}
		if strings.Count(s, string(dec)) != 1 {
			return 0, false, false
		}
		intPart, frac, _ = strings.Cut(s, string(dec))
		if strings.IndexByte(frac, thousands) >= 0 {
			return 0, false, false
		}
	case dots > 1:
		intPart, thousands = s, '.'
	case commas > 1:
		intPart, thousands = s, ','
	case dots == 1:
		before, after, _ := strings.Cut(s, ".")
		if len(after) == 3 && len(before) <= 3 && before[0] != '0' {
			intPart, thousands = s, '.'
		} else {
			intPart, frac = before, after
		}
	case commas == 1:
		intPart, frac, _ = strings.Cut(s, ",")
	default:
		intPart = s
	}
	if thousands != 0 && strings.IndexByte(intPart, thousands) >= 0 {
		groups := strings.Split(intPart, string(thousands))
		if len(groups[0]) > 3 || (groups[0][0] == '0' && len(groups) > 1) {
			return 0, false, false
		}
		for _, g := range groups[1:] {
			if len(g) != 3 {
				return 0, false, false
			}
		}
		intPart = strings.Join(groups, "")
		grouped = true
	}
	num := intPart
	if frac != "" {
		num += "." + frac
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsInf(v, 0) {
		return 0, false, false
	}
	if neg {
		v = -v
	}
	return v, grouped, true
}

func isASCIIDigit(c byte) bool { return c >= '0' && c <= '9' }

// FormatNumber writes v the Vietnamese way: '.' between groups of thousands
// and ',' before the decimals, with no trailing zeros ("18.245,6", "7,5").
// It is the inverse of ParseNumber for finite values.
func FormatNumber(v float64) string {
	s := strconv.FormatFloat(math.Abs(v), 'f', -1, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	if v < 0 {
		b.WriteByte('-')
	}
	for i := range len(intPart) {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteByte(intPart[i])
	}
	if frac != "" {
		b.WriteByte(',')
		b.WriteString(frac)
	}
	return b.String()
}

// unitSynonyms maps spellings of a unit word to one canonical spelling.
var unitSynonyms = map[string]string{
	"ngàn": "nghìn", "tỉ": "tỷ", "vnđ": "đồng", "vnd": "đồng", "đ": "đồng",
	"m²": "m2", "m³": "m3", "km²": "km2", "hécta": "ha", "héc-ta": "ha", "hecta": "ha",
	"mét": "m", "ki-lô-mét": "km", "kilômét": "km", "kilomet": "km",
}

// NormalizeFigure returns a canonical form of a figure's text for comparing
// figures that are written differently: NFC, lower case, any white space
// (including non-breaking and thin spaces) as one space, no space before
// '%', numbers rewritten by FormatNumber ("1250" and "1.250" agree, as do
// "7,50%" and "7,5 %"), a space between a number and a unit glued to it
// ("35km" = "35 km"), and common unit spellings unified (ngàn → nghìn, tỉ →
// tỷ, VNĐ and đ → đồng, m² → m2, hécta → ha, phần trăm → %).
func NormalizeFigure(s string) string {
	s = strings.ToLower(norm.NFC.String(s))
	// Numbers first, so their separators are not mistaken for punctuation.
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if unicode.IsSpace(r) || r == '\u200b' || r == '\ufeff' {
			b.WriteByte(' ')
			i += size
			continue
		}
		if !isASCIIDigit(s[i]) {
			b.WriteString(s[i : i+size])
			i += size
			continue
		}
		j := i
		for j < len(s) && (isASCIIDigit(s[j]) || ((s[j] == '.' || s[j] == ',') && j+1 < len(s) && isASCIIDigit(s[j+1]))) {
			j++
		}
		if v, _, ok := parseNumber(s[i:j]); ok {
			b.WriteString(FormatNumber(v))
		} else {
			b.WriteString(s[i:j])
		}
		if j < len(s) {
			if next, _ := utf8.DecodeRuneInString(s[j:]); unicode.IsLetter(next) {
				b.WriteByte(' ')
			}
		}
		i = j
	}
	fields := strings.Fields(b.String())
	for i, f := range fields {
		parts := strings.Split(f, "/")
		for k, p := range parts {
			if c, ok := unitSynonyms[p]; ok {
				parts[k] = c
			}
		}
		fields[i] = strings.Join(parts, "/")
	}
	out := strings.Join(fields, " ")
	out = strings.ReplaceAll(out, "phần trăm", "%")
	out = strings.ReplaceAll(out, " %", "%")
	return strings.ReplaceAll(out, " ‰", "‰")
}
