package extract

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/ledongthuc/pdf"

	"github.com/bantin/bantin/internal/model"
)

// minLetters is the least number of letters a PDF must yield to count as
// having a text layer. Scanned decrees from chinhphu.vn carry only a
// digital-signature stamp, which is not the document.
const minLetters = 20

// Page-tree limits: a hostile tree can be deep, cyclic or claim a billion
// pages.
const (
	maxPages      = 10_000
	maxPageDepth  = 64
	maxTreeVisits = 200_000
)

const pdfExtractor = "ledongthuc/pdf"

// maxPooledGlyphs bounds the glyph buffers kept for the next page (a
// glyph is 72 bytes): a page past it gets a buffer of its own. Content
// buffers are bounded by maxHeldContent.
const maxPooledGlyphs = 64 << 10

// PDF extracts the text of a PDF, page by page. A page that fails (a
// malformed stream, a panic in the parser) is listed in FailedPages with
// the reason in Warnings and the other pages are kept; a damaged stream
// keeps the text read before the damage. Lines are rebuilt from glyph
// positions, so text in PDFs that encode no spaces reads with spaces, and
// columns and header blocks are read one after the other.
//
// Errors wrap ErrCorrupt when the file cannot be parsed, ErrUnsupported
// when it needs a password or an unsupported encryption, and ErrNoText when
// no page has a text layer (then the Document is returned as well, with
// Pages and Warnings, for the OCR stage). When ctx is done before the
// parser finishes, PDF returns the context's error at once; the parser
// goroutine then runs on until it finishes, so data must not be modified
// afterwards.
func PDF(ctx context.Context, data []byte) (*Document, error) {
	return PDFWith(ctx, data, Options{})
}

// PDFWith is PDF with the external tools of opts: where a page's text is
// missing or garbage and opts.Pdftotext is set, that page is read again
// with poppler's pdftotext and kept when it reads better; a file the
// library cannot open at all is read with pdftotext as a whole. PageInfo
// says which extractor produced each page.
func PDFWith(ctx context.Context, data []byte, opts Options) (*Document, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("extracting pdf: %w", err)
	}
	type result struct {
		doc *Document
		err error
	}
	done := make(chan result, 1) // buffered: an abandoned parser can still finish
	go func() {
		var res result
		defer func() {
			if r := recover(); r != nil {
				res = result{err: fmt.Errorf("extracting pdf: %w: parser panic: %v", ErrCorrupt, r)}
			}
			done <- res
		}()
		res.doc, res.err = extractPDF(ctx, data, opts)
	}()
	var res result
	select {
	case res = <-done:
	case <-ctx.Done():
		return nil, fmt.Errorf("extracting pdf: gave up waiting for the parser (a hostile or looping file?): %w", ctx.Err())
	}
	doc, err := res.doc, res.err
	if opts.Pdftotext != "" {
		doc, err = withPdftotext(ctx, data, opts.Pdftotext, doc, err)
	}
	if err != nil {
		return nil, err
	}
	return doc, doc.verdict()
}

