package extract

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/bantin/bantin/internal/model"
	"github.com/bantin/bantin/internal/proclimit"
	"github.com/bantin/bantin/internal/vnlegacy"
)

// PageInfo is the verdict on one page's text.
type PageInfo struct {
	// Page is the 1-based page number.
	Page int `json:"page"`
	// Chars counts the page's non-space characters.
	Chars int `json:"chars"`
	// Quality is between 0 (garbage or nothing) and 1: one less twice
	// the share of bad words (digits or symbols inside letters, Latin and
	// Cyrillic in one word or Cyrillic words on a Latin page, a capital
	// after a small letter, Vietnamese letters in no valid syllable),
	// lowered by the share of glyphs without a Unicode mapping. Clean
	// foreign words are not bad.
	Quality float64 `json:"quality"`
	// Extractor produced the page's text: "ledongthuc/pdf" or "pdftotext".
	Extractor string `json:"extractor"`
	// NeedsOCR is true when the page has almost no text (a scan), only a
	// digital-signature stamp, or a text layer too poor to use.
	NeedsOCR bool `json:"needs_ocr,omitempty"`
	// Why says why NeedsOCR is set.
	Why string `json:"why,omitempty"`
	// Skipped says why the page was not read at all: its content is over
	// the caps of a likely PDF bomb (contentcap.go). Such a page is hostile
	// or broken, not a scan: NeedsOCR is false and it must not be rendered
	// for OCR either (poppler would read the whole bomb).
	Skipped string `json:"skipped,omitempty"`
}

// Page-quality thresholds.
const (
	// minPageLetters is the least number of letters a page needs to count
	// as having text; fewer is a scan with a page number or a stamp.
	minPageLetters = 20
	// minQuality is the quality below which a text layer is garbage.
	minQuality = 0.6
	// stampLetters bounds the text of a page that holds only a digital
	// signature stamp ("Người ký: … Thời gian ký: …").
	stampLetters = 400
)

// judgePage scores the text of page n.
func judgePage(n int, paras []model.Paragraph, unmapped int, extractor string) PageInfo {
	var sb strings.Builder
	for _, p := range paras {
		sb.WriteString(p.Text)
		sb.WriteByte('\n')
	}
	text := sb.String()
	pi := PageInfo{Page: n, Extractor: extractor}
	letters := 0
	for _, r := range text {
		if !unicode.IsSpace(r) {
			pi.Chars++
		}
		if unicode.IsLetter(r) {
			letters++
		}
	}
	pi.Quality = textQuality(text, pi.Chars, unmapped)
	switch {
	case letters < minPageLetters:
		pi.NeedsOCR, pi.Why = true, fmt.Sprintf("only %s", plural(letters, "letter"))
	case letters < stampLetters && isSignatureStamp(text):
		pi.NeedsOCR, pi.Why = true, "only a digital-signature stamp"
	case pi.Quality < minQuality:
		pi.NeedsOCR, pi.Why = true, fmt.Sprintf("text layer is garbage (quality %.2f)", pi.Quality)
	}
	return pi
}

// textQuality scores text between 0 and 1; see PageInfo.Quality.
func textQuality(text string, chars, unmapped int) float64 {
	st := vnlegacy.Count(text)
	if st.Words == 0 {
		return 0
	}
	q := 1 - 2*st.BadShare() // a page with a quarter of its words bad scores 0.5
	if total := chars + unmapped; total > 0 {
		q *= 1 - float64(unmapped)/float64(total)
	}
	return min(max(q, 0), 1)
}

// isSignatureStamp reports whether text is the stamp that the government's
// signing software puts on scanned decrees.
func isSignatureStamp(text string) bool {
	return strings.Contains(text, "Người ký") || strings.Contains(text, "Ký bởi") || strings.Contains(text, "Thời gian ký")
}

// ocrSummary lists the pages that need OCR and why, for error messages.
func (doc *Document) ocrSummary() string {
	why := map[string][]int{}
	var order []string
	for _, pi := range doc.PageInfo {
		if !pi.NeedsOCR {
			continue
		}
		reason := pi.Why
		if strings.HasPrefix(reason, "text layer is garbage") {
			reason = "garbage text layer"
		}
		if _, ok := why[reason]; !ok {
			order = append(order, reason)
		}
		why[reason] = append(why[reason], pi.Page)
	}
	var parts []string
	for _, r := range order {
		parts = append(parts, "page "+pageRanges(why[r])+": "+r)
	}
	return strings.Join(parts, "; ")
}

