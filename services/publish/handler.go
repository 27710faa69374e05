package publish

import (
	"bytes"
	"container/list"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
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
//	GET /feeds/all.{atom,rss,json}            every digest
//	GET /feeds/daily.{atom,rss,json}          one entry a day
//	GET /feeds/{site,body,tag}/{slug}.{ext}   one topic
//	GET /feeds/failures.atom                  reports that were not digested
//	GET /{$}                                  the latest digests, topics, subscribe links
//	GET /topics/{kind}/{slug}                 one topic's digests
//	GET /meetings/{key}                       every digest of one article
//	GET /digests/{id}                         one digest; JSON with "Accept: application/json"
//	GET /search?q=                            search, diacritics and case ignored
//	GET /failures                             reports that were not digested
//
// Feeds take ?limit= (up to the Index's MaxEntries) and ?page= (RFC 5005
// paging, 0 is the newest). HEAD is served wherever GET is.
func (x *Index) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /feeds/{file}", x.handleFeed)
	mux.HandleFunc("GET /feeds/{kind}/{file}", x.handleFeed)
	mux.HandleFunc("GET /{$}", x.handleHome)
	mux.HandleFunc("GET /topics/{kind}/{slug}", x.handleTopic)
	mux.HandleFunc("GET /meetings/{key}", x.handleMeeting)
	mux.HandleFunc("GET /digests/{id}", x.handleDigest)
	mux.HandleFunc("GET /search", x.handleSearch)
	mux.HandleFunc("GET /failures", x.handleFailures)
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
	SearchURL string
	// FeedsLabel names what Feeds subscribe to, when not everything.
	FeedsLabel  string
	Feeds       []feedLink
	DailyURL    string
	FailuresURL string
	Entries     []digestView
	Entry       *digestView
	Heading     string
	Intro       string
	Query       string
	Prev, Next  string
	Topics      map[string][]topicCount
	Meeting     *meetingView
	Failures    []failureView
	// Review pages: set for a signed-in editor.
	ReviewURL, LoginURL, LogoutURL, CSRF string
	Editor                               *editorForm
}

// meetingView is an article with the digests of its attachments.
type meetingView struct {
	ArticleURL string
	Site       string
	Published  time.Time
}

func (x *Index) newPageData() pageData {
	return x.topicPageData(topic{Kind: KindAll}, "")
}

// topicPageData is pageData with the subscribe links of t's feeds.
func (x *Index) topicPageData(t topic, label string) pageData {
	title := x.title
	if label != "" {
		title = x.title + " · " + label
	}
	d := pageData{
		SiteTitle:   x.title,
		HomeURL:     x.baseURL + "/",
		SearchURL:   x.baseURL + "/search",
		FeedsLabel:  label,
		DailyURL:    x.baseURL + "/feeds/daily.atom",
		FailuresURL: x.baseURL + "/failures",
		Feeds: []feedLink{
			{Label: "Atom", Title: title + " (Atom)", Type: "application/atom+xml", URL: x.baseURL + t.feedPath("atom")},
			{Label: "RSS", Title: title + " (RSS)", Type: "application/rss+xml", URL: x.baseURL + t.feedPath("rss")},
			{Label: "JSON Feed", Title: title + " (JSON Feed)", Type: "application/feed+json", URL: x.baseURL + t.feedPath("json")},
		},
	}
	if t.Kind != KindAll {
		all := topic{Kind: KindAll}
		d.Feeds = append(d.Feeds,
			feedLink{Label: "Atom (tất cả)", Title: x.title + " (Atom)", Type: "application/atom+xml", URL: x.baseURL + all.feedPath("atom")},
			feedLink{Label: "RSS (tất cả)", Title: x.title + " (RSS)", Type: "application/rss+xml", URL: x.baseURL + all.feedPath("rss")},
			feedLink{Label: "JSON Feed (tất cả)", Title: x.title + " (JSON Feed)", Type: "application/feed+json", URL: x.baseURL + all.feedPath("json")},
		)
	}
	if x.reviewMode {
		d.ReviewURL = x.baseURL + "/review"
	}
	return d
}

// outputKey names one cached output: a topic's page of a format.
type outputKey struct {
	topic       topic
	format      string
	page, limit int
}

// DefaultOutputCacheBytes is how many bytes of rendered topic outputs an
// Index keeps when IndexOptions.OutputCacheBytes is not set: a few hundred
// feed pages of 50–150 KB, plain and gzipped.
const DefaultOutputCacheBytes = 64 << 20

// outputCache holds the renditionCaches of topic outputs, least recently
// used out first once their renditions' bytes pass max. Outputs are cheap
// to render again, and render to the same bytes and ETag, so eviction
// costs time, never correctness. Its lock is taken after a
// renditionCache's (onRender), never before one.
type outputCache struct {
	mu  sync.Mutex
	max int64
	// total is the sum of the items' sizes.
	total int64
	lru   list.List // of *outputItem, most recently used first
	byKey map[outputKey]*list.Element
	// evictions counts outputs dropped for room, for tests.
	evictions int
}

