// Package faithful checks a digest against the report it summarises: every
// figure the digest states (numbers with units, percentages, money, dates,
// counts, bare numbers) must appear in the report's text after
// normalisation ("13,45%" = "13,45 %", "1.250" = "1250", "ngàn" = "nghìn"),
// and names of people and bodies (runs of capitalised words, acronyms such
// as "UBND") must appear in it too. Both summarize backends are checked: an
// LLM digest that fails is retried and then replaced, an extractive digest
// that fails is flagged for review.
package faithful

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/bantin/bantin/internal/model"
	"github.com/bantin/bantin/internal/vntext"
)

// Failure is one statement of a digest that the report does not support.
type Failure struct {
	// Kind is "figure", "number" or "name".
	Kind string
	// Text is the offending text as the digest wrote it.
	Text string
	// Where is the digest field it was found in: title, summary, bullet N, figures.
	Where string
}

func (f Failure) String() string {
	return fmt.Sprintf("%s %q (%s) is not in the report", f.Kind, f.Text, f.Where)
}

// Result is the outcome of Check.
type Result struct {
	Failures []Failure
	// Checked counts the figures, numbers and names looked up.
	Checked int
}

// OK reports whether every checked statement was found in the report.
func (r Result) OK() bool { return len(r.Failures) == 0 }

// Reason summarises the failures in one line for Digest.ReviewReason and
// logs; it is empty when r is OK.
func (r Result) Reason() string {
	if r.OK() {
		return ""
	}
	parts := make([]string, 0, len(r.Failures))
	for _, f := range r.Failures {
		parts = append(parts, f.String())
	}
	return "faithfulness check failed: " + strings.Join(parts, "; ")
}

// Source is a report's text prepared for lookups; build it once with
// NewSource when checking several digests of one report.
type Source struct {
	norm    string          // normalised text, with spaces around
	figures map[string]bool // normalised figures
	numbers map[string]bool // canonical numbers and number compounds
	folded  string          // folded text with collapsed space
	pages   map[int]string  // normalised text of each page
}

// NewSource prepares the paragraphs of a report for Check. Extra texts
// support statements too, on no page: the article's title, which the
// publisher wrote about the report.
func NewSource(paras []model.Paragraph, extra ...string) *Source {
	for _, e := range extra {
		if e != "" {
			paras = append(paras[:len(paras):len(paras)], model.Paragraph{Page: -1, Text: e})
		}
	}
	s := &Source{figures: make(map[string]bool), numbers: make(map[string]bool), pages: make(map[int]string)}
	var all strings.Builder
	for _, p := range paras {
		all.WriteString(p.Text)
		all.WriteString("\n\n")
		n := vntext.NormalizeFigure(p.Text)
		s.pages[p.Page] += " " + n + " "
		for _, f := range vntext.Figures(p.Text) {
			s.figures[vntext.NormalizeFigure(f.Text)] = true
		}
	}
	text := all.String()
	s.norm = " " + vntext.NormalizeFigure(text) + " "
	for _, c := range numberCompounds(text) {
		for _, k := range c.keys() {
			s.numbers[k] = true
		}
	}
	s.folded = " " + strings.Join(strings.Fields(foldName(text)), " ") + " "
	return s
}

// Check checks d against the report's paragraphs and its article's title.
func Check(r *model.Report, d *model.Digest) Result {
	return NewSource(r.Paragraphs, r.Source.ArticleTitle).Check(d)
}

// Check checks d against the source.
func (s *Source) Check(d *model.Digest) Result {
	var res Result
	seen := make(map[string]bool)
	add := func(f Failure) {
		k := f.Kind + "\x00" + f.Text
		if !seen[k] {
			seen[k] = true
			res.Failures = append(res.Failures, f)
		}
	}
	check := func(where, text string, names bool) {
		for _, f := range vntext.Figures(text) {
			res.Checked++
			if !s.HasFigure(f.Text) {
				add(Failure{Kind: "figure", Text: f.Text, Where: where})
			}
		}
		for _, c := range numberCompounds(text) {
			res.Checked++
			if !s.hasNumber(c) {
				add(Failure{Kind: "number", Text: c.text, Where: where})
			}
		}
		if names {
			for _, n := range Names(text) {
				res.Checked++
				if !s.HasName(n) {
					add(Failure{Kind: "name", Text: n, Where: where})
				}
			}
		}
	}
	check("title", d.Title, false)
	check("summary", d.Summary, true)
	for i, b := range d.Bullets {
		check(fmt.Sprintf("bullet %d", i+1), b.Text, true)
	}
	for _, f := range d.Figures {
		res.Checked++
		if !s.HasFigure(f.Text) {
			add(Failure{Kind: "figure", Text: f.Text, Where: "figures"})
		}
	}
	return res
}

// HasFigure reports whether the figure text (a number and its unit, or a
// bare number) is in the source after normalisation.
func (s *Source) HasFigure(text string) bool {
	n := vntext.NormalizeFigure(text)
	if n == "" {
		return true
	}
	if s.figures[n] {
		return true
	}
	return containsWord(s.norm, n)
}

// PageHas reports whether the figure text is on the given page.
func (s *Source) PageHas(page int, text string) bool {
	return containsWord(s.pages[page], vntext.NormalizeFigure(text))
}

