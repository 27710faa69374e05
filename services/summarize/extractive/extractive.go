// Package extractive is bantin's offline summariser and default backend: it
// builds a digest from the report's own sentences, so it needs no network,
// no model and no key, and it never states a figure the report does not.
//
// Sentences are scored by centrality, half their cosine similarity to the
// document's centroid and half their TextRank (PageRank over the sentence
// similarity graph), both on tf-idf of syllable unigrams and bigrams with
// Vietnamese stop words removed, times a lead bias; the summary and then the bullets are chosen by
// maximal marginal relevance (MMR) so that they do not repeat each other.
// Bullets prefer sentences that carry figures or decisions ("giao", "yêu
// cầu", "chỉ đạo", "phấn đấu", "đề nghị", "thống nhất", "kết luận"…).
// Boilerplate (national motto, document numbers, place-date lines,
// recipients and signature blocks, headings) never reaches the digest.
//
// The result depends only on the report: the same report always gives a
// byte-identical digest.
package extractive

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/bantin/bantin/internal/model"
	"github.com/bantin/bantin/internal/vntext"
)

// ErrTooShort is returned (wrapped) when a report has too little text to
// summarise: fewer than 30 syllables, or fewer than three sentences that
// are not boilerplate or headings. Retrying does not help.
var ErrTooShort = errors.New("too little text to summarise")

// ErrTextNotLoaded is returned (wrapped) when the report's paragraphs are
// stored in the object store (Report.TextRef) and the caller has not loaded
// them into Report.Paragraphs.
var ErrTextNotLoaded = errors.New("report text not loaded")

// Bounds of the digest, from the digest format.
const (
	minSummary, maxSummary = 2, 4
	minBullets, maxBullets = 3, 6
	maxFigures             = 8
	minSyllables           = 30
	minSentences           = 3
)

// Config configures a Summarizer. Zero values take the defaults.
type Config struct {
	// MaxSentences is the most sentences in the summary, 2..4 (default 3).
	MaxSentences int
	// MaxBullets is the most bullets, 3..6 (default 5).
	MaxBullets int
	// Language is the language of the reports and the digest; only "vi"
	// (the default) is supported.
	Language string
}

// Summarizer is the extractive summariser. It is safe for concurrent use.
type Summarizer struct {
	cfg Config
}

// New returns a Summarizer; out-of-range limits are clamped to the digest
// format's bounds.
func New(cfg Config) *Summarizer {
	if cfg.MaxSentences == 0 {
		cfg.MaxSentences = 3
	}
	if cfg.MaxBullets == 0 {
		cfg.MaxBullets = 5
	}
	cfg.MaxSentences = min(max(cfg.MaxSentences, minSummary), maxSummary)
	cfg.MaxBullets = min(max(cfg.MaxBullets, minBullets), maxBullets)
	if cfg.Language == "" {
		cfg.Language = "vi"
	}
	return &Summarizer{cfg: cfg}
}

// Name returns the backend name recorded in digests: "extractive".
func (s *Summarizer) Name() string { return "extractive" }

// Summarize builds the digest of r. It fails with ErrTooShort when r has too
// little text, and with ErrTextNotLoaded when r's text is only referenced.
func (s *Summarizer) Summarize(ctx context.Context, r *model.Report) (*model.Digest, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("summarizing report %s: %w", r.ID, err)
	}
	if s.cfg.Language != "vi" {
		return nil, fmt.Errorf("summarizing report %s: language %q is not supported, only \"vi\"", r.ID, s.cfg.Language)
	}
	if len(r.Paragraphs) == 0 && r.TextRef != "" {
		return nil, fmt.Errorf("summarizing report %s: paragraphs are stored under %s: %w", r.ID, r.TextRef, ErrTextNotLoaded)
	}
	if n := len(vntext.Syllables(r.Text())); n < minSyllables {
		return nil, fmt.Errorf("summarizing report %s: %d syllables, need %d: %w", r.ID, n, minSyllables, ErrTooShort)
	}
	headline := title(r)
	doc := analyse(dropTitleLines(r.Paragraphs, headline))
	if len(doc.sents) < minSentences {
		return nil, fmt.Errorf("summarizing report %s: %d usable sentences, need %d: %w", r.ID, len(doc.sents), minSentences, ErrTooShort)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("summarizing report %s: %w", r.ID, err)
	}

	n := len(doc.sents)
	k := min(max(n-minBullets, minSummary), s.cfg.MaxSentences)
	summary := doc.selectMMR(nil, k, func(c *sentence) float64 { return c.score })
	nb := min(s.cfg.MaxBullets, n-k)
	bullets := doc.selectMMR(summary, nb, func(c *sentence) float64 { return c.bulletScore() })
	// Too few sentences left for three bullets: repeat the strongest summary
	// sentences as bullets rather than pad with weak text.
	for _, c := range doc.byScore(summary) {
		if len(bullets) >= minBullets {
			break
		}
		bullets = append(bullets, c)
	}
	sortByPosition(summary)
	sortByPosition(bullets)

	var sum []string
	for _, c := range summary {
		sum = append(sum, c.display)
	}
	src := r.Source
	src.Tags = slices.Clone(src.Tags) // the digest must not share the report's slice
	d := &model.Digest{
		SchemaVersion: model.SchemaVersion,
		ID:            model.DigestID(r.ID),
		ReportID:      r.ID,
		Title:         headline,
		Summary:       strings.Join(sum, " "),
		Bullets:       make([]model.Bullet, 0, len(bullets)),
		Language:      s.cfg.Language,
		Source:        src,
		Backend:       s.Name(),
		CreatedAt:     r.CreatedAt,
		Version:       1,
	}
	for _, c := range bullets {
		d.Bullets = append(d.Bullets, model.Bullet{Text: c.display, Page: c.page})
	}
	d.Figures = salientFigures(vntext.FiguresIn(r.Paragraphs), d, doc)
	return d, nil
}

