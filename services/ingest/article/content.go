package article

import (
	"regexp"
	"strings"
	"unicode"

	"github.com/PuerkitoBio/goquery"
	"golang.org/x/net/html"
)

// contentSelectors name the article body containers of common CMSes, most
// specific first. Vietnamese news CMSes mostly use detail-content,
// content-detail, fck_detail or noidung; tỉnh portals run Liferay
// (journal-content-article), SharePoint (ms-rtestate-field) or DNN.
const contentSelectors = `[itemprop=articleBody], .detail-content, .article-content,
	.content-detail, .news-content, .entry-content, .detail__content,
	.article__body, .article-body, .detail-body, .post-content,
	.news-detail-content, .content-news, .newsdetail, .news-detail, .chitiet,
	.chi-tiet, .noidung, .noi-dung, .noidungchitiet, .fck_detail, .cms-body,
	.the-article-body, .journal-content-article, .ms-rtestate-field,
	.toanvancontent, #toanvancontent, #content-detail, #detail-content,
	.ArticleContent, .NewsContent, .contentDetail`

// looseContentSelectors are generic containers, tried after the specific
// ones: a page often has several <article> elements (one per teaser).
const looseContentSelectors = `article, main, [role=main], #content, #main-content, .main-content`

// leadSelectors name the lead paragraph ("sapo"), which news CMSes often
// put outside the body container.
const leadSelectors = `.sapo, .chapeau, .lead, .article-sapo, .detail-sapo,
	.sapo-detail, .news-sapo, .article-summary, .detail-summary, .summary,
	.tomtat, .mota, .description, [itemprop=description]`

// boilerplateTokenRe matches one class or id token of a block that is not
// article text: menus, breadcrumbs, sidebars, share buttons, ads, comment
// boxes and related-news lists ("tin liên quan", "tin khác").
var boilerplateTokenRe = regexp.MustCompile(`^(?:.*[-_])?(?:nav|navbar|navigation|menu|mainmenu|topmenu|megamenu|submenu|breadcrumbs?|sidebar|footer|header|banner|adv|advert|ads|qc|quangcao|quang-cao|social|share|sharing|sharebox|comments?|binhluan|binh-luan|related|lienquan|lien-quan|tinlienquan|tinkhac|tin-khac|othernews|other-news|morenews|more-news|popup|modal|cookie|login|search|widget|copyright|mostread|most-read|docnhieu|doc-nhieu|xemnhieu|xem-nhieu|toolbar|tinmoi|tin-moi)(?:[-_].*)?$`)

// isBoilerplateName reports whether an element's class or id marks it as
// boilerplate.
func isBoilerplateName(n *html.Node) bool {
	// Fragments that mark boilerplate even inside run-together names
	// ("ctl00_relatednews", "boxTinKhac").
	substrings := [...]string{
		"breadcrumb", "sidebar", "tinlienquan", "tin-lien-quan", "tinkhac",
		"tin-khac", "relatednews", "related-news", "related_news", "othernews",
		"other-news", "footer", "navbar", "quangcao", "binhluan", "comment",
	}
	names := strings.ToLower(attr(n, "class") + " " + attr(n, "id"))
	for _, tok := range strings.Fields(names) {
		if boilerplateTokenRe.MatchString(tok) {
			return true
		}
		for _, s := range substrings {
			if strings.Contains(tok, s) {
				return true
			}
		}
	}
	switch strings.ToLower(attr(n, "role")) {
	case "navigation", "banner", "contentinfo", "complementary", "search":
		return true
	}
	return false
}

