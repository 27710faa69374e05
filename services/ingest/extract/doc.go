package extract

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// DOC extracts a legacy Word 97–2003 document with antiword (preferred:
// it keeps table rows and paragraphs) or catdoc, whichever opts names.
// Without either it returns an error wrapping ErrUnsupported that says
// what to install. Text typed in TCVN3 or VNI fonts is converted.
func DOC(ctx context.Context, data []byte, opts Options) (*Document, error) {
	var out []byte
	var err error
	doc := &Document{Format: FormatDOC}
	switch {
	case opts.Antiword != "":
		doc.Extractor = "antiword"
		// -m UTF-8.txt: UTF-8 output; -w 0: no hard wrapping.
		out, err = runTool(ctx, data, opts.Antiword, "-m", "UTF-8.txt", "-w", "0", "{}")
	case opts.Catdoc != "":
		doc.Extractor = "catdoc"
		out, err = runTool(ctx, data, opts.Catdoc, "-d", "utf-8", "-w", "{}")
	default:
		return nil, fmt.Errorf("extracting doc: %w: reading legacy Word .doc files needs antiword; install the Debian package antiword (or catdoc), or save the file as .docx or PDF", ErrUnsupported)
	}
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return nil, fmt.Errorf("extracting doc: %w", err)
		}
		return nil, fmt.Errorf("extracting doc: %w: %v", ErrCorrupt, err)
	}
	text := strings.ToValidUTF8(string(out), "\uFFFD")
	text = strings.ReplaceAll(text, "\r\n", "\n")
	lines := strings.Split(text, "\n")
	if legacy := repairLines(lines, nil); legacy != "" {
		doc.EncodingRepaired = legacy
		doc.Warnings = append(doc.Warnings, fmt.Sprintf(statisticNote, legacy))
	}
	doc.Paragraphs = paragraphs(lines, 0, false)
	if len(doc.Paragraphs) == 0 {
		return doc, fmt.Errorf("extracting doc: %w: the document holds no text (only images?); OCR may be needed", ErrNoText)
	}
	return doc, nil
}
