package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/bantin/bantin/internal/demo"
	"github.com/bantin/bantin/services/ingest"
)

func demoCommand() *command {
	var once bool
	return &command{
		name:  "demo",
		short: "Try bantin: embedded NATS, all roles and a sample meeting; prints the feed URLs.",
		long: "Serves a bundled Vietnamese meeting article with its attached report on loopback, crawls it like\n" +
			"a real site, summarises the report and serves the feeds. Data lives in a temporary directory\n" +
			"unless --data is given. Stop with Ctrl+C.",
		flags: func(fs *flag.FlagSet, o *options) {
			natsFlags(fs, o, true)
			httpFlags(fs, o)
			dataFlag(fs, o, "")
			ingestFlags(fs, o)
			ocrFlags(fs, o)
			summarizeFlags(fs, o)
			fs.BoolVar(&once, "once", false, "exit as soon as the sample digest is in the feed (for scripts and CI)")
			// The demo should not collide with a running `bantin all`.
			_ = fs.Set("nats-listen", "127.0.0.1:0")
			// The sample site is served on loopback.
			_ = fs.Set("allow-private-networks", "true")
		},
		run: func(ctx context.Context, o *options, args []string) error {
			if len(args) > 0 {
				return errUsage
			}
			if o.dataDir == "" {
				dir, err := os.MkdirTemp("", "bantin-demo-")
				if err != nil {
					return fmt.Errorf("creating a temporary data directory: %w", err)
				}
				defer os.RemoveAll(dir)
				o.dataDir = dir
			}
			// A busy default port should not stop a first try.
			if ln, err := net.Listen("tcp", o.httpAddr); err != nil {
				o.log.Warn("http address taken; using a free port instead", "addr", o.httpAddr)
				o.httpAddr = "127.0.0.1:0"
			} else {
				ln.Close()
			}
			return runRoles(ctx, o, roles{ingest: true, ocr: true, summarize: true, publish: true}, true, func(ctx context.Context, st *stack) error {
				err := runDemo(ctx, o, st, once)
				if err == nil && once {
					return errStop
				}
				return err
			})
		},
	}
}

// errStop ends runRoles cleanly after `demo --once`.
var errStop = errors.New("stop")

func runDemo(ctx context.Context, o *options, st *stack, once bool) error {
	site, err := demo.Start()
	if err != nil {
		return err
	}
	defer site.Close(context.WithoutCancel(ctx))

	res, err := st.ingest.IngestURL(ctx, site.ArticleURL())
	if err != nil {
		return fmt.Errorf("crawling the sample article: %w", err)
	}
	want := 0
	for _, r := range res.Reports {
		if r.Outcome == ingest.OutcomeDead {
			return fmt.Errorf("sample attachment %s could not be read: %s", r.Name, r.Error)
		}
		want++
	}
	deadline := time.Now().Add(2 * time.Minute)
	for st.publish.Index().Len() < want {
		if time.Now().After(deadline) {
			return fmt.Errorf("the sample digest did not appear within 2 minutes; see the log above")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(100 * time.Millisecond):
		}
	}
	w := o.stdout
	fmt.Fprintf(w, "\nbantin demo is running.\n\n")
	fmt.Fprintf(w, "  Sample article:  %s  (%q, %d attachment(s))\n", site.ArticleURL(), res.Title, len(res.Reports))
	fmt.Fprintf(w, "  Web page:        %s/\n", st.baseURL)
	fmt.Fprintf(w, "  Atom feed:       %s/feeds/all.atom\n", st.baseURL)
	fmt.Fprintf(w, "  RSS feed:        %s/feeds/all.rss\n", st.baseURL)
	fmt.Fprintf(w, "  JSON Feed:       %s/feeds/all.json\n", st.baseURL)
	fmt.Fprintf(w, "  Upload a report: curl -F file=@report.pdf %s/api/reports\n", st.baseURL)
	fmt.Fprintf(w, "  NATS:            %s\n\n", st.natsURL)
	for _, d := range st.publish.Index().Latest(want) {
		fmt.Fprintf(w, "  Digest %s: %s\n    %s\n    %s/digests/%s\n", d.ID, d.Title, firstSentence(d.Summary), st.baseURL, d.ID)
	}
	if !once {
		fmt.Fprintf(w, "\nPress Ctrl+C to stop.\n")
	}
	return nil
}

func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i > 0 {
		return s[:i+1]
	}
	return s
}