// Pages returns the pages (in order) whose text holds the figure.
func (s *Source) Pages(text string) []int {
	n := vntext.NormalizeFigure(text)
	var out []int
	for p, t := range s.pages {
		if p >= 0 && containsWord(t, n) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// HasName reports whether the name is in the source, ignoring case,
// diacritics (Uỷ/Ủy spellings) and white space.
func (s *Source) HasName(name string) bool {
	n := strings.Join(strings.Fields(foldName(name)), " ")
	return n == "" || containsWord(s.folded, n)
}

// containsWord reports whether needle occurs in hay not glued to a letter
// or digit on either side.
func containsWord(hay, needle string) bool {
	for off := 0; ; {
		i := strings.Index(hay[off:], needle)
		if i < 0 {
			return false
		}
		i += off
		before, _ := utf8.DecodeLastRuneInString(hay[:i])
		after, _ := utf8.DecodeRuneInString(hay[i+len(needle):])
		if !isWordRune(before) && !isWordRune(after) {
			return true
		}
		off = i + 1
	}
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

func foldName(s string) string {
	s = vntext.Fold(s)
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return r
		}
		return ' '
	}, s)
}

// compound is a run of numbers joined by '/', '-' or ':' ("15/12/2023",
// "2021-2025", "7,5"), as written.
type compound struct {
	text  string
	parts []string // canonical numbers
	sep   byte
}

// keys are the canonical forms a source compound answers to: the whole,
// and for dates each run of consecutive parts ("5/12" of "05/12/2023"),
// and each part alone.
func (c compound) keys() []string {
	out := []string{strings.Join(c.parts, string(c.sep))}
	for i := range c.parts {
		for j := i + 1; j <= len(c.parts); j++ {
			out = append(out, strings.Join(c.parts[i:j], string(c.sep)))
		}
	}
	return out
}

// numberCompounds finds every number in text, with dates, ranges and times
// kept whole.
func numberCompounds(text string) []compound {
	var out []compound
	for i := 0; i < len(text); {
		if !isDigit(text[i]) || (i > 0 && glued(text, i)) {
			i++
			continue
		}
		start := i
		var parts []string
		var sep byte
		j := i
		for {
			k := j
			for k < len(text) && (isDigit(text[k]) || ((text[k] == '.' || text[k] == ',') && k+1 < len(text) && isDigit(text[k+1]))) {
				k++
			}
			parts = append(parts, canonical(text[j:k]))
			j = k
			if j+1 < len(text) && (text[j] == '/' || text[j] == '-' || text[j] == ':') && isDigit(text[j+1]) && (sep == 0 || sep == text[j]) {
				sep = text[j]
				j++
				continue
			}
			break
		}
		// A number glued to letters is a code ("COVID-19", "F0", "30-NQ/TW").
		if r, _ := utf8.DecodeRuneInString(text[j:]); j < len(text) && (r == '/' || (unicode.IsLetter(r) && !isUnitStart(text[j:]))) {
			for j < len(text) && !unicode.IsSpace(rune(text[j])) {
				j++
			}
			i = j
			continue
		}
		out = append(out, compound{text: text[start:j], parts: parts, sep: sep})
		i = j
	}
	return out
}

// glued reports whether the digit at text[i] continues a word or code.
func glued(text string, i int) bool {
	r, _ := utf8.DecodeLastRuneInString(text[:i])
	return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' && i >= 2 && isWordRune(lastRune(text[:i-1])) || r == '/' || r == '.' || r == ','
}

func lastRune(s string) rune {
	r, _ := utf8.DecodeLastRuneInString(s)
	return r
}

// isUnitStart reports whether a unit glued to a number starts s ("35km", "12ha", "5h").
func isUnitStart(s string) bool {
	l := strings.ToLower(s)
	for _, u := range []string{"km", "ha", "kg", "m2", "m3", "mw", "kw", "gw", "tr", "đ", "h", "m", "t"} {
		if strings.HasPrefix(l, u) {
			rest := l[len(u):]
			r, _ := utf8.DecodeRuneInString(rest)
			if rest == "" || !unicode.IsLetter(r) {
				return true
			}
		}
	}
	return false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// canonical writes a number the Vietnamese way without leading zeros, so
// "05" = "5" and "1250" = "1.250"; what does not parse is kept.
func canonical(s string) string {
	if v, ok := vntext.ParseNumber(s); ok {
		return vntext.FormatNumber(v)
	}
	return s
}

func (s *Source) hasNumber(c compound) bool {
	return s.numbers[strings.Join(c.parts, string(c.sep))]
}

// Names returns the names of people and bodies in text that can be
// checked: runs of two or more capitalised words not at the start of a
// sentence ("Nguyễn Văn Nam", "Hà Nội", "Sở Tài chính" gives "Sở Tài"), and
// acronyms of two or more capitals ("UBND", "HĐND").
func Names(text string) []string {
	var out []string
	for _, sent := range vntext.SplitSentences(text) {
		words := strings.Fields(sent)
		var run []string
		flush := func() {
			if len(run) >= 2 {
				out = append(out, strings.Join(run, " "))
			}
			run = run[:0]
		}
		for i, w := range words {
			core := strings.TrimFunc(w, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
			if core == "" {
				flush()
				continue
			}
			if isAcronym(core) {
				out = append(out, core)
			}
			first, _ := utf8.DecodeRuneInString(core)
			capital := i > 0 && unicode.IsUpper(first) && !strings.ContainsFunc(core, unicode.IsDigit)
			if !capital {
				flush()
				continue
			}
			if r, _ := utf8.DecodeRuneInString(w); !isWordRune(r) {
				flush() // an opening bracket or quote starts a new run
			}
			run = append(run, core)
			if !isWordRune(lastRune(w)) {
				flush() // punctuation ends it
			}
		}
		flush()
	}
	return out
}

// isAcronym reports whether w is two or more capital letters, with no
// lower case ("UBND", "HĐND", "KT-XH" is two words).
func isAcronym(w string) bool {
	n := 0
	for _, r := range w {
		if !unicode.IsUpper(r) {
			return false
		}
		n++
	}
	return n >= 2
}
