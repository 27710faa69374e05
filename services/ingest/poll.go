package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/mmcdole/gofeed"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/bantin/bantin/internal/model"
	"github.com/bantin/bantin/services/ingest/article"
	"github.com/bantin/bantin/services/ingest/extract"
)

// pollAttempts is how often a polled URL is tried before the poll gives
// up on it (5xx, 429 and timeouts are retried with backoff).
const pollAttempts = 3

// maxFetchFailures is how many polls an attachment may fail before it is
// dead-lettered and no longer tried.
const maxFetchFailures = 3

// PollStats counts what one poll of a source did.
type PollStats struct {
	// Fetched counts HTTP answers with a body (200); Unchanged counts
	// listings, articles and attachments that were not modified (304, or
	// the same bytes again).
	Fetched, Unchanged int
	// New counts reports ingested (attachments, or bodies of articles
	// without attachments), Failed the URLs that could not be had.
	New, Failed int
	Bytes       int64
	// Skipped counts URLs robots.txt disallows.
	Skipped int
}

// seenState is what SOURCES_SEEN keeps about one URL.
type seenState struct {
	URL          string    `json:"url"`
	ETag         string    `json:"etag,omitempty"`
	LastModified string    `json:"last_modified,omitempty"`
	FirstSeen    time.Time `json:"first_seen"`
	// Links are a listing's or feed's article links at the last poll.
	Links []string `json:"links,omitempty"`
	// Attachments are an article's attachment URLs.
	Attachments []string `json:"attachments,omitempty"`
	// ReportID is the id of an attachment's bytes last ingested.
	ReportID string `json:"report_id,omitempty"`
	// Failures counts consecutive failed fetches; LastError the last one.
	Failures  int    `json:"failures,omitempty"`
	LastError string `json:"last_error,omitempty"`
}

func (st *seenState) validators() validators {
	if st == nil {
		return validators{}
	}
	return validators{ETag: st.ETag, LastModified: st.LastModified}
}

// seenKey is the bucket key of a URL of one kind: l (listing), r (feed),
// a (article) or f (file).
func seenKey(kind, rawURL string) string {
	sum := sha256.Sum256([]byte(rawURL))
	return kind + "." + hex.EncodeToString(sum[:20])
}

func (s *Service) loadSeen(ctx context.Context, key string) (*seenState, error) {
	e, err := s.bus.Seen.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s from %s: %w", key, model.BucketSourcesSeen, err)
	}
	var st seenState
	if err := json.Unmarshal(e.Value(), &st); err != nil {
		return nil, fmt.Errorf("decoding %s from %s: %w", key, model.BucketSourcesSeen, err)
	}
	return &st, nil
}

func (s *Service) saveSeen(ctx context.Context, key string, st *seenState) {
	data, err := json.Marshal(st)
	if err == nil {
		_, err = s.bus.Seen.Put(ctx, key, data)
	}
	if err != nil {
		s.log.Warn("remembering a polled URL", "url", st.URL, "err", err)
	}
}

// poller polls the configured sources.
type poller struct {
	s      *Service
	robots *robotsCache
}

// runSources polls every source on its interval until ctx is done.
func (s *Service) runSources(ctx context.Context, p *poller) {
	done := make(chan struct{})
	for _, src := range s.cfg.Sources {
		go func() {
			defer func() { done <- struct{}{} }()
			for {
				st := p.poll(ctx, src)
				if ctx.Err() != nil {
					return
				}
				s.log.Info("polled source", "source", src.Name, "fetched", st.Fetched, "new", st.New,
					"unchanged", st.Unchanged, "failed", st.Failed, "bytes", st.Bytes, "robots_skipped", st.Skipped)
				select {
				case <-ctx.Done():
					return
				case <-time.After(src.Interval):
				}
			}
		}()
	}
	for range s.cfg.Sources {
		<-done
	}
}

// PollOnce polls src once: its listings and feeds, the articles they link
// to and the attachments of those, ingesting what is new or changed.
func (s *Service) PollOnce(ctx context.Context, src Source) (PollStats, error) {
	if err := src.check(); err != nil {
		return PollStats{}, fmt.Errorf("source %s: %w", src.Name, err)
	}
	return s.bg.poller.poll(ctx, src), nil
}