// repairPages converts the pages' text when it reads as TCVN3 or VNI
// mojibake and returns the encoding, "" when nothing was converted.
func repairPages(perPage [][]model.Paragraph) string {
	var all []model.Paragraph
	for _, paras := range perPage {
		all = append(all, paras...)
	}
	enc := repairStatistically(all)
	if enc == "" {
		return ""
	}
	k := 0
	for _, paras := range perPage {
		for j := range paras {
			paras[j] = all[k]
			k++
		}
	}
	return enc
}

// Options names the external tools extraction may use. The zero value
// uses none: everything is done in process.
type Options struct {
	// Pdftotext is the path of poppler's pdftotext, used for the PDF
	// pages whose own text is missing or garbage.
	Pdftotext string
	// Antiword and Catdoc are the paths of the legacy .doc readers.
	Antiword, Catdoc string
	// PageConcurrency bounds the goroutines that read the pages of one
	// PDF at once; 0 means GOMAXPROCS, 1 reads them one after the other.
	// The result is the same whatever the value (page order is kept).
	// PDFs of fewer than 4 pages are always read on one goroutine.
	PageConcurrency int

	// legacyContent reads every page's content streams with
	// pdf.Interpret, the path the fast one falls back to (for tests).
	legacyContent bool
}

// DefaultOptions finds the tools on PATH.
func DefaultOptions() Options {
	var o Options
	o.Pdftotext, _ = exec.LookPath("pdftotext")
	o.Antiword, _ = exec.LookPath("antiword")
	o.Catdoc, _ = exec.LookPath("catdoc")
	return o
}

// toolTimeout bounds one external tool when the context has no deadline.
const toolTimeout = 2 * time.Minute

// maxToolOutput bounds what an external tool may print.
const maxToolOutput = 64 << 20

// toolMemory is the address-space limit (RLIMIT_AS) of pdftotext,
// antiword and catdoc: a page of a hostile PDF can make poppler allocate
// without bound, and the parse child's own memory watch does not see a
// process of its own. poppler reads a 256-page report in well under
// 100 MiB.
const toolMemory = 1 << 30

// runTool runs exe with args and data on a temporary file named by the
// "{}" argument, returning its standard output.
func runTool(ctx context.Context, data []byte, exe string, args ...string) ([]byte, error) {
	return runToolLimited(ctx, toolMemory, data, exe, args...)
}

// runToolLimited is runTool under an address-space limit of memory bytes.
func runToolLimited(ctx context.Context, memory int64, data []byte, exe string, args ...string) ([]byte, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, toolTimeout)
		defer cancel()
	}
	f, err := os.CreateTemp("", "bantin-extract-*")
	if err != nil {
		return nil, fmt.Errorf("writing a temporary file for %s: %w", exe, err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return nil, fmt.Errorf("writing a temporary file for %s: %w", exe, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("writing a temporary file for %s: %w", exe, err)
	}
	args = slices.Clone(args)
	for i, a := range args {
		if a == "{}" {
			args[i] = f.Name()
		}
	}
	name, argv := proclimit.Memory(memory, exe, args)
	cmd := exec.CommandContext(ctx, name, argv...)
	var out limitedBuffer
	out.limit = maxToolOutput
	var stderr limitedBuffer // poppler writes a line per bad operand: hundreds of MiB for a PDF bomb
	stderr.limit = 64 << 10
	cmd.Stdout, cmd.Stderr = &out, &stderr
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: %w", exe, ctx.Err())
		}
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 300 {
			msg = msg[:300] + "…"
		}
		return nil, fmt.Errorf("%s: %v: %s", exe, err, msg)
	}
	return out.Bytes(), nil
}

