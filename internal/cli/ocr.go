package cli

import (
	"context"
	"flag"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bantin/bantin/internal/bus"
	"github.com/bantin/bantin/internal/httpx"
	"github.com/bantin/bantin/services/ocr"
)

// ocrOptions are the flags of the OCR role.
type ocrOptions struct {
	dpi, concurrency, threads int
	lang                      string
	pageTimeout               time.Duration
}

func ocrFlags(fs *flag.FlagSet, o *options) {
	c := &o.ocr
	fs.IntVar(&c.dpi, "ocr-dpi", ocr.DefaultDPI, "resolution scanned pages are rendered at for OCR (higher reads small print better, slower)")
	fs.StringVar(&c.lang, "ocr-lang", ocr.DefaultLang, "tesseract language(s), e.g. vie or vie+eng (Debian package tesseract-ocr-<lang>)")
	fs.IntVar(&c.concurrency, "ocr-concurrency", ocr.DefaultConcurrency, "reports one OCR worker reads at once; 0 means one per CPU core")
	fs.IntVar(&c.threads, "ocr-threads", ocr.DefaultThreads, "threads of one tesseract process (OMP_THREAD_LIMIT); -1 leaves tesseract's default")
	fs.DurationVar(&c.pageTimeout, "ocr-page-timeout", ocr.DefaultPageTimeout, "deadline of rendering and recognising one page")
}

// startOCR adds an OCR worker to a process's roles.
func (o *options) startOCR(b *bus.Bus, reg prometheus.Registerer, srv *httpx.Server) (func(context.Context) error, error) {
	s, err := ocr.New(ocr.Config{
		Concurrency: o.ocr.concurrency, DPI: o.ocr.dpi, Lang: o.ocr.lang,
		Threads: o.ocr.threads, PageTimeout: o.ocr.pageTimeout,
	}, ocr.Deps{Bus: b, Log: o.log, Registry: reg})
	if err != nil {
		return nil, err
	}
	srv.AddReadiness("ocr", s.Ready)
	return s.Run, nil
}

func ocrCommand() *command {
	return &command{
		name:  "ocr",
		short: "Run OCR workers: scanned PDF pages are rendered and read with tesseract (Vietnamese).",
		long: "Pulls from the durable consumer \"ocr\" on the OCR stream (bantin.ocr.<site>; scale replicas on\n" +
			"its lag), renders each page without a usable text layer with pdftoppm, reads it with tesseract,\n" +
			"and puts the report on REPORTS for summarize. Needs --nats and the Debian packages\n" +
			"tesseract-ocr tesseract-ocr-vie poppler-utils; without them scans are dead-lettered as needs_ocr.",
		flags: func(fs *flag.FlagSet, o *options) {
			natsFlags(fs, o, false)
			httpFlags(fs, o)
			fs.DurationVar(&o.ackWait, "ack-wait", bus.DefaultAckWait, "how long a worker may go without reporting progress on a report before JetStream redelivers it")
			fs.IntVar(&o.maxDeliver, "max-deliver", bus.DefaultMaxDeliver, "deliveries of one report before it is dead-lettered")
			ocrFlags(fs, o)
		},
		run: func(ctx context.Context, o *options, args []string) error {
			if len(args) > 0 {
				return errUsage
			}
			return runRoles(ctx, o, roles{ocr: true}, false, nil)
		},
	}
}
