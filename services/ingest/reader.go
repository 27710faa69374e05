package ingest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bantin/bantin/internal/model"
	"github.com/bantin/bantin/services/ingest/article"
	"github.com/bantin/bantin/services/ingest/extract"
)

// Item is one document found at a target: its raw bytes and where they came
// from, its text once extracted, or the error that stopped it.
type Item struct {
	Raw    []byte
	Source model.Source
	// Doc is set when the text is already known (an article's own body).
	Doc *extract.Document
	// Err is set when the document could not be fetched.
	Err error
}

// Found is what a URL led to.
type Found struct {
	URL         string
	Title       string
	PublishedAt time.Time
	Items       []Item
}

// Reader fetches and extracts documents without touching NATS, so the
// ingest role and the one-shot `bantin digest` share it.
type Reader struct {
	cfg   Config
	fetch *fetcher
	pool  *extract.Pool // extraction child processes (isolate.go), nil in process
}

// NewReader returns a Reader with cfg's size cap and timeouts.
func NewReader(cfg Config) *Reader {
	cfg = cfg.withDefaults()
	return &Reader{cfg: cfg, fetch: newFetcher(cfg), pool: newPool(cfg)}
}

// FromURL fetches rawURL. An HTML page is read as an article: each of its
// attachments is fetched and becomes an Item (with Err set when the fetch
// failed); a page without attachments is one Item of its body text. Any
// other content is one Item of its own. The error is non-nil only when
// rawURL itself cannot be had or read.
func (r *Reader) FromURL(ctx context.Context, rawURL string) (*Found, error) {
	page, err := r.fetch.get(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	if extract.Detect(page.Body) != "html" {
		src := model.Source{AttachmentURL: page.URL, AttachmentName: page.Name, Site: siteOf("", page.URL)}
		return &Found{URL: page.URL, Title: page.Name, Items: []Item{{Raw: page.Body, Source: src}}}, nil
	}
	a, err := article.Parse(page.Body, page.URL)
	if err != nil {
		return nil, fmt.Errorf("reading article %s: %w", rawURL, err)
	}
	src := model.Source{
		ArticleURL:   a.URL,
		ArticleTitle: a.Title,
		PublishedAt:  a.PublishedAt,
		Author:       a.Author,
		Tags:         a.Tags,
		Site:         siteOf(a.Site, page.URL),
	}
	found := &Found{URL: a.URL, Title: a.Title, PublishedAt: a.PublishedAt}
	if len(a.Attachments) == 0 {
		body := strings.Join(a.Paragraphs, "\n\n")
		found.Items = append(found.Items, Item{Raw: []byte(body), Source: src, Doc: docText(a.Paragraphs, a.Title)})
		return found, nil
	}
	for _, att := range a.Attachments {
		asrc := src
		asrc.AttachmentURL, asrc.AttachmentName = att.URL, att.Name
		f, err := r.fetch.get(ctx, att.URL)
		if err != nil {
			found.Items = append(found.Items, Item{Source: asrc, Err: err})
			continue
		}
		if asrc.AttachmentName == "" {
			asrc.AttachmentName = f.Name
		}
		found.Items = append(found.Items, Item{Raw: f.Body, Source: asrc})
	}
	return found, nil
}

// Extract turns raw bytes into text within the parse timeout. HTML is read
// as an article page (its main text, not menus). When a PDF has no usable
// text (an error wrapping extract.ErrNoText), the partial Document (pages,
// PageInfo) is returned with the error, for the OCR stage.
func (r *Reader) Extract(ctx context.Context, raw []byte, src model.Source) (*extract.Document, error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.ParseTimeout)
	defer cancel()
	if extract.Detect(raw) == "html" {
		a, err := article.Parse(raw, firstNonEmpty(src.AttachmentURL, src.ArticleURL, "http://upload.invalid/"))
		if err != nil {
			return nil, fmt.Errorf("reading HTML: %w", err)
		}
		if len(a.Paragraphs) == 0 {
			return nil, fmt.Errorf("HTML page has no article text: %w", extract.ErrNoText)
		}
		return docText(a.Paragraphs, a.Title), nil
	}
	doc, err := r.extractRaw(ctx, raw)
	if err != nil {
		if errors.Is(err, extract.ErrNoText) && doc != nil && doc.Format == extract.FormatPDF {
			return doc, err
		}
		return nil, err
	}
	if len(doc.Paragraphs) == 0 {
		if doc.Format == extract.FormatPDF {
			return doc, fmt.Errorf("document has no text: %w", extract.ErrNoText)
		}
		return nil, fmt.Errorf("document has no text: %w", extract.ErrNoText)
	}
	return doc, nil
}

// docText wraps already-extracted paragraphs (an article body) as a document.
func docText(paras []string, title string) *extract.Document {
	d := &extract.Document{Format: "html", Extractor: "article", Title: title}
	for _, p := range paras {
		d.Paragraphs = append(d.Paragraphs, model.Paragraph{Text: p})
	}
	return d
}
