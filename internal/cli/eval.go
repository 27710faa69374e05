package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bantin/bantin/internal/model"
	"github.com/bantin/bantin/internal/vntext"
	"github.com/bantin/bantin/services/summarize/extractive"
	"github.com/bantin/bantin/services/summarize/faithful"
	"github.com/bantin/bantin/services/summarize/rouge"
)

func evalCommand() *command {
	var limit int
	return &command{
		name:  "eval",
		usage: "FILE.jsonl",
		short: "Score a summariser with ROUGE against reference summaries, next to lead-3.",
		long: "Reads one JSON object a line, {\"id\", \"text\", \"summary\"}, summarises each text with the backend the\n" +
			"flags choose (extractive, or the LLM with --llm-base-url) and prints syllable-level ROUGE-1/2/L F1\n" +
			"(NFC, lower case) of the digests' summaries against the references, the same for lead-3 (the first\n" +
			"three sentences), and the share of digests that pass the faithfulness check.\n\n" +
			"Example: bantin eval /work/shared/corpus/text/vietnews_test_sample.jsonl",
		flags: func(fs *flag.FlagSet, o *options) {
			llmFlags(fs, o)
			fs.IntVar(&limit, "limit", 0, "score only the first N items (0: all)")
		},
		run: func(ctx context.Context, o *options, args []string) error {
			if len(args) != 1 {
				return errUsage
			}
			return runEval(ctx, o, args[0], limit)
		},
	}
}

type evalItem struct {
	ID      json.RawMessage `json:"id"` // a string or a number
	Title   string          `json:"title"`
	Text    string          `json:"text"`
	Summary string          `json:"summary"`
}

func runEval(ctx context.Context, o *options, path string, limit int) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("opening %s: %w", path, err)
	}
	defer f.Close()
	var items []evalItem
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<26)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var it evalItem
		if err := json.Unmarshal(sc.Bytes(), &it); err != nil {
			return fmt.Errorf("%s line %d: %w (want {\"id\", \"text\", \"summary\"})", path, len(items)+1, err)
		}
		if it.Text == "" || it.Summary == "" {
			return fmt.Errorf("%s line %d: empty text or summary", path, len(items)+1)
		}
		items = append(items, it)
		if limit > 0 && len(items) == limit {
			break
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	if len(items) == 0 {
		return fmt.Errorf("%s has no items", path)
	}
	sum, err := o.newSummarizer(ctx, nil, nil)
	if err != nil {
		return err
	}
	start := time.Now()
	var sys, lead rouge.Scores
	var n, faithfulN, reviewN, failed int
	for _, it := range items {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r := &model.Report{
			SchemaVersion: model.SchemaVersion, ID: model.ReportID([]byte(it.Text)),
			Source: model.Source{ArticleTitle: it.Title, Site: "eval"}, Format: "text",
			Paragraphs: []model.Paragraph{{Text: it.Text}},
		}
		d, err := sum.Summarize(ctx, r)
		if err != nil {
			if !errors.Is(err, extractive.ErrTooShort) {
				fmt.Fprintf(o.stderr, "bantin eval: item %s: %v\n", it.ID, err)
			}
			failed++
			continue
		}
		n++
		s := rouge.Score(d.Summary, it.Summary)
		sys.R1, sys.R2, sys.RL = sys.R1+s.R1, sys.R2+s.R2, sys.RL+s.RL
		sents := vntext.SplitSentences(it.Text)
		l := rouge.Score(strings.Join(sents[:min(3, len(sents))], " "), it.Summary)
		lead.R1, lead.R2, lead.RL = lead.R1+l.R1, lead.R2+l.R2, lead.RL+l.RL
		if faithful.Check(r, d).OK() {
			faithfulN++
		}
		if d.NeedsReview {
			reviewN++
		}
	}
	if n == 0 {
		return fmt.Errorf("no item of %s could be summarised", path)
	}
	fn := float64(n)
	fmt.Fprintf(o.stdout, "%s: %d items, %d summarised, %d failed, %s\n\n", path, len(items), n, failed, time.Since(start).Round(time.Millisecond))
	tw := tabwriter.NewWriter(o.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "| summariser\t| ROUGE-1 F1\t| ROUGE-2 F1\t| ROUGE-L F1\t| pass figure check\t| needs review\t|")
	fmt.Fprintln(tw, "|---\t|---\t|---\t|---\t|---\t|---\t|")
	fmt.Fprintf(tw, "| %s\t| %.4f\t| %.4f\t| %.4f\t| %.1f%%\t| %.1f%%\t|\n", sum.Name(), sys.R1/fn, sys.R2/fn, sys.RL/fn, 100*float64(faithfulN)/fn, 100*float64(reviewN)/fn)
	fmt.Fprintf(tw, "| lead-3\t| %.4f\t| %.4f\t| %.4f\t| –\t| –\t|\n", lead.R1/fn, lead.R2/fn, lead.RL/fn)
	return tw.Flush()
}
