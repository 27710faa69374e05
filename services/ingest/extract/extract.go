// Package extract turns the bytes of a report (PDF, DOCX, plain text) into
// NFC-normalised paragraphs that carry the page they were found on.
//
// The format is detected from the bytes, never from a file name or a
// Content-Type header: portals serve PDFs as application/octet-stream and
// HTML error pages as "report.pdf". Extract dispatches on Detect; PDF, Text
// and DOCX can be called directly when the caller already knows better.
//
// Failures are classified with three sentinel errors, tested with
// errors.Is: ErrNoText (a scan: OCR is needed), ErrUnsupported (a format or
// feature this package does not read; the message says what to do) and
// ErrCorrupt (the bytes claim a format but cannot be parsed). A context
// deadline is honoured even when a parser hangs on a hostile file.
package extract

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/bantin/bantin/internal/model"
)

// Document is the text extracted from one file.
type Document struct {
	// Format is what Detect found: "pdf", "docx", "doc", "html" or "text".
	Format string
	// Extractor names what produced the text: "ledongthuc/pdf", "docx", "text".
	Extractor string
	// Pages is the number of pages in the source, 0 when it is not paged.
	Pages int
	// FailedPages lists the 1-based pages whose text could not be
	// extracted; Warnings says why.
	FailedPages []int
	// Warnings are human-readable notes on anything that went wrong or was
	// repaired, e.g. "page 3: malformed stream: …".
	Warnings []string
	// Paragraphs is the text, NFC-normalised, each paragraph with the
	// 1-based page it starts on (0 when the source is not paged).
	Paragraphs []model.Paragraph
	// Title is the PDF's Info /Title when present, else "".
	Title string
	// EncodingRepaired is "tcvn3" or "vni" when text typed in a legacy
	// Vietnamese font encoding was converted to Unicode, else "".
	EncodingRepaired string `json:",omitempty"`
	// PageInfo judges each page of a paged source, in order: how much
	// text it has, how good it is, which extractor produced it and whether
	// it needs OCR. Empty for sources without pages.
	PageInfo []PageInfo `json:",omitempty"`

	// Kept between reading the pages and the verdict on them (PDF).
	perPage   [][]model.Paragraph
	firstErr  error
	unmapped  int
	encrypted bool
	bombs     []int // pages skipped as likely PDF bombs (checkContent)
	slowPages int   // pages the fast content path gave back to pdf.Interpret
}

// Text returns the paragraphs joined by blank lines.
func (d *Document) Text() string {
	var b bytes.Buffer
	for i, p := range d.Paragraphs {
		if i > 0 {
			b.WriteString("\n\n")
		}
		b.WriteString(p.Text)
	}
	return b.String()
}

// Sentinel errors. The errors returned by this package wrap one of them
// (or a context error) with the details.
var (
	// ErrNoText means the document has no usable text: a scanned PDF
	// without a text layer, or one whose every page failed. OCR is needed.
	ErrNoText = errors.New("no usable text")
	// ErrUnsupported means the format (or a feature of it, such as a
	// password) is not one this package reads; the message says what to do.
	ErrUnsupported = errors.New("unsupported format")
	// ErrCorrupt means the bytes claim a format but cannot be parsed.
	ErrCorrupt = errors.New("corrupt file")
)

// Formats reported by Detect.
const (
	FormatPDF  = "pdf"
	FormatDOCX = "docx"
	FormatDOC  = "doc"
	FormatHTML = "html"
	FormatText = "text"
)

// sniffLen is how much of the start of a file Detect looks at for text
// formats.
const sniffLen = 4096

// Detect returns the format of data from its bytes: "pdf", "docx", "doc",
// "html", "text", or "" when it is none of these (images, spreadsheets,
// archives, other binaries).
func Detect(data []byte) string {
	head := data[:min(len(data), sniffLen)]
	switch {
	case bytes.Contains(head[:min(len(head), 1024)], []byte("%PDF-")):
		return FormatPDF
	case bytes.HasPrefix(data, []byte("PK\x03\x04")):
		if isDOCX(data) {
			return FormatDOCX
		}
		return ""
	case bytes.HasPrefix(data, []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}):
		return detectOLE(data)
	case bytes.HasPrefix(data, []byte{0xFE, 0xFF}), bytes.HasPrefix(data, []byte{0xFF, 0xFE}):
		if isHTML(utf16Head(head)) {
			return FormatHTML
		}
		return FormatText
	}
	if isHTML(head) {
		return FormatHTML
	}
	if isText(head) {
		return FormatText
	}
	return ""
}

// isDOCX reports whether a zip archive is a Word document: it has
// word/document.xml (and normally [Content_Types].xml). A truncated
// archive without a readable central directory is judged by the names in
// its local file headers.
func isDOCX(data []byte) bool {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return bytes.Contains(data[:min(len(data), 1<<20)], []byte("word/document.xml"))
	}
	for _, f := range zr.File {
		if f.Name == "word/document.xml" {
			return true
		}
	}
	return false
}