// markBoilerplate fills p.skip. Tags that are never text (nav, scripts…)
// are skipped outright; blocks named like boilerplate are skipped unless
// they hold the article's h1 or body container, because some CMSes wrap the
// whole page in a "has-sidebar" or ASP.NET form element.
func (p *page) markBoilerplate() {
	protected := map[*html.Node]bool{}
	p.doc.Find("h1, " + contentSelectors).Each(func(_ int, s *goquery.Selection) {
		for n := s.Get(0); n != nil; n = n.Parent {
			protected[n] = true
		}
	})
	var walk func(*html.Node, bool)
	walk = func(n *html.Node, inArticle bool) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "script", "style", "noscript", "template", "svg", "nav",
				"button", "select", "textarea", "input", "dialog":
				p.skip[n] = true
				return
			case "header", "footer", "aside":
				// An <article>'s own header holds its title and date,
				// which Parse reads; the page's header is a banner.
				if !inArticle || n.Data == "aside" {
					p.skip[n] = true
					return
				}
			case "form":
				// ASP.NET sites wrap the whole page in one form; search,
				// login and comment forms hold little text.
				if !protected[n] && countLetters(nodeText(n)) < 300 {
					p.skip[n] = true
					return
				}
			case "article", "main":
				inArticle = true
			}
			// An <article>'s <header class="entry-header"> is its own.
			own := inArticle && (n.Data == "header" || n.Data == "footer")
			if !protected[n] && !own && isBoilerplateName(n) {
				p.skip[n] = true
				return
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, inArticle)
		}
	}
	walk(p.root, false)
	p.markRelated()
}

// relatedHeading reports whether folded text f is the heading of a
// related-news block ("Tin liên quan", "Các tin khác", "Tin cùng chuyên
// mục", "Đọc nhiều"…).
func relatedHeading(f string) bool {
	f = trimLabel(f)
	if f == "" || len(f) > 40 {
		return false
	}
	for _, s := range [...]string{
		"tin lien quan", "cac tin lien quan", "bai lien quan", "cac bai lien quan",
		"bai viet lien quan", "tin bai lien quan", "tin tuc lien quan",
		"van ban lien quan", "noi dung lien quan", "chu de lien quan",
		"tin khac", "cac tin khac", "bai khac", "cac bai khac", "bai viet khac",
		"tin bai khac", "tin cung chuyen muc", "cung chuyen muc",
		"tin tuc khac", "chuyen muc khac", "tin da dua", "cac tin da dua",
		"tin moi", "tin cu", "doc nhieu", "xem nhieu", "tin doc nhieu",
		"tin xem nhieu", "tin noi bat", "co the ban quan tam",
		"ban co the quan tam", "co the ban muon doc",
	} {
		if f == s || strings.HasPrefix(f, s+" ") {
			return true
		}
	}
	return false
}

// markRelated skips related-news blocks that carry no telling class name:
// a heading such as "Tin liên quan" and the list after it. When the
// heading opens its parent box, the whole box goes; otherwise the heading
// and its following siblings do, up to any attachment list.
func (p *page) markRelated() {
	var found []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if p.skip[n] {
			return
		}
		if n.Type == html.ElementNode {
			switch n.Data {
			case "h2", "h3", "h4", "h5", "h6", "div", "p", "span", "strong", "b", "header", "section":
				if t, ok := shortText(n, 120); ok && relatedHeading(fold(t)) && !hasChildWithSameText(n) {
					found = append(found, n)
					return
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(p.root)
	for _, h := range found {
		if p.skipped(h) {
			continue // inside a block an earlier heading removed
		}
		blk := blockOf(h)
		parent := blk.Parent
		if parent == nil || parent.Type != html.ElementNode || parent.Data == "body" {
			p.skip[blk] = true
			continue
		}
		if firstTextChild(parent) == blk && !p.holdsArticle(parent) {
			p.skip[parent] = true
			continue
		}
		for s := blk; s != nil; s = s.NextSibling {
			if s != blk && (p.skip[s] || p.holdsArticle(s) || hasAttachLabel(s)) {
				break
			}
			p.skip[s] = true
		}
	}
}

// holdsArticle reports whether n contains the page's h1 or a body
// container, so must not be skipped.
func (p *page) holdsArticle(n *html.Node) bool {
	if n.Type != html.ElementNode {
		return false
	}
	return len(find(n, "h1, "+contentSelectors)) > 0
}

// hasChildWithSameText reports whether an element child of n has all of
// n's text, so that the innermost element is taken as the label.
func hasChildWithSameText(n *html.Node) bool {
	t := fold(nodeText(n))
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode && fold(nodeText(c)) == t {
			return true
		}
	}
	return false
}

// blockOf returns n if it is a block element, else its nearest block
// ancestor (or n itself when it has none).
func blockOf(n *html.Node) *html.Node {
	for b := n; b != nil; b = b.Parent {
		if b.Type == html.ElementNode && isBlock(b.Data) {
			return b
		}
	}
	return n
}

// firstTextChild returns the first child of n that has visible text.
func firstTextChild(n *html.Node) *html.Node {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if countLetters(nodeText(c)) > 0 {
			return c
		}
	}
	return nil
}

// letters counts the letters and digits of n's text outside boilerplate.
func (p *page) letters(n *html.Node) int {
	if p.skip[n] {
		return 0
	}
	switch n.Type {
	case html.TextNode:
		return countLetters(n.Data)
	case html.ElementNode, html.DocumentNode:
	default:
		return 0
	}
	total := 0
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		total += p.letters(c)
	}
	return total
}

