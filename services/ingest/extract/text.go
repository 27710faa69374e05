package extract

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/unicode/norm"

	"github.com/bantin/bantin/internal/model"
	"github.com/bantin/bantin/internal/vnlegacy"
)

// Normalize returns s in Unicode NFC with every run of horizontal white
// space (spaces, tabs, NBSP and the other Unicode spaces) collapsed to one
// space and leading and trailing white space trimmed. Newlines are kept,
// without the spaces around them, so callers decide what a line means.
// Soft hyphens, zero-width characters and other invisible format
// characters are removed, as are control characters.
func Normalize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case r == '\n':
			b.WriteByte('\n') // spaces before it were never written
			space = false
			continue
		case r == '\t' || r == '\r' || unicode.IsSpace(r) || unicode.Is(unicode.Zs, r):
			// "\r\n" keeps its "\n"; a lone "\r" separates like a space.
			space = true
			continue
		case r == '\u00ad' || unicode.Is(unicode.Cf, r) || unicode.IsControl(r):
			continue
		}
		if space && b.Len() > 0 && !strings.HasSuffix(b.String(), "\n") {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	// Composition comes last: dropping an invisible character can bring
	// a letter and its combining mark together.
	return norm.NFC.String(strings.Trim(b.String(), "\n "))
}

// Paragraphs joins the lines of one page into paragraphs, each carrying
// page. It undoes hard wrapping:
//
//   - an empty line always ends a paragraph;
//   - a line that is a heading or list item (ALL CAPS, "Chương II",
//     "Điều 5.", "I.", "1.", "1.2.", "a)", "-", "+", "•") starts one;
//   - a line starting in lower case continues the previous line unless that
//     one ends a sentence;
//   - a line starting otherwise (a capital, a digit) continues only a line
//     that is full width and does not end a sentence, since Vietnamese puts
//     many capitalised names ("Chính phủ", "Quốc hội") at the start of
//     wrapped lines.
//
// A word broken by a hyphen at the end of a line is rejoined without the
// hyphen only when both halves are plain ASCII (a foreign word such as
// "infor-mation"); Vietnamese is not hyphenated that way, so there the
// hyphen is kept ("kinh tế-xã hội").
//
// Page-number-only lines ("3", "- 3 -", "Trang 3", "Page 3 of 9") at the
// start or end of the page are dropped. Every line is normalised with
// Normalize first.
func Paragraphs(lines []string, page int) []model.Paragraph {
	return paragraphs(lines, page, true)
}

func paragraphs(lines []string, page int, dropPageNumbers bool) []model.Paragraph {
	clean := make([]string, 0, len(lines))
	for _, l := range lines {
		// One input line can hold several when a caller passes raw text.
		for _, part := range strings.Split(Normalize(l), "\n") {
			clean = append(clean, strings.TrimSpace(part))
		}
	}
	if dropPageNumbers {
		clean = dropEdgePageNumbers(clean)
	}

	full := 0 // the width of a full line: the longest lines, give or take
	{
		var lens []int
		for _, l := range clean {
			if n := utf8.RuneCountInString(l); n > 0 {
				lens = append(lens, n)
			}
		}
		if len(lens) > 0 {
			slices.Sort(lens)
			full = lens[len(lens)*9/10]
		}
	}

	var out []model.Paragraph
	var cur strings.Builder
	var prev string
	flush := func() {
		if cur.Len() > 0 {
			out = append(out, model.Paragraph{Page: page, Text: cur.String()})
			cur.Reset()
		}
		prev = ""
	}
	for _, l := range clean {
		if l == "" || !hasAlnum(l) {
			// Rules ("_______", "-----") and stray marks ("∗") carry no
			// text, but they do separate what is above from what is below.
			flush()
			continue
		}
		if prev == "" || !continues(prev, l, full) {
			flush()
			cur.WriteString(l)
			prev = l
			continue
		}
		joined := joinLines(cur.String(), l)
		cur.Reset()
		cur.WriteString(joined)
		prev = l
	}
	flush()
	return out
}

// joinLines appends a wrapped line to the text before it.
func joinLines(text, next string) string {
	switch {
	case joinHyphenated(text, next): // "infor-" + "mation"
		return strings.TrimSuffix(text, "-") + next
	case strings.HasSuffix(text, "-") && !strings.HasSuffix(text, " -"):
		// "kinh tế-" + "xã hội", "2020-" + "2025": keep the hyphen, no space.
		return text + next
	}
	return text + " " + next
}

// appendPage appends the paragraphs of the next page, joining its first
// paragraph to the last one before it when a sentence runs over the page
// break: that one does not end a sentence and the new one starts in lower
// case. The joined paragraph keeps the page it started on.
func appendPage(paras, next []model.Paragraph) []model.Paragraph {
	if len(paras) > 0 && len(next) > 0 {
		last, first := &paras[len(paras)-1], next[0]
		if unicode.IsLower(firstLetter(first.Text)) && !endsSentence(last.Text) && !startsBlock(first.Text) {
			last.Text = joinLines(last.Text, first.Text)
			next = next[1:]
		}
	}
	return append(paras, next...)
}