// detectOLE tells a Word 97–2003 document from the other OLE2 compound
// files (.xls, .ppt, .msg) by the stream names in its directory.
func detectOLE(data []byte) string {
	utf16le := func(s string) []byte {
		b := make([]byte, 0, 2*len(s))
		for i := 0; i < len(s); i++ {
			b = append(b, s[i], 0)
		}
		return b
	}
	switch {
	case bytes.Contains(data, utf16le("WordDocument")):
		return FormatDOC
	case bytes.Contains(data, utf16le("Workbook")), bytes.Contains(data, utf16le("PowerPoint Document")):
		return ""
	}
	return FormatDOC // directory not found: most OLE2 attachments on portals are .doc
}

// utf16Head converts the start of UTF-16 text to ASCII-ish bytes for
// sniffing: every other byte.
func utf16Head(b []byte) []byte {
	out := make([]byte, 0, len(b)/2)
	start := 2
	if b[0] == 0xFE {
		start = 3
	}
	for i := start; i < len(b); i += 2 {
		out = append(out, b[i])
	}
	return out
}

// isHTML reports whether text starts like an HTML document, as browsers
// sniff it: after white space (and a BOM), a doctype or one of the usual
// first tags.
func isHTML(head []byte) bool {
	s := bytes.TrimPrefix(head, []byte{0xEF, 0xBB, 0xBF})
	s = bytes.TrimLeft(s, " \t\r\n\f")
	if bytes.HasPrefix(s, []byte("<?xml")) {
		// XHTML: look past the declaration.
		if i := bytes.Index(s, []byte("?>")); i > 0 {
			s = bytes.TrimLeft(s[i+2:], " \t\r\n\f")
		}
	}
	s = bytes.ToLower(s[:min(len(s), 512)])
	for _, tag := range []string{"<!doctype html", "<html", "<head", "<body", "<script", "<title", "<meta", "<style", "<div", "<table", "<p>", "<h1", "<br", "<iframe", "<a ", "<font", "<b>", "<!--"} {
		if bytes.HasPrefix(s, []byte(tag)) {
			if tag == "<!--" {
				return bytes.Contains(s, []byte("<html")) || bytes.Contains(s, []byte("<!doctype html"))
			}
			return true
		}
	}
	return false
}

// isText reports whether the start of a file looks like text: no NUL
// bytes and few control characters, in UTF-8 or a single-byte code page.
func isText(head []byte) bool {
	if len(head) == 0 {
		return false
	}
	bad := 0
	for i := 0; i < len(head); {
		r, size := utf8.DecodeRune(head[i:])
		switch {
		case r == 0:
			return false
		case r == utf8.RuneError && size == 1:
			if head[i] < 0x80 {
				bad++
			}
		case r < 0x20 && r != '\n' && r != '\r' && r != '\t' && r != '\f':
			bad++
		}
		i += size
	}
	return bad*100 <= len(head)
}

// Extract detects the format of data and extracts its text, using the
// external tools found on PATH (see DefaultOptions and ExtractWith).
func Extract(ctx context.Context, data []byte) (*Document, error) {
	return ExtractWith(ctx, data, DefaultOptions())
}

// ExtractWith detects the format of data and extracts its text with the
// tools of opts.
//
// HTML is not extracted here: it returns an error wrapping ErrUnsupported,
// since the caller parses article pages itself. Legacy .doc needs antiword
// or catdoc. On ErrNoText the partial Document (pages, title, warnings,
// PageInfo) is returned along with the error, for the OCR stage; on other
// errors the Document is nil.
func ExtractWith(ctx context.Context, data []byte, opts Options) (*Document, error) {
	switch f := Detect(data); f {
	case FormatPDF:
		return PDFWith(ctx, data, opts)
	case FormatDOCX:
		return DOCX(ctx, data)
	case FormatText:
		return Text(data)
	case FormatHTML:
		return nil, fmt.Errorf("extracting text: %w: html is parsed by the article parser, not by extract", ErrUnsupported)
	case FormatDOC:
		return DOC(ctx, data, opts)
	default:
		return nil, fmt.Errorf("extracting text: %w: %s; send a PDF, DOCX or plain-text file", ErrUnsupported, describe(data))
	}
}

// describe names what an unsupported file seems to be, for error messages.
func describe(data []byte) string {
	magic := []struct {
		prefix, name string
	}{
		{"PK\x03\x04", "a zip archive that is not a Word document (xlsx, pptx, odt or plain zip?)"},
		{"\xD0\xCF\x11\xE0", "an Office 97–2003 file that is not a Word document (xls, ppt?)"},
		{"{\\rtf", "an RTF document"},
		{"\xFF\xD8\xFF", "a JPEG image"},
		{"\x89PNG", "a PNG image"},
		{"GIF8", "a GIF image"},
		{"II*\x00", "a TIFF image"},
		{"MM\x00*", "a TIFF image"},
		{"Rar!", "a RAR archive"},
		{"7z\xBC\xAF", "a 7-Zip archive"},
		{"\x1F\x8B", "a gzip file"},
	}
	for _, m := range magic {
		if bytes.HasPrefix(data, []byte(m.prefix)) {
			return "the file is " + m.name
		}
	}
	if len(data) == 0 {
		return "the file is empty"
	}
	return fmt.Sprintf("unrecognised file starting with %q", data[:min(len(data), 8)])
}
