package extract

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/bantin/bantin/internal/model"
)

// Caps on what a DOCX may make us decompress: a zip bomb must not take the
// worker down.
const (
	maxDocxXML     = 64 << 20 // word/document.xml, uncompressed
	maxDocxCoreXML = 1 << 20  // docProps/core.xml
	// maxDocxDepth bounds element nesting in word/document.xml: Word nests
	// a few dozen deep (tables in text boxes in tables); 100,000 nested
	// elements cost the decoder and the open paragraphs and cells memory in
	// proportion.
	maxDocxDepth = 1_000
)

// DOCX extracts the text of a Word (Office Open XML) document: its body
// paragraphs in order, and each table row as one paragraph with its cells
// separated by " | ". Deleted (tracked) text, field codes and the fallback
// copies of text boxes are skipped. Paragraphs carry page 0: the file has
// no pages until it is laid out. Title is the core properties' dc:title.
func DOCX(ctx context.Context, data []byte) (*Document, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("extracting docx: %w: %v", ErrCorrupt, err)
	}
	var body, core *zip.File
	for _, f := range zr.File {
		switch f.Name {
		case "word/document.xml":
			body = f
		case "docProps/core.xml":
			core = f
		}
	}
	if body == nil {
		return nil, fmt.Errorf("extracting docx: %w: the archive has no word/document.xml; it is not a Word document", ErrUnsupported)
	}
	xmlData, err := readZipFile(body, maxDocxXML)
	if err != nil {
		return nil, fmt.Errorf("extracting docx: reading word/document.xml: %w", err)
	}
	doc := &Document{Format: FormatDOCX, Extractor: "docx"}
	doc.Paragraphs, err = docxParagraphs(ctx, xmlData)
	if err != nil {
		return nil, err
	}
	if core != nil {
		if b, err := readZipFile(core, maxDocxCoreXML); err == nil {
			doc.Title = docxTitle(b)
		}
	}
	if legacy := repairStatistically(doc.Paragraphs); legacy != "" {
		doc.EncodingRepaired = legacy
		doc.Warnings = append(doc.Warnings, fmt.Sprintf(statisticNote, legacy))
	}
	if len(doc.Paragraphs) == 0 {
		return doc, fmt.Errorf("extracting docx: %w: the document body holds no text (only images?); OCR may be needed", ErrNoText)
	}
	return doc, nil
}

func readZipFile(f *zip.File, limit int64) ([]byte, error) {
	if f.UncompressedSize64 > uint64(limit) {
		return nil, fmt.Errorf("%w: %s is %d bytes uncompressed, more than the %d allowed", ErrUnsupported, f.Name, f.UncompressedSize64, limit)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: %s decompresses to more than %d bytes", ErrUnsupported, f.Name, limit)
	}
	return b, nil
}

// docxParagraphs walks the WordprocessingML body.
func docxParagraphs(ctx context.Context, data []byte) ([]model.Paragraph, error) {
	const w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
	const mc = "http://schemas.openxmlformats.org/markup-compatibility/2006"
	dec := xml.NewDecoder(bytes.NewReader(data))
	var (
		out      []model.Paragraph
		paras    []*strings.Builder // open paragraphs; text boxes nest them
		cells    [][]string         // open table rows: their cells' text
		cell     []*strings.Builder // open cells
		inText   bool
		skip     int // depth inside w:delText, w:instrText, mc:Fallback
		tokens   int
		depth    int // open elements
		emitPara = func(s string) {
			if s = Normalize(strings.ReplaceAll(s, "\n", " ")); s != "" {
				out = append(out, model.Paragraph{Text: s})
			}
		}
	)
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("extracting docx: %w: word/document.xml: %v", ErrCorrupt, err)
		}
		if tokens++; tokens%10_000 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("extracting docx: %w", err)
			}
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth++; depth > maxDocxDepth {
				return nil, fmt.Errorf("extracting docx: %w: word/document.xml nests elements more than %d deep; a Word document nests a few dozen (a hostile file?)", ErrUnsupported, maxDocxDepth)
			}
			if skip > 0 || t.Name.Space == mc && t.Name.Local == "Fallback" ||
				t.Name.Space == w && (t.Name.Local == "delText" || t.Name.Local == "instrText") {
				skip++
				continue
			}
			if t.Name.Space != w {
				continue
			}
			switch t.Name.Local {
			case "p":
				paras = append(paras, &strings.Builder{})
			case "t":
				inText = true
			case "tab":
				if n := len(paras); n > 0 {
					paras[n-1].WriteByte(' ')
				}
			case "br", "cr":
				if n := len(paras); n > 0 {
					paras[n-1].WriteByte('\n')
				}
			case "tr":
				cells = append(cells, nil)
			case "tc":
				cell = append(cell, &strings.Builder{})
			}
		case xml.EndElement:
			depth--
			if skip > 0 {
				skip--
				continue
			}
			if t.Name.Space != w {
				continue
			}
			switch t.Name.Local {
			case "t":
				inText = false
			case "p":
				n := len(paras)
				if n == 0 {
					continue
				}
				text := paras[n-1].String()
				paras = paras[:n-1]
				if k := len(cell); k > 0 && n == 1 {
					if cell[k-1].Len() > 0 {
						cell[k-1].WriteByte(' ')
					}
					cell[k-1].WriteString(text)
					continue
				}
				emitPara(text)
			case "tc":
				k := len(cell)
				if k == 0 {
					continue
				}
				text := Normalize(strings.ReplaceAll(cell[k-1].String(), "\n", " "))
				cell = cell[:k-1]
				if r := len(cells); r > 0 {
					cells[r-1] = append(cells[r-1], text)
				}
			case "tr":
				r := len(cells)
				if r == 0 {
					continue
				}
				row := cells[r-1]
				cells = cells[:r-1]
				var nonEmpty []string
				for _, c := range row {
					if c != "" {
						nonEmpty = append(nonEmpty, c)
					}
				}
				emitPara(strings.Join(nonEmpty, " | "))
			}
		case xml.CharData:
			if inText && skip == 0 {
				if n := len(paras); n > 0 {
					paras[n-1].Write(t)
				}
			}
		}
	}
	return out, nil
}

// docxTitle reads dc:title from docProps/core.xml.
func docxTitle(data []byte) string {
	var core struct {
		Title string `xml:"http://purl.org/dc/elements/1.1/ title"`
	}
	if err := xml.Unmarshal(data, &core); err != nil {
		return ""
	}
	return Normalize(core.Title)
}
