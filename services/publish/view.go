package publish

import (
	"bytes"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/bantin/bantin/internal/model"
)

// digestView is a digest as every output shows it: the adapter between
// model.Digest and the Atom, RSS, JSON Feed and HTML writers, so that they
// agree on ids, links, times and categories.
type digestView struct {
	Digest model.Digest
	// URN is the entry's id in every feed format.
	URN   string
	Title string
	// PageURL is the digest's HTML page on this server.
	PageURL string
	// Link is where a reader goes from the entry: the article, else PageURL.
	Link string
	// ArticleURL and AttachmentURL are the source's links when they are
	// http(s) URLs, else empty.
	ArticleURL     string
	AttachmentURL  string
	AttachmentName string
	AttachmentType string
	Author         string
	Categories     []string
	// Published is when the article was published, else when the digest
	// was made; Updated is when the digest last changed.
	Published time.Time
	Updated   time.Time
	// ContentHTML is the digest as an HTML fragment, for feed content.
	ContentHTML string
}

// feedView is the newest digests, adapted once per change of the Index and
// shared by every rendition.
type feedView struct {
	gen     uint64
	entries []digestView
	// updated is the latest Updated among entries, zero when there are none.
	updated time.Time
}

// currentView returns the view of the Index as it is now, building it when
// the Index changed since the last call.
func (x *Index) currentView() (*feedView, error) {
	x.viewMu.Lock()
	defer x.viewMu.Unlock()
	if x.view != nil && x.view.gen == x.generation() {
		return x.view, nil
	}
	ds, gen := x.latest(x.maxEntries)
	v := &feedView{gen: gen, entries: make([]digestView, 0, len(ds))}
	for _, d := range ds {
		dv, err := x.newDigestView(d)
		if err != nil {
			return nil, err
		}
		v.entries = append(v.entries, dv)
		if dv.Updated.After(v.updated) {
			v.updated = dv.Updated
		}
	}
	x.view = v
	return v, nil
}

// newDigestView adapts d for output.
func (x *Index) newDigestView(d model.Digest) (digestView, error) {
	src := d.Source
	v := digestView{
		Digest:         d,
		URN:            "urn:bantin:digest:" + d.ID,
		Title:          firstNonEmpty(d.Title, src.ArticleTitle, src.AttachmentName, d.ID),
		PageURL:        x.pageURL(d.ID),
		ArticleURL:     webURL(src.ArticleURL),
		AttachmentURL:  webURL(src.AttachmentURL),
		AttachmentName: src.AttachmentName,
		Author:         firstNonEmpty(src.Author, src.Site, x.title),
		Published:      keyOf(&d).t.UTC(),
	}
	v.Link = firstNonEmpty(v.ArticleURL, v.PageURL)
	if v.AttachmentURL != "" {
		if v.AttachmentName == "" {
			v.AttachmentName = path.Base(urlPath(v.AttachmentURL))
		}
		v.AttachmentType = attachmentType(src.AttachmentName, v.AttachmentURL)
	}
	v.Updated = lastChange(&d)
	if v.Updated.IsZero() {
		v.Updated = v.Published
	}
	v.Updated = v.Updated.UTC()
	for _, c := range append(slices.Clone(src.Tags), src.Site) {
		if c = strings.TrimSpace(c); c != "" && !slices.Contains(v.Categories, c) {
			v.Categories = append(v.Categories, c)
		}
	}
	var b bytes.Buffer
	if err := x.tmpl.content.Execute(&b, &v); err != nil {
		return digestView{}, fmt.Errorf("rendering content of digest %s: %w", d.ID, err)
	}
	v.ContentHTML = b.String()
	return v, nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// webURL returns s when it is an absolute http or https URL, else "". Feed
// readers follow links without html/template's filtering, so a
// "javascript:" link must never reach a feed.
func webURL(s string) string {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Host == "" {
		return ""
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		return u.String()
	}
	return ""
}

func urlPath(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	return u.Path
}

// attachmentType guesses an attachment's media type from its name or URL.
// The table is fixed rather than mime.TypeByExtension so that every replica
// renders the same bytes whatever its /etc/mime.types says.
func attachmentType(name, rawURL string) string {
	for _, p := range []string{name, urlPath(rawURL)} {
		switch strings.ToLower(path.Ext(p)) {
		case ".pdf":
			return "application/pdf"
		case ".doc":
			return "application/msword"
		case ".docx":
			return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
		case ".xls":
			return "application/vnd.ms-excel"
		case ".xlsx":
			return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
		case ".ppt":
			return "application/vnd.ms-powerpoint"
		case ".pptx":
			return "application/vnd.openxmlformats-officedocument.presentationml.presentation"
		case ".odt":
			return "application/vnd.oasis.opendocument.text"
		case ".rtf":
			return "application/rtf"
		case ".txt":
			return "text/plain"
		case ".htm", ".html":
			return "text/html"
		case ".zip":
			return "application/zip"
		case ".rar":
			return "application/vnd.rar"
		case ".jpg", ".jpeg":
			return "image/jpeg"
		case ".png":
			return "image/png"
		case ".tif", ".tiff":
			return "image/tiff"
		}
	}
	return "application/octet-stream"
}