func extractPDF(ctx context.Context, data []byte, opts Options) (*Document, error) {
	r, src, pages, notes, err := openPDF(data)
	if err != nil {
		return nil, err
	}
	doc := &Document{
		Format:    FormatPDF,
		Extractor: pdfExtractor,
		Pages:     len(pages),
		Warnings:  notes,
		// A broken Info dictionary must not cost the text.
		Title: safe(func() string {
			return Normalize(strings.ReplaceAll(r.Trailer().Key("Info").Key("Title").Text(), "\n", " "))
		}),
	}
	doc.encrypted = safe(func() bool { return !r.Trailer().Key("Encrypt").IsNull() })
	if doc.encrypted {
		src = nil // equal raw bytes in two objects decrypt differently: no content keys
	}
	fonts := newFontCache(src)
	workers := pageWorkers(opts.PageConcurrency, len(pages))

	// The pages are read in parallel; everything that depends on more than
	// one page (warnings, legacy encodings, the statistical repair) is then
	// done in page order, so the result does not depend on workers.
	read := make([]pageRead, len(pages))
	var scratch sync.Pool
	if stop, err := forPages(ctx, len(pages), workers, func(i int) {
		read[i] = readPage(ctx, pages[i], fonts, &scratch, opts.legacyContent)
	}); err != nil {
		return nil, fmt.Errorf("extracting pdf: stopped at page %d of %d: %w", stop+1, len(pages), err)
	}

	var firstErr error
	unmapped := 0
	perPage := make([][]model.Paragraph, len(pages))
	rawLines := make([][]string, len(pages))
	var decoded []bool // per line of rawLines, in order: from a legacy font
	badGlyphs := make([]int, len(pages))
	var legacy []string
	for i, pr := range read {
		n := i + 1
		unmapped += pr.bad
		badGlyphs[i] = pr.bad
		if pr.slow {
			doc.slowPages++
		}
		if errors.Is(pr.err, errBomb) {
			doc.bombs = append(doc.bombs, n)
		}
		if pr.err != nil {
			if len(pr.lines) == 0 {
				doc.FailedPages = append(doc.FailedPages, n)
				doc.Warnings = append(doc.Warnings, fmt.Sprintf("page %d: %v", n, pr.err))
				if firstErr == nil {
					firstErr = pr.err
				}
				continue
			}
			doc.Warnings = append(doc.Warnings, fmt.Sprintf("page %d: text may be incomplete: %v", n, pr.err))
		}
		for _, enc := range pr.legacy {
			legacy = appendUnique(legacy, enc)
		}
		decoded = append(decoded, pr.decoded...)
		rawLines[i] = pr.lines
	}
	read = nil
	if len(legacy) > 0 {
		doc.EncodingRepaired = legacy[0]
		doc.Warnings = append(doc.Warnings, fmt.Sprintf(repairedNote, strings.Join(legacy, ", ")))
	}
	{
		var all []string
		for _, lines := range rawLines {
			all = append(all, lines...)
		}
		if enc := repairLines(all, decoded); enc != "" {
			if doc.EncodingRepaired == "" {
				doc.EncodingRepaired = enc
			}
			doc.Warnings = append(doc.Warnings, fmt.Sprintf(statisticNote, enc))
			k := 0
			for _, lines := range rawLines {
				k += copy(lines, all[k:k+len(lines)])
			}
		}
	}
	doc.PageInfo = make([]PageInfo, len(pages))
	if stop, err := forPages(ctx, len(pages), workers, func(i int) {
		perPage[i] = Paragraphs(rawLines[i], i+1)
		doc.PageInfo[i] = judgePage(i+1, perPage[i], badGlyphs[i], pdfExtractor)
	}); err != nil {
		return nil, fmt.Errorf("extracting pdf: stopped at page %d of %d: %w", stop+1, len(pages), err)
	}
	doc.markBombs()
	doc.perPage = perPage
	doc.assemble()
	doc.firstErr, doc.unmapped = firstErr, unmapped
	return doc, nil
}

// pageRead is what reading one page yields, before the pages are joined.
type pageRead struct {
	lines   []string // legacy-font runs decoded (decodeLegacy)
	decoded []bool   // per line: it had legacy-font text
	legacy  []string // the legacy encodings found, in order of first use
	bad     int      // glyphs without a Unicode mapping
	err     error
	slow    bool // read by pdf.Interpret after the fast path gave up
}

// readPage lays out one page and decodes its legacy-font text.
func readPage(ctx context.Context, p pdf.Page, fonts *fontCache, scratch *sync.Pool, legacy bool) pageRead {
	var pr pageRead
	pr.lines, pr.bad, pr.err, pr.slow = pageLines(ctx, p, fonts, scratch, legacy)
	if pr.err != nil && len(pr.lines) == 0 {
		return pr
	}
	pr.decoded = make([]bool, len(pr.lines))
	for k, l := range pr.lines {
		var found []string
		pr.lines[k], found = decodeLegacy(l)
		for _, enc := range found {
			pr.legacy = appendUnique(pr.legacy, enc)
		}
		pr.decoded[k] = len(found) > 0
	}
	return pr
}