// container returns the element that holds the article body: the best
// match of a known body class, else the element scored highest by
// paragraph text density, else <body>.
func (p *page) container() *html.Node {
	if n := p.bestMatch(contentSelectors, 150); n != nil {
		return n
	}
	if n := p.densest(); n != nil {
		return n
	}
	if n := p.bestMatch(looseContentSelectors, 300); n != nil {
		return n
	}
	if b := p.doc.Find("body").Nodes; len(b) > 0 {
		return b[0]
	}
	return p.root
}

// bestMatch returns, for the first selector in the comma-separated list
// that matches an element with at least min letters of text, the match
// with the most text.
func (p *page) bestMatch(selectors string, min int) *html.Node {
	for _, sel := range strings.Split(selectors, ",") {
		var best *html.Node
		bestLen := min - 1
		for _, n := range p.doc.Find(strings.TrimSpace(sel)).Nodes {
			if p.skipped(n) {
				continue
			}
			if l := p.letters(n); l > bestLen {
				best, bestLen = n, l
			}
		}
		if best != nil {
			return best
		}
	}
	return nil
}

// densest scores paragraphs in the manner of Readability: each paragraph
// of prose (not a list of links) credits its parent with 1 point, 1 per
// comma and 1 per 100 letters (at most 3), and its grandparent with half
// of that. The best parent, discounted by its link density, wins.
func (p *page) densest() *html.Node {
	scores := map[*html.Node]float64{}
	var order []*html.Node
	credit := func(n *html.Node, s float64) {
		if n == nil || n.Type != html.ElementNode {
			return
		}
		if _, ok := scores[n]; !ok {
			order = append(order, n)
		}
		scores[n] += s
	}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if p.skip[n] || isHidden(n) {
			return
		}
		if n.Type == html.ElementNode && isParagraphLike(n) {
			t := nodeText(n)
			l := countLetters(t)
			if l >= 25 && p.linkLetters(n)*2 < l {
				s := 1 + float64(strings.Count(t, ",")) + min(float64(l)/100, 3)
				credit(n.Parent, s)
				if n.Parent != nil {
					credit(n.Parent.Parent, s/2)
				}
			}
			if n.Data == "p" || n.Data == "pre" {
				return
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(p.root)
	var best *html.Node
	bestScore := 0.0
	for _, n := range order {
		l := p.letters(n)
		if l == 0 {
			continue
		}
		s := scores[n] * (1 - float64(p.linkLetters(n))/float64(l))
		if s > bestScore {
			best, bestScore = n, s
		}
	}
	return best
}

// isHidden reports whether element n is not displayed. Hidden blocks are
// not body text, but they can hold attachments (vbpl.vn's download
// dialog), so they are not boilerplate.
func isHidden(n *html.Node) bool {
	if n.Type != html.ElementNode {
		return false
	}
	if _, ok := attrOK(n, "hidden"); ok {
		return true
	}
	style := strings.ToLower(strings.ReplaceAll(attr(n, "style"), " ", ""))
	return strings.Contains(style, "display:none") || strings.Contains(style, "visibility:hidden")
}

// isParagraphLike reports whether n is a paragraph of text: a <p>, <pre>
// or <blockquote>, or a <div>/<td>/<li> whose text is its own rather than
// its child blocks' (CMSes that write "<div>…<br>…</div>").
func isParagraphLike(n *html.Node) bool {
	switch n.Data {
	case "p", "pre", "blockquote":
		return true
	case "div", "td", "li", "section":
		own := 0
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			switch {
			case c.Type == html.TextNode:
				own += countLetters(c.Data)
			case c.Type == html.ElementNode && !isBlock(c.Data):
				own += countLetters(nodeText(c))
			}
		}
		return own >= 25
	}
	return false
}

// linkLetters counts the letters of link text under n, outside
// boilerplate.
func (p *page) linkLetters(n *html.Node) int {
	if p.skip[n] {
		return 0
	}
	if n.Type == html.ElementNode && n.Data == "a" {
		return p.letters(n)
	}
	total := 0
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		total += p.linkLetters(c)
	}
	return total
}

