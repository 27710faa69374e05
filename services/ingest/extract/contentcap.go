package extract

import (
	"context"
	"errors"
	"fmt"

	"github.com/ledongthuc/pdf"
)

// Caps on the content streams of one page (its own and the Form XObjects
// it draws), checked before the library interprets them: a PDF bomb is a
// stream of a few hundred kilobytes that inflates to gigabytes, or to
// millions of operands that the library's interpreter keeps on its stack
// (32 bytes each) until an operator comes. A page over a cap is skipped
// with a warning naming it; the other pages are read.
const (
	// maxPageContent bounds the decompressed bytes read for one page.
	// Dense text pages hold tens of kilobytes, detailed vector maps some
	// megabytes.
	maxPageContent = 64 << 20
	// maxOperands bounds the operands that may pile up without an
	// operator (the longest TJ array of a real page has a few hundred).
	maxOperands = 100_000
)

// errBomb marks a page skipped by checkContent. Such a page is not handed
// to pdftotext either: poppler reads it to the end, writing one line of
// stderr per extra operand (gigabytes, for minutes).
var errBomb = errors.New("likely PDF bomb")

// skippedBomb is PageInfo.Skipped of a page skipped by checkContent.
const skippedBomb = "likely PDF bomb: its content is over the caps on inflated bytes or operands"

// markBombs marks the pages skipped by checkContent in PageInfo: Skipped,
// and not NeedsOCR, so that they are not sent to OCR as if they were
// scans.
func (doc *Document) markBombs() {
	for _, n := range doc.bombs {
		if n >= 1 && n <= len(doc.PageInfo) {
			pi := &doc.PageInfo[n-1]
			pi.NeedsOCR, pi.Why, pi.Skipped = false, "", skippedBomb
		}
	}
}

// checkContent reads content (a stream or an array of streams) once,
// decompressed, and returns an error when the page's budget of
// maxPageContent bytes runs out or a run of operands exceeds maxOperands.
// A stream that cannot be read is not its business: the interpreter reads
// it again and reports the damage, keeping the text before it.
func checkContent(ctx context.Context, content pdf.Value, budget *int64) (err error) {
	defer func() {
		if recover() != nil {
			err = nil // an unknown filter or a broken header: the interpreter says so
		}
	}()
	streams := []pdf.Value{content}
	if content.Kind() == pdf.Array {
		streams = streams[:0]
		for i := 0; i < content.Len(); i++ {
			streams = append(streams, content.Index(i))
		}
	}
	var s contentScan
	buf := make([]byte, 32<<10)
	for _, st := range streams {
		rc := st.Reader()
		for {
			n, rerr := rc.Read(buf)
			if *budget -= int64(n); *budget < 0 {
				rc.Close()
				return fmt.Errorf("the page's content inflates to more than %d MiB; skipped as a %w", maxPageContent>>20, errBomb)
			}
			if !s.feed(buf[:n]) {
				rc.Close()
				return fmt.Errorf("more than %d operands without an operator in the page's content; skipped as a %w", maxOperands, errBomb)
			}
			if rerr != nil {
				break // io.EOF, or damage the interpreter will report
			}
			if s.reads++; s.reads%32 == 0 {
				if err := ctx.Err(); err != nil {
					rc.Close()
					return fmt.Errorf("reading the page's content: %w", err)
				}
			}
		}
		rc.Close()
		s.feed([]byte{'\n'}) // streams of an array are joined at a token boundary
	}
	return nil
}

// contentScan is a lexer of content-stream syntax just good enough to
// count the operands that would pile up on the interpreter's stack:
// numbers, names, strings, booleans and null, and the elements of arrays
// and dictionaries, reset by an operator outside any array or dictionary.
type contentScan struct {
	state    int
	strDepth int  // nesting of ( ) in a literal string
	esc      bool // a backslash in a literal string
	depth    int  // open [ and <<
	run      int  // operands since the last operator
	tok      []byte
	reads    int
}

// States of contentScan.
const (
	scanNormal = iota
	scanString
	scanHex
	scanComment
	scanLT // after '<': a dictionary or a hex string
	scanGT // after '>'
	scanName
	scanToken
)

func isPDFDelim(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

// feed scans p and reports false once the operands exceed maxOperands.
func (s *contentScan) feed(p []byte) bool {
	for _, c := range p {
		switch s.state {
		case scanString:
			switch {
			case s.esc:
				s.esc = false
			case c == '\\':
				s.esc = true
			case c == '(':
				s.strDepth++
			case c == ')':
				if s.strDepth--; s.strDepth == 0 {
					s.state = scanNormal
				}
			}
			continue
		case scanHex:
			if c == '>' {
				s.state = scanNormal
			}
			continue
		case scanComment:
			if c == '\r' || c == '\n' {
				s.state = scanNormal
			}
			continue
		case scanLT:
			if c == '<' {
				s.depth++
				s.state = scanNormal
				continue
			}
			s.run++
			s.state = scanHex
			if c == '>' {
				s.state = scanNormal
			}
			continue
		case scanGT:
			s.state = scanNormal
			if c == '>' {
				s.depth = max(s.depth-1, 0)
				continue
			}
		case scanName, scanToken:
			if !isPDFSpace(c) && !isPDFDelim(c) {
				if s.state == scanToken && len(s.tok) < 12 {
					s.tok = append(s.tok, c)
				}
				continue
			}
			if s.state == scanToken {
				s.endToken()
			}
			s.state = scanNormal
		}
		switch {
		case isPDFSpace(c), c == '{', c == '}', c == ')':
		case c == '(':
			s.state, s.strDepth = scanString, 1
			s.run++
		case c == '<':
			s.state = scanLT
		case c == '>':
			s.state = scanGT
		case c == '[':
			s.depth++
		case c == ']':
			s.depth = max(s.depth-1, 0)
		case c == '%':
			s.state = scanComment
		case c == '/':
			s.state = scanName
			s.run++
		default:
			s.state = scanToken
			s.tok = append(s.tok[:0], c)
		}
		if s.run > maxOperands {
			return false
		}
	}
	return s.run <= maxOperands
}

// endToken counts a number or keyword that just ended: an operator outside
// arrays and dictionaries empties the stack; the keywords that push a
// value, and anything inside an array or dictionary, count as operands.
func (s *contentScan) endToken() {
	c := s.tok[0]
	op := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '\'' || c == '"'
	switch string(s.tok) {
	case "true", "false", "null", "dict", "currentdict":
		op = false
	}
	if op && s.depth == 0 {
		s.run = 0
	} else {
		s.run++
	}
}