// outputItem is one cached output and the bytes accounted for it.
type outputItem struct {
	key  outputKey
	c    *renditionCache
	size int64
}

func newOutputCache(max int64) *outputCache {
	if max <= 0 {
		max = DefaultOutputCacheBytes
	}
	return &outputCache{max: max, byKey: make(map[outputKey]*list.Element)}
}

// get returns the cache of k, made with newCache when missing, and marks
// it recently used.
func (o *outputCache) get(k outputKey, newCache func() *renditionCache) *renditionCache {
	o.mu.Lock()
	defer o.mu.Unlock()
	if el, ok := o.byKey[k]; ok {
		o.lru.MoveToFront(el)
		return el.Value.(*outputItem).c
	}
	c := newCache()
	it := &outputItem{key: k, c: c, size: renditionOverhead}
	c.onRender = func(size int64) { o.resize(it, size) }
	o.byKey[k] = o.lru.PushFront(it)
	o.total += it.size
	o.evict()
	return c
}

// has reports whether k is cached, without marking it used.
func (o *outputCache) has(k outputKey) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	_, ok := o.byKey[k]
	return ok
}

// resize accounts for it's new rendition of size bytes, evicting others
// (or it, when it alone is larger than max) to stay within max. An item
// evicted before its rendering ended is not counted again.
func (o *outputCache) resize(it *outputItem, size int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if el, ok := o.byKey[it.key]; !ok || el.Value.(*outputItem) != it {
		return
	}
	o.total += size - it.size
	it.size = size
	o.evict()
}

// evict drops the least recently used items until the total is within max.
func (o *outputCache) evict() {
	for o.total > o.max && o.lru.Len() > 0 {
		it := o.lru.Remove(o.lru.Back()).(*outputItem)
		delete(o.byKey, it.key)
		o.total -= it.size
		o.evictions++
	}
}

// bytes is the total accounted for, and the number of outputs cached.
func (o *outputCache) bytes() (total int64, outputs int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.total, o.lru.Len()
}

// output returns the cache of t's page in format ("atom", "rss", "json" or
// "html").
func (x *Index) output(t topic, format string, page, limit int) *renditionCache {
	if t.Kind == KindAll && page == 0 && limit == x.maxEntries {
		switch format {
		case "atom":
			return x.atom
		case "rss":
			return x.rss
		case "json":
			return x.json
		}
	}
	k := outputKey{topic: t, format: format, page: page, limit: limit}
	return x.outputs.get(k, func() *renditionCache {
		c := &renditionCache{name: format}
		c.view = func() (*feedView, error) { return x.buildView(t, page, limit) }
		switch format {
		case "atom":
			c.contentType, c.render = contentTypeAtom, x.renderAtom
		case "rss":
			c.contentType, c.render = contentTypeRSS, x.renderRSS
		case "json":
			c.contentType, c.render = contentTypeJSONFeed, x.renderJSONFeed
		default:
			c.contentType, c.render = contentTypeHTML, x.renderTopicPage
		}
		if t.Kind == KindFailures {
			c.view = x.buildFailuresView
		}
		return c
	})
}

// handleFeed serves /feeds/{file} and /feeds/{kind}/{file}.
func (x *Index) handleFeed(w http.ResponseWriter, r *http.Request) {
	name, ext, ok := cutExt(r.PathValue("file"))
	if !ok || (ext != "atom" && ext != "rss" && ext != "json") {
		http.NotFound(w, r)
		return
	}
	t := topic{Kind: r.PathValue("kind"), Slug: name}
	if t.Kind == "" {
		t = topic{Kind: name}
		switch {
		case name == KindAll, name == KindDaily:
		case name == KindFailures && ext == "atom":
		default:
			http.NotFound(w, r)
			return
		}
	} else if !x.topicExists(t) {
		http.NotFound(w, r)
		return
	}
	page, limit, ok := x.paging(r)
	if !ok {
		http.Error(w, "limit and page must be whole numbers (limit from 1 to "+strconv.Itoa(x.maxEntries)+")", http.StatusBadRequest)
		return
	}
	x.serveCached(w, r, x.output(t, ext, page, limit))
}

// cutExt splits a feed's file name at its last dot.
func cutExt(file string) (name, ext string, ok bool) {
	i := strings.LastIndexByte(file, '.')
	if i <= 0 {
		return "", "", false
	}
	return file[:i], file[i+1:], true
}

// topicExists reports whether t is a site, body, tag or day topic that
// readers may ask for: one with public digests, or any valid body or day.
func (x *Index) topicExists(t topic) bool {
	switch t.Kind {
	case KindBody:
		return bodyLabel(t.Slug) != ""
	case KindDay:
		_, err := time.Parse(time.DateOnly, t.Slug)
		return err == nil
	case KindSite, KindTag:
		return x.outputs.has(outputKey{topic: t, format: "html", limit: x.maxEntries}) || x.topicLabel(t) != ""
	}
	return false
}

