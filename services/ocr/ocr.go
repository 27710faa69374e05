// Package ocr runs the workers that recognise the text of scanned PDF
// pages. Ingest puts a report whose pages have no usable text layer (most
// signed government decrees) on the OCR work queue, bantin.ocr.<site>, with
// the pages to read in OCRPending; a worker fetches the PDF from the
// ATTACHMENTS object store, renders each of those pages (poppler's
// pdftoppm), recognises it (tesseract, Vietnamese by default), merges the
// text into the report's paragraphs and puts the report on REPORTS for
// summarize. OCR takes seconds per page, so it is its own role, scaled on
// the lag of the durable consumer "ocr".
package ocr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/bantin/bantin/internal/bus"
	"github.com/bantin/bantin/internal/model"
	"github.com/bantin/bantin/services/ingest/extract"
)

// Config holds an OCR worker's settings. Zero values take the defaults.
type Config struct {
	// Concurrency is how many reports one worker OCRs at once.
	Concurrency int
	// DPI is the resolution pages are rendered at for OCR.
	DPI int
	// Lang is tesseract's language: "vie", or "vie+eng".
	Lang string
	// Threads caps each tesseract process's threads (OMP_THREAD_LIMIT);
	// negative leaves tesseract's own default.
	Threads int
	// Tesseract and Pdftoppm are the programs, as paths or names on PATH.
	Tesseract, Pdftoppm string
	// PageTimeout bounds rendering and recognising one page.
	PageTimeout time.Duration
	// ShutdownGrace is how long in-flight reports may go on after the
	// context is cancelled before they are nak'ed for another worker.
	ShutdownGrace time.Duration
}

// Defaults for Config.
const (
	// DefaultConcurrency 0 means one report per CPU core: tesseract runs
	// single-threaded (DefaultThreads), so that keeps every core busy.
	DefaultConcurrency = 0
	// DefaultDPI is 300 although bench/ocr's table of clean renderings
	// favours 200 dpi (91.0% of syllables in 1.9 s a page, against 89.7%
	// in 3.4 s): on a real 1-bit scanned decree (vi-2239ttg.signed.pdf)
	// 200 dpi loses the signer's name and misreads the number, 300 does not.
	DefaultDPI           = 300
	DefaultLang          = "vie"
	DefaultThreads       = 1
	DefaultPageTimeout   = 2 * time.Minute
	DefaultShutdownGrace = 20 * time.Second
)

func (c Config) withDefaults() Config {
	if c.Concurrency <= 0 {
		c.Concurrency = runtime.NumCPU()
	}
	if c.DPI <= 0 {
		c.DPI = DefaultDPI
	}
	if c.Lang == "" {
		c.Lang = DefaultLang
	}
	if c.Threads == 0 {
		c.Threads = DefaultThreads
	}
	if c.Tesseract == "" {
		c.Tesseract = "tesseract"
	}
	if c.Pdftoppm == "" {
		c.Pdftoppm = "pdftoppm"
	}
	if c.PageTimeout <= 0 {
		c.PageTimeout = DefaultPageTimeout
	}
	if c.ShutdownGrace <= 0 {
		c.ShutdownGrace = DefaultShutdownGrace
	}
	return c
}

// Deps are a worker's collaborators.
type Deps struct {
	Bus      *bus.Bus
	Log      *slog.Logger
	Registry prometheus.Registerer
}

// Service is the OCR role.
type Service struct {
	cfg    Config
	bus    *bus.Bus
	log    *slog.Logger
	engine *Engine

	mu         sync.Mutex
	engineName string // set once Check succeeded

	reports     *prometheus.CounterVec
	pages       *prometheus.CounterVec
	pageSeconds prometheus.Histogram

	ready  chan struct{}
	settle *bus.Settler
}