// lead returns the lead paragraph when the page keeps it outside the body
// container, before it; else "".
func (p *page) lead(body *html.Node) string {
	for i, n := range p.doc.Find(leadSelectors).Nodes {
		if i == 10 {
			break // teasers named "summary", not a lead
		}
		if n.Data == "meta" || p.skipped(n) || p.used[n] || contains(body, n) || contains(n, body) {
			continue
		}
		if body != nil && !precedes(p.root, n, body) {
			continue
		}
		t := text(n)
		if countLetters(t) < 20 {
			continue
		}
		p.used[n] = true
		return t
	}
	return ""
}

// contains reports whether n is a or a descendant of a.
func contains(a, n *html.Node) bool {
	if a == nil {
		return false
	}
	for ; n != nil; n = n.Parent {
		if n == a {
			return true
		}
	}
	return false
}

// precedes reports whether a comes before b in the document under root.
func precedes(root, a, b *html.Node) bool {
	var found *html.Node
	var walk func(*html.Node) bool
	walk = func(n *html.Node) bool {
		if n == a || n == b {
			found = n
			return true
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if walk(c) {
				return true
			}
		}
		return false
	}
	walk(root)
	return found == a
}

// para is one paragraph of body text and how it was set.
type para struct {
	text string
	// bold is set when nearly all of the text is in <strong>/<b>.
	bold bool
	// right is set when the paragraph is right-aligned.
	right bool
}

// sizeRe matches a file size or type decoration next to an attachment
// link: "(1,2 MB)", "[PDF]", "- 350KB".
var sizeRe = regexp.MustCompile(`(?i)[\(\[]?\s*(?:\d+(?:[.,]\d+)?\s*(?:kb|mb|gb|bytes?)|pdf|docx?|xlsx?)\s*[\)\]]?`)

// paragraphs returns the body text under body as paragraphs: a block
// element or <br> ends one, a table row whose cells are plain text becomes
// one "cell | cell" paragraph. Boilerplate, hidden elements, nodes used
// for other fields, attachment list entries and paragraphs made only of
// links are left out.
func (p *page) paragraphs(body *html.Node) []para {
	if body == nil {
		return nil
	}
	b := paraBuilder{p: p}
	b.walk(body, false, false, false)
	b.flush(body)
	return b.out
}

// paraBuilder accumulates the text of the paragraph being read.
type paraBuilder struct {
	p   *page
	out []para
	// all is the paragraph's text; own the part outside attachment links.
	all, own strings.Builder
	// ownLetters, boldLetters and linkLetters count letters of own text,
	// of own text in bold and of own text in (non-attachment) links.
	ownLetters, boldLetters, linkLetters int
	// hasAttach is set when the paragraph holds an attachment link.
	hasAttach bool
}