// usableChars counts the characters on the pages whose text is neither
// garbage nor a signature stamp: pages with little text count, since
// together they may hold a document.
func usableChars(pages []PageInfo) int {
	n := 0
	for _, pi := range pages {
		if !pi.NeedsOCR || strings.HasPrefix(pi.Why, "only ") && !strings.Contains(pi.Why, "stamp") {
			n += pi.Chars
		}
	}
	return n
}

// assemble joins the pages' paragraphs into Paragraphs.
func (doc *Document) assemble() {
	doc.Paragraphs = nil
	for _, paras := range doc.perPage {
		doc.Paragraphs = appendPage(doc.Paragraphs, paras)
	}
}

// verdict classifies a PDF's text once all pages are read: ErrNoText when
// no page has usable text, else nil, with warnings about poor pages.
func (doc *Document) verdict() error {
	firstErr, unmapped := doc.firstErr, doc.unmapped
	var empty []int
	for _, pi := range doc.PageInfo {
		if pi.Chars == 0 && !slices.Contains(doc.FailedPages, pi.Page) {
			empty = append(empty, pi.Page)
		}
	}
	letters, chars := 0, 0
	for _, p := range doc.Paragraphs {
		for _, r := range p.Text {
			if unicode.IsLetter(r) {
				letters++
			}
			if !unicode.IsSpace(r) {
				chars++
			}
		}
	}
	pages := doc.Pages
	switch {
	case pages > 0 && len(doc.FailedPages) == pages:
		why := ""
		if doc.encrypted {
			why = "the file is encrypted and could not be decrypted; "
		}
		skipped := 0
		for _, pi := range doc.PageInfo {
			if pi.Skipped != "" {
				skipped++
			}
		}
		next := "OCR of the rendered pages may still work"
		switch {
		case skipped == pages:
			next = "every page is over the content caps (a PDF bomb?), so none is sent to OCR"
		case skipped > 0:
			next = fmt.Sprintf("OCR of the %s not skipped as PDF bombs may still work", plural(pages-skipped, "page"))
		}
		return fmt.Errorf("extracting pdf: %w: all %s failed (%s%v); %s", ErrNoText, plural(pages, "page"), why, firstErr, next)
	case letters < minLetters && unmapped > letters:
		return fmt.Errorf("extracting pdf: %w: the text layer cannot be decoded (%d characters in fonts without a Unicode mapping); OCR is needed", ErrNoText, unmapped)
	case chars == 0:
		return fmt.Errorf("extracting pdf: %w: no text layer on %s: probably a scanned document; OCR is needed", ErrNoText, plural(pages, "page"))
	case letters < minLetters:
		return fmt.Errorf("extracting pdf: %w: only %s of text on %s: probably a scanned document; OCR is needed", ErrNoText, plural(letters, "letter"), plural(pages, "page"))
	case pages > 0 && usableChars(doc.PageInfo) < minLetters:
		return fmt.Errorf("extracting pdf: %w: the text layer of every page is garbage (%s); OCR is needed", ErrNoText, doc.ocrSummary())
	}
	if bad := garbledPages(doc.Paragraphs); len(bad) > 0 {
		doc.Warnings = append(doc.Warnings, fmt.Sprintf("text layer looks like poor OCR on page %s (mixed Latin/Cyrillic, digits inside words); run OCR again before summarising", pageRanges(bad)))
	}
	if len(empty) > 0 {
		doc.Warnings = append(doc.Warnings, fmt.Sprintf("no text on page %s (scanned or blank; OCR may be needed there)", pageRanges(empty)))
	}
	return nil
}

// safe returns f(), or the zero value if the parser panics in f.
func safe[T any](f func() T) (v T) {
	defer func() {
		if recover() != nil {
			var zero T
			v = zero
		}
	}()
	return f()
}