// New returns an OCR worker.
func New(cfg Config, deps Deps) (*Service, error) {
	if deps.Bus == nil {
		return nil, errors.New("ocr: a NATS bus is required")
	}
	cfg = cfg.withDefaults()
	log := deps.Log
	if log == nil {
		log = slog.Default()
	}
	s := &Service{
		cfg: cfg, bus: deps.Bus,
		log:    log.With("role", "ocr"),
		engine: &Engine{Pdftoppm: cfg.Pdftoppm, Tesseract: cfg.Tesseract, Lang: cfg.Lang, DPI: cfg.DPI, Threads: max(cfg.Threads, 0)},
		reports: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bantin_ocr_reports_total",
			Help: "Reports handled by OCR workers, by outcome (ocred, skipped, forwarded, retried, nak, dead).",
		}, []string{"outcome"}),
		pages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bantin_ocr_pages_total",
			Help: "Pages OCRed, by source site and outcome (text, empty, failed).",
		}, []string{"site", "outcome"}),
		pageSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "bantin_ocr_page_seconds",
			Help:    "Time to render and recognise one page.",
			Buckets: prometheus.ExponentialBuckets(0.25, 2, 10),
		}),
		ready: make(chan struct{}),
	}
	if deps.Registry != nil {
		for _, c := range []prometheus.Collector{s.reports, s.pages, s.pageSeconds} {
			if err := deps.Registry.Register(c); err != nil {
				return nil, fmt.Errorf("registering ocr metrics: %w", err)
			}
		}
	}
	s.settle = &bus.Settler{Bus: s.bus, Log: s.log, Outcomes: s.reports, Noun: "OCR job"}
	return s, nil
}

// Ready reports whether the worker is consuming.
func (s *Service) Ready(ctx context.Context) error {
	select {
	case <-s.ready:
		return s.bus.Ready(ctx)
	default:
		return errors.New("ocr worker not consuming yet")
	}
}

// Run consumes the OCR work queue until ctx is done, then drains: it stops
// pulling, lets in-flight reports finish within ShutdownGrace, then kills
// the OCR processes and nak's the unfinished reports so another worker
// takes them at once.
func (s *Service) Run(ctx context.Context) error {
	cons, err := s.bus.EnsureOCRConsumer(ctx)
	if err != nil {
		return err
	}
	if _, err := s.checkEngine(ctx); err != nil {
		s.log.Warn("OCR is not available: scanned reports will be dead-lettered as needs_ocr", "err", err)
	}
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()

	var wg sync.WaitGroup
	close(s.ready)
	s.log.Info("ocr worker consuming", "stream", model.StreamOCR, "consumer", model.ConsumerOCR,
		"concurrency", s.cfg.Concurrency, "dpi", s.cfg.DPI, "lang", s.cfg.Lang)
	// A job is pulled only for a free handler: OCR takes minutes, and a job
	// fetched ahead would wait unkept-alive past AckWait.
	bus.Puller{Consumer: cons, Handlers: s.cfg.Concurrency,
		Name: model.StreamOCR + "/" + model.ConsumerOCR, Log: s.log}.
		Run(ctx, &wg, func(msg jetstream.Msg) func() { return func() { s.handle(work, msg) } })

	s.log.Info("draining ocr worker")
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(s.cfg.ShutdownGrace):
		s.log.Warn("in-flight OCR did not finish within the grace period; nak'ing it", "grace", s.cfg.ShutdownGrace)
		cancelWork()
		<-done
	}
	s.log.Info("ocr worker stopped")
	return nil
}

// checkEngine runs Engine.Check until it succeeds once, so that tools
// installed while the worker runs are picked up.
func (s *Service) checkEngine(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.engineName != "" {
		return s.engineName, nil
	}
	name, err := s.engine.Check(ctx)
	if err != nil {
		return "", err
	}
	s.engineName = name
	return name, nil
}