// salientFigures orders figures: those quoted in the summary, then in the
// bullets (in reading order), then the rest by the score of the best
// sentence that holds them; at most maxFigures.
func salientFigures(all []model.Figure, d *model.Digest, doc *document) []model.Figure {
	type ranked struct {
		f      model.Figure
		tier   int     // 0 summary, 1 bullets, 2 elsewhere
		bullet int     // which bullet, for tier 1
		at     int     // position in the summary or bullet text
		weight float64 // best sentence score, for tier 2
		pos    int     // order in the report
	}
	best := make(map[string]float64) // figure text → best score of a sentence quoting it
	for _, c := range doc.sents {
		for _, t := range c.figures {
			best[t] = max(best[t], c.score)
		}
	}
	rs := make([]ranked, 0, len(all))
	for i, f := range all {
		r := ranked{f: f, tier: 2, pos: i}
		// Digest text has its white space collapsed; a figure may span a
		// wrapped line.
		needle := strings.Join(strings.Fields(f.Text), " ")
		if at := strings.Index(d.Summary, needle); at >= 0 {
			r.tier, r.at = 0, at
		} else {
			for bi, b := range d.Bullets {
				if at := strings.Index(b.Text, needle); at >= 0 {
					r.tier, r.bullet, r.at = 1, bi, at
					break
				}
			}
		}
		if r.tier == 2 {
			r.weight = best[needle]
			if f.Unit == "" {
				r.weight /= 2 // a bare count says less than a figure with its unit
			}
		}
		rs = append(rs, r)
	}
	slices.SortStableFunc(rs, func(a, b ranked) int {
		switch {
		case a.tier != b.tier:
			return a.tier - b.tier
		case a.tier == 1 && a.bullet != b.bullet:
			return a.bullet - b.bullet
		case a.tier < 2 && a.at != b.at:
			return a.at - b.at
		case a.tier == 2 && a.weight != b.weight:
			if a.weight > b.weight {
				return -1
			}
			return 1
		}
		return a.pos - b.pos
	})
	out := make([]model.Figure, 0, min(len(rs), maxFigures))
	for _, r := range rs {
		if len(out) == maxFigures {
			break
		}
		out = append(out, r.f)
	}
	return out
}

// dropTitleLines removes the sentences that only restate the headline (the
// document's type line and subject, "Tình hình kinh tế - xã hội năm 2023…"):
// an editor reads the headline already, and the summary should not repeat it.
func dropTitleLines(paras []model.Paragraph, headline string) []model.Paragraph {
	head := map[string]bool{}
	for _, s := range vntext.Syllables(headline) {
		head[s] = true
	}
	if len(head) == 0 {
		return paras
	}
	out := make([]model.Paragraph, 0, len(paras))
	for _, p := range paras {
		var keep []string
		sents := vntext.SplitSentences(p.Text)
		for _, sent := range sents {
			syl := vntext.Syllables(sent)
			in := 0
			for _, s := range syl {
				if head[s] {
					in++
				}
			}
			if len(syl) > 0 && float64(in) >= 0.85*float64(len(syl)) {
				continue
			}
			keep = append(keep, sent)
		}
		switch {
		case len(keep) == len(sents):
			out = append(out, p)
		case len(keep) > 0:
			out = append(out, model.Paragraph{Page: p.Page, Text: strings.Join(keep, "\n")})
		}
	}
	return out
}