// continues reports whether line next continues the paragraph whose last
// line is prev.
func continues(prev, next string, full int) bool {
	if startsBlock(next) {
		return false
	}
	if endsSentence(prev) {
		return false
	}
	if unicode.IsLower(firstLetter(next)) {
		return true
	}
	if isHeading(prev) {
		return false
	}
	return full > 0 && utf8.RuneCountInString(prev) >= full*8/10
}

// firstLetter returns the first rune of s after opening quotes and
// brackets.
func firstLetter(s string) rune {
	for _, r := range s {
		if !strings.ContainsRune("\"'“‘«([", r) {
			return r
		}
	}
	return 0
}

// endsSentence reports whether a line ends with sentence-final
// punctuation, possibly followed by closing quotes or brackets.
func endsSentence(s string) bool {
	s = strings.TrimRight(s, "\"'”’»)]")
	r, _ := utf8.DecodeLastRuneInString(s)
	switch r {
	case '.', '!', '?', ':', ';', '…':
		return true
	}
	return false
}

// startsBlock reports whether a line looks like the start of a heading,
// article or list item.
func startsBlock(s string) bool {
	if isHeading(s) {
		return true
	}
	first, size := utf8.DecodeRuneInString(s)
	switch first {
	case '-', '+', '•', '–', '—', '*', '·', '●', '○', '■', '□', '▪', '♦', '✓', '\uf0b7', '\uf0a7', '\uf0d8', '\uf076':
		return size == len(s) || strings.HasPrefix(s[size:], " ") || first == '•'
	}
	return listMarker(s)
}

// isHeading reports whether a line is a heading: all capitals, or a
// Vietnamese structural heading ("Chương II", "Mục 1", "Điều 5.", "Phần
// thứ nhất").
func isHeading(s string) bool {
	for _, p := range []string{"Chương ", "CHƯƠNG ", "Mục ", "MỤC ", "Điều ", "ĐIỀU ", "Phần ", "PHẦN ", "Phụ lục", "PHỤ LỤC"} {
		if strings.HasPrefix(s, p) {
			rest := strings.TrimPrefix(s, p)
			r, _ := utf8.DecodeRuneInString(rest)
			if unicode.IsDigit(r) || unicode.IsUpper(r) || rest == "" || strings.HasPrefix(rest, "thứ ") {
				return true // "Phần thứ hai", not "Phần lớn các quốc gia"
			}
		}
	}
	letters, upper := 0, 0
	for _, r := range s {
		if unicode.IsLetter(r) {
			letters++
			if unicode.IsUpper(r) {
				upper++
			} else if !unicode.IsLower(r) {
				upper++ // caseless scripts count as neither; do not block
			}
		}
	}
	return letters >= 2 && upper == letters
}

// listMarker reports whether s starts with "1.", "1.2.", "1)", "a)", "a.",
// "đ)", "I.", "IV." or "(1)" followed by a space.
func listMarker(s string) bool {
	i := 0
	if strings.HasPrefix(s, "(") {
		i = 1
	}
	j := i
	for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.' && j > i) {
		j++
	}
	if j > i {
		rest := s[j:]
		if s[j-1] == '.' {
			return rest == "" || rest[0] == ' '
		}
		return strings.HasPrefix(rest, ")") && (len(rest) == 1 || rest[1] == ' ')
	}
	// Roman numerals: I. II. IV. … followed by a space.
	k := i
	for k < len(s) && strings.IndexByte("IVXL", s[k]) >= 0 {
		k++
	}
	if k > i && k < len(s) && (s[k] == '.' || s[k] == ')') && (k+1 == len(s) || s[k+1] == ' ') {
		return true
	}
	// One lower-case letter (Vietnamese đ included): a) b) đ)
	r, size := utf8.DecodeRuneInString(s[i:])
	if unicode.IsLower(r) {
		rest := s[i+size:]
		return strings.HasPrefix(rest, ")") && (len(rest) == 1 || rest[1] == ' ')
	}
	return false
}

// joinHyphenated reports whether prev ends in a word broken by a hyphen
// that should be rejoined without it: both halves plain ASCII letters.
func joinHyphenated(prev, next string) bool {
	if !strings.HasSuffix(prev, "-") || strings.HasSuffix(prev, " -") {
		return false
	}
	head := lastWord(strings.TrimSuffix(prev, "-"))
	tail := firstWord(next)
	if len(head) < 2 || tail == "" {
		return false
	}
	first, _ := utf8.DecodeRuneInString(tail)
	return asciiLetters(head) && asciiLetters(tail) && unicode.IsLower(first)
}

func lastWord(s string) string {
	if i := strings.LastIndexByte(s, ' '); i >= 0 {
		return s[i+1:]
	}
	return s
}