// pollRun is one poll of one source.
type pollRun struct {
	*poller
	src   Source
	stats PollStats
	log   *slog.Logger
}

// articleRef is an article link and what the listing or feed said of it.
type articleRef struct {
	url       string
	title     string
	published time.Time
	// files are documents the feed item encloses.
	files []string
}

func (p *poller) poll(ctx context.Context, src Source) PollStats {
	r := &pollRun{poller: p, src: src, log: p.s.log.With("source", src.Name)}
	var refs []articleRef
	seen := map[string]bool{}
	add := func(list []articleRef) {
		for _, a := range list {
			if !seen[a.url] {
				seen[a.url] = true
				refs = append(refs, a)
			}
		}
	}
	for _, u := range src.Listings {
		add(r.index(ctx, "l", u, r.listingLinks))
	}
	for _, u := range src.Feeds {
		add(r.index(ctx, "r", u, r.feedLinks))
	}
	for _, a := range refs {
		if ctx.Err() != nil {
			break
		}
		r.article(ctx, a)
	}
	p.s.bg.record(src.Name, r.stats)
	return r.stats
}

// get fetches u conditionally under robots.txt, counting what happened.
// It returns nil (and counts a failure or a skip) when u cannot be had.
func (r *pollRun) get(ctx context.Context, u string, st *seenState) (*fetched, error) {
	pu, err := url.Parse(u)
	if err != nil {
		r.stats.Failed++
		return nil, fmt.Errorf("parsing %q: %w", u, err)
	}
	if !r.robots.allowed(ctx, pu) {
		r.stats.Skipped++
		return nil, errRobots
	}
	got, err := r.s.reader.fetch.fetch(ctx, u, st.validators(), pollAttempts)
	if err != nil {
		r.stats.Failed++
		return nil, err
	}
	if got.NotModified {
		r.stats.Unchanged++
	} else {
		r.stats.Fetched++
		r.stats.Bytes += int64(len(got.Body))
	}
	return got, nil
}

var errRobots = errors.New("disallowed by robots.txt")

// index polls a listing page or feed and returns its article links: the
// remembered ones when it did not change.
func (r *pollRun) index(ctx context.Context, kind, u string, links func(*fetched) ([]articleRef, error)) []articleRef {
	key := seenKey(kind, u)
	st, err := r.s.loadSeen(ctx, key)
	if err != nil {
		r.log.Warn("reading poll state", "url", u, "err", err)
	}
	got, err := r.get(ctx, u, st)
	if err != nil {
		r.log.Warn("polling listing", "url", u, "err", err)
		return nil
	}
	if got.NotModified && st != nil {
		refs := make([]articleRef, 0, len(st.Links))
		for _, l := range st.Links {
			refs = append(refs, articleRef{url: l})
		}
		return refs
	}
	refs, err := links(got)
	if err != nil {
		r.stats.Failed++
		r.log.Warn("reading listing", "url", u, "err", err)
		return nil
	}
	if len(refs) > r.src.MaxArticles {
		refs = refs[:r.src.MaxArticles]
	}
	next := &seenState{URL: u, ETag: got.ETag, LastModified: got.LastModified, FirstSeen: time.Now().UTC()}
	if st != nil {
		next.FirstSeen = st.FirstSeen
	}
	for _, a := range refs {
		next.Links = append(next.Links, a.url)
	}
	r.s.saveSeen(ctx, key, next)
	return refs
}

// feedLinks reads an RSS or Atom feed.
func (r *pollRun) feedLinks(got *fetched) ([]articleRef, error) {
	feed, err := gofeed.NewParser().Parse(bytes.NewReader(got.Body))
	if err != nil {
		return nil, fmt.Errorf("reading feed %s: %w", got.URL, err)
	}
	base, _ := url.Parse(got.URL)
	var refs []articleRef
	for _, it := range feed.Items {
		ref := articleRef{title: strings.TrimSpace(it.Title)}
		if it.PublishedParsed != nil {
			ref.published = *it.PublishedParsed
		}
		for _, enc := range it.Enclosures {
			if u, ok := resolveLink(base, enc.URL); ok && isDocURL(u) {
				ref.files = append(ref.files, u.String())
			}
		}
		if u, ok := resolveLink(base, it.Link); ok {
			ref.url = u.String()
		} else if len(ref.files) > 0 {
			ref.url = ref.files[0]
		} else {
			continue
		}
		refs = append(refs, ref)
	}
	return refs, nil
}

