// Package article reads one article page of a Vietnamese news or government
// site: its title, publication time, author, tags, body text and, above
// all, the attachments listed under "File đính kèm" / "Tài liệu đính kèm",
// which hold the reports that bantin digests.
//
// Parse does no I/O: the caller fetches the page and then the attachments.
// It is written for the pages provincial newspapers (baobacgiang.vn…),
// tỉnh portals (*.gov.vn, often SharePoint, Liferay or DNN) and vbpl.vn
// publish, and degrades to text density on pages it does not recognise.
package article

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/PuerkitoBio/goquery"
	"golang.org/x/net/html"
)

// ErrNotHTML is returned (wrapped) by Parse when its input is not an HTML
// page: empty, binary (a PDF or DOCX served in place of the page) or text
// without any markup.
var ErrNotHTML = errors.New("not an HTML page")

// Attachment is a file linked from an article.
type Attachment struct {
	// URL is the absolute http(s) URL of the file, percent-encoded, without
	// a fragment.
	URL string
	// Name is the link text, or the file name when the link text says
	// nothing ("Tải về", "Xem"), NFC-normalised.
	Name string
}

// Article is what Parse found on an article page. Every string is
// NFC-normalised with white space collapsed.
type Article struct {
	// URL is the page URL Parse was given.
	URL string
	// Title is og:title, else the article's headline, else <title>, with
	// " - Site name" decorations removed.
	Title string
	// PublishedAt is the publication time, expressed in Vietnam's time
	// zone (UTC+07:00); zero if the page shows none.
	PublishedAt time.Time
	// Author is the byline: a reporter's name or pen name, without labels
	// such as "Tác giả:" or "Bài và ảnh:"; "" if none was found.
	Author string
	// Tags are the article's keywords ("Từ khóa", "Tags", meta keywords),
	// each once, in page order.
	Tags []string
	// Site is the host of URL, without "www." and port.
	Site string
	// Paragraphs is the main body text, without menus, footers, related
	// news, the title and date line, or the attachment list.
	Paragraphs []string
	// Attachments are the linked files in document order, each URL once.
	Attachments []Attachment
}

// Parse reads the article page raw, fetched from pageURL, which must be an
// absolute http(s) URL: relative links are resolved against it (or the
// page's <base href>). It returns an error wrapping ErrNotHTML when raw is
// not HTML; a page without attachments or body text is not an error.
func Parse(raw []byte, pageURL string) (*Article, error) {
	pageURL = strings.TrimSpace(pageURL)
	pu, err := url.Parse(pageURL)
	if err != nil {
		return nil, fmt.Errorf("parsing page URL %q: %w", pageURL, err)
	}
	if (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
		return nil, fmt.Errorf("parsing page URL %q: not an absolute http(s) URL", pageURL)
	}
	src, err := decode(raw)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", pageURL, err)
	}
	root, err := html.Parse(strings.NewReader(src))
	if err != nil {
		// x/net/html gives up on trees deeper than 512 elements, which
		// pages with thousands of unclosed <div> or <font> tags reach;
		// browsers show them, so read them with a simpler tree builder.
		root = parseLoose(src)
	}
	p := newPage(root, pu)
	a := &Article{
		URL:  pageURL,
		Site: strings.TrimPrefix(strings.ToLower(pu.Hostname()), "www."),
	}
	a.Title = p.title(a.Site)
	a.PublishedAt = p.published()
	a.Tags = p.tags()
	a.Attachments = p.attachments()
	a.Author = p.author()
	body := p.container()
	paras := p.paragraphs(body)
	if a.Author == "" {
		if name, ok := trailingAuthor(paras); ok {
			a.Author = name
			paras = paras[:len(paras)-1]
		}
	}
	if a.Author == "" {
		a.Author = p.metaAuthor(a.Site)
	}
	if lead := p.lead(body); lead != "" {
		a.Paragraphs = append(a.Paragraphs, lead)
	}
	for i, para := range paras {
		if i == 0 && a.Title != "" && fold(para.text) == fold(a.Title) {
			continue
		}
		a.Paragraphs = append(a.Paragraphs, para.text)
	}
	return a, nil
}

// page is the parsed document and what Parse has learnt about its nodes.
type page struct {
	root *html.Node
	doc  *goquery.Document
	// base resolves relative links: the page URL or its <base href>.
	base *url.URL
	// skip holds the roots of boilerplate: menus, headers, footers,
	// sidebars, related-news blocks, scripts, forms.
	skip map[*html.Node]bool
	// used holds nodes whose text went into a field other than the body
	// (title, date line, author, tags, attachment labels), so that the
	// body does not repeat it.
	used map[*html.Node]bool
	// attachAnchors holds the links that point at attachments (or at a
	// viewer of one), whose text is not body text either.
	attachAnchors map[*html.Node]bool
}

func newPage(root *html.Node, pu *url.URL) *page {
	p := &page{
		root:          root,
		doc:           goquery.NewDocumentFromNode(root),
		base:          pu,
		skip:          map[*html.Node]bool{},
		used:          map[*html.Node]bool{},
		attachAnchors: map[*html.Node]bool{},
	}
	if href, ok := p.doc.Find("base[href]").First().Attr("href"); ok {
		if b, ok := resolve(pu, href); ok {
			p.base = b
		}
	}
	p.markBoilerplate()
	return p
}

// skipped reports whether n is inside boilerplate.
func (p *page) skipped(n *html.Node) bool {
	for ; n != nil; n = n.Parent {
		if p.skip[n] {
			return true
		}
	}
	return false
}