// paging reads ?page= and ?limit=.
func (x *Index) paging(r *http.Request) (page, limit int, ok bool) {
	limit = x.maxEntries
	q := r.URL.Query()
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return 0, 0, false
		}
		limit = min(n, x.maxEntries)
	}
	if s := q.Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 10000 {
			return 0, 0, false
		}
		page = n
	}
	return page, limit, true
}

func (x *Index) handleTopic(w http.ResponseWriter, r *http.Request) {
	t := topic{Kind: r.PathValue("kind"), Slug: r.PathValue("slug")}
	if (t.Kind != KindSite && t.Kind != KindBody && t.Kind != KindTag && t.Kind != KindDay) || !x.topicExists(t) {
		x.servePage(w, r, x.tmpl.notFound, x.newPageData(), time.Time{}, http.StatusNotFound)
		return
	}
	page, _, ok := x.paging(r)
	if !ok {
		http.Error(w, "page must be a whole number", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Security-Policy", pageCSP)
	x.serveCached(w, r, x.output(t, "html", page, x.maxEntries))
}

// renderTopicPage renders a topic's HTML page.
func (x *Index) renderTopicPage(v *feedView) ([]byte, error) {
	label := x.topicLabel(v.topic)
	data := x.topicPageData(v.topic, label)
	data.Heading = label
	switch v.topic.Kind {
	case KindSite:
		data.Intro = "Bản tin từ " + label
	case KindBody:
		data.Intro = "Văn bản, báo cáo của " + label
	case KindTag:
		data.Intro = "Chủ đề: " + label
	}
	data.Entries = v.entries
	base := x.baseURL + v.topic.pagePath()
	if v.page > 0 {
		data.Prev = base
		if v.page > 1 {
			data.Prev += "?page=" + strconv.Itoa(v.page-1)
		}
	}
	if v.more {
		data.Next = base + "?page=" + strconv.Itoa(v.page+1)
	}
	return executePage(x.tmpl.list, data)
}

// handleMeeting serves the digests of every attachment of one article.
func (x *Index) handleMeeting(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	ds, _, _, err := x.selectDigests(func(e *entry) bool { return e.meeting == key }, 0, 1000)
	if err != nil {
		x.fail(w, err)
		return
	}
	if len(ds) == 0 {
		x.servePage(w, r, x.tmpl.notFound, x.newPageData(), time.Time{}, http.StatusNotFound)
		return
	}
	// Attachments in the order of their names, as the article lists them.
	slices.SortStableFunc(ds, func(a, b model.Digest) int {
		return strings.Compare(a.Source.AttachmentName, b.Source.AttachmentName)
	})
	first := ds[0].Source
	data := x.newPageData()
	data.Heading = firstNonEmpty(first.ArticleTitle, ds[0].Title)
	data.Meeting = &meetingView{ArticleURL: webURL(first.ArticleURL), Site: first.Site, Published: first.PublishedAt}
	var lastMod time.Time
	for _, d := range ds {
		v, err := x.newDigestView(d)
		if err != nil {
			x.fail(w, err)
			return
		}
		data.Entries = append(data.Entries, v)
		if v.Updated.After(lastMod) {
			lastMod = v.Updated
		}
	}
	x.servePage(w, r, x.tmpl.list, data, lastMod, http.StatusOK)
}

// maxSearchResults bounds one search's results.
const maxSearchResults = 100

// handleSearch serves /search?q=.
func (x *Index) handleSearch(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if len(q) > 200 {
		q = q[:200]
	}
	data := x.newPageData()
	data.Query = q
	data.Heading = "Tìm kiếm"
	if q != "" {
		data.Heading = "Tìm kiếm: " + q
		found, err := x.search(q, maxSearchResults)
		if err != nil {
			x.fail(w, err)
			return
		}
		for _, d := range found {
			v, err := x.newDigestView(d)
			if err != nil {
				x.fail(w, err)
				return
			}
			data.Entries = append(data.Entries, v)
		}
		data.Intro = strconv.Itoa(len(data.Entries)) + " bản tin"
	} else {
		data.Intro = "Gõ từ cần tìm, có dấu hoặc không dấu: “ke hoach” tìm thấy “kế hoạch”."
	}
	x.servePage(w, r, x.tmpl.list, data, time.Time{}, http.StatusOK)
}

// renderHome renders the index page of the view.
func (x *Index) renderHome(v *feedView) ([]byte, error) {
	data := x.newPageData()
	data.Entries = v.entries
	data.Topics = x.topics()
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
	d, ok, err := x.getPublic(r.PathValue("id"))
	if err != nil {
		x.fail(w, err)
		return
	}
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
