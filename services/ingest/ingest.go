// Package ingest finds the reports attached to meeting articles, fetches
// them, extracts their text and puts them on the REPORTS stream. Uploads and
// local files take the same path. Anything that cannot be read goes to the
// DEADLETTER stream with the reason, and the service keeps going.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bantin/bantin/internal/bus"
	"github.com/bantin/bantin/internal/model"
	"github.com/bantin/bantin/services/ingest/extract"
)

// Config holds the ingest role's settings.
type Config struct {
	// MaxFileSize caps every download and upload, in bytes.
	MaxFileSize int64
	// FetchTimeout bounds one HTTP download, headers and body.
	FetchTimeout time.Duration
	// ParseTimeout bounds text extraction of one document.
	ParseTimeout time.Duration
	// Isolation, when its Exe is set, extracts documents in a pool of
	// child processes, one killed at the parse timeout (extract.Pool).
	Isolation extract.Isolated
	// UserAgent is sent with every request.
	UserAgent string
	// AllowPrivateNetworks turns off the SSRF guard, which by default
	// refuses loopback, private, link-local and metadata addresses after
	// DNS resolution, on every redirect too (ssrf.go).
	AllowPrivateNetworks bool
	// Resolver resolves host names for the guard; nil is the system's.
	Resolver Resolver
	// HostRate and HostConcurrency bound requests per second and requests
	// at once to one host (DefaultHostRate, DefaultHostConcurrency).
	HostRate        float64
	HostConcurrency int
	// Sources are the sites polled on their intervals (--sources FILE).
	Sources []Source
	// WatchDir, when set, is a folder whose new files are ingested and
	// moved to WatchDir/done or WatchDir/failed (--watch DIR).
	WatchDir string
}

// Defaults for Config.
const (
	DefaultMaxFileSize  = 50 << 20
	DefaultFetchTimeout = 60 * time.Second
	DefaultParseTimeout = 2 * time.Minute
	DefaultUserAgent    = "bantin/0.1 (+https://github.com/bantin/bantin; newsroom report digests)"
)

func (c Config) withDefaults() Config {
	if c.MaxFileSize <= 0 {
		c.MaxFileSize = DefaultMaxFileSize
	}
	if c.FetchTimeout <= 0 {
		c.FetchTimeout = DefaultFetchTimeout
	}
	if c.ParseTimeout <= 0 {
		c.ParseTimeout = DefaultParseTimeout
	}
	if c.UserAgent == "" {
		c.UserAgent = DefaultUserAgent
	}
	return c
}

// Deps are the ingest role's collaborators.
type Deps struct {
	Bus      *bus.Bus
	Log      *slog.Logger
	Registry prometheus.Registerer
}

// Service is the ingest role.
type Service struct {
	cfg    Config
	bus    *bus.Bus
	log    *slog.Logger
	reader *Reader
	bg     *background // polling and the watched folder (background.go)

	reports *prometheus.CounterVec
	bytes   *prometheus.CounterVec
}

// New returns an ingest service.
func New(cfg Config, deps Deps) (*Service, error) {
	if deps.Bus == nil {
		return nil, errors.New("ingest: a NATS bus is required")
	}
	cfg = cfg.withDefaults()
	log := deps.Log
	if log == nil {
		log = slog.Default()
	}
	s := &Service{
		cfg:    cfg,
		bus:    deps.Bus,
		log:    log.With("role", "ingest"),
		reader: NewReader(cfg),
		reports: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bantin_ingest_reports_total",
			Help: "Reports handled by ingest, by site and outcome (queued, duplicate, dead).",
		}, []string{"site", "outcome"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bantin_ingest_bytes_total",
			Help: "Bytes of attachments and uploads read by ingest, by site.",
		}, []string{"site"}),
	}
	if deps.Registry != nil {
		for _, c := range []prometheus.Collector{s.reports, s.bytes} {
			if err := deps.Registry.Register(c); err != nil {
				return nil, fmt.Errorf("registering ingest metrics: %w", err)
			}
		}
	}
	if err := s.initBackground(deps.Registry); err != nil {
		return nil, err
	}
	return s, nil
}

// Run polls the configured sources and watches the configured folder
// until ctx is done; the HTTP API and submit work without it.
func (s *Service) Run(ctx context.Context) error {
	defer s.Close()
	return s.runBackground(ctx)
}

// Outcome of one report.
const (
	OutcomeQueued    = "queued"
	OutcomeDuplicate = "duplicate"
	OutcomeDead      = "dead"
	// OutcomeOCR means the report went to the OCR work queue
	// (bantin.ocr.<site>): some or all of its pages are scans.
	OutcomeOCR = "ocr"
)