// handle OCRs one report and maps the outcome to Ack, Nak or Term.
func (s *Service) handle(ctx context.Context, msg jetstream.Msg) {
	start := time.Now()
	job := s.settle.Begin(ctx, msg, "ocr")
	if job == nil {
		return
	}
	r, dl, attempts, log := job.Report, job.Dead, job.Attempts, job.Log
	stop := s.settle.KeepAlive(ctx, msg)
	err := s.ocr(ctx, msg, &r, log)
	stop()
	var noText *noTextError
	switch {
	case errors.Is(err, ErrNotInstalled):
		if lettersOutside(r.Paragraphs, r.OCRPending) >= minLetters {
			// The text layer has something: better a digest of that,
			// with a warning, than none.
			r.Warnings = append(r.Warnings, fmt.Sprintf("page %s not OCRed: %v", pageList(r.OCRPending), err))
			r.OCRPending = nil
			if err := s.forward(ctx, &r); err != nil {
				s.settle.Retry(ctx, msg, dl, attempts, err, log)
				return
			}
			log.Warn("OCR not available; report forwarded with its text layer only", "err", err)
			s.settle.Ack(msg, log)
			s.reports.WithLabelValues("forwarded").Inc()
			return
		}
		dl.Reason, dl.Error = "needs_ocr", fmt.Sprintf("the report is a scan (%s) and OCR is not available here: %v", pageCount(r.OCRPending), err)
		s.settle.Terminate(ctx, msg, dl)
		return
	case errors.As(err, &noText):
		dl.Reason, dl.Error = "no_text", err.Error()
		s.settle.Terminate(ctx, msg, dl)
		return
	case errors.Is(err, jetstream.ErrObjectNotFound):
		dl.Reason, dl.Error = "attachment_missing", fmt.Sprintf("the raw PDF %s is not in the %s object store; submit the file again: %v", r.ID, model.BucketAttachment, err)
		s.settle.Terminate(ctx, msg, dl)
		return
	case err != nil:
		s.settle.Retry(ctx, msg, dl, attempts, err, log)
		return
	}
	if err := s.forward(ctx, &r); err != nil {
		s.settle.Retry(ctx, msg, dl, attempts, err, log)
		return
	}
	s.settle.Ack(msg, log)
	s.reports.WithLabelValues("ocred").Inc()
	log.Info("report OCRed and queued for summarize", "pages", len(r.OCR.Pages), "confidence", fmt.Sprintf("%.0f", r.OCR.Confidence), "took", time.Since(start).Round(time.Millisecond))
}

// minLetters is the least a report's text needs to be worth summarising.
const minLetters = 20

// noTextError means OCR read no text on any page.
type noTextError struct{ msg string }

func (e *noTextError) Error() string { return e.msg }

// ocr recognises r's pending pages and merges their text into r.
func (s *Service) ocr(ctx context.Context, msg jetstream.Msg, r *model.Report, log *slog.Logger) error {
	engine, err := s.checkEngine(ctx)
	if err != nil {
		return err
	}
	if r.Format != extract.FormatPDF {
		return &noTextError{fmt.Sprintf("OCR reads PDF pages; this report is %q", r.Format)}
	}
	raw, err := s.bus.Attachments.GetBytes(ctx, r.ID)
	if err != nil {
		return fmt.Errorf("fetching the PDF of %s: %w", r.ID, err)
	}
	f, err := os.CreateTemp("", "bantin-ocr-*.pdf")
	if err != nil {
		return fmt.Errorf("writing a temporary copy of the PDF: %w", err)
	}
	defer os.Remove(f.Name())
	_, werr := f.Write(raw)
	if err := errors.Join(werr, f.Close()); err != nil {
		return fmt.Errorf("writing a temporary copy of the PDF: %w", err)
	}

	pending := slices.Clone(r.OCRPending)
	got := map[int][]model.Paragraph{}
	conf := map[int]float64{}
	var failed, empty []int
	var failures []string
	var sum float64
	words := 0
	for i, n := range pending {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("stopped before page %d: %w", n, err)
		}
		t0 := time.Now()
		pctx, cancel := context.WithTimeout(ctx, s.cfg.PageTimeout)
		pt, err := s.engine.Page(pctx, f.Name(), n)
		cancel()
		took := time.Since(t0)
		s.pageSeconds.Observe(took.Seconds())
		_ = msg.InProgress()
		switch {
		case ctx.Err() != nil:
			return fmt.Errorf("stopped at page %d: %w", n, ctx.Err())
		case errors.Is(err, ErrNotInstalled):
			return err
		case err != nil:
			failed = append(failed, n)
			failures = append(failures, fmt.Sprintf("page %d: OCR failed: %v", n, err))
			r.Warnings = append(r.Warnings, failures[len(failures)-1])
			s.pages.WithLabelValues(r.Source.Site, "failed").Inc()
			log.Warn("page OCR failed", "page", fmt.Sprintf("%d/%d", i+1, len(pending)), "pdf_page", n, "err", err, "took", took.Round(time.Millisecond))
			continue
		}
		if pt.DPI > 0 && pt.DPI < s.cfg.DPI {
			r.Warnings = append(r.Warnings, fmt.Sprintf("page %d: too large to render at %d dpi (over %d pixels a side); OCRed at %d dpi", n, s.cfg.DPI, MaxRenderSide, pt.DPI))
		}
		paras := extract.Paragraphs(pt.Lines, n)
		if letters(paras) == 0 {
			empty = append(empty, n)
			s.pages.WithLabelValues(r.Source.Site, "empty").Inc()
		} else {
			got[n], conf[n] = paras, pt.Confidence
			sum += pt.Confidence * float64(pt.Words)
			words += pt.Words
			s.pages.WithLabelValues(r.Source.Site, "text").Inc()
		}
		log.Info(fmt.Sprintf("page %d/%d ocr done conf=%.0f", i+1, len(pending), pt.Confidence),
			"pdf_page", n, "words", pt.Words, "took", took.Round(time.Millisecond))
	}
	if len(empty) > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("OCR found no text on page %s (blank?)", pageList(empty)))
	}
	used := merge(r, got)
	if len(used) == 0 && letters(r.Paragraphs) < minLetters {
		why := fmt.Sprintf("OCR read no text on %s", pageCount(pending))
		if len(failures) > 0 {
			why += " (" + strings.Join(failures, "; ") + ")"
		}
		return &noTextError{why + "; check that the file is a readable scan"}
	}
	info := &model.OCRInfo{Pages: used, Engine: engine, DPI: s.cfg.DPI, FailedPages: failed}
	if words > 0 {
		info.Confidence = sum / float64(words)
	}
	for _, n := range used {
		setSource(r, n, conf[n])
	}
	r.OCR = info
	r.OCRPending = nil
	r.FailedPages = slices.DeleteFunc(r.FailedPages, func(p int) bool { return slices.Contains(used, p) })
	for _, n := range failed {
		if !slices.Contains(r.FailedPages, n) {
			r.FailedPages = append(r.FailedPages, n)
		}
	}
	slices.Sort(r.FailedPages)
	if r.Extractor != "" && !strings.Contains(r.Extractor, "tesseract") && len(used) > 0 {
		r.Extractor += "+tesseract"
	}
	return nil
}

