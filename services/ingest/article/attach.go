package article

import (
	"net/url"
	"path"
	"regexp"
	"strings"

	"golang.org/x/net/html"
)

// isDocPath reports whether URL path p (decoded) names a file type bantin
// extracts: PDF, Word or Excel.
func isDocPath(p string) bool {
	switch strings.ToLower(path.Ext(strings.TrimRight(p, " ."))) {
	case ".pdf", ".doc", ".docx", ".xls", ".xlsx":
		return true
	}
	return false
}

// isMediaPath reports whether p names an image, audio, video or archive:
// icons and galleries in an attachment block, not reports.
func isMediaPath(p string) bool {
	switch strings.ToLower(path.Ext(p)) {
	case ".jpg", ".jpeg", ".png", ".gif", ".webp", ".svg", ".bmp", ".ico",
		".mp3", ".mp4", ".avi", ".wav", ".zip", ".rar", ".7z", ".gz", ".css", ".js":
		return true
	}
	return false
}

// isPagePath reports whether p names a web page rather than a file.
func isPagePath(p string) bool {
	switch strings.ToLower(path.Ext(p)) {
	case ".html", ".htm", ".shtml", ".xhtml":
		return true
	}
	return p == "" || p == "/"
}

// resolve turns a link reference into an absolute http(s) URL against
// base, as browsers do: tabs and newlines are dropped, backslashes read as
// slashes, stray '%' and unsafe query bytes escaped. The fragment is
// dropped. It reports false for other schemes and unusable references.
func resolve(base *url.URL, ref string) (*url.URL, bool) {
	ref = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, ref)
	ref = strings.TrimFunc(ref, func(r rune) bool { return r <= ' ' || r == '\u00a0' })
	if ref == "" {
		return nil, false
	}
	ref = strings.ReplaceAll(ref, `\`, "/")
	u, err := url.Parse(ref)
	if err != nil {
		if u, err = url.Parse(escapeStrayPercent(ref)); err != nil {
			return nil, false
		}
	}
	switch strings.ToLower(u.Scheme) {
	case "", "http", "https":
	default:
		return nil, false
	}
	abs := base.ResolveReference(u)
	abs.Fragment, abs.RawFragment = "", ""
	abs.Scheme = strings.ToLower(abs.Scheme)
	if (abs.Scheme != "http" && abs.Scheme != "https") || abs.Host == "" || abs.Opaque != "" || abs.User != nil {
		return nil, false
	}
	abs.RawQuery = escapeQuery(abs.RawQuery)
	// What is handed to the fetcher must read back as the same URL.
	back, err := url.Parse(abs.String())
	if err != nil || back.Host != abs.Host {
		return nil, false
	}
	return abs, true
}

// escapeStrayPercent escapes each '%' that does not start a %XX escape
// ("giam 5%.pdf").
func escapeStrayPercent(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && !(i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2])) {
			b.WriteString("%25")
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// escapeQuery percent-encodes the bytes of a raw query that may not appear
// in a request line (spaces, quotes, non-ASCII), keeping valid escapes.
func escapeQuery(q string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '%' && i+2 < len(q) && isHex(q[i+1]) && isHex(q[i+2]):
			b.WriteByte(c)
		case c <= ' ' || c >= 0x7f || strings.IndexByte("\"<>\\^`{|}%#", c) >= 0:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// viewerPathRe matches the paths of online document viewers: SharePoint's
// WopiFrame, pdf.js, and the viewer pages portals build around them.
var viewerPathRe = regexp.MustCompile(`(?i)(?:wopiframe\d*\.aspx|/viewer(?:\.html?|\.php|\.aspx|\.jsp)?|/pdfjs/.*|/pdf\.js/.*|/gview|/viewerng/.*|/op/view\.aspx|/op/embed\.aspx|/docviewer\.aspx|/viewfile\.aspx)$`)

// viewerTarget reports whether u is a document viewer page and, if the
// viewed file can be read from its query (sourcedoc=, file=, url=, src=),
// returns that file's URL.
func viewerTarget(u *url.URL) (*url.URL, bool) {
	host := strings.ToLower(u.Hostname())
	viewer := host == "view.officeapps.live.com" ||
		host == "docs.google.com" && (strings.Contains(u.Path, "/viewer") || strings.HasSuffix(u.Path, "/gview")) ||
		viewerPathRe.MatchString(u.Path)
	if !viewer {
		return nil, false
	}
	q := u.Query()
	for _, key := range [...]string{"sourcedoc", "src", "url", "file", "fileurl", "filepath", "doc", "path", "u"} {
		for k, vs := range q {
			if !strings.EqualFold(k, key) || len(vs) == 0 {
				continue
			}
			if t, ok := resolve(u, vs[0]); ok && (isDocPath(t.Path) || hasDownloadHint(t)) {
				return t, true
			}
		}
	}
	return nil, true
}

// hasDownloadHint reports whether u looks like a file download handler
// ("/DownloadFile.aspx?id=12", "/api/attachments/12", "?file=bc.pdf").
func hasDownloadHint(u *url.URL) bool {
	if isPagePath(u.Path) || isMediaPath(u.Path) {
		return false
	}
	s := strings.ToLower(u.Path + "?" + u.RawQuery)
	for _, h := range [...]string{
		"download", "tai-ve", "taive", "tai_ve", "getfile", "get-file", "attach",
		"dinhkem", "dinh-kem", "file", "upload", "tailieu", "tai-lieu",
		"document", "vanban", "van-ban",
	} {
		if strings.Contains(s, h) {
			return true
		}
	}
	return queryNamesDoc(u)
}

// queryNamesDoc reports whether a query parameter of u is a document's
// file name, as in "/DownloadFile.ashx?name=Báo cáo.docx".
func queryNamesDoc(u *url.URL) bool {
	if isPagePath(u.Path) || isMediaPath(u.Path) {
		return false
	}
	for _, vs := range u.Query() {
		for _, v := range vs {
			if isDocPath(v) {
				return true
			}
		}
	}
	return false
}

// isAttachLabel reports whether folded text f is an attachment label:
// "File đính kèm", "Tài liệu đính kèm", "Tệp đính kèm", "Văn bản đính
// kèm", "Tải về"…
func isAttachLabel(f string) bool {
	f = trimLabel(f)
	if f == "" || len(f) > 60 {
		return false
	}
	switch f {
	case "tai file", "tep tin", "tap tin", "file tai ve", "files":
		return true
	}
	for _, pre := range [...]string{
		"file dinh kem", "tai lieu dinh kem", "tep dinh kem", "tep tin dinh kem",
		"tap tin dinh kem", "van ban dinh kem", "tai file dinh kem",
		"cac file dinh kem", "cac tep dinh kem", "cac tai lieu dinh kem",
		"xem file dinh kem", "xem tai lieu dinh kem", "dinh kem",
		"tai lieu kem theo", "van ban kem theo", "tai ve", "tai xuong",
		"download", "attachment",
	} {
		if f == pre || strings.HasPrefix(f, pre+" ") || strings.HasPrefix(f, pre+"s") && len(f) == len(pre)+1 {
			return true
		}
	}
	return false
}

// hasAttachLabel reports whether n is or holds an attachment label.
func hasAttachLabel(n *html.Node) bool {
	if n.Type == html.TextNode {
		return isAttachLabel(fold(n.Data))
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if hasAttachLabel(c) {
			return true
		}
	}
	if t, ok := shortText(n, 80); ok {
		return isAttachLabel(fold(t))
	}
	return false
}

// attachments returns the files the page links to, in document order,
// each URL once: links under an attachment label, links to PDF, Word and
// Excel files anywhere outside boilerplate, vbpl.vn's
// javascript:downloadfile('NAME','/PATH') links, and embedded viewers.
func (p *page) attachments() []Attachment {
	w := attachWalker{p: p, seen: map[string]bool{}}
	w.walk(p.root)
	return w.out
}

// attachWalker walks the page in document order. When it meets an
// attachment label it opens a section: until the section's root element
// closes, a heading starts, or prose resumes, links that look like
// downloads count as attachments even without a file extension.
type attachWalker struct {
	p    *page
	out  []Attachment
	seen map[string]bool
	// section is the root of the open attachment section, or nil.
	section *html.Node
	// inLabel is set while inside a label element.
	inLabel bool
}

func (w *attachWalker) walk(n *html.Node) {
	p := w.p
	if p.skip[n] {
		return
	}
	switch n.Type {
	case html.TextNode:
		if !w.inLabel && len(n.Data) <= 120 && isAttachLabel(fold(n.Data)) {
			p.used[n] = true
			w.open(n)
		}
		return
	case html.ElementNode, html.DocumentNode:
	default:
		return
	}
	label := false
	if n.Type == html.ElementNode && !w.inLabel {
		if t, ok := shortText(n, 80); ok && isAttachLabel(fold(t)) && !hasChildWithSameText(n) {
			label = true
			if n.Data != "a" {
				p.used[n] = true
			}
			w.open(n)
		} else if w.section != nil && endsSection(n) {
			w.section = nil
		}
	}
	switch n.Data {
	case "a":
		w.link(n, label)
		return
	case "iframe", "embed", "object", "frame":
		w.embed(n)
		return
	}
	if label {
		w.inLabel = true
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		w.walk(c)
	}
	if label {
		w.inLabel = false
	}
	if n == w.section {
		w.section = nil
	}
}

// open starts an attachment section for label. Its root is the element
// around the label's block (the table, for a caption or header cell),
// widened while it holds nothing but the label.
func (w *attachWalker) open(label *html.Node) {
	blk := blockOf(label)
	if isElem(blk, "caption", "th", "td", "thead", "tr") {
		for t := blk; t != nil; t = t.Parent {
			if isElem(t, "table") {
				w.section = t
				// A table captioned or headed "Tải về" lists files; its
				// text is their names, not body text. A layout table
				// with the label in a cell is left alone.
				if isElem(blk, "caption", "th") && countLetters(nodeText(t)) < 2000 {
					w.p.used[t] = true
				}
				return
			}
		}
	}
	root := blk.Parent
	if root == nil {
		root = blk
	}
	want := fold(nodeText(label))
	for root.Parent != nil && root.Parent.Type == html.ElementNode {
		if t, ok := shortText(root, len(want)+40); !ok || fold(t) != want {
			break
		}
		root = root.Parent
	}
	w.section = root
}

// endsSection reports whether element n, met inside an attachment
// section, ends it: a heading or a paragraph of prose.
func endsSection(n *html.Node) bool {
	switch n.Data {
	case "h1", "h2", "h3", "h4", "h5", "h6":
		return true
	}
	if !isBlock(n.Data) {
		return false
	}
	own := 0
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		switch {
		case c.Type == html.TextNode:
			own += countLetters(c.Data)
		case c.Type == html.ElementNode && c.Data != "a" && !isBlock(c.Data):
			if len(find(c, "a")) == 0 {
				own += countLetters(nodeText(c))
			}
		}
	}
	return own >= 150
}

