// Package model holds bantin's domain types: the Report that ingest puts on
// the bus, the Digest that summarize produces, the DeadLetter that any stage
// files when it gives up, and the NATS subject names that carry them.
//
// Everything here is a wire format: fields are added, never renamed, and
// SchemaVersion is bumped when a change is not backwards compatible.
package model

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

// SchemaVersion is the version of the Report, Digest and DeadLetter JSON
// written by this build. Consumers terminate messages with a newer major
// version instead of guessing at their meaning.
const SchemaVersion = 1

// Paragraph is one paragraph of extracted text and the 1-based page of the
// source it starts on (0 when the source has no pages, e.g. HTML or text).
type Paragraph struct {
	Page int    `json:"page,omitempty"`
	Text string `json:"text"`
}

// Source says where a report came from, as far as ingest could tell.
type Source struct {
	ArticleURL     string    `json:"article_url,omitempty"`
	ArticleTitle   string    `json:"article_title,omitempty"`
	PublishedAt    time.Time `json:"published_at,omitzero"`
	Author         string    `json:"author,omitempty"`
	Tags           []string  `json:"tags,omitempty"`
	AttachmentURL  string    `json:"attachment_url,omitempty"`
	AttachmentName string    `json:"attachment_name,omitempty"`
	// Site is the host name of the article or attachment ("baobacgiang.vn"),
	// or "upload" for files that were posted or submitted from disk.
	Site string `json:"site"`
	// Replaces is the id of the earlier report from the same attachment
	// URL when a polled source published new bytes there (a corrected
	// report); empty otherwise.
	Replaces string `json:"replaces,omitempty"`
}

// Report is one attachment (or article body) with its extracted text, as put
// on the REPORTS stream. Its ID is the hex sha256 of the raw bytes, which are
// kept in the ATTACHMENTS object store under that key.
type Report struct {
	SchemaVersion int    `json:"schema_version"`
	ID            string `json:"id"`
	Source        Source `json:"source"`
	// Format is the detected type of the raw bytes: pdf, docx, doc, html, text.
	Format    string `json:"format"`
	SizeBytes int64  `json:"size_bytes"`
	Pages     int    `json:"pages,omitempty"`
	// FailedPages lists the 1-based pages whose text could not be extracted,
	// with the reason in Warnings.
	FailedPages []int    `json:"failed_pages,omitempty"`
	Warnings    []string `json:"warnings,omitempty"`
	// Extractor names what produced the text ("ledongthuc/pdf", "html", …).
	Extractor string `json:"extractor,omitempty"`
	// EncodingRepaired is "tcvn3" or "vni" when legacy-font text was converted.
	EncodingRepaired string `json:"encoding_repaired,omitempty"`
	// Paragraphs is the text, NFC-normalised. It is empty when TextRef is set:
	// then the paragraphs were too large for a message and are stored as JSON
	// in the ATTACHMENTS object store under TextRef.
	Paragraphs []Paragraph `json:"paragraphs,omitempty"`
	TextRef    string      `json:"text_ref,omitempty"`
	CreatedAt  time.Time   `json:"created_at"`
	// OCRPending lists the 1-based pages still to be OCRed. It is set only
	// on the OCR work queue (bantin.ocr.<site>), by ingest; the OCR stage
	// clears it before the report goes on to bantin.report.<site>.
	OCRPending []int `json:"ocr_pending,omitempty"`
	// OCR says which pages' text was recognised from their images, and how
	// sure the recogniser was. Nil when no page was OCRed.
	OCR *OCRInfo `json:"ocr,omitempty"`
	// PageSources says, page by page, what produced the text of a paged
	// source: the text-layer extractor or OCR, with OCR's confidence.
	PageSources []PageSource `json:"page_sources,omitempty"`
}

// OCRInfo records the optical character recognition of a report's scanned
// pages. A digest built on such a report carries it too.
type OCRInfo struct {
	// Pages lists the 1-based pages whose text came from OCR.
	Pages []int `json:"pages"`
	// Confidence is the recogniser's mean word confidence over Pages,
	// from 0 to 100.
	Confidence float64 `json:"confidence"`
	// Engine names the recogniser and language ("tesseract 5.3.0 vie").
	Engine string `json:"engine,omitempty"`
	// DPI is the resolution the pages were rendered at for OCR.
	DPI int `json:"dpi,omitempty"`
	// FailedPages lists pages that needed OCR but yielded no text; the
	// report's Warnings say why.
	FailedPages []int `json:"failed_pages,omitempty"`
}

// PageSource says what produced one page's text.
type PageSource struct {
	// Page is the 1-based page number.
	Page int `json:"page"`
	// Extractor is "ledongthuc/pdf", "pdftotext" or "tesseract".
	Extractor string `json:"extractor"`
	// Confidence is OCR's mean word confidence on the page (0–100), 0 for
	// a text layer.
	Confidence float64 `json:"confidence,omitempty"`
}

// Text returns the report's paragraphs joined by blank lines.
func (r *Report) Text() string {
	var b strings.Builder
	for i, p := range r.Paragraphs {
		if i > 0 {
			b.WriteString("\n\n")
		}
		b.WriteString(p.Text)
	}
	return b.String()
}

// Title is the best human title for the report: the attachment's name, else
// the article's title, else its id.
func (r *Report) Title() string {
	switch {
	case r.Source.AttachmentName != "":
		return r.Source.AttachmentName
	case r.Source.ArticleTitle != "":
		return r.Source.ArticleTitle
	}
	return r.ID
}