// pageLines lays out the text of one page as lines and counts the
// characters that have no Unicode mapping. On a parser panic it returns
// the error together with whatever text was read before it.
//
// The page is read by the fast content path first; where that gives up
// (see errSlowPath) it is read again with pdf.Interpret, as is every page
// when legacy is set.
//
// scratch, when not nil, lends and takes back the page's buffers
// (*pageScratch), so that the pages of a long document reuse a few.
func pageLines(ctx context.Context, p pdf.Page, fonts *fontCache, scratch *sync.Pool, legacy bool) (lines []string, unmapped int, err error, slow bool) {
	var sc pageScratch
	if scratch != nil {
		if b, ok := scratch.Get().(*pageScratch); ok {
			sc = pageScratch{glyphs: b.glyphs[:0], content: b.content[:0]}
		}
		defer func() {
			if cap(sc.glyphs) > maxPooledGlyphs {
				sc.glyphs = nil
			}
			if cap(sc.content) > maxHeldContent+contentChunk {
				sc.content = nil
			}
			scratch.Put(&pageScratch{glyphs: sc.glyphs[:0], content: sc.content[:0]})
		}()
	}
	if !legacy {
		var done bool
		lines, unmapped, err, done = walkPage(ctx, p, fonts, &sc, false)
		if done {
			return lines, unmapped, err, false
		}
	}
	lines, unmapped, err, _ = walkPage(ctx, p, fonts, &sc, true)
	return lines, unmapped, err, !legacy
}

// pageScratch is the memory reading a page needs, reused from page to
// page: the glyphs and the inflated content of the fast path.
type pageScratch struct {
	glyphs  []glyph
	content []byte
}

// walkPage reads one page's content into glyphs and lays them out, with
// sc's buffers (emptied; the grown ones are left there). Reading on the
// fast path (legacy false), it reports done false when that path gave up,
// or on any panic: the legacy path then reads the page again and meets the
// same panic, if it is the file's.
func walkPage(ctx context.Context, p pdf.Page, fonts *fontCache, sc *pageScratch, legacy bool) (lines []string, unmapped int, err error, done bool) {
	w := &pageWalker{ctx: ctx, fonts: fonts, budget: maxPageContent, glyphs: sc.glyphs[:0], buf: sc.content[:0], legacy: legacy}
	defer func() {
		sc.glyphs, sc.content = w.glyphs, w.buf
		if r := recover(); r != nil {
			if e, ok := r.(errSlowPath); ok && !legacy && e.why == whyHexEOF {
				// The legacy path would never return: keep what was read.
				lines, unmapped, err, done = pageText(w.glyphs), w.unmapped, errHexEOF, true
				return
			}
			if !legacy {
				lines, unmapped, err, done = nil, 0, nil, false
				return
			}
			err = fmt.Errorf("%v", r)
			lines, unmapped, done = pageText(w.glyphs), w.unmapped, true
		}
	}()
	contents := p.V.Key("Contents")
	if contents.IsNull() {
		return nil, 0, nil, true
	}
	w.walk(contents, p.Resources(), gstate{ctm: identity, th: 1}, 0, "")
	if w.full {
		err = fmt.Errorf("more than %d characters on the page; the rest is skipped", maxGlyphsPerPage)
	}
	if w.refused != nil {
		err = w.refused
	}
	return pageText(w.glyphs), w.unmapped, err, true
}