// link considers one <a>. isLabel is set when its own text is a label
// such as "Tải về".
func (w *attachWalker) link(a *html.Node, isLabel bool) {
	href := strings.TrimSpace(attr(a, "href"))
	low := strings.ToLower(href)
	var (
		u      *url.URL
		jsName string
		fromJS bool
	)
	switch {
	case strings.HasPrefix(low, "javascript:"), href == "", href == "#":
		// vbpl.vn puts the call in href, other portals in onclick with
		// href="javascript:void(0)" or "#".
		for _, js := range [...]string{href, attr(a, "onclick")} {
			if u == nil && js != "" {
				u, jsName = w.jsTarget(js)
			}
		}
		fromJS = u != nil
	case strings.HasPrefix(low, "mailto:"), strings.HasPrefix(low, "tel:"), strings.HasPrefix(low, "#"):
	default:
		u, _ = resolve(w.p.base, href)
	}
	if u == nil {
		return
	}
	if t, viewer := viewerTarget(u); viewer {
		// A viewer's link text ("Xem nhanh") is not body text either way.
		w.p.attachAnchors[a] = true
		if t == nil {
			return
		}
		u = t
	}
	txt := text(a)
	_, hasDownloadAttr := attrOK(a, "download")
	switch {
	case fromJS, isDocPath(u.Path):
	case isMediaPath(u.Path):
		return
	case hasDownloadAttr && !isPagePath(u.Path), queryNamesDoc(u):
	case (w.section != nil || isLabel) && (hasDownloadHint(u) || u.RawQuery != "" && !isPagePath(u.Path)):
	case isDocPath(stripDecoration(txt)) && !isPagePath(u.Path):
	default:
		return
	}
	w.add(a, u, txt, attr(a, "title"), jsName)
}

