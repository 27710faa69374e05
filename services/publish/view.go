package publish

import (
	"bytes"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strconv"
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
	// Corrected is set when this version corrects one readers saw before.
	Corrected bool
	// MeetingURL is the page of the article's meeting, when there is one.
	MeetingURL string
	// Topics are the topic pages the digest appears on.
	Topics []topicCount
	// Items, for a daily roll-up entry, are that day's digests.
	Items []digestView
}

// feedView is the newest digests, adapted once per change of the Index and
// shared by every rendition.
type feedView struct {
	gen     uint64
	entries []digestView
	// updated is the latest Updated among entries, zero when there are none.
	updated time.Time

	// topic is what the feed holds; title names it.
	topic topic
	title string
	// page is the 0-based page of a paged feed, limit its entries per
	// page; more says whether an older page follows.
	page, limit int
	more        bool
}

// feedURL is the view's feed in format ext, on its page.
func (x *Index) feedURL(v *feedView, ext string, page int) string {
	u := x.baseURL + v.topic.feedPath(ext)
	var q []string
	if v.limit != x.maxEntries && v.limit > 0 {
		q = append(q, "limit="+strconv.Itoa(v.limit))
	}
	if page > 0 {
		q = append(q, "page="+strconv.Itoa(page))
	}
	if len(q) > 0 {
		u += "?" + strings.Join(q, "&")
	}
	return u
}

// currentView returns the view of the Index as it is now, building it when
// the Index changed since the last call.
func (x *Index) currentView() (*feedView, error) {
	x.viewMu.Lock()
	defer x.viewMu.Unlock()
	if x.view != nil && x.view.gen == x.generation() {
		return x.view, nil
	}
	v, err := x.buildView(topic{Kind: KindAll}, 0, x.maxEntries)
	if err != nil {
		return nil, err
	}
	x.view = v
	return v, nil
}

// buildView adapts page (0-based) of topic t's digests, limit to a page.
func (x *Index) buildView(t topic, page, limit int) (*feedView, error) {
	if t.Kind == KindDaily {
		return x.buildDailyView(page, limit)
	}
	ds, total, gen, err := x.selectDigests(x.matcher(t), page*limit, limit)
	if err != nil {
		return nil, err
	}
	v := &feedView{gen: gen, entries: make([]digestView, 0, len(ds)), topic: t, page: page, limit: limit}
	v.more = (page+1)*limit < total
	v.title = x.title
	if t.Kind != KindAll {
		v.title = x.title + " · " + x.topicLabel(t)
	}
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
	return v, nil
}

// dailyReach × MaxEntries is how many of the latest digests the daily
// roll-up looks at.
const dailyReach = 50

// buildDailyView is the roll-up: one entry a day, newest day first, each
// listing that day's digests.
func (x *Index) buildDailyView(page, limit int) (*feedView, error) {
	// The latest limit days' digests are among the latest digests of all;
	// a roll-up of a few hundred days is plenty for a reader.
	refs, _, gen := x.selectRefs(nil, 0, dailyReach*x.maxEntries)
	v := &feedView{gen: gen, topic: topic{Kind: KindDaily}, page: page, limit: limit, title: x.title + " · " + x.topicLabel(topic{Kind: KindDaily})}
	var days []string
	byDay := map[string][]ref{}
	for _, r := range refs {
		day := r.t.In(x.loc).Format(time.DateOnly)
		if _, ok := byDay[day]; !ok {
			days = append(days, day)
		}
		byDay[day] = append(byDay[day], r)
	}
	start := min(page*limit, len(days))
	end := min(start+limit, len(days))
	v.more = end < len(days)
	for _, day := range days[start:end] {
		ds, err := x.fetch(byDay[day])
		if err != nil {
			return nil, err
		}
		t := topic{Kind: KindDay, Slug: day}
		dayTime, _ := time.ParseInLocation(time.DateOnly, day, x.loc)
		e := digestView{
			URN:     "urn:bantin:daily:" + day,
			Title:   fmt.Sprintf("Bản tin ngày %s (%d)", dayTime.Format("02/01/2006"), len(ds)),
			PageURL: x.baseURL + t.pagePath(),
			Author:  x.title,
		}
		e.Link = e.PageURL
		for _, d := range ds {
			dv, err := x.newDigestView(d)
			if err != nil {
				return nil, err
			}
			e.Items = append(e.Items, dv)
			if dv.Updated.After(e.Updated) {
				e.Updated = dv.Updated
			}
			if e.Published.IsZero() || dv.Published.After(e.Published) {
				e.Published = dv.Published
			}
		}
		var b bytes.Buffer
		if err := x.tmpl.daily.Execute(&b, &e); err != nil {
			return nil, fmt.Errorf("rendering the roll-up of %s: %w", day, err)
		}
		e.ContentHTML = b.String()
		v.entries = append(v.entries, e)
		if e.Updated.After(v.updated) {
			v.updated = e.Updated
		}
	}
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
	x.mu.RLock()
	v.Corrected = x.corrected(&d)
	x.mu.RUnlock()
	if k := meetingKey(&d); k != "" {
		v.MeetingURL = x.baseURL + "/meetings/" + k
	}
	if s := siteSlug(src.Site); s != "" {
		v.Topics = append(v.Topics, topicCount{Kind: KindSite, Slug: s, Label: src.Site, URL: x.baseURL + topic{KindSite, s}.pagePath()})
	}
	for _, b := range detectBodies(&d) {
		v.Topics = append(v.Topics, topicCount{Kind: KindBody, Slug: b, Label: bodyLabel(b), URL: x.baseURL + topic{KindBody, b}.pagePath()})
	}
	for _, tag := range src.Tags {
		if s := slugify(tag); s != "" && !slices.ContainsFunc(v.Topics, func(c topicCount) bool { return c.Kind == KindTag && c.Slug == s }) {
			v.Topics = append(v.Topics, topicCount{Kind: KindTag, Slug: s, Label: strings.TrimSpace(tag), URL: x.baseURL + topic{KindTag, s}.pagePath()})
		}
	}
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