func (b *paraBuilder) walk(n *html.Node, inAttach, inBold, inLink bool) {
	p := b.p
	switch n.Type {
	case html.TextNode:
		b.all.WriteString(n.Data)
		if !inAttach && !p.used[n] {
			b.own.WriteString(n.Data)
			l := countLetters(n.Data)
			b.ownLetters += l
			if inBold {
				b.boldLetters += l
			}
			if inLink {
				b.linkLetters += l
			}
		}
		return
	case html.ElementNode, html.DocumentNode:
	default:
		return
	}
	if p.skip[n] || p.used[n] || isHidden(n) {
		return
	}
	switch n.Data {
	case "br", "hr":
		b.flush(n.Parent)
		return
	case "img", "picture", "video", "audio", "iframe", "object", "embed", "map", "canvas":
		return
	case "a":
		if p.attachAnchors[n] {
			inAttach = true
			b.hasAttach = true
		} else {
			inLink = true
		}
	case "b", "strong":
		inBold = true
	case "tr":
		if simpleRow(n) {
			b.flush(n)
			first := true
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				if !isElem(c, "td", "th") || countLetters(nodeText(c)) == 0 {
					continue
				}
				if !first {
					b.all.WriteString(" | ")
					b.own.WriteString(" | ")
				}
				first = false
				b.inline(c, inAttach, inBold, inLink)
			}
			b.flush(n)
			return
		}
	}
	block := n.Type == html.ElementNode && isBlock(n.Data)
	if block {
		b.flush(n.Parent)
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		b.walk(c, inAttach, inBold, inLink)
	}
	if block {
		b.flush(n)
	}
}

// inline walks a table cell as one run of text, its blocks joined by
// spaces.
func (b *paraBuilder) inline(n *html.Node, inAttach, inBold, inLink bool) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode && isBlock(c.Data) {
			b.all.WriteByte(' ')
			b.own.WriteByte(' ')
			b.inline(c, inAttach, inBold, inLink)
			continue
		}
		if c.Type == html.ElementNode && c.Data == "br" {
			b.all.WriteByte(' ')
			b.own.WriteByte(' ')
			continue
		}
		b.walk(c, inAttach, inBold, inLink)
	}
}

// simpleRow reports whether table row tr holds only short plain-text
// cells, as in a table of figures (not a layout table).
func simpleRow(tr *html.Node) bool {
	cells := 0
	for c := tr.FirstChild; c != nil; c = c.NextSibling {
		if !isElem(c, "td", "th") {
			continue
		}
		cells++
		if len(find(c, "table, ul, ol, h1, h2, h3, h4, h5, h6")) > 0 {
			return false
		}
		if countLetters(nodeText(c)) > 400 {
			return false
		}
	}
	return cells > 1
}

// flush ends the current paragraph, set in block element blk, keeping it
// if it has text of its own that is not only links.
func (b *paraBuilder) flush(blk *html.Node) {
	all, own := clean(b.all.String()), clean(b.own.String())
	ownLetters, bold, link, hasAttach := b.ownLetters, b.boldLetters, b.linkLetters, b.hasAttach
	b.all.Reset()
	b.own.Reset()
	b.ownLetters, b.boldLetters, b.linkLetters, b.hasAttach = 0, 0, 0, false
	rest := ownLetters
	if hasAttach || rest < 40 {
		rest = countLetters(sizeRe.ReplaceAllString(own, ""))
	}
	switch {
	case all == "", rest == 0:
		return
	case link >= ownLetters:
		return // a list of links: menus, related news
	case hasAttach && rest < 200:
		return // an entry of the attachment list: "Báo cáo … [Tải về]"
	}
	b.out = append(b.out, para{
		text:  all,
		bold:  bold*10 >= ownLetters*9,
		right: rightAligned(blk),
	})
}

// rightAligned reports whether blk (or the inline elements up to its
// block) is set right, where Vietnamese papers put the reporter's name.
func rightAligned(blk *html.Node) bool {
	for n := blk; n != nil && n.Type == html.ElementNode; n = n.Parent {
		style := strings.ToLower(strings.ReplaceAll(attr(n, "style"), " ", ""))
		if strings.Contains(style, "text-align:right") || strings.EqualFold(attr(n, "align"), "right") {
			return true
		}
		for _, c := range strings.Fields(strings.ToLower(attr(n, "class"))) {
			if c == "text-right" || c == "right" || c == "align-right" || c == "pull-right" || c == "author" || c == "tacgia" {
				return true
			}
		}
		if isBlock(n.Data) {
			break
		}
	}
	return false
}

// isUpperStart reports whether w starts with an upper-case letter.
func isUpperStart(w string) bool {
	for _, r := range w {
		return unicode.IsUpper(r)
	}
	return false
}