// embed considers an <iframe>, <embed> or <object> that shows a document
// inline, as portals do with pdf.js.
func (w *attachWalker) embed(n *html.Node) {
	src := attr(n, "src")
	if n.Data == "object" {
		src = attr(n, "data")
	}
	u, ok := resolve(w.p.base, src)
	if !ok {
		return
	}
	if t, viewer := viewerTarget(u); viewer {
		if t == nil {
			return
		}
		u = t
	}
	if isDocPath(u.Path) {
		w.add(n, u, "", attr(n, "title"), "")
	}
}

// add records attachment u found at node n, once per URL.
func (w *attachWalker) add(n *html.Node, u *url.URL, txt, title, jsName string) {
	w.p.attachAnchors[n] = true
	key := u.String()
	if w.seen[key] {
		return
	}
	w.seen[key] = true
	w.out = append(w.out, Attachment{URL: key, Name: attachName(n, u, txt, title, jsName)})
}

// jsCallRe matches a JavaScript call and its argument list;
// jsStringRe one quoted string argument.
var (
	jsCallRe   = regexp.MustCompile(`([A-Za-z_$][\w.$]*)\s*\(([^()]*)\)`)
	jsStringRe = regexp.MustCompile(`'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"`)
	// downloadFuncRe matches the names of page functions that download a
	// file given its path (vbpl.vn's downloadfile).
	downloadFuncRe = regexp.MustCompile(`(?i)download|file|attach|taive|dinhkem|open`)
)