func firstWord(s string) string {
	if i := strings.IndexByte(s, ' '); i >= 0 {
		return strings.TrimRight(s[:i], ".,;:!?)")
	}
	return strings.TrimRight(s, ".,;:!?)")
}

func asciiLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return s != ""
}

// dropEdgePageNumbers removes page-number-only lines among the first and
// last two non-empty lines.
func dropEdgePageNumbers(lines []string) []string {
	idx := make([]int, 0, len(lines))
	for i, l := range lines {
		if l != "" {
			idx = append(idx, i)
		}
	}
	drop := map[int]bool{}
	for k, i := range idx {
		if (k < 2 || k >= len(idx)-2) && isPageNumber(lines[i]) {
			drop[i] = true
		}
	}
	if len(drop) == 0 {
		return lines
	}
	out := lines[:0:0]
	for i, l := range lines {
		if !drop[i] {
			out = append(out, l)
		}
	}
	return out
}

// isPageNumber reports whether a line holds nothing but a page number:
// "3", "- 3 -", "— 3 —", "Trang 3", "Trang 3/12", "Page 3", "Page 3 of 12".
func isPageNumber(s string) bool {
	s = strings.ToLower(strings.TrimSpace(s))
	for _, p := range []string{"trang ", "page ", "tr. "} {
		s = strings.TrimPrefix(s, p)
	}
	s = strings.Trim(s, "-–—_ ")
	if i := strings.Index(s, " of "); i > 0 {
		s = s[:i] + "/" + s[i+4:]
	}
	if i := strings.IndexByte(s, '/'); i > 0 {
		if !allDigits(strings.TrimSpace(s[i+1:])) {
			return false
		}
		s = strings.TrimSpace(s[:i])
	}
	return len(s) > 0 && len(s) <= 4 && allDigits(s)
}

func hasAlnum(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) >= 0
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// Text extracts a plain-text file. It reads UTF-8 (with or without a byte
// order mark) and UTF-16 with a byte order mark; anything else that is not
// valid UTF-8 is read as Windows-1258, the Vietnamese Windows code page,
// which is also a fair reading of Latin-1. Paragraphs are separated by
// blank lines and hard-wrapped lines are joined (see Paragraphs); they
// carry page 0.
func Text(data []byte) (*Document, error) {
	doc := &Document{Format: FormatText, Extractor: "text"}
	var s, enc string
	if legacy := legacyBytes(data); legacy != "" {
		s, enc = vnlegacy.Decode(data, legacy), ""
		doc.EncodingRepaired = legacy
		doc.Warnings = append(doc.Warnings, fmt.Sprintf(statisticNote, legacy))
	} else {
		s, enc = decodeText(data)
	}
	if enc != "" {
		doc.Warnings = append(doc.Warnings, "text is not UTF-8; read as "+enc)
	}
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n") // old Mac files end lines with "\r"
	lines := strings.Split(s, "\n")
	if doc.EncodingRepaired == "" {
		// UTF-8 text that went through a legacy-font editor: "B¸o c¸o".
		if legacy := repairLines(lines, nil); legacy != "" {
			doc.EncodingRepaired = legacy
			doc.Warnings = append(doc.Warnings, fmt.Sprintf(statisticNote, legacy))
		}
	}
	doc.Paragraphs = paragraphs(lines, 0, false)
	if len(doc.Paragraphs) == 0 {
		return doc, fmt.Errorf("extracting text: %w: the file holds no text", ErrNoText)
	}
	return doc, nil
}

// legacyBytes returns the legacy encoding of a text file that is not
// UTF-8 and reads as TCVN3 or VNI, else "".
func legacyBytes(data []byte) string {
	if utf8.Valid(data) || bytes.HasPrefix(data, []byte{0xFE, 0xFF}) || bytes.HasPrefix(data, []byte{0xFF, 0xFE}) {
		return ""
	}
	return vnlegacy.DetectBytes(data[:min(len(data), 1<<20)])
}

// decodeText returns data as UTF-8 and the name of the encoding it was
// converted from, "" for UTF-8.
func decodeText(data []byte) (string, string) {
	switch {
	case bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}):
		return strings.ToValidUTF8(string(data[3:]), "\uFFFD"), ""
	case bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		return decodeUTF16(data[2:], true), "UTF-16BE"
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}):
		return decodeUTF16(data[2:], false), "UTF-16LE"
	case utf8.Valid(data):
		return string(data), ""
	}
	s, err := charmap.Windows1258.NewDecoder().Bytes(data)
	if err != nil {
		return strings.ToValidUTF8(string(data), "\uFFFD"), ""
	}
	return string(s), "Windows-1258"
}

func decodeUTF16(b []byte, bigEndian bool) string {
	units := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		if bigEndian {
			units = append(units, uint16(b[i])<<8|uint16(b[i+1]))
		} else {
			units = append(units, uint16(b[i+1])<<8|uint16(b[i]))
		}
	}
	return string(utf16.Decode(units))
}