// openPDF opens data with the library, repairing on a copy what is cheap
// to repair: junk before the header, a %PDF-2.0 or otherwise unusual
// header, junk after %%EOF, a cross-reference chain that loops (the library
// would follow it forever) and, when all else fails, a missing or broken
// cross-reference table, rebuilt from the objects in the file.
func openPDF(data []byte) (*pdf.Reader, io.ReaderAt, []pdf.Page, []string, error) {
	off := bytes.Index(data[:min(len(data), 1024)], []byte("%PDF-"))
	if off < 0 {
		return nil, nil, nil, nil, fmt.Errorf("extracting pdf: %w: not a PDF file: no %%PDF- header in the first 1024 bytes (starts with %q)", ErrCorrupt, data[:min(len(data), 16)])
	}
	fixed, notes := repairEnvelope(data[off:])
	if off > 0 {
		notes = append([]string{fmt.Sprintf("ignored %d bytes before the %%PDF header", off)}, notes...)
	}
	fixed, loopNote := breakXrefLoop(fixed)
	if loopNote != "" {
		notes = append(notes, loopNote)
	}
	var src io.ReaderAt = bytes.NewReader(fixed)
	size := int64(len(fixed))
	if spliced, n, note, ok := fixTrailerSize(fixed); ok {
		src, size = spliced, n
		notes = append(notes, note)
	}
	r, err := pdf.NewReader(src, size)
	if err == nil {
		if pages := collectPages(r); len(pages) > 0 {
			return r, src, pages, notes, nil
		}
		err = errors.New("no pages found in the page tree")
	}
	if isEncryptionError(err) {
		return nil, nil, nil, nil, classifyEncryption(err)
	}
	if rebuilt, ok := rebuildXref(fixed); ok {
		src2 := bytes.NewReader(rebuilt)
		r2, err2 := pdf.NewReader(src2, int64(len(rebuilt)))
		if err2 == nil {
			if pages := collectPages(r2); len(pages) > 0 {
				notes = append(notes, fmt.Sprintf("cross-reference table rebuilt from the objects in the file (%v)", err))
				return r2, src2, pages, notes, nil
			}
		} else if isEncryptionError(err2) {
			return nil, nil, nil, nil, classifyEncryption(err2)
		}
	}
	return nil, nil, nil, nil, fmt.Errorf("extracting pdf: %w: %v", ErrCorrupt, err)
}

func isEncryptionError(err error) bool {
	return errors.Is(err, pdf.ErrInvalidPassword) || strings.Contains(err.Error(), "encrypt")
}

func classifyEncryption(err error) error {
	if errors.Is(err, pdf.ErrInvalidPassword) {
		return fmt.Errorf("extracting pdf: %w: the PDF is password-protected; ask the publisher for a copy without a password", ErrUnsupported)
	}
	return fmt.Errorf("extracting pdf: %w: the PDF uses an encryption the reader does not support (%v); print it to a new PDF or ask for an unencrypted copy", ErrUnsupported, err)
}

// collectPages walks the page tree once, in order. Reader.Page walks it
// from the root for every page, which is quadratic, and trusts /Count. A
// node that cannot be read is skipped, not the whole tree.
func collectPages(r *pdf.Reader) (pages []pdf.Page) {
	visits := 0
	var walk func(node pdf.Value, depth int)
	walk = func(node pdf.Value, depth int) {
		defer func() { _ = recover() }()
		visits++
		if depth > maxPageDepth || visits > maxTreeVisits || len(pages) >= maxPages || node.Kind() != pdf.Dict {
			return
		}
		kids := node.Key("Kids")
		if node.Key("Type").Name() == "Page" || kids.Kind() != pdf.Array {
			pages = append(pages, pdf.Page{V: node})
			return
		}
		for i := 0; i < kids.Len(); i++ {
			walk(kids.Index(i), depth+1)
		}
	}
	if root := safe(func() pdf.Value { return r.Trailer().Key("Root").Key("Pages") }); root.Kind() == pdf.Dict {
		walk(root, 0)
	}
	return pages
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// pageRanges formats sorted page numbers as "3, 5–7".
func pageRanges(pages []int) string {
	var parts []string
	for i := 0; i < len(pages); {
		j := i
		for j+1 < len(pages) && pages[j+1] == pages[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, strconv.Itoa(pages[i])+"–"+strconv.Itoa(pages[j]))
		} else {
			parts = append(parts, strconv.Itoa(pages[i]))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}
