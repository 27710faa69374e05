package publish

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"time"

	"github.com/bantin/bantin/internal/model"
	"github.com/bantin/bantin/internal/vntext"
)

// Topic kinds: the ways feeds and pages slice the digests.
const (
	// KindAll is every digest.
	KindAll = "all"
	// KindSite is the digests from one site (model.Source.Site).
	KindSite = "site"
	// KindBody is the digests of one issuing body (Tỉnh ủy, HĐND, UBND…),
	// detected from the article's and attachment's titles.
	KindBody = "body"
	// KindTag is the digests with one of the article's tags.
	KindTag = "tag"
	// KindDay is the digests of one day (Vietnam time), named YYYY-MM-DD.
	KindDay = "day"
	// KindDaily is the roll-up feed: one entry a day.
	KindDaily = "daily"
	// KindFailures is the reports that could not be digested.
	KindFailures = "failures"
)

// topic is one slice of the digests: a kind and a slug within it.
type topic struct {
	Kind, Slug string
}

// feedPath is the topic's feed at the extension ext ("atom", "rss", "json").
func (t topic) feedPath(ext string) string {
	switch t.Kind {
	case KindAll, KindDaily, KindFailures:
		return "/feeds/" + t.Kind + "." + ext
	}
	return "/feeds/" + t.Kind + "/" + t.Slug + "." + ext
}

// pagePath is the topic's HTML page.
func (t topic) pagePath() string {
	switch t.Kind {
	case KindAll, KindDaily:
		return "/"
	case KindFailures:
		return "/failures"
	}
	return "/topics/" + t.Kind + "/" + t.Slug
}

// urn is the topic's feed id, the same in every format.
func (t topic) urn() string {
	switch t.Kind {
	case KindAll, KindDaily, KindFailures:
		return "urn:bantin:feed:" + t.Kind
	}
	return "urn:bantin:feed:" + t.Kind + ":" + t.Slug
}

// issuingBody is a body whose documents newsroom staff follow, with the
// folded word sequences that name it.
type issuingBody struct {
	slug, label string
	names       [][]string
}

// issuingBodies are detected in titles in this order.
var issuingBodies = []issuingBody{
	{slug: "tinh-uy", label: "Tỉnh ủy", names: [][]string{{"tinh", "uy"}}},
	{slug: "thanh-uy", label: "Thành ủy", names: [][]string{{"thanh", "uy"}}},
	{slug: "huyen-uy", label: "Huyện ủy", names: [][]string{{"huyen", "uy"}}},
	{slug: "hdnd", label: "HĐND", names: [][]string{{"hdnd"}, {"hoi", "dong", "nhan", "dan"}}},
	{slug: "ubnd", label: "UBND", names: [][]string{{"ubnd"}, {"uy", "ban", "nhan", "dan"}}},
	{slug: "mttq", label: "MTTQ", names: [][]string{{"mttq"}, {"mat", "tran", "to", "quoc"}}},
	{slug: "quoc-hoi", label: "Quốc hội", names: [][]string{{"quoc", "hoi"}}},
	{slug: "chinh-phu", label: "Chính phủ", names: [][]string{{"chinh", "phu"}}},
}

// bodyLabel is the display name of an issuing body's slug.
func bodyLabel(slug string) string {
	for _, b := range issuingBodies {
		if b.slug == slug {
			return b.label
		}
	}
	return ""
}

// detectBodies returns the slugs of the issuing bodies named in the
// digest's titles, attachment name and tags.
func detectBodies(d *model.Digest) []string {
	words := vntext.Syllables(vntext.Fold(strings.Join(append([]string{
		d.Title, d.Source.ArticleTitle, d.Source.AttachmentName,
	}, d.Source.Tags...), " \n ")))
	var out []string
	for _, b := range issuingBodies {
		for _, name := range b.names {
			if containsRun(words, name) {
				out = append(out, b.slug)
				break
			}
		}
	}
	return out
}

func containsRun(words, run []string) bool {
	for i := 0; i+len(run) <= len(words); i++ {
		if slices.Equal(words[i:i+len(run)], run) {
			return true
		}
	}
	return false
}

// slugify makes a URL path segment of a label: folded, with runs of
// anything but letters and digits as one '-'.
func slugify(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range vntext.Fold(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		} else {
			dash = true
		}
	}
	return b.String()
}

// siteSlug is the path segment of a site: its host name, lower case, with
// nothing but letters, digits, '.' and '-'.
func siteSlug(site string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(site)) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return strings.Trim(b.String(), ".-")
}

