package vntext

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// SplitSentences splits Vietnamese text into sentences, in order. Each
// sentence is trimmed and has its runs of white space (including line breaks)
// collapsed to one space; nothing else is changed or dropped, so the
// sentences together hold exactly the non-space text of the input.
//
// Breaks happen:
//   - after '.', '!', '?', '…' or "..." (with any closing quotes and brackets
//     that follow) when the next word does not start with a lower-case letter
//     and the full stop does not end an abbreviation (TP., TS., ThS., PGS.,
//     Nxb., tr., T.Ư and the like), a person's initial followed by more of
//     the name or by a lower-case word ("ông Nguyễn Văn T. (SN 1977)", "anh
//     H. đã"), or a list number ("1. Kết quả", "Điều 5. Phạm vi");
//   - at blank lines;
//   - at a line break when the line ends with ':' or ';', when the next line
//     starts with list numbering or a bullet ("1.", "I.", "a)", "-", "+",
//     "•"), or when the line is a heading (all capitals, list-numbered, or a
//     short capitalised line) and the next line starts with a capital.
//
// Other line breaks are taken as wrapping inside a sentence, as PDF
// extraction produces them. A ';' inside a line does not end a sentence:
// reports chain whole clauses with it ("GRDP tăng 7,52%; thu ngân sách đạt
// ..."), and the clauses are rarely readable alone; but a line ending with
// ';' (an enumerated item) does. Decimal and grouped numbers ("13,45%",
// "1.234.567 đồng", "3.5"), dates ("01/12/2023") and times ("15:34") are
// never split because a break needs white space after the full stop.
func SplitSentences(text string) []string {
	var out []string
	for _, b := range blocks(text) {
		for _, sp := range splitBlock(text, b) {
			if s := collapseSpace(text[sp.start:sp.end]); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// span is a byte range [start, end) of a text.
type span struct{ start, end int }

// collapseSpace trims s and collapses runs of white space to one ASCII space.
// Bytes that are not white space (even invalid UTF-8) are kept as they are.
func collapseSpace(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	pendingSpace := false
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if unicode.IsSpace(r) {
			pendingSpace = true
			i += size
			continue
		}
		if pendingSpace && b.Len() > 0 {
			b.WriteByte(' ')
		}
		pendingSpace = false
		b.WriteString(s[i : i+size])
		i += size
	}
	return b.String()
}

// isLineBreak reports whether r ends a line.
func isLineBreak(r rune) bool {
	switch r {
	case '\n', '\v', '\f', '\u0085', '\u2028', '\u2029':
		return true
	}
	return false
}

// lines splits text into line spans, without the line break itself.
func lines(text string) []span {
	var out []span
	start := 0
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		if isLineBreak(r) {
			out = append(out, span{start, i})
			start = i + size
		}
		i += size
	}
	return append(out, span{start, len(text)})
}

// blocks partitions text into runs of lines that no line break divides;
// inline punctuation then splits each block further.
func blocks(text string) []span {
	var out []span
	blockStart := 0
	prev := ""         // previous non-blank line, trimmed
	blankSeen := false // a blank line since prev
	for _, l := range lines(text) {
		cur := strings.TrimSpace(text[l.start:l.end])
		if cur == "" {
			blankSeen = true
			continue
		}
		if prev != "" && breakBetween(prev, cur, blankSeen) {
			out = append(out, span{blockStart, l.start})
			blockStart = l.start
		}
		prev, blankSeen = cur, false
	}
	return append(out, span{blockStart, len(text)})
}

// breakBetween decides whether a line break between the non-blank lines a and
// b (both trimmed) ends a sentence. blank says a blank line lies between them.
func breakBetween(a, b string, blank bool) bool {
	if blank || startsWithListMarker(b) {
		return true
	}
	last, _ := utf8.DecodeLastRuneInString(a)
	switch {
	case last == ':' || last == ';':
		return true
	case endsWithTerminal(a):
		// Let the inline rules judge it: the line break is just white
		// space after a full stop ("TP.\nBắc Giang" stays together).
		return false
	case last == ',' || last == '-' || last == '–':
		return false
	}
	if !startsUpper(b) {
		return false
	}
	if allCaps(a) {
		// A heading broken over two lines ("UỶ BAN NHÂN DÂN" / "TỈNH BẮC
		// GIANG") stays one piece; a capitalised line after it starts anew.
		return !allCaps(b)
	}
	return startsWithListMarker(a) || (startsUpper(a) && len(Syllables(a)) <= 12)
}

// endsWithTerminal reports whether s ends with sentence-final punctuation,
// possibly followed by closing quotes or brackets.
func endsWithTerminal(s string) bool {
	s = strings.TrimRightFunc(s, func(r rune) bool { return isCloser(r) || r == '"' || r == '\'' })
	r, _ := utf8.DecodeLastRuneInString(s)
	return isTerminal(r)
}

// isTerminal reports whether r can end a sentence.
func isTerminal(r rune) bool {
	switch r {
	case '.', '!', '?', '…':
		return true
	}
	return false
}

// isCloser reports whether r closes a quotation or bracket unambiguously.
func isCloser(r rune) bool {
	switch r {
	case '”', '’', ')', ']', '}', '»', '›':
		return true
	}
	return false
}

// isOpener reports whether r can open a quotation or bracket.
func isOpener(r rune) bool {
	switch r {
	case '“', '‘', '(', '[', '{', '«', '‹', '"', '\'', '„':
		return true
	}
	return false
}

// isBullet reports whether r marks an unnumbered list item.
func isBullet(r rune) bool {
	switch r {
	case '-', '+', '•', '–', '—', '*', '·', '▪', '●', '○', '◦', '■', '□', '✓', '❖', '➢', '►':
		return true
	}
	return false
}

// startsWithListMarker reports whether the trimmed line s starts with list
// numbering ("1.", "1.2.", "2)", "I.", "IV)", "a)", "b.") or a bullet,
// followed by white space ("1. Kết quả") or, for bullets, a letter ("-Thu").
func startsWithListMarker(s string) bool {
	r, size := utf8.DecodeRuneInString(s)
	if isBullet(r) {
		n, _ := utf8.DecodeRuneInString(s[size:])
		return unicode.IsSpace(n) || unicode.IsLetter(n)
	}
	tok, _, _ := strings.Cut(s, " ")
	tok = strings.TrimRightFunc(tok, unicode.IsSpace)
	if len(tok) < 2 {
		return false
	}
	last := tok[len(tok)-1]
	if last != '.' && last != ')' {
		return false
	}
	if len(tok) == len(s) {
		return false // nothing follows the marker
	}
	return isListCore(tok[:len(tok)-1])
}

// isListCore reports whether s is a list number without its '.' or ')':
// "1", "12", "1.2", "IV", "a".
func isListCore(s string) bool {
	if s == "" {
		return false
	}
	if isRoman(s) {
		return true
	}
	if r, size := utf8.DecodeRuneInString(s); size == len(s) && unicode.IsLower(r) {
		return true
	}
	for _, part := range strings.Split(s, ".") {
		if part == "" || len(part) > 3 || strings.Trim(part, "0123456789") != "" {
			return false
		}
	}
	return true
}

// isRoman reports whether s is a short upper-case Roman numeral.
func isRoman(s string) bool {
	if s == "" || len(s) > 5 {
		return false
	}
	return strings.Trim(s, "IVXLC") == ""
}

// startsUpper reports whether the first letter or digit of s, after any
// opening quotes or brackets, is an upper-case letter.
func startsUpper(s string) bool {
	for _, r := range s {
		if isOpener(r) {
			continue
		}
		return unicode.IsUpper(r) || unicode.IsTitle(r)
	}
	return false
}

// allCaps reports whether s has at least two letters and none in lower case.
func allCaps(s string) bool {
	letters := 0
	for _, r := range s {
		if unicode.IsLower(r) {
			return false
		}
		if unicode.IsLetter(r) {
			letters++
		}
	}
	return letters >= 2
}

// strongAbbrev lists abbreviations that never end a sentence: a name or a
// number always follows them. Single-letter "Q." (quận) and "P." (phường)
// are handled with the initials.
var strongAbbrev = map[string]bool{
	"TP": true, "Tp": true, "T.P": true, "TW": true, "T.Ư": true, "T.W": true,
	"TS": true, "Ts": true, "ThS": true, "Th.S": true, "Ths": true, "PGS": true, "GS": true,
	"PGS.TS": true, "GS.TS": true, "TS.BS": true, "BS": true, "BSCKI": true, "BSCKII": true,
	"KS": true, "Nxb": true, "NXB": true, "tr": true, "tt": true, "St": true, "TX": true, "TT": true,
	"Mr": true, "Mrs": true, "Ms": true, "Dr": true, "Prof": true, "Tel": true,
	"Đ/c": true, "đ/c": true,
}

// headingWords introduce a numbered part of a document: "Điều 5. Phạm vi".
var headingWords = map[string]bool{
	"điều": true, "chương": true, "mục": true, "phần": true, "khoản": true,
	"bước": true, "lục": true, "tiết": true, "phụ": true,
}

// personTitles precede a person's name, so a capital letter and a full
// stop after them are an initial: "chị H.", "ông Th.", "đồng chí T.",
// "bị cáo L." (only the last word of a title is compared).
var personTitles = map[string]bool{
	"ông": true, "bà": true, "anh": true, "chị": true, "em": true, "cháu": true, "bé": true,
	"cô": true, "chú": true, "bác": true, "cụ": true, "cậu": true, "dì": true, "mợ": true,
	"thím": true, "tên": true, "chí": true, "cáo": true, "can": true, "thầy": true,
}

// viInitialClusters are the consonant clusters that Vietnamese initials can
// take besides one capital letter: "Th.", "Ng.", "Tr.".
var viInitialClusters = map[string]bool{
	"Ch": true, "Gh": true, "Gi": true, "Kh": true, "Ng": true, "Ngh": true,
	"Nh": true, "Ph": true, "Qu": true, "Th": true, "Tr": true,
}

// isInitials reports whether s is one or more name initials joined by full
// stops: "H", "Th", "N.V.A", "L.V".
func isInitials(s string) bool {
	if s == "" {
		return false
	}
	for _, part := range strings.Split(s, ".") {
		if viInitialClusters[part] {
			continue
		}
		r, size := utf8.DecodeRuneInString(part)
		if size != len(part) || !unicode.IsUpper(r) {
			return false
		}
	}
	return true
}

// splitBlock finds the sentence boundaries inside one block.
func splitBlock(text string, b span) []span {
	var out []span
	sentStart := b.start
	quoteOpen := false // an unmatched straight double quote is open
	for i := b.start; i < b.end; {
		r, size := utf8.DecodeRuneInString(text[i:])
		switch r {
		case '"':
			quoteOpen = !quoteOpen
		case '”':
			quoteOpen = false // mixed quoting: `" ... ”`
		}
		if !isTerminal(r) {
			i += size
			continue
		}
		// The run of terminal punctuation, then closing quotes/brackets.
		termEnd := i + size
		for termEnd < b.end {
			r2, s2 := utf8.DecodeRuneInString(text[termEnd:])
			if !isTerminal(r2) {
				break
			}
			termEnd += s2
		}
		j := termEnd
		for j < b.end {
			r2, s2 := utf8.DecodeRuneInString(text[j:])
			if isCloser(r2) || (r2 == '"' && quoteOpen) || (r2 == '\'' && j+s2 < b.end && isSpaceAt(text, j+s2)) {
				if r2 == '"' || r2 == '”' {
					quoteOpen = false
				}
				j += s2
				continue
			}
			break
		}
		if j >= b.end {
			break
		}
		if !isSpaceAt(text, j) {
			if missingSpaceBreak(text, sentStart, i, termEnd, j, b.end) {
				out = append(out, span{sentStart, j})
				sentStart = j
			}
			i = j
			continue
		}
		k := skipSpace(text, j, b.end)
		// A detached closing straight quote: `... hết. " - ông nói`.
		if k < b.end && text[k] == '"' && quoteOpen && (k+1 == b.end || isSpaceAt(text, k+1)) {
			quoteOpen = false
			j = k + 1
			k = skipSpace(text, j, b.end)
		}
		if k >= b.end {
			break
		}
		if shouldBreak(text, sentStart, i, termEnd, k, b.end) {
			out = append(out, span{sentStart, j})
			sentStart = j
		}
		i = j
	}
	return append(out, span{sentStart, b.end})
}

func isSpaceAt(text string, i int) bool {
	r, _ := utf8.DecodeRuneInString(text[i:])
	return unicode.IsSpace(r)
}

func skipSpace(text string, i, end int) int {
	for i < end {
		r, size := utf8.DecodeRuneInString(text[i:])
		if !unicode.IsSpace(r) {
			break
		}
		i += size
	}
	return i
}

// maxToken bounds how far the splitter looks for the token around a full
// stop. Abbreviations, initials and list numbers are short; the bound keeps
// text without spaces (common in bad PDF extraction) linear.
const maxToken = 64

// tokenBefore returns the white-space delimited token that ends at end,
// starting no earlier than min (nor maxToken bytes back), and where it
// starts.
func tokenBefore(text string, min, end int) (string, int) {
	min = max(min, end-maxToken)
	start := end
	for start > min {
		r, size := utf8.DecodeLastRuneInString(text[min:start])
		if unicode.IsSpace(r) {
			break
		}
		start -= size
	}
	return text[start:end], start
}

// nextWord describes the word after a candidate boundary.
type nextWord struct {
	first  rune   // first letter or digit, after openers
	opener bool   // an opening quote or bracket comes first
	tok    string // the whole white-space delimited token
}

func wordAt(text string, k, end int) nextWord {
	e := k
	for e < end && e-k < maxToken && !isSpaceAt(text, e) {
		_, size := utf8.DecodeRuneInString(text[e:])
		e += size
	}
	w := nextWord{tok: text[k:e]}
	for _, r := range w.tok {
		if isOpener(r) {
			w.opener = true
			continue
		}
		w.first = r
		break
	}
	return w
}

// shouldBreak decides a boundary after the terminal punctuation text[i:termEnd]
// whose next word starts at k.
func shouldBreak(text string, sentStart, i, termEnd, k, end int) bool {
	next := wordAt(text, k, end)
	if unicode.IsLower(next.first) {
		return false
	}
	if r, _ := utf8.DecodeRuneInString(next.tok); isBullet(r) && len(next.tok) == utf8.RuneLen(r) {
		return true // "- " bullet inline
	}
	term := text[i:termEnd]
	if strings.ContainsAny(term, "!?") {
		return true
	}
	tok, tokStart := tokenBefore(text, sentStart, i)
	core := strings.TrimLeftFunc(tok, isOpener)
	ellipsis := term != "."
	if ellipsis {
		// "Hồng Tùng... và" stays; "300 triệu đồng… Sau đó" breaks.
		return startsUpper(next.tok) && !next.opener && !looksLikeInitial(next.tok)
	}
	if strongAbbrev[core] {
		return false
	}
	prevTok, _ := tokenBefore(text, sentStart, skipSpaceBack(text, sentStart, tokStart))
	prevCore := strings.ToLower(strings.TrimFunc(prevTok, func(r rune) bool { return !unicode.IsLetter(r) }))
	if isListCore(core) {
		if strings.TrimSpace(text[sentStart:tokStart]) == "" {
			return false // "1. Kết quả": the number starts this sentence
		}
		if headingWords[prevCore] || strings.HasSuffix(prevTok, ":") || strings.HasSuffix(prevTok, ";") {
			return false // "Điều 5. Phạm vi", "như sau: 1. Thu ngân sách"
		}
	}
	weak := core == "v.v" || core == "v.v."
	if isInitials(core) {
		isName := personTitles[prevCore] || (startsUpper(prevTok) && !strings.ContainsAny(prevTok, ",;:.)"))
		if (core == "Q" || core == "P") && (!isName || core != tok) {
			return false // "Q. 1", "(P. Bến Nghé": quận, phường
		}
		if pc := strings.TrimSuffix(strings.TrimLeftFunc(prevTok, isOpener), "."); pc != prevTok && isInitials(pc) {
			return false // "bà Ph. Th. Hele": more of the name follows
		}
		weak = true
	}
	if next.opener && strings.HasPrefix(next.tok, "(") && !startsWord(next.tok[1:]) {
		return false // "Nguyễn Văn H. (SN 1977)", "... đồng. (1)"
	}
	if weak {
		// An initial or "v.v." ends the sentence only when a capitalised word
		// that is not itself part of a name follows: "chị H. Thấy vậy".
		return !next.opener && unicode.IsUpper(next.first) && !looksLikeInitial(next.tok)
	}
	return true
}

// startsWord reports whether s starts with a capitalised word: a capital
// letter followed by a lower-case one ("Ảnh", not "SN" or "1").
func startsWord(s string) bool {
	r1, size := utf8.DecodeRuneInString(s)
	r2, _ := utf8.DecodeRuneInString(s[size:])
	return unicode.IsUpper(r1) && unicode.IsLower(r2)
}

func skipSpaceBack(text string, min, i int) int {
	for i > min {
		r, size := utf8.DecodeLastRuneInString(text[min:i])
		if !unicode.IsSpace(r) {
			break
		}
		i -= size
	}
	return i
}

// looksLikeInitial reports whether tok is a name initial or a single letter
// ("T.", "B", "Th.,"), which continues a name rather than starting a sentence.
func looksLikeInitial(tok string) bool {
	core := strings.TrimRightFunc(tok, func(r rune) bool { return unicode.IsPunct(r) })
	core = strings.TrimLeftFunc(core, isOpener)
	if r, size := utf8.DecodeRuneInString(core); size == len(core) && unicode.IsUpper(r) {
		return true
	}
	return strings.Contains(tok, ".") && isInitials(strings.TrimSuffix(core, "."))
}

// missingSpaceBreak handles a full stop with no space after it, common in
// scraped text ("tăng 7,5%.Thu ngân sách"): it breaks only between a real
// word (or a figure) and a capitalised word, never after an abbreviation
// ("TP.Hồ Chí Minh", "ThS.Nguyễn", "S.Tiên"), inside a number or a URL.
func missingSpaceBreak(text string, sentStart, i, termEnd, j, end int) bool {
	if text[i:termEnd] != "." || j != termEnd {
		return false
	}
	before, _ := utf8.DecodeLastRuneInString(text[:i])
	if !(unicode.IsLower(before) || before == '%') {
		return false
	}
	tok, _ := tokenBefore(text, sentStart, i)
	core := strings.TrimLeftFunc(tok, isOpener)
	if strongAbbrev[core] || isInitials(core) || strings.ContainsAny(core, "/@:") || utf8.RuneCountInString(core) < 2 {
		return false
	}
	if c, _ := utf8.DecodeRuneInString(core); strings.Contains(core, ".") && !unicode.IsDigit(c) {
		return false
	}
	r1, s1 := utf8.DecodeRuneInString(text[j:])
	if !unicode.IsUpper(r1) || j+s1 >= end {
		return false
	}
	r2, _ := utf8.DecodeRuneInString(text[j+s1:])
	if !unicode.IsLower(r2) {
		return false
	}
	next := wordAt(text, j, end)
	return !strings.Contains(next.tok[:len(next.tok)-1], ".")
}