// jsTarget reads the file a javascript: link or onclick handler opens,
// as in vbpl.vn's downloadfile('NAME','/PATH'): the argument that is a
// path to a document, or any path when the function downloads files. The
// other string argument, if any, is returned as the file's name.
func (w *attachWalker) jsTarget(js string) (*url.URL, string) {
	js = strings.TrimSpace(js)
	if len(js) >= len("javascript:") && strings.EqualFold(js[:len("javascript:")], "javascript:") {
		js = js[len("javascript:"):]
	}
	for _, call := range jsCallRe.FindAllStringSubmatch(js, -1) {
		var args []string
		for _, m := range jsStringRe.FindAllStringSubmatch(call[2], -1) {
			args = append(args, unescapeJS(m[1]+m[2]))
		}
		pick := -1
		var u *url.URL
		// A path ('/FileData/…/a.pdf') wins over a bare file name ('a.pdf'),
		// which would resolve against the page's directory.
		for _, wantSlash := range [...]bool{true, false} {
			for i, s := range args {
				if pick >= 0 || strings.Contains(s, "/") != wantSlash {
					continue
				}
				if t, ok := resolve(w.p.base, s); ok && isDocPath(t.Path) {
					pick, u = i, t
				}
			}
		}
		if pick < 0 && downloadFuncRe.MatchString(call[1]) {
			for i, s := range args {
				if !strings.Contains(s, "/") {
					continue
				}
				if t, ok := resolve(w.p.base, s); ok && !isPagePath(t.Path) && !isMediaPath(t.Path) {
					pick, u = i, t
					break
				}
			}
		}
		if pick < 0 {
			continue
		}
		name := ""
		for i, s := range args {
			if i != pick && countLetters(s) > 0 && !strings.Contains(s, "/") {
				name = s
				break
			}
		}
		return u, name
	}
	return nil, ""
}