// listingLinks reads a listing page: links matching the source's
// selector or pattern, else links on the same site that look like
// articles, outside menus, headers and footers. Links straight to
// documents count too.
func (r *pollRun) listingLinks(got *fetched) ([]articleRef, error) {
	if extract.Detect(got.Body) != "html" {
		return nil, fmt.Errorf("listing %s is not an HTML page", got.URL)
	}
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(got.Body))
	if err != nil {
		return nil, fmt.Errorf("reading listing %s: %w", got.URL, err)
	}
	page, _ := url.Parse(got.URL)
	base := page
	if href, ok := doc.Find("base[href]").First().Attr("href"); ok {
		if b, ok := resolveLink(page, href); ok {
			base = b
		}
	}
	sel := doc.Find("a[href]")
	if r.src.Selectors.Links != "" {
		sel = doc.Find(r.src.Selectors.Links)
		sel = sel.Filter("a[href]").AddSelection(sel.Find("a[href]"))
	}
	var refs []articleRef
	sel.Each(func(_ int, a *goquery.Selection) {
		href, _ := a.Attr("href")
		u, ok := resolveLink(base, href)
		if !ok || sameDoc(u, page) {
			return
		}
		switch {
		case r.src.Selectors.Links != "":
		case r.src.linkRe != nil:
			if !r.src.linkRe.MatchString(u.String()) {
				return
			}
		default:
			if !sameSite(u, page) || a.ParentsFiltered("nav, header, footer, aside, menu, [role=navigation]").Length() > 0 {
				return
			}
			if !isDocURL(u) && !articleish(u) {
				return
			}
		}
		refs = append(refs, articleRef{url: u.String(), title: strings.Join(strings.Fields(a.Text()), " ")})
	})
	return refs, nil
}

// article polls one article: new ones are read and their attachments
// ingested; known ones are checked again (conditionally) while younger
// than RecheckFor, for new or changed attachments.
func (r *pollRun) article(ctx context.Context, a articleRef) {
	if pu, err := url.Parse(a.url); err == nil && isDocURL(pu) {
		// A listing or feed that links straight to a document.
		r.file(ctx, a.url, model.Source{ArticleTitle: a.title, PublishedAt: a.published, Site: siteOf("", a.url)})
		return
	}
	key := seenKey("a", a.url)
	st, err := r.s.loadSeen(ctx, key)
	if err != nil {
		r.log.Warn("reading poll state", "url", a.url, "err", err)
		return
	}
	if st != nil && time.Since(st.FirstSeen) > r.src.RecheckFor {
		return
	}
	got, err := r.get(ctx, a.url, st)
	if err != nil {
		if !errors.Is(err, errRobots) {
			r.log.Warn("fetching article", "url", a.url, "err", err)
		}
		return
	}
	src := model.Source{ArticleURL: a.url, ArticleTitle: a.title, PublishedAt: a.published, Site: siteOf("", a.url)}
	if got.NotModified {
		for _, f := range st.Attachments {
			r.file(ctx, f, src)
		}
		return
	}
	next := &seenState{URL: a.url, ETag: got.ETag, LastModified: got.LastModified, FirstSeen: time.Now().UTC()}
	if st != nil {
		next.FirstSeen = st.FirstSeen
	}
	if extract.Detect(got.Body) != "html" {
		// The "article" is a file: remember it as one.
		src.AttachmentURL, src.AttachmentName = a.url, got.Name
		fkey := seenKey("f", a.url)
		fst, err := r.s.loadSeen(ctx, fkey)
		if err != nil {
			r.log.Warn("reading poll state", "url", a.url, "err", err)
			return
		}
		r.ingestFile(ctx, fkey, got, src, fst)
		r.s.saveSeen(ctx, key, next)
		return
	}
	art, err := r.readArticle(got)
	if err != nil {
		r.stats.Failed++
		r.log.Warn("reading article", "url", a.url, "err", err)
		return
	}
	src.ArticleURL, src.Author, src.Tags, src.Site = art.URL, art.Author, art.Tags, siteOf(art.Site, got.URL)
	if art.Title != "" {
		src.ArticleTitle = art.Title
	}
	if !art.PublishedAt.IsZero() {
		src.PublishedAt = art.PublishedAt
	}
	files := art.Attachments
	for _, f := range a.files {
		files = append(files, article.Attachment{URL: f})
	}
	for _, f := range files {
		next.Attachments = append(next.Attachments, f.URL)
		fsrc := src
		fsrc.AttachmentName = f.Name
		r.file(ctx, f.URL, fsrc)
	}
	if len(files) == 0 && st == nil && len(art.Paragraphs) > 0 {
		res := r.s.ingestItem(ctx, Item{Raw: []byte(strings.Join(art.Paragraphs, "\n\n")), Source: src, Doc: docText(art.Paragraphs, art.Title)})
		r.count(res)
	}
	r.s.saveSeen(ctx, key, next)
}

