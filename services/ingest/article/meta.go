package article

import (
	"regexp"
	"strings"
	"unicode"

	"golang.org/x/net/html"
)

// meta returns the content of the first <meta> whose property, name or
// itemprop is one of keys (case-insensitive), trying keys in order.
func (p *page) meta(keys ...string) string {
	metas := p.doc.Find("meta[content]").Nodes
	for _, k := range keys {
		for _, m := range metas {
			for _, a := range [...]string{"property", "name", "itemprop"} {
				if strings.EqualFold(strings.TrimSpace(attr(m, a)), k) {
					if v := strings.TrimSpace(attr(m, "content")); v != "" {
						return v
					}
				}
			}
		}
	}
	return ""
}

// metas returns the contents of every <meta> whose property or name is key.
func (p *page) metas(key string) []string {
	var out []string
	for _, m := range p.doc.Find("meta[content]").Nodes {
		if strings.EqualFold(attr(m, "property"), key) || strings.EqualFold(attr(m, "name"), key) {
			if v := strings.TrimSpace(attr(m, "content")); v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}

// headlineSelectors name the article's title element, tried in order after
// the first proper h1.
const headlineSelectors = `.title-detail, .detail-title, .article-title, .news-title,
	.post-title, .entry-title, .title_detail, .detail__title, .news-detail-title,
	.title-news, .newstitle, .tieude, .tieu-de, .tieudebaiviet`

// headline returns the element holding the article's title, or nil. Site
// logos set in an h1 sit in the page header, which is boilerplate.
func (p *page) headline() *html.Node {
	for _, sel := range []string{"[itemprop=headline]", "h1", headlineSelectors} {
		for _, n := range p.doc.Find(sel).Nodes {
			if n.Data == "meta" || p.skipped(n) {
				continue
			}
			if countLetters(nodeText(n)) >= 8 {
				return n
			}
		}
	}
	return nil
}

// title returns the article title: og:title, else the headline element,
// else <title>, with " - Site name" decorations removed.
func (p *page) title(host string) string {
	siteName := clean(p.meta("og:site_name", "application-name", "apple-mobile-web-app-title"))
	head := ""
	if h := p.headline(); h != nil {
		p.used[h] = true
		head = text(h)
	}
	if t := clean(p.meta("og:title", "twitter:title")); t != "" {
		return stripSite(t, siteName, host, head)
	}
	if head != "" {
		return head
	}
	if n := p.doc.Find("title").First().Nodes; len(n) > 0 {
		return stripSite(text(n[0]), siteName, host, "")
	}
	return ""
}

// titleSeps separate a title from the site name in <title> and og:title.
// Bare hyphens are not among them: "kinh tế - xã hội" is a title.
var titleSeps = [...]string{" | ", " - ", " – ", " — ", " :: ", " » ", " · "}

// stripSite removes site-name segments from either end of title t, as long
// as a real title remains. When the page's headline opens the title and
// only separators and other segments follow, the headline is the title.
func stripSite(t, siteName, host, head string) string {
	for changed := true; changed; {
		changed = false
		for _, sep := range titleSeps {
			if i := strings.LastIndex(t, sep); i > 0 {
				rest := strings.TrimSpace(t[:i])
				if looksLikeSite(t[i+len(sep):], siteName, host) && countLetters(rest) >= 8 {
					t, changed = rest, true
					break
				}
			}
			if i := strings.Index(t, sep); i > 0 {
				rest := strings.TrimSpace(t[i+len(sep):])
				if looksLikeSite(t[:i], siteName, host) && countLetters(rest) >= 8 {
					t, changed = rest, true
					break
				}
			}
		}
	}
	if head != "" && len(t) > len(head) && strings.HasPrefix(t, head) {
		rest := t[len(head):]
		for _, sep := range titleSeps {
			if strings.HasPrefix(rest, sep) {
				return head
			}
		}
	}
	return t
}

// looksLikeSite reports whether title segment s names the site: it is
// og:site_name, spells the host ("Báo Bắc Giang" for baobacgiang.vn), is
// a domain, or starts like the name of a paper or portal.
func looksLikeSite(s, siteName, host string) bool {
	f := trimLabel(fold(s))
	if f == "" || len(f) > 80 {
		return false
	}
	if siteName != "" {
		if sf := trimLabel(fold(siteName)); sf != "" && (f == sf || strings.Contains(sf, f) && len(f) > 3) {
			return true
		}
	}
	// "Báo Bắc Giang" spells baobacgiang.vn; the whole segment must match,
	// as short labels ("hdnd", "tinh") also occur in titles.
	for _, label := range strings.Split(host, ".") {
		if len(label) >= 4 && lettersOnly(f) == label {
			return true
		}
	}
	for _, tld := range [...]string{".vn", ".com", ".net", ".org"} {
		if strings.HasSuffix(f, tld) {
			return true
		}
	}
	for _, pre := range [...]string{
		"bao ", "bao dien tu", "cong thong tin", "cong ttdt", "cong ttđt",
		"trang thong tin", "trang tin", "tap chi", "dai phat thanh",
		"dai ptth", "truyen hinh", "thong tan xa", "dang cong san",
		"ubnd ", "uy ban nhan dan", "hdnd ", "hoi dong nhan dan",
		"portal", "tin tuc", "trang chu",
	} {
		if strings.HasPrefix(f+" ", pre) {
			return true
		}
	}
	return false
}

// lettersOnly keeps the ASCII letters and digits of folded text.
func lettersOnly(f string) string {
	var b strings.Builder
	for _, r := range f {
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// authorSelectors name the elements that hold an article's byline.
const authorSelectors = `[itemprop=author], .author, .tacgia, .tac-gia, .author-name,
	.news-author, .detail-author, .article-author, .post-author, .byline,
	[rel=author], .name-author, .author_name, .tacgiabaiviet, .detail__author`

// authorPrefixRe matches the labels written before a reporter's name.
var authorPrefixRe = regexp.MustCompile(`(?i)^\s*(?:tác giả|người viết|bài và ảnh|bài, ảnh|bài & ảnh|bài/ảnh|bài và ảnh|tin và ảnh|tin, ảnh|tin & ảnh|tin/ảnh|ảnh|bài|phóng viên|pv|bút danh|nhóm pv|by|theo|nguồn)\s*[:：\-–]\s*|^\s*(?:tác giả|by|theo|nguồn)\s+`)

// authorLabelRe matches a text that starts with an author label.
var authorLabelRe = regexp.MustCompile(`^(?:tac gia|nguoi viet|bai va anh|bai, anh|bai & anh|bai/anh|tin va anh|tin, anh|tin & anh|phong vien|but danh)\s*[:：]`)

// author returns the byline from a byline element or an "Tác giả:" label,
// or "".
func (p *page) author() string {
	for _, n := range p.doc.Find(authorSelectors).Nodes {
		if n.Data == "meta" || n.Data == "link" || p.skipped(n) {
			continue
		}
		t := text(n)
		if t == "" {
			if m := find(n, "[itemprop=name]"); len(m) > 0 {
				t = attr(m[0], "content")
			}
		}
		if name := cleanAuthor(t); name != "" {
			p.used[n] = true
			return name
		}
	}
	var found string
	var walk func(*html.Node) bool
	walk = func(n *html.Node) bool {
		if p.skip[n] {
			return false
		}
		if n.Type == html.TextNode && len(n.Data) <= 200 && n.Parent != nil && authorLabelRe.MatchString(fold(n.Data)) {
			el := n.Parent
			t := text(el)
			if len(t) > 160 {
				return false
			}
			name := cleanAuthor(t)
			if name == "" || fold(name) == trimLabel(fold(t)) {
				// The name is in the next element with text.
				for s := el.NextSibling; s != nil; s = s.NextSibling {
					st, ok := shortText(s, 160)
					if !ok || countLetters(st) == 0 {
						if !ok {
							break
						}
						continue
					}
					if name = cleanAuthor(st); name != "" {
						p.used[s] = true
					}
					break
				}
			}
			if name != "" {
				p.used[el] = true
				found = name
				return true
			}
			return false
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if walk(c) {
				return true
			}
		}
		return false
	}
	walk(p.root)
	return found
}

// metaAuthor returns the author named in the page's metadata, unless it is
// just the site's name.
func (p *page) metaAuthor(host string) string {
	v := clean(p.meta("author", "article:author", "dc.creator", "dcterms.creator"))
	if v == "" || strings.Contains(v, "://") || looksLikeSite(v, clean(p.meta("og:site_name")), host) {
		return ""
	}
	return cleanAuthor(v)
}

// cleanAuthor strips labels and an affiliation in brackets from a byline
// and returns the name, or "" if what is left is not a short name.
func cleanAuthor(s string) string {
	s = clean(s)
	for range 2 {
		s = authorPrefixRe.ReplaceAllString(s, "")
	}
	if i := strings.LastIndex(s, "("); i > 0 && strings.HasSuffix(s, ")") {
		s = s[:i]
	}
	s = strings.TrimFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsPunct(r) && r != ')' && r != '.'
	})
	if s == "" || len([]rune(s)) > 80 || len(strings.Fields(s)) > 10 || countLetters(s) == 0 {
		return ""
	}
	return s
}

// trailingAuthor returns the reporter's name when the body's last
// paragraph is one: short, bold or right-aligned, capitalised like a name.
func trailingAuthor(paras []para) (string, bool) {
	if len(paras) < 2 {
		return "", false
	}
	last := paras[len(paras)-1]
	if !last.bold && !last.right {
		return "", false
	}
	name := cleanAuthor(last.text)
	if !looksLikeName(name) {
		return "", false
	}
	return name, true
}

// looksLikeName reports whether s reads like one or a few person names
// ("Minh Hà", "Ngọc Anh - Thu Trang", "Nhóm PV"): at most eight
// capitalised words, no digits, no sentence punctuation.
func looksLikeName(s string) bool {
	words := strings.Fields(s)
	if len(words) == 0 || len(words) > 8 || len([]rune(s)) > 60 {
		return false
	}
	if strings.ContainsAny(s, "0123456789.:;!?\"“”") {
		return false
	}
	for _, w := range words {
		switch w {
		case "và", "-", "–", "&", ",", "/":
			continue
		}
		if !isUpperStart(strings.TrimLeft(w, "(")) {
			return false
		}
	}
	return true
}

// tagSelectors name tag lists and tag links.
const tagSelectors = `.tags, .tag, .tag-links, .tags-links, .tag-list, .tags-list, .list-tags, .keywords,
	.keyword, .tu-khoa, .tukhoa, .box-tag, .box-tags, .detail-tags,
	.article-tags, .post-tags, .news-tags, .tags-box, .tag-box, .tag-item,
	[rel~=tag]`

// tags returns the article's tags: tag lists, links after a "Từ khóa:" or
// "Tags:" label, else meta keywords, each once.
func (p *page) tags() []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		s = strings.TrimFunc(clean(s), func(r rune) bool {
			return unicode.IsSpace(r) || r == '#' || r == ',' || r == ';' || r == '|'
		})
		f := fold(s)
		if s == "" || seen[f] || len([]rune(s)) > 80 || isTagLabel(f) {
			return
		}
		seen[f] = true
		out = append(out, s)
	}
	for _, n := range p.doc.Find(tagSelectors).Nodes {
		if p.skipped(n) || p.used[n] {
			continue
		}
		p.used[n] = true
		if n.Data == "a" {
			add(text(n))
			continue
		}
		links := find(n, "a")
		for _, a := range links {
			add(text(a))
		}
		if len(links) == 0 && len(text(n)) <= 80 {
			add(text(n))
		}
	}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if p.skip[n] || p.used[n] {
			return
		}
		switch {
		case n.Type == html.TextNode:
			if len(n.Data) <= 40 && isTagLabel(fold(n.Data)) {
				p.tagsAfter(n, add)
			}
			return
		case n.Type == html.ElementNode && n.Data != "a":
			if t, ok := shortText(n, 40); ok && isTagLabel(fold(t)) && !hasChildWithSameText(n) {
				p.tagsAfter(n, add)
				return
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(p.root)
	if len(out) == 0 {
		for _, key := range [...]string{"keywords", "news_keywords", "article:tag"} {
			for _, v := range p.metas(key) {
				for _, k := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ';' }) {
					add(k)
				}
			}
		}
	}
	return out
}

// isTagLabel reports whether folded text f is a tag-list label.
func isTagLabel(f string) bool {
	switch trimLabel(f) {
	case "tu khoa", "tags", "tag", "the", "keywords", "keyword", "tu khoa lien quan", "cac tu khoa":
		return true
	}
	return false
}

// tagsAfter adds the links that follow tag label n: its siblings, or,
// when the label stands alone, the next block's.
func (p *page) tagsAfter(n *html.Node, add func(string)) {
	found := false
	for s := n.NextSibling; s != nil; s = s.NextSibling {
		if s.Type != html.ElementNode {
			continue
		}
		for _, a := range anchors(s) {
			add(text(a))
			found = true
		}
		p.used[s] = true
	}
	p.used[n] = true
	if found || n.Parent == nil {
		return
	}
	for s := n.Parent.NextSibling; s != nil; s = s.NextSibling {
		if s.Type != html.ElementNode {
			continue
		}
		for _, a := range anchors(s) {
			add(text(a))
		}
		p.used[s] = true
		return
	}
}
