package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/bantin/bantin/internal/model"
	"github.com/bantin/bantin/services/ingest"
	"github.com/bantin/bantin/services/summarize"
	"github.com/bantin/bantin/services/summarize/faithful"
)

func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// expandTargets turns folders into the files under them, in name order.
func expandTargets(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		if isURL(a) {
			out = append(out, a)
			continue
		}
		fi, err := os.Stat(a)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", a, err)
		}
		if !fi.IsDir() {
			out = append(out, a)
			continue
		}
		var files []string
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() && !strings.HasPrefix(d.Name(), ".") {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", a, err)
		}
		sort.Strings(files)
		out = append(out, files...)
	}
	return out, nil
}

func submitCommand() *command {
	return &command{
		name:  "submit",
		usage: "FILE|DIR|URL...",
		short: "Put reports, folders of reports or article pages on the queue, with progress.",
		long: "Files are read from disk, folders walked, URLs crawled (an article page's attachments, or the\n" +
			"file a URL points at). Each report is extracted here and published to the REPORTS stream of the\n" +
			"NATS server at --nats; summarize workers pick it up. Prints one line per report and a summary;\n" +
			"exits 1 when any report failed.\n\n" +
			"Example: bantin submit --nats nats://127.0.0.1:4222 bao-cao.pdf https://example.gov.vn/tin/ky-hop.html",
		flags: func(fs *flag.FlagSet, o *options) {
			natsFlags(fs, o, false)
			ingestFlags(fs, o)
		},
		run: func(ctx context.Context, o *options, args []string) error {
			if len(args) == 0 {
				return errUsage
			}
			targets, err := expandTargets(args)
			if err != nil {
				return err
			}
			b, err := o.connect(ctx, o.natsURL, "bantin-submit")
			if err != nil {
				return err
			}
			defer b.Close()
			svc, err := ingest.New(o.ingestConfig(), ingest.Deps{Bus: b, Log: o.log})
			if err != nil {
				return err
			}
			defer svc.Close()
			return submit(ctx, o, svc, targets)
		},
	}
}

func submit(ctx context.Context, o *options, svc *ingest.Service, targets []string) error {
	start := time.Now()
	counts := map[string]int{}
	var failures []string
	total := len(targets)
	for i, t := range targets {
		if ctx.Err() != nil {
			break
		}
		var results []ingest.Result
		if isURL(t) {
			res, err := svc.IngestURL(ctx, t)
			if err != nil {
				results = []ingest.Result{{Name: t, Outcome: ingest.OutcomeDead, Reason: "fetch_failed", Error: err.Error()}}
			} else {
				results = res.Reports
			}
		} else {
			raw, err := os.ReadFile(t)
			if err != nil {
				results = []ingest.Result{{Name: t, Outcome: ingest.OutcomeDead, Reason: "read_failed", Error: err.Error()}}
			} else {
				results = []ingest.Result{svc.IngestBytes(ctx, raw, model.Source{Site: "upload", AttachmentName: filepath.Base(t)})}
			}
		}
		rate := float64(i+1) / time.Since(start).Seconds()
		for _, r := range results {
			counts[r.Outcome]++
			line := fmt.Sprintf("[%d/%d] %s: %s", i+1, total, r.Name, r.Outcome)
			if r.Pages > 0 {
				line += fmt.Sprintf(" (%d pages)", r.Pages)
			}
			if r.Outcome == ingest.OutcomeDead {
				line += fmt.Sprintf(" — %s: %s", r.Reason, r.Error)
				failures = append(failures, fmt.Sprintf("%s: %s", r.Name, r.Reason))
			}
			fmt.Fprintf(o.stderr, "%s  [%.1f/s]\n", line, rate)
		}
	}
	fmt.Fprintf(o.stdout, "submitted %d target(s) in %s: %d queued, %d duplicate, %d failed\n",
		total, time.Since(start).Round(time.Millisecond), counts[ingest.OutcomeQueued]+counts[ingest.OutcomeOCR], counts[ingest.OutcomeDuplicate], counts[ingest.OutcomeDead])
	for _, f := range failures {
		fmt.Fprintf(o.stdout, "  failed: %s\n", f)
	}
	if len(failures) > 0 {
		return fmt.Errorf("%d report(s) failed; they are in the DEADLETTER stream with their reasons", len(failures))
	}
	return ctx.Err()
}