// readArticle parses an article page, with the source's selectors
// overriding what the generic reading found.
func (r *pollRun) readArticle(got *fetched) (*article.Article, error) {
	art, err := article.Parse(got.Body, got.URL)
	if err != nil {
		return nil, err
	}
	sel := r.src.Selectors
	if sel.Title == "" && sel.Date == "" && sel.Body == "" && sel.Attachments == "" {
		return art, nil
	}
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(got.Body))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", got.URL, err)
	}
	text := func(s *goquery.Selection) string { return strings.Join(strings.Fields(s.Text()), " ") }
	if sel.Title != "" {
		if t := text(doc.Find(sel.Title).First()); t != "" {
			art.Title = t
		}
	}
	if sel.Date != "" {
		if t, ok := parseVNDate(text(doc.Find(sel.Date).First())); ok {
			art.PublishedAt = t
		}
	}
	if sel.Body != "" {
		var paras []string
		body := doc.Find(sel.Body).First()
		blocks := body.Find("p, li, h2, h3, h4, tr")
		if blocks.Length() == 0 {
			blocks = body
		}
		blocks.Each(func(_ int, b *goquery.Selection) {
			if t := text(b); t != "" {
				paras = append(paras, t)
			}
		})
		if len(paras) > 0 {
			art.Paragraphs = paras
		}
	}
	if sel.Attachments != "" {
		page, _ := url.Parse(got.URL)
		var atts []article.Attachment
		seen := map[string]bool{}
		found := doc.Find(sel.Attachments)
		found.Filter("a[href]").AddSelection(found.Find("a[href]")).Each(func(_ int, a *goquery.Selection) {
			href, _ := a.Attr("href")
			u, ok := resolveLink(page, href)
			if !ok || seen[u.String()] {
				return
			}
			seen[u.String()] = true
			atts = append(atts, article.Attachment{URL: u.String(), Name: text(a)})
		})
		art.Attachments = atts
	}
	return art, nil
}

// file polls one attachment: new bytes become a report, the same bytes
// again are unchanged, new bytes at a known URL are a new report that
// names the one it replaces.
func (r *pollRun) file(ctx context.Context, u string, src model.Source) {
	key := seenKey("f", u)
	st, err := r.s.loadSeen(ctx, key)
	if err != nil {
		r.log.Warn("reading poll state", "url", u, "err", err)
		return
	}
	if st != nil && st.Failures >= maxFetchFailures {
		return
	}
	got, err := r.get(ctx, u, st)
	if errors.Is(err, errRobots) {
		return
	}
	if err != nil {
		r.log.Warn("fetching attachment", "url", u, "err", err)
		next := &seenState{URL: u, FirstSeen: time.Now().UTC()}
		if st != nil {
			*next = *st
		}
		next.Failures++
		next.LastError = err.Error()
		if next.Failures >= maxFetchFailures {
			// Give up, with the reason in the dead-letter stream.
			src.AttachmentURL = u
			r.s.ingestItem(ctx, Item{Source: src, Err: fmt.Errorf("fetching %s failed %d polls in a row: %w", u, next.Failures, err)})
		}
		r.s.saveSeen(ctx, key, next)
		return
	}
	if got.NotModified {
		return
	}
	src.AttachmentURL = u
	if src.AttachmentName == "" {
		src.AttachmentName = got.Name
	}
	r.ingestFile(ctx, key, got, src, st)
}