// merge puts the OCR text of each page in got in place of that page's
// text layer, unless the text layer has more letters, and returns the
// pages whose OCR text was used, in order.
func merge(r *model.Report, got map[int][]model.Paragraph) []int {
	byPage := map[int][]model.Paragraph{}
	var order []int
	for _, p := range r.Paragraphs {
		if _, ok := byPage[p.Page]; !ok {
			order = append(order, p.Page)
		}
		byPage[p.Page] = append(byPage[p.Page], p)
	}
	var used []int
	for n, paras := range got {
		if letters(paras) <= letters(byPage[n]) {
			continue
		}
		if _, ok := byPage[n]; !ok {
			order = append(order, n)
		}
		byPage[n] = paras
		used = append(used, n)
	}
	slices.Sort(used)
	slices.Sort(order)
	r.Paragraphs = r.Paragraphs[:0]
	for _, n := range order {
		r.Paragraphs = append(r.Paragraphs, byPage[n]...)
	}
	return used
}

// setSource records that page n's text came from OCR.
func setSource(r *model.Report, n int, conf float64) {
	for i := range r.PageSources {
		if r.PageSources[i].Page == n {
			r.PageSources[i].Extractor, r.PageSources[i].Confidence = "tesseract", conf
			return
		}
	}
	r.PageSources = append(r.PageSources, model.PageSource{Page: n, Extractor: "tesseract", Confidence: conf})
	slices.SortFunc(r.PageSources, func(a, b model.PageSource) int { return a.Page - b.Page })
}

// forward puts r on REPORTS for summarize, its text offloaded if large.
func (s *Service) forward(ctx context.Context, r *model.Report) error {
	r.TextRef = ""
	if err := s.bus.OffloadText(ctx, r); err != nil {
		return err
	}
	if _, err := s.bus.PublishReport(ctx, r); err != nil {
		return err
	}
	return nil
}

func letters(paras []model.Paragraph) int {
	n := 0
	for _, p := range paras {
		for _, c := range p.Text {
			if unicode.IsLetter(c) {
				n++
			}
		}
	}
	return n
}

// lettersOutside counts the letters of the paragraphs not on pages.
func lettersOutside(paras []model.Paragraph, pages []int) int {
	var keep []model.Paragraph
	for _, p := range paras {
		if !slices.Contains(pages, p.Page) {
			keep = append(keep, p)
		}
	}
	return letters(keep)
}

// pageList formats pages as "1, 3, 5".
func pageList(pages []int) string {
	parts := make([]string, len(pages))
	for i, n := range pages {
		parts[i] = fmt.Sprint(n)
	}
	return strings.Join(parts, ", ")
}

func pageCount(pages []int) string {
	if len(pages) == 1 {
		return "1 page"
	}
	return fmt.Sprintf("%d pages", len(pages))
}