// Result says what became of one file.
type Result struct {
	ReportID string `json:"report_id,omitempty"`
	DigestID string `json:"digest_id,omitempty"`
	Name     string `json:"name"`
	URL      string `json:"url,omitempty"`
	Outcome  string `json:"outcome"`
	// Reason and Error are set when Outcome is dead.
	Reason string `json:"reason,omitempty"`
	Error  string `json:"error,omitempty"`
	Pages  int    `json:"pages,omitempty"`
}

// ArticleResult is what crawling one article page produced.
type ArticleResult struct {
	URL         string    `json:"url"`
	Title       string    `json:"title"`
	PublishedAt time.Time `json:"published_at,omitzero"`
	Reports     []Result  `json:"reports"`
}

// IngestURL ingests what a URL points at: an article page (its attachments,
// or its body when it has none) or a file. The error is non-nil only when
// the URL itself cannot be had.
func (s *Service) IngestURL(ctx context.Context, rawURL string) (*ArticleResult, error) {
	found, err := s.reader.FromURL(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	res := &ArticleResult{URL: found.URL, Title: found.Title, PublishedAt: found.PublishedAt}
	for _, it := range found.Items {
		res.Reports = append(res.Reports, s.ingestItem(ctx, it))
	}
	return res, nil
}

// IngestBytes ingests one file's raw bytes: pdf, docx, html or text.
func (s *Service) IngestBytes(ctx context.Context, raw []byte, src model.Source) Result {
	return s.ingestItem(ctx, Item{Raw: raw, Source: src})
}

// ingestItem stores the raw bytes, extracts their text unless that was done
// already, and publishes the report. Failures become dead letters.
func (s *Service) ingestItem(ctx context.Context, it Item) Result {
	raw, src, doc := it.Raw, it.Source, it.Doc
	if it.Err != nil {
		// A download that failed: refused, reset, DNS… are fetch_failed
		// too, not extraction failures.
		reason := reasonOf(it.Err)
		if reason == "extract_failed" {
			reason = "fetch_failed"
		}
		return s.dead(ctx, model.DeadLetter{Stage: "ingest", Reason: reason, Error: it.Err.Error(), Name: src.AttachmentName, Source: src},
			Result{Name: src.AttachmentName, URL: src.AttachmentURL})
	}
	if src.Site == "" {
		src.Site = "upload"
	}
	id := model.ReportID(raw)
	name := src.AttachmentName
	if name == "" {
		name = src.ArticleTitle
	}
	res := Result{ReportID: id, Name: name, URL: firstNonEmpty(src.AttachmentURL, src.ArticleURL)}
	log := s.log.With("report_id", id, "name", name)
	s.bytes.WithLabelValues(src.Site).Add(float64(len(raw)))

	if digestID, ok, err := s.bus.DigestedID(ctx, id); err != nil {
		log.Warn("checking for an earlier digest", "err", err)
	} else if ok {
		log.Info("report already digested", "digest_id", digestID)
		res.Outcome, res.DigestID = OutcomeDuplicate, digestID
		s.reports.WithLabelValues(src.Site, res.Outcome).Inc()
		return res
	}

	if err := s.bus.StoreAttachment(ctx, id, name, raw); err != nil {
		// NATS trouble, not the document's: tell the caller, who retries
		// (the same bytes keep the same id), instead of dead-lettering.
		return s.transient(res, src.Site, "store_failed", err)
	}
	if doc == nil {
		var err error
		doc, err = s.reader.Extract(ctx, raw, src)
		if err != nil && (doc == nil || len(ocrPages(doc)) == 0) {
			log.Warn("text extraction failed", "err", err)
			return s.dead(ctx, model.DeadLetter{Stage: "ingest", Reason: reasonOf(err), Error: err.Error(), ReportID: id, Name: name, Source: src}, res)
		}
		if err != nil {
			log.Info("no usable text layer; sending to OCR", "err", err)
		}
	}
	if src.AttachmentName == "" && src.ArticleTitle == "" && doc.Title != "" {
		src.AttachmentName = doc.Title
	}
	r := &model.Report{
		SchemaVersion: model.SchemaVersion,
		ID:            id,
		Source:        src,
		Format:        doc.Format,
		SizeBytes:     int64(len(raw)),
		Pages:         doc.Pages,
		FailedPages:   doc.FailedPages,
		Warnings:      doc.Warnings,
		Extractor:     doc.Extractor,
		Paragraphs:    doc.Paragraphs,
		CreatedAt:     time.Now().UTC(),
		OCRPending:    ocrPages(doc),
	}
	for _, pi := range doc.PageInfo {
		r.PageSources = append(r.PageSources, model.PageSource{Page: pi.Page, Extractor: pi.Extractor})
	}
	r.EncodingRepaired = doc.EncodingRepaired
	res.Pages = doc.Pages
	if err := s.bus.OffloadText(ctx, r); err != nil {
		// NATS trouble, not the document's: tell the caller, who retries
		// (the same bytes keep the same id), instead of dead-lettering.
		return s.transient(res, src.Site, "store_failed", err)
	}
	publish, queued := s.bus.PublishReport, OutcomeQueued
	if len(r.OCRPending) > 0 {
		publish, queued = s.bus.PublishOCR, OutcomeOCR
	}
	dup, err := publish(ctx, r)
	if err != nil {
		// Not a property of the document: report it to the caller instead
		// of dead-lettering, so a retry can succeed.
		log.Error("publishing report", "err", err)
		res.Outcome, res.Reason, res.Error = OutcomeDead, "publish_failed", err.Error()
		s.reports.WithLabelValues(src.Site, res.Outcome).Inc()
		return res
	}
	res.Outcome = queued
	if dup {
		res.Outcome = OutcomeDuplicate
	}
	log.Info("report queued", "outcome", res.Outcome, "format", r.Format, "pages", r.Pages, "paragraphs", len(doc.Paragraphs), "ocr_pages", len(r.OCRPending))
	s.reports.WithLabelValues(src.Site, res.Outcome).Inc()
	return res
}

// transient returns res marked as failed for a reason a retry can fix,
// without a dead letter.
func (s *Service) transient(res Result, site, reason string, err error) Result {
	s.log.Error("report not queued; the caller should retry", "name", res.Name, "reason", reason, "err", err)
	res.Outcome, res.Reason, res.Error = OutcomeDead, reason, err.Error()
	s.reports.WithLabelValues(site, res.Outcome).Inc()
	return res
}

// dead files a dead letter and returns res marked dead.
func (s *Service) dead(ctx context.Context, dl model.DeadLetter, res Result) Result {
	if err := s.bus.PublishDead(ctx, dl); err != nil {
		s.log.Error("filing dead letter", "name", dl.Name, "reason", dl.Reason, "err", err)
	}
	res.Outcome, res.Reason, res.Error = OutcomeDead, dl.Reason, dl.Error
	s.reports.WithLabelValues(siteOf(dl.Source.Site, ""), res.Outcome).Inc()
	return res
}

// ocrPages lists the pages of a PDF that need OCR: those whose text layer
// is missing, a signature stamp or garbage. Pages the extractor skipped
// as likely PDF bombs (PageInfo.Skipped) are never among them: they are
// hostile or broken, not scans, and rendering them would read the bomb.
func ocrPages(doc *extract.Document) []int {
	if doc.Format != extract.FormatPDF {
		return nil
	}
	var pages []int
	skipped := map[int]bool{}
	for _, pi := range doc.PageInfo {
		switch {
		case pi.Skipped != "":
			skipped[pi.Page] = true
		case pi.NeedsOCR:
			pages = append(pages, pi.Page)
		}
	}
	if len(pages) == 0 && len(doc.Paragraphs) == 0 {
		for n := 1; n <= doc.Pages; n++ {
			if !skipped[n] {
				pages = append(pages, n)
			}
		}
	}
	return pages
}

// reasonOf classifies an extraction error for the dead-letter stream.
func reasonOf(err error) string {
	switch {
	case errors.Is(err, extract.ErrNoText):
		return "no_text"
	case errors.Is(err, extract.ErrCorrupt):
		return "corrupt"
	case errors.Is(err, extract.ErrUnsupported):
		return "unsupported_format"
	case errors.Is(err, extract.ErrCrashed):
		return "crashed"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, ErrTooLarge):
		return "too_large"
	case errors.Is(err, ErrForbiddenAddress):
		return "forbidden_address"
	case errors.As(err, new(*statusError)):
		return "fetch_failed"
	}
	return "extract_failed"
}

func siteOf(site, rawURL string) string {
	if site != "" {
		return site
	}
	if u, err := url.Parse(rawURL); err == nil && u.Hostname() != "" {
		return strings.TrimPrefix(u.Hostname(), "www.")
	}
	return "upload"
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
