package article

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"golang.org/x/net/html/charset"
	"golang.org/x/text/encoding/charmap"
	xunicode "golang.org/x/text/encoding/unicode"
)

// markupRe finds a tag that only an HTML document (or fragment) would
// contain. HTML parsers accept anything, so this is what tells a page from
// plain text, JSON or a file that was served as text/html by mistake.
var markupRe = regexp.MustCompile(`(?i)<(?:!doctype\s+html|html|head|body|title|meta|div|p|a|span|table|article|section|main|h[1-6]|ul|ol|li|br|img|form|script|link|strong|b|em|i)[\s/>]`)

// decode checks that raw is an HTML document and returns it as UTF-8.
// Pages that are not valid UTF-8 are decoded with the charset their BOM or
// <meta> declares; undeclared legacy pages are read as windows-1258, the
// Vietnamese Windows code page.
func decode(raw []byte) (string, error) {
	body := bytes.TrimLeft(raw, " \t\r\n\f")
	if len(body) == 0 {
		return "", fmt.Errorf("%w: input is empty", ErrNotHTML)
	}
	// Openings of file formats that are sometimes served in place of an
	// article page (a direct attachment link, a broken redirect).
	magics := [...]struct{ prefix, kind string }{
		{"%PDF-", "a PDF file"},
		{"PK\x03\x04", "a ZIP container (DOCX, XLSX, ODT…)"},
		{"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an OLE2 file (DOC, XLS)"},
		{"{\\rtf", "an RTF file"},
		{"\x89PNG", "a PNG image"},
		{"\xff\xd8\xff", "a JPEG image"},
		{"GIF8", "a GIF image"},
		{"Rar!", "a RAR archive"},
	}
	for _, m := range magics {
		if bytes.HasPrefix(body, []byte(m.prefix)) {
			return "", fmt.Errorf("%w: input is %s", ErrNotHTML, m.kind)
		}
	}
	var s string
	utf16 := bytes.HasPrefix(raw, []byte("\xff\xfe")) || bytes.HasPrefix(raw, []byte("\xfe\xff"))
	switch {
	case utf16:
		d, err := xunicode.UTF16(xunicode.LittleEndian, xunicode.ExpectBOM).NewDecoder().Bytes(raw)
		if err != nil {
			return "", fmt.Errorf("decoding UTF-16 page: %w", err)
		}
		s = string(d)
	case bytes.HasPrefix(raw, []byte("\xef\xbb\xbf")) && utf8.Valid(raw[3:]):
		s = string(raw[3:])
	case utf8.Valid(raw):
		s = string(raw)
	default:
		enc, name, _ := charset.DetermineEncoding(raw, "")
		if name == "windows-1252" {
			// DetermineEncoding's fallback when nothing is declared. Its
			// Western code page would turn Vietnamese letters into Latin-1
			// junk; windows-1258 shares ASCII and decodes them.
			enc = charmap.Windows1258
		}
		d, err := enc.NewDecoder().Bytes(raw)
		if err != nil {
			return "", fmt.Errorf("decoding %s page: %w", name, err)
		}
		s = string(d)
	}
	head := s
	if len(head) > 8192 {
		head = head[:8192]
	}
	if strings.IndexByte(head, 0) >= 0 {
		return "", fmt.Errorf("%w: input is binary", ErrNotHTML)
	}
	if !markupRe.MatchString(s) {
		return "", fmt.Errorf("%w: input has no HTML markup", ErrNotHTML)
	}
	return s, nil
}

// maxLooseDepth bounds the depth of the tree parseLoose builds.
const maxLooseDepth = 256

// parseLoose builds a document tree from the tokens of s without the HTML5
// tree-construction rules: start tags open elements (at most maxLooseDepth
// deep), end tags close the nearest open element of that name, and
// everything lands under one <html><head></head><body>. It is the fallback
// for pages html.Parse rejects.
func parseLoose(s string) *html.Node {
	doc := &html.Node{Type: html.DocumentNode}
	root := &html.Node{Type: html.ElementNode, Data: "html", DataAtom: atom.Html}
	head := &html.Node{Type: html.ElementNode, Data: "head", DataAtom: atom.Head}
	body := &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body}
	doc.AppendChild(root)
	root.AppendChild(head)
	root.AppendChild(body)
	stack := []*html.Node{body}
	z := html.NewTokenizer(strings.NewReader(s))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			return doc
		}
		tok := z.Token()
		switch tt {
		case html.TextToken:
			stack[len(stack)-1].AppendChild(&html.Node{Type: html.TextNode, Data: tok.Data})
		case html.StartTagToken, html.SelfClosingTagToken:
			switch tok.DataAtom {
			case atom.Html, atom.Head, atom.Body:
				continue
			}
			top := stack[len(stack)-1]
			// A block closes an open <p>, an <li> an open <li>; at the
			// depth limit the innermost element is closed instead.
			if len(stack) > 1 && (top.Data == "p" && isBlock(tok.Data) || top.Data == "li" && tok.Data == "li" || len(stack) >= maxLooseDepth) {
				stack = stack[:len(stack)-1]
			}
			n := &html.Node{Type: html.ElementNode, Data: tok.Data, DataAtom: tok.DataAtom, Attr: tok.Attr}
			stack[len(stack)-1].AppendChild(n)
			if tt == html.StartTagToken && !isVoid(tok.Data) {
				stack = append(stack, n)
			}
		case html.EndTagToken:
			for i := len(stack) - 1; i > 0; i-- {
				if stack[i].Data == tok.Data {
					stack = stack[:i]
					break
				}
			}
		}
	}
}

// isVoid reports whether tag is an element that has no end tag.
func isVoid(tag string) bool {
	switch tag {
	case "area", "base", "br", "col", "embed", "hr", "img", "input", "link",
		"meta", "param", "source", "track", "wbr":
		return true
	}
	return false
}
