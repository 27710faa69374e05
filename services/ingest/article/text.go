package article

import (
	"strings"
	"unicode"

	"github.com/PuerkitoBio/goquery"
	"golang.org/x/net/html"
	"golang.org/x/text/unicode/norm"
)

// clean returns s NFC-normalised, with invisible characters dropped and
// every run of white space (including no-break spaces) collapsed to one
// space, trimmed.
func clean(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case isInvisible(r):
			continue
		case unicode.IsSpace(r):
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return norm.NFC.String(b.String())
}

// isInvisible reports whether r is a character that CMS editors leave in
// text without meaning to: zero-width spaces and joiners, the byte-order
// mark and soft hyphens.
func isInvisible(r rune) bool {
	switch r {
	case '\u200b', '\u200c', '\u200d', '\u2060', '\ufeff', '\u00ad':
		return true
	}
	return false
}

// fold returns s cleaned, lower-cased and stripped of Vietnamese diacritics
// ("Tài liệu ĐÍNH KÈM" → "tai lieu dinh kem"), for matching labels whatever
// the editor's spelling, case or Unicode normal form.
func fold(s string) string {
	s = norm.NFD.String(clean(s))
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case r == 'đ' || r == 'Đ':
			r = 'd'
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// trimLabel strips the punctuation that decorates labels and headings
// ("File đính kèm:", "» Tin liên quan", "[Tải về]").
func trimLabel(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r)
	})
}

// nodeText returns the raw text of n and its descendants, skipping scripts,
// styles and comments. It does not clean the result.
func nodeText(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		switch n.Type {
		case html.TextNode:
			b.WriteString(n.Data)
			return
		case html.ElementNode:
			switch n.Data {
			case "script", "style", "noscript", "template":
				return
			case "br":
				b.WriteByte(' ')
				return
			}
			if isBlock(n.Data) {
				b.WriteByte(' ')
				defer b.WriteByte(' ')
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

// text returns the cleaned text of n.
func text(n *html.Node) string { return clean(nodeText(n)) }

// attr returns the value of n's attribute key (lower-case), or "".
func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// isElem reports whether n is an element with one of the given tag names.
func isElem(n *html.Node, tags ...string) bool {
	if n == nil || n.Type != html.ElementNode {
		return false
	}
	for _, t := range tags {
		if n.Data == t {
			return true
		}
	}
	return false
}

// isBlock reports whether tag is an element that starts a new paragraph of
// text.
func isBlock(tag string) bool {
	switch tag {
	case "address", "article", "aside", "blockquote", "caption", "center",
		"dd", "details", "dialog", "div", "dl", "dt", "fieldset", "figcaption",
		"figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
		"header", "hr", "li", "main", "nav", "ol", "p", "pre", "section",
		"summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul":
		return true
	}
	return false
}

// countLetters counts the letters and digits in s.
func countLetters(s string) int {
	n := 0
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			n++
		}
	}
	return n
}

// shortText returns the raw text of n if it is at most limit bytes long;
// it stops early otherwise, so that scans for short labels stay linear.
func shortText(n *html.Node, limit int) (string, bool) {
	var b strings.Builder
	var walk func(*html.Node) bool
	walk = func(n *html.Node) bool {
		switch n.Type {
		case html.TextNode:
			b.WriteString(n.Data)
			return b.Len() <= limit
		case html.ElementNode:
			switch n.Data {
			case "script", "style", "noscript", "template":
				return true
			case "br":
				b.WriteByte(' ')
				return true
			}
			if isBlock(n.Data) {
				b.WriteByte(' ')
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if !walk(c) {
				return false
			}
		}
		if n.Type == html.ElementNode && isBlock(n.Data) {
			b.WriteByte(' ')
		}
		return b.Len() <= limit+2
	}
	if !walk(n) {
		return "", false
	}
	return b.String(), true
}

// find returns the descendants of n that match selector.
func find(n *html.Node, selector string) []*html.Node {
	return goquery.NewDocumentFromNode(n).Find(selector).Nodes
}

// anchors returns n if it is a link, else the links under it.
func anchors(n *html.Node) []*html.Node {
	if isElem(n, "a") {
		return []*html.Node{n}
	}
	return find(n, "a")
}