// topicLabel is how pages and feed titles name t; "" when no digest has it.
func (x *Index) topicLabel(t topic) string {
	switch t.Kind {
	case KindAll:
		return x.title
	case KindDaily:
		return "Tổng hợp theo ngày"
	case KindFailures:
		return "Không tóm tắt được"
	case KindBody:
		return bodyLabel(t.Slug)
	case KindDay:
		if day, err := time.Parse(time.DateOnly, t.Slug); err == nil {
			return "Ngày " + day.Format("02/01/2006")
		}
		return ""
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	for id, e := range x.entries {
		if !x.public(id) {
			continue
		}
		switch t.Kind {
		case KindSite:
			if siteSlug(e.site) == t.Slug {
				return e.site
			}
		case KindTag:
			for _, tag := range e.tags {
				if slugify(tag) == t.Slug {
					return strings.TrimSpace(tag)
				}
			}
		}
	}
	return ""
}

// matcher returns the filter that selects t's digests; nil for all.
func (x *Index) matcher(t topic) func(*entry) bool {
	switch t.Kind {
	case KindSite:
		return func(e *entry) bool { return siteSlug(e.site) == t.Slug }
	case KindBody:
		return func(e *entry) bool { return e.hasBody(t.Slug) }
	case KindTag:
		return func(e *entry) bool {
			return slices.ContainsFunc(e.tags, func(tag string) bool { return slugify(tag) == t.Slug })
		}
	case KindDay:
		return func(e *entry) bool { return e.key.t.In(x.loc).Format(time.DateOnly) == t.Slug }
	}
	return nil
}

// topicCount is a topic with how many public digests it has.
type topicCount struct {
	Kind, Slug, Label string
	Count             int
	URL               string
}

// topics lists every site, issuing body and tag among the public digests,
// each kind by count, then label.
func (x *Index) topics() map[string][]topicCount {
	x.mu.RLock()
	counts := map[topic]*topicCount{}
	add := func(kind, slug, label string) {
		if slug == "" {
			return
		}
		t := topic{kind, slug}
		c, ok := counts[t]
		if !ok {
			c = &topicCount{Kind: kind, Slug: slug, Label: label, URL: x.baseURL + t.pagePath()}
			counts[t] = c
		}
		c.Count++
	}
	for id, e := range x.entries {
		if !x.public(id) {
			continue
		}
		add(KindSite, siteSlug(e.site), e.site)
		for _, b := range e.bodySlugs() {
			add(KindBody, b, bodyLabel(b))
		}
		seen := map[string]bool{}
		for _, tag := range e.tags {
			if s := slugify(tag); !seen[s] {
				seen[s] = true
				add(KindTag, s, strings.TrimSpace(tag))
			}
		}
	}
	x.mu.RUnlock()
	out := map[string][]topicCount{}
	for _, c := range counts {
		out[c.Kind] = append(out[c.Kind], *c)
	}
	for _, cs := range out {
		slices.SortFunc(cs, func(a, b topicCount) int {
			if a.Count != b.Count {
				return b.Count - a.Count
			}
			return strings.Compare(a.Label, b.Label)
		})
	}
	return out
}

// meetingKey names the meeting an article reports: the first 16 hex digits
// of the sha256 of its URL; "" when the digest has no article URL.
func meetingKey(d *model.Digest) string {
	u := webURL(d.Source.ArticleURL)
	if u == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(u))
	return hex.EncodeToString(sum[:8])
}

// search returns up to n public digests whose text holds the query's
// words, in any case and with or without diacritics, newest first: those
// with the words as a phrase, then those with them anywhere.
func (x *Index) search(q string, n int) ([]model.Digest, error) {
	words := vntext.Syllables(vntext.Fold(q))
	if len(words) == 0 || n <= 0 {
		return nil, nil
	}
	x.mu.Lock()
	x.settle()
	phrase, known := x.lex.encode(nil, words, false)
	if !known {
		// A word no digest has: nothing matches.
		x.mu.Unlock()
		return nil, nil
	}
	each := make([][]byte, len(words))
	for i, w := range words {
		each[i], _ = x.lex.encode(nil, []string{w}, false)
	}
	var exact, loose []ref
	for i := len(x.order) - 1; i >= 0 && len(exact) < n; i-- {
		e := x.entries[x.order[i].id]
		if !x.public(e.key.id) {
			continue
		}
		switch {
		case containsSyllables(e.words, phrase):
			exact = append(exact, e.ref())
		case len(loose) < n && allWords(e.words, each):
			loose = append(loose, e.ref())
		}
	}
	x.mu.Unlock()
	refs := append(exact, loose...)
	if len(refs) > n {
		refs = refs[:n]
	}
	return x.fetch(refs)
}

func allWords(text []byte, words [][]byte) bool {
	for _, w := range words {
		if !containsSyllables(text, w) {
			return false
		}
	}
	return true
}
