package extractive

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bantin/bantin/internal/model"
	"github.com/bantin/bantin/internal/testenv"
	"github.com/bantin/bantin/internal/vntext"
	"github.com/bantin/bantin/services/summarize/rouge"
)

// article is one line of text/vietnews_test_sample.jsonl.
type article = testenv.Article

func loadVietnews(t *testing.T) []article { return testenv.Vietnews(t) }

// articleReport wraps a news article as a report, the way ingest would for
// an article body: one paragraph, no pages.
func articleReport(a article) *model.Report {
	return &model.Report{
		SchemaVersion: model.SchemaVersion,
		ID:            model.ReportID([]byte(a.Text)),
		Source:        model.Source{ArticleTitle: a.Title, Site: "vietnews"},
		Format:        "text",
		Paragraphs:    []model.Paragraph{{Text: a.Text}},
		CreatedAt:     time.Date(2023, 12, 1, 9, 0, 0, 0, time.UTC),
	}
}

func TestCorpusVietnews(t *testing.T) {
	arts := loadVietnews(t)
	s := New(Config{MaxSentences: 3, MaxBullets: 5, Language: "vi"})
	var n, short int
	var r1, r2, l1, l2, rl, ll float64
	for _, a := range arts {
		r := articleReport(a)
		d, err := s.Summarize(context.Background(), r)
		if errors.Is(err, ErrTooShort) {
			short++
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", a.ID, err)
			continue
		}
		checkDigest(t, r, d)
		if t.Failed() {
			t.Fatalf("%s: invalid digest", a.ID)
		}
		ref := vntext.Syllables(a.Summary)
		ext := vntext.Syllables(d.Summary)
		sents := vntext.SplitSentences(a.Text)
		lead := vntext.Syllables(strings.Join(sents[:min(3, len(sents))], " "))
		r1 += rouge.N(ext, ref, 1)
		r2 += rouge.N(ext, ref, 2)
		l1 += rouge.N(lead, ref, 1)
		l2 += rouge.N(lead, ref, 2)
		rl += rouge.L(ext, ref)
		ll += rouge.L(lead, ref)
		n++
	}
	// Every sample article has a body of at least 400 characters.
	if short > 0 {
		t.Errorf("%d articles rejected as too short", short)
	}
	if n == 0 {
		t.Fatal("no digests")
	}
	fn := float64(n)
	t.Logf("syllable ROUGE F1 over %d articles: extractive R-1 %.4f R-2 %.4f R-L %.4f; lead-3 R-1 %.4f R-2 %.4f R-L %.4f", n, r1/fn, r2/fn, rl/fn, l1/fn, l2/fn, ll/fn)
	// The target of the scoring knobs: beat the lead-3 baseline.
	if r2 < l2 || rl < ll {
		t.Errorf("extractive does not beat lead-3 on ROUGE-2 (%.4f vs %.4f) and ROUGE-L (%.4f vs %.4f)", r2/fn, l2/fn, rl/fn, ll/fn)
	}
	if r1 <= 0 || r2 <= 0 || l1 <= 0 || l2 <= 0 {
		t.Errorf("ROUGE is zero: the summaries share nothing with the references")
	}
}