// ingestFile ingests a fetched file unless its bytes are the ones last
// seen at its URL, and remembers them.
func (r *pollRun) ingestFile(ctx context.Context, key string, got *fetched, src model.Source, st *seenState) {
	id := model.ReportID(got.Body)
	next := &seenState{URL: src.AttachmentURL, ETag: got.ETag, LastModified: got.LastModified, FirstSeen: time.Now().UTC(), ReportID: id}
	if st != nil {
		next.FirstSeen = st.FirstSeen
		if st.ReportID == id {
			r.stats.Unchanged++
			r.s.saveSeen(ctx, key, next)
			return
		}
		if st.ReportID != "" {
			src.Replaces = st.ReportID
			r.log.Info("attachment changed", "url", src.AttachmentURL, "replaces", st.ReportID, "report_id", id)
		}
	}
	res := r.s.ingestItem(ctx, Item{Raw: got.Body, Source: src})
	r.count(res)
	if res.Outcome == OutcomeDead && res.Reason == "publish_failed" {
		return // not remembered: tried again next poll
	}
	r.s.saveSeen(ctx, key, next)
}

func (r *pollRun) count(res Result) {
	if res.Outcome == OutcomeDead {
		r.stats.Failed++
		return
	}
	r.stats.New++
}

// resolveLink resolves href against base to an absolute http(s) URL
// without fragment.
func resolveLink(base *url.URL, href string) (*url.URL, bool) {
	href = strings.TrimSpace(href)
	if href == "" || strings.HasPrefix(href, "#") {
		return nil, false
	}
	u, err := base.Parse(href)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, false
	}
	u.Fragment, u.RawFragment = "", ""
	return u, true
}

func sameDoc(a, b *url.URL) bool {
	return a.Host == b.Host && a.Path == b.Path && a.RawQuery == b.RawQuery
}

func sameSite(a, b *url.URL) bool {
	return strings.TrimPrefix(strings.ToLower(a.Hostname()), "www.") == strings.TrimPrefix(strings.ToLower(b.Hostname()), "www.")
}

// isDocURL reports whether u's path names a PDF, Word or Excel file.
func isDocURL(u *url.URL) bool {
	switch strings.ToLower(path.Ext(strings.TrimRight(u.Path, " ."))) {
	case ".pdf", ".doc", ".docx", ".xls", ".xlsx":
		return true
	}
	return false
}

var digitsRe = regexp.MustCompile(`\d{4,}`)

// articleish reports whether u looks like an article rather than a
// category, tag or paging link: a slug with several words, or an id.
func articleish(u *url.URL) bool {
	q := u.Query()
	if q.Get("page") != "" || q.Get("p") != "" || q.Get("trang") != "" {
		return false
	}
	for _, k := range []string{"id", "ID", "ItemID", "itemid", "newsid", "NewsID"} {
		if q.Get(k) != "" {
			return true
		}
	}
	seg := path.Base(strings.TrimSuffix(u.Path, "/"))
	seg = strings.TrimSuffix(seg, path.Ext(seg))
	return strings.Count(seg, "-") >= 3 || digitsRe.MatchString(seg)
}

var vnDateRe = regexp.MustCompile(`(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})(?:\D{0,20}?(\d{1,2})[:hg](\d{2}))?|(\d{1,2})[:hg](\d{2})\D{0,30}?(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})`)

// parseVNDate reads a day-first Vietnamese date line ("01/12/2023 15:34",
// "15h34 ngày 1-12-2023") in Vietnam's time zone.
func parseVNDate(s string) (time.Time, bool) {
	m := vnDateRe.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, false
	}
	n := func(x string) int { v, _ := strconv.Atoi(x); return v }
	var d, mo, y, h, mi int
	if m[1] != "" {
		d, mo, y, h, mi = n(m[1]), n(m[2]), n(m[3]), n(m[4]), n(m[5])
	} else {
		h, mi, d, mo, y = n(m[6]), n(m[7]), n(m[8]), n(m[9]), n(m[10])
	}
	if mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 {
		return time.Time{}, false
	}
	return time.Date(y, time.Month(mo), d, h, mi, 0, 0, time.FixedZone("ICT", 7*3600)), true
}