// unescapeJS undoes the backslash escapes of a JavaScript string literal
// that matter in paths and names.
func unescapeJS(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	return strings.NewReplacer(`\'`, `'`, `\"`, `"`, `\\`, `\`, `\/`, `/`).Replace(s)
}

// attrOK returns n's attribute key and whether it is present.
func attrOK(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// decorationRe matches what portals print around an attachment's name:
// bullets before it, its size or type after it ("(1,2 MB)", "[PDF]").
var (
	leadDecorationRe  = regexp.MustCompile(`^[\s\-–•·*»>▪►→+]+|^(?i:tải về|tải xuống|download)\s*[:\-–]\s*`)
	trailDecorationRe = regexp.MustCompile(`(?i)\s*(?:[\(\[][^\)\]]*(?:\d\s*(?:kb|mb|gb|bytes?)|\bpdf\b|\bdocx?\b|\bxlsx?\b)[^\)\]]*[\)\]]|[-–|]\s*\d+(?:[.,]\d+)?\s*(?:kb|mb|gb|bytes?))\s*$`)
)

// stripDecoration cleans a link text and strips bullets and size notes.
func stripDecoration(s string) string {
	s = clean(s)
	for range 2 {
		s = leadDecorationRe.ReplaceAllString(s, "")
		s = trailDecorationRe.ReplaceAllString(s, "")
	}
	return strings.TrimSpace(s)
}

// isGenericName reports whether link text says nothing about the file.
func isGenericName(s string) bool {
	if countLetters(s) == 0 {
		return true
	}
	switch trimLabel(fold(s)) {
	case "tai ve", "tai xuong", "download", "xem", "xem nhanh", "xem truoc",
		"xem file", "xem chi tiet", "tai day", "tai file", "day", "click here",
		"here", "file", "tep", "link", "chi tiet", "xem toan van", "xem online",
		"view", "preview", "doc", "mo", "open", "nhan vao day", "bam vao day",
		"tai", "tai lieu", "van ban":
		return true
	}
	return isAttachLabel(fold(s))
}

// attachName picks an attachment's name: its link text, title, the name
// a downloadfile() call gives, the text around the link (a table row or
// list item that names the file next to a "Tải về" button), else the file
// name in the URL.
func attachName(n *html.Node, u *url.URL, txt, title, jsName string) string {
	for _, c := range [...]string{txt, title, jsName, contextName(n)} {
		if c = stripDecoration(c); c != "" && !isGenericName(c) {
			return c
		}
	}
	if base := path.Base(u.Path); base != "/" && base != "." {
		return clean(base)
	}
	return u.Hostname()
}

// contextName returns the text of the table row or list item around link
// n, without the link's own text, if it is short enough to be a name.
func contextName(n *html.Node) string {
	blk := n.Parent
	for blk != nil && blk.Type == html.ElementNode && !isElem(blk, "li", "p", "tr", "dd", "div") {
		blk = blk.Parent
	}
	if blk == nil || blk.Type != html.ElementNode {
		return ""
	}
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(c *html.Node) {
		if c == n || isElem(c, "a", "script", "style") {
			return
		}
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
			b.WriteByte(' ')
		}
		if isElem(c, "td", "th") && countLetters(nodeText(c)) < 3 {
			return // a row number
		}
		for d := c.FirstChild; d != nil; d = d.NextSibling {
			walk(d)
		}
	}
	walk(blk)
	s := clean(b.String())
	// At least two words and eight letters: "Xem … và ." around a link in
	// a sentence is not a name.
	if countLetters(s) < 8 || len(strings.Fields(s)) < 2 || len([]rune(s)) > 200 || isAttachLabel(fold(s)) {
		return ""
	}
	return s
}
