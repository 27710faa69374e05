package publish

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"time"

	"github.com/bantin/bantin/internal/model"
)

const (
	contentTypeHTML = "text/html; charset=utf-8"
	contentTypeJSON = "application/json; charset=utf-8"
	// pageCSP forbids scripts outright: the pages need none, so even markup
	// that slipped past escaping could not run.
	pageCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

// Handler returns the HTTP handler for the feeds and pages:
//
//	GET /feeds/all.atom   Atom 1.0
//	GET /feeds/all.rss    RSS 2.0
//	GET /feeds/all.json   JSON Feed 1.1
//	GET /{$}              the latest digests, with subscribe links
//	GET /digests/{id}     one digest; JSON with "Accept: application/json"
//
// HEAD is served wherever GET is.
func (x *Index) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /feeds/all.atom", func(w http.ResponseWriter, r *http.Request) { x.serveCached(w, r, x.atom) })
	mux.HandleFunc("GET /feeds/all.rss", func(w http.ResponseWriter, r *http.Request) { x.serveCached(w, r, x.rss) })
	mux.HandleFunc("GET /feeds/all.json", func(w http.ResponseWriter, r *http.Request) { x.serveCached(w, r, x.json) })
	mux.HandleFunc("GET /{$}", x.handleHome)
	mux.HandleFunc("GET /digests/{id}", x.handleDigest)
	return mux
}

// feedLink is a feed as pages link to it.
type feedLink struct {
	Label, Title, Type, URL string
}

// pageData is what every page template gets.
type pageData struct {
	SiteTitle string
	HomeURL   string
	Feeds     []feedLink
	Entries   []digestView
	Entry     *digestView
}

func (x *Index) newPageData() pageData {
	return pageData{
		SiteTitle: x.title,
		HomeURL:   x.baseURL + "/",
		Feeds: []feedLink{
			{Label: "Atom", Title: x.title + " (Atom)", Type: "application/atom+xml", URL: x.baseURL + "/feeds/all.atom"},
			{Label: "RSS", Title: x.title + " (RSS)", Type: "application/rss+xml", URL: x.baseURL + "/feeds/all.rss"},
			{Label: "JSON Feed", Title: x.title + " (JSON Feed)", Type: "application/feed+json", URL: x.baseURL + "/feeds/all.json"},
		},
	}
}

// renderHome renders the index page of the view.
func (x *Index) renderHome(v *feedView) ([]byte, error) {
	data := x.newPageData()
	data.Entries = v.entries
	return executePage(x.tmpl.home, data)
}

func executePage(t *template.Template, data pageData) ([]byte, error) {
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "layout", data); err != nil {
		return nil, fmt.Errorf("executing template %s: %w", t.Name(), err)
	}
	return b.Bytes(), nil
}

func (x *Index) handleHome(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", pageCSP)
	x.serveCached(w, r, x.home)
}

// handleDigest serves one digest as HTML, or as its JSON when the client
// prefers that.
func (x *Index) handleDigest(w http.ResponseWriter, r *http.Request) {
	w.Header().Add("Vary", "Accept")
	wantJSON := prefersJSON(r.Header.Get("Accept"))
	d, ok := x.Get(r.PathValue("id"))
	if !ok {
		if wantJSON {
			x.serveBytes(w, r, contentTypeJSON, []byte(`{"error":"digest not found"}`+"\n"), time.Time{}, http.StatusNotFound)
			return
		}
		x.servePage(w, r, x.tmpl.notFound, x.newPageData(), time.Time{}, http.StatusNotFound)
		return
	}
	if wantJSON {
		b, err := json.MarshalIndent(d, "", "  ")
		if err != nil {
			x.fail(w, fmt.Errorf("encoding digest %s: %w", d.ID, err))
			return
		}
		x.serveBytes(w, r, contentTypeJSON, append(b, '\n'), lastChange(&d), http.StatusOK)
		return
	}
	v, err := x.newDigestView(d)
	if err != nil {
		x.fail(w, err)
		return
	}
	data := x.newPageData()
	data.Entry = &v
	x.servePage(w, r, x.tmpl.digest, data, v.Updated, http.StatusOK)
}

func (x *Index) servePage(w http.ResponseWriter, r *http.Request, t *template.Template, data pageData, lastModified time.Time, status int) {
	b, err := executePage(t, data)
	if err != nil {
		x.fail(w, err)
		return
	}
	w.Header().Set("Content-Security-Policy", pageCSP)
	x.serveBytes(w, r, contentTypeHTML, b, lastModified, status)
}

// serveBytes serves a response rendered for this request: with an ETag, so
// a reload can still get a 304, but not compressed.
func (x *Index) serveBytes(w http.ResponseWriter, r *http.Request, contentType string, body []byte, lastModified time.Time, status int) {
	rd, err := newRendition(contentType, body, lastModified, false)
	if err != nil {
		x.fail(w, err)
		return
	}
	if status == http.StatusOK {
		w.Header().Set("Cache-Control", "public, max-age=60")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	serveRendition(w, r, rd, status)
}

func (x *Index) fail(w http.ResponseWriter, err error) {
	x.log.Error("serving page failed", "err", err)
	http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
}

// lastChange is when d last changed.
func lastChange(d *model.Digest) time.Time {
	if d.UpdatedAt.After(d.CreatedAt) {
		return d.UpdatedAt
	}
	return d.CreatedAt
}