// Figure is a number with its unit, quoted verbatim from the source text.
type Figure struct {
	// Text is the figure exactly as it appears in the source ("13,45%",
	// "181,9 nghìn tỷ đồng").
	Text string `json:"text"`
	// Value is the number in Text, parsed with Vietnamese conventions
	// (decimal comma, dot as thousands separator).
	Value float64 `json:"value"`
	// Unit is what the number counts ("%", "nghìn tỷ đồng", "USD", "ha").
	Unit string `json:"unit,omitempty"`
	// Page is the 1-based page the figure was found on, when known.
	Page int `json:"page,omitempty"`
}

// Bullet is one key point of a digest and the page it came from.
type Bullet struct {
	Text string `json:"text"`
	Page int    `json:"page,omitempty"`
}

// Digest is the short summary of a report that newsroom staff read.
type Digest struct {
	SchemaVersion int      `json:"schema_version"`
	ID            string   `json:"id"`
	ReportID      string   `json:"report_id"`
	Title         string   `json:"title"`
	Summary       string   `json:"summary"`
	Bullets       []Bullet `json:"bullets"`
	Figures       []Figure `json:"figures"`
	Language      string   `json:"language"`
	Source        Source   `json:"source"`
	// Backend is "extractive" or "llm:<model>".
	Backend     string `json:"backend"`
	NeedsReview bool   `json:"needs_review"`
	// ReviewReason says why NeedsReview is set.
	ReviewReason string    `json:"review_reason,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at,omitzero"`
	// Version counts revisions of the digest; the first one is 1.
	Version int `json:"version"`
	// OCR is set when the digest is built on text recognised from scanned
	// pages: which pages, and the recogniser's mean confidence, so readers
	// can be told ("văn bản quét, nhận dạng OCR, độ tin cậy 87%").
	OCR *OCRInfo `json:"ocr,omitempty"`
}

// DigestID derives a digest's id from its report's id. One report has one
// digest; revisions keep the id and bump Version.
func DigestID(reportID string) string {
	if len(reportID) > 16 {
		return reportID[:16]
	}
	return reportID
}

// DeadLetter records a message that a stage gave up on, and why.
type DeadLetter struct {
	SchemaVersion int    `json:"schema_version"`
	Stage         string `json:"stage"`
	// Reason is a short machine-readable class ("no_text", "bad_pdf",
	// "fetch_failed", "unsupported_format", "max_deliveries", "poison"…).
	Reason string `json:"reason"`
	// Error is the human-readable error, saying what to do where possible.
	Error    string    `json:"error"`
	ReportID string    `json:"report_id,omitempty"`
	Name     string    `json:"name,omitempty"`
	Source   Source    `json:"source,omitzero"`
	Attempts int       `json:"attempts,omitempty"`
	Subject  string    `json:"subject,omitempty"`
	Sequence uint64    `json:"sequence,omitempty"`
	Time     time.Time `json:"time"`
	// Original is the key in the ATTACHMENTS object store of the message
	// as the stage received it ("dead/REPORTS-42.json"), kept because a
	// work-queue stream drops a terminated message; `bantin dead retry`
	// republishes it. Empty when the raw attachment (under ReportID) or
	// the source URL is enough to start again.
	Original string `json:"original,omitempty"`
}

// ReportID returns the id of raw attachment bytes: their hex sha256.
func ReportID(raw []byte) string {
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

// Stream, bucket and subject names. They are part of the operator-facing
// contract (KEDA triggers and alerts name them), so they only change with a
// migration.
const (
	StreamReports    = "REPORTS"
	StreamDigests    = "DIGESTS"
	StreamDeadLetter = "DEADLETTER"
	BucketAttachment = "ATTACHMENTS"
	// BucketDigested maps a report id to its digest id, so that a report
	// submitted again long after the stream's duplicate window still yields
	// no second digest.
	BucketDigested = "DIGESTED"
	// BucketSourcesSeen remembers what polled sources have already seen:
	// listing pages, feeds, articles and attachments by URL, with their
	// HTTP validators and the report id of each attachment's bytes.
	BucketSourcesSeen = "SOURCES_SEEN"

	SubjectReportPrefix = "bantin.report."
	SubjectDigestPrefix = "bantin.digest."
	SubjectDeadPrefix   = "bantin.dead."

	// StreamOCR is the work queue of reports with scanned pages waiting for
	// OCR, on subjects bantin.ocr.<site>; ConsumerOCR is the durable pull
	// consumer that OCR workers share (KEDA scales them on its lag).
	StreamOCR        = "OCR"
	SubjectOCRPrefix = "bantin.ocr."
	ConsumerOCR      = "ocr"

	// ConsumerSummarize is the durable pull consumer on REPORTS that
	// summarize workers share.
	ConsumerSummarize = "summarize"
)

// SubjectToken turns a site name into one NATS subject token: lower case,
// dots and anything outside [a-z0-9_-] replaced by '_'.
func SubjectToken(site string) string {
	if site == "" {
		return "unknown"
	}
	var b strings.Builder
	for _, r := range strings.ToLower(site) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// ReportSubject is the subject a report from site is published on.
func ReportSubject(site string) string { return SubjectReportPrefix + SubjectToken(site) }

// OCRSubject is the subject a report from site waits for OCR on.
func OCRSubject(site string) string { return SubjectOCRPrefix + SubjectToken(site) }

// DigestSubject is the subject a digest from site is published on.
func DigestSubject(site string) string { return SubjectDigestPrefix + SubjectToken(site) }

// DeadSubject is the subject a dead letter of stage is published on.
func DeadSubject(stage string) string { return SubjectDeadPrefix + SubjectToken(stage) }