// limitedBuffer keeps the first limit bytes written to it.
type limitedBuffer struct {
	bytes.Buffer
	limit int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.limit - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// ReadFrom reads r to its end through Write, so that the limit holds:
// os/exec copies a child's output with io.Copy, which would otherwise use
// the embedded bytes.Buffer's ReadFrom and grow without bound.
func (b *limitedBuffer) ReadFrom(r io.Reader) (int64, error) {
	return io.Copy(struct{ io.Writer }{b}, r)
}

// pdftotextPages runs pdftotext over pages first to last and returns each
// page's lines, NFC, indexed from first.
func pdftotextPages(ctx context.Context, data []byte, exe string, first, last int) ([][]string, error) {
	args := []string{"-enc", "UTF-8"}
	if first > 0 {
		args = append(args, "-f", fmt.Sprint(first), "-l", fmt.Sprint(last))
	}
	out, err := runTool(ctx, data, exe, append(args, "{}", "-")...)
	if err != nil {
		return nil, err
	}
	pages := strings.Split(string(bytes.ToValidUTF8(out, []byte("\uFFFD"))), "\f")
	if len(pages) > 0 && strings.TrimSpace(pages[len(pages)-1]) == "" {
		pages = pages[:len(pages)-1] // pdftotext ends every page with \f
	}
	res := make([][]string, len(pages))
	for i, p := range pages {
		res[i] = strings.Split(p, "\n")
	}
	return res, nil
}

// withPdftotext reads again with pdftotext the pages the library could not
// read or read as garbage, and the whole file when the library could not
// open it.
func withPdftotext(ctx context.Context, data []byte, exe string, doc *Document, err error) (*Document, error) {
	if err != nil {
		if doc != nil || !(errors.Is(err, ErrCorrupt) || errors.Is(err, ErrUnsupported)) {
			return doc, err
		}
		pages, perr := pdftotextPages(ctx, data, exe, 0, 0)
		if perr != nil || len(pages) == 0 {
			return nil, err // pdftotext cannot read it either (a password?)
		}
		d := &Document{Format: FormatPDF, Extractor: "pdftotext", Pages: len(pages)}
		d.Warnings = append(d.Warnings, fmt.Sprintf("read by pdftotext: %v", err))
		for i, lines := range pages {
			paras := Paragraphs(lines, i+1)
			d.perPage = append(d.perPage, paras)
			d.PageInfo = append(d.PageInfo, judgePage(i+1, paras, 0, "pdftotext"))
		}
		if enc := repairPages(d.perPage); enc != "" {
			d.EncodingRepaired = enc
			d.Warnings = append(d.Warnings, fmt.Sprintf(statisticNote, enc))
		}
		d.assemble()
		return d, nil
	}
	if len(doc.bombs) > 0 {
		doc.Warnings = append(doc.Warnings, fmt.Sprintf("pdftotext not run: page %s looks like a PDF bomb", pageRanges(doc.bombs)))
		return doc, nil
	}
	var redo []int
	for _, pi := range doc.PageInfo {
		if pi.NeedsOCR {
			redo = append(redo, pi.Page)
		}
	}
	if len(redo) == 0 {
		return doc, nil
	}
	first, last := redo[0], redo[len(redo)-1]
	pages, perr := pdftotextPages(ctx, data, exe, first, last)
	if perr != nil {
		doc.Warnings = append(doc.Warnings, fmt.Sprintf("pdftotext could not read the pages without text: %v", perr))
		return doc, nil
	}
	var used []int
	for _, n := range redo {
		if n-first >= len(pages) {
			break
		}
		paras := Paragraphs(pages[n-first], n)
		pi := judgePage(n, paras, 0, "pdftotext")
		if pi.NeedsOCR || pi.Quality <= doc.PageInfo[n-1].Quality {
			continue
		}
		doc.perPage[n-1] = paras
		doc.PageInfo[n-1] = pi
		doc.FailedPages = slices.DeleteFunc(doc.FailedPages, func(p int) bool { return p == n })
		used = append(used, n)
	}
	if len(used) > 0 {
		doc.Extractor = pdfExtractor + "+pdftotext"
		doc.Warnings = append(doc.Warnings, fmt.Sprintf("text of page %s read by pdftotext", pageRanges(used)))
		doc.assemble()
	}
	return doc, nil
}