func digestCommand() *command {
	return &command{
		name:  "digest",
		usage: "FILE|URL...",
		short: "Summarise reports right here, no NATS: for an editor at a terminal.",
		long: "Extracts the text of each file (PDF, HTML, text) or of the attachments of an article URL and\n" +
			"prints its digest. Example: bantin digest --format json bao-cao-kt-xh.pdf",
		flags: func(fs *flag.FlagSet, o *options) {
			ingestFlags(fs, o)
			fs.StringVar(&o.format, "format", "text", "output format: text or json")
			llmFlags(fs, o)
		},
		run: func(ctx context.Context, o *options, args []string) error {
			if len(args) == 0 {
				return errUsage
			}
			if o.format != "text" && o.format != "json" {
				return fmt.Errorf("--format must be text or json, not %q", o.format)
			}
			return digest(ctx, o, args)
		},
	}
}

func digest(ctx context.Context, o *options, args []string) error {
	reader := ingest.NewReader(o.ingestConfig())
	defer reader.Close()
	sum, err := o.newSummarizer(ctx, nil, nil)
	if err != nil {
		return err
	}
	var items []ingest.Item
	for _, a := range args {
		if isURL(a) {
			found, err := reader.FromURL(ctx, a)
			if err != nil {
				return err
			}
			items = append(items, found.Items...)
			continue
		}
		raw, err := os.ReadFile(a)
		if err != nil {
			return fmt.Errorf("reading %s: %w", a, err)
		}
		items = append(items, ingest.Item{Raw: raw, Source: model.Source{Site: "local", AttachmentName: filepath.Base(a)}})
	}
	failed := 0
	for _, it := range items {
		name := it.Source.AttachmentName
		d, err := digestItem(ctx, reader, sum, it)
		if err != nil {
			failed++
			fmt.Fprintf(o.stderr, "bantin digest: %s: %v\n", name, err)
			continue
		}
		if o.format == "json" {
			enc := json.NewEncoder(o.stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(d); err != nil {
				return err
			}
			continue
		}
		printDigest(o, d)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d document(s) could not be summarised", failed, len(items))
	}
	return nil
}

func digestItem(ctx context.Context, reader *ingest.Reader, sum summarize.Summarizer, it ingest.Item) (*model.Digest, error) {
	if it.Err != nil {
		return nil, it.Err
	}
	doc := it.Doc
	if doc == nil {
		var err error
		if doc, err = reader.Extract(ctx, it.Raw, it.Source); err != nil {
			return nil, err
		}
	}
	r := &model.Report{
		SchemaVersion: model.SchemaVersion,
		ID:            model.ReportID(it.Raw),
		Source:        it.Source,
		Format:        doc.Format,
		Pages:         doc.Pages,
		Paragraphs:    doc.Paragraphs,
		Extractor:     doc.Extractor,
		CreatedAt:     time.Now().UTC(),
	}
	d, err := sum.Summarize(ctx, r)
	if err != nil {
		return nil, err
	}
	if res := faithful.Check(r, d); !res.OK() && !strings.Contains(d.ReviewReason, res.Reason()) {
		d.NeedsReview, d.ReviewReason = true, strings.TrimSpace(d.ReviewReason+" "+res.Reason())
	}
	return d, nil
}

func printDigest(o *options, d *model.Digest) {
	w := o.stdout
	fmt.Fprintf(w, "%s\n%s\n", d.Title, strings.Repeat("=", min(len([]rune(d.Title)), 78)))
	if d.Source.ArticleTitle != "" {
		fmt.Fprintf(w, "Bài gốc: %s", d.Source.ArticleTitle)
		if !d.Source.PublishedAt.IsZero() {
			fmt.Fprintf(w, " (%s)", d.Source.PublishedAt.Format("15:04 02/01/2006"))
		}
		fmt.Fprintln(w)
	}
	if d.Source.AttachmentName != "" {
		fmt.Fprintf(w, "Tệp: %s\n", d.Source.AttachmentName)
	}
	fmt.Fprintf(w, "\n%s\n\n", d.Summary)
	for _, b := range d.Bullets {
		if b.Page > 0 {
			fmt.Fprintf(w, "  • %s (tr. %d)\n", b.Text, b.Page)
		} else {
			fmt.Fprintf(w, "  • %s\n", b.Text)
		}
	}
	if len(d.Figures) > 0 {
		var figs []string
		for _, f := range d.Figures {
			figs = append(figs, f.Text)
		}
		fmt.Fprintf(w, "\nSố liệu: %s\n", strings.Join(figs, "; "))
	}
	if d.NeedsReview {
		fmt.Fprintf(w, "\nCần biên tập viên xem lại: %s\n", d.ReviewReason)
	}
	fmt.Fprintln(w)
}
