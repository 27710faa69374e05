package vntext

import (
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/bantin/bantin/internal/testenv"
)

// article is one line of text/vietnews_test_sample.jsonl.
type article = testenv.Article

func loadVietnews(t *testing.T) []article { return testenv.Vietnews(t) }

// neverFinal are abbreviations after which no sentence may end.
var neverFinal = []string{"TP.", "Tp.", "TS.", "ThS.", "PGS.", "GS.", "Nxb.", "tr.", "BS."}

var decimalAtEnd = regexp.MustCompile(`\d[.,]$`)

func TestCorpusSentences(t *testing.T) {
	arts := loadVietnews(t)
	total := 0
	for _, a := range arts {
		for _, field := range []struct{ name, text string }{{"text", a.Text}, {"summary", a.Summary}} {
			sents := SplitSentences(field.text)
			if len(sents) == 0 {
				t.Errorf("%s %s: no sentences", a.ID, field.name)
				continue
			}
			total += len(sents)
			checkCoverage(t, field.text, sents)
			for i, s := range sents {
				if i+1 == len(sents) {
					continue
				}
				next := sents[i+1]
				last := s[strings.LastIndexByte(s, ' ')+1:]
				last = strings.TrimLeftFunc(last, isOpener)
				for _, ab := range neverFinal {
					if last == ab {
						t.Errorf("%s %s: sentence ends with abbreviation %q:\n%s\n%s", a.ID, field.name, ab, s, next)
					}
				}
				first, _ := utf8.DecodeRuneInString(strings.TrimLeftFunc(next, isOpener))
				if unicode.IsLower(first) {
					t.Errorf("%s %s: sentence starts in lower case:\n%s\n%s", a.ID, field.name, s, next)
				}
				if decimalAtEnd.MatchString(s) && unicode.IsDigit(first) {
					t.Errorf("%s %s: number split across sentences:\n%s\n%s", a.ID, field.name, s, next)
				}
				// A name initial followed by the rest of the person's data
				// ("Nguyễn Văn H. (SN 1977") or a digit is not a sentence end.
				if core := strings.TrimSuffix(last, "."); last != core && isInitials(core) && (first == '(' || unicode.IsDigit(first)) {
					t.Errorf("%s %s: split after initial %q:\n%s\n%s", a.ID, field.name, last, s, next)
				}
			}
		}
	}
	// 150 news articles average 15 sentences; a splitter that stops
	// splitting, or splits at every full stop, moves this a long way.
	if total < 2000 || total > 3200 {
		t.Errorf("%d sentences in the corpus, want 2000..3200", total)
	}
	t.Logf("%d articles, %d sentences", len(arts), total)
}

var (
	yearOnly     = regexp.MustCompile(`^(19|20)\d\d$`)
	datePrefixes = []string{"năm ", "ngày ", "tháng ", "Năm ", "Ngày ", "Tháng ", "/", ":"}
)

func TestCorpusFigures(t *testing.T) {
	arts := loadVietnews(t)
	total := 0
	for _, a := range arts {
		figs := Figures(a.Text)
		total += len(figs)
		checkFigures(t, a.Text, figs)
		for _, f := range figs {
			if yearOnly.MatchString(f.Text) {
				t.Errorf("%s: year %q taken as a figure", a.ID, f.Text)
			}
			if strings.ContainsAny(f.Text, "/:") && !strings.Contains(f.Unit, "/") {
				t.Errorf("%s: figure %q looks like a date, time or document number", a.ID, f.Text)
			}
			for i := 0; ; {
				k := strings.Index(a.Text[i:], f.Text)
				if k < 0 {
					break
				}
				before := a.Text[:i+k]
				for _, p := range datePrefixes {
					if strings.HasSuffix(before, p) {
						t.Errorf("%s: figure %q follows %q: a date, not a figure", a.ID, f.Text, p)
					}
				}
				i += k + len(f.Text)
			}
			// Round trip through the canonical form.
			if v, ok := ParseNumber(FormatNumber(f.Value)); !ok || v != f.Value {
				t.Errorf("%s: %q: ParseNumber(FormatNumber(%v)) = %v, %v", a.ID, f.Text, f.Value, v, ok)
			}
			if n := NormalizeFigure(f.Text); NormalizeFigure(n) != n {
				t.Errorf("%s: NormalizeFigure not idempotent on %q", a.ID, f.Text)
			}
		}
		// Every money amount written "<number> triệu|tỷ đồng" is found.
		for _, m := range moneyPattern.FindAllStringIndex(a.Text, -1) {
			found := false
			for _, f := range figs {
				if strings.HasPrefix(a.Text[m[0]:], f.Text) {
					found = true
				}
			}
			if !found && numberBoundaryBefore(a.Text, m[0]) {
				t.Errorf("%s: money %q not found", a.ID, a.Text[m[0]:m[1]])
			}
		}
	}
	if total < 300 {
		t.Errorf("only %d figures in 150 articles", total)
	}
	t.Logf("%d figures", total)
}

var moneyPattern = regexp.MustCompile(`\d[\d.,]*\d? (triệu|tỷ) đồng`)

func TestCorpusFold(t *testing.T) {
	for _, a := range loadVietnews(t) {
		f := Fold(a.Text)
		for _, r := range f {
			if r > unicode.MaxASCII && unicode.IsLetter(r) && r != 'ß' {
				t.Errorf("%s: Fold left %q", a.ID, r)
				break
			}
		}
		if got, want := len(Syllables(a.Text)), len(strings.Fields(Fold(a.Text))); got == 0 || got > want*2 {
			t.Errorf("%s: %d syllables for %d words", a.ID, got, want)
		}
	}
}
