package extract

import (
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/ledongthuc/pdf"
)

// Reading content streams.
//
// A page's content was read twice: once by checkContent, inflated, for
// the caps on bytes and operands, and once more by pdf.Interpret, whose
// lexer reads byte by byte through an io.Reader and allocates a value per
// operand. The fast path here inflates the content once (with the same
// caps, in the same read loop), keeps the bytes, and tokenizes them with
// contentLexer, a copy of the library's content-stream syntax as
// pdf.Interpret reads it, quirks included (an unterminated literal string
// ends in "\n", a "]" or ">>" out of place is a null operand, "1e5" is an
// operator). The file's structure (cross-references, objects, streams,
// fonts) is still read by the library.
//
// Wherever the library would do something this lexer does not copy — a
// syntax error (the library panics, or drops the operand and goes on from
// wherever its buffer stopped), a stream that cannot be read to its end,
// the PostScript dictionary operators, content larger than
// maxHeldContent — the fast path gives up on the whole page and the page
// is read again by pdf.Interpret (pageLines). So both paths give the same
// result by construction on what the fast path reads, and the old code on
// everything else (TestContentLexerMatchesInterpret,
// TestFastContentMatchesLegacyCorpus).

// maxHeldContent bounds the inflated content bytes the fast path keeps for
// one page (its own content and its forms'); a page with more is read by
// the legacy path, which streams it. Dense text pages hold tens of
// kilobytes; a page past this is a detailed drawing or a bomb.
const maxHeldContent = 4 << 20

// contentChunk is checkContent's read size: the fast path reads the same
// way, so the same reads give the same verdicts on the caps.
const contentChunk = 32 << 10

// errSlowPath is the panic value with which the fast path gives up on a
// page.
type errSlowPath struct{ why string }

func (e errSlowPath) Error() string { return "content read by pdf.Interpret: " + e.why }

// whyHexEOF is errSlowPath's reason when content ends inside a hex
// string, where pdf.Interpret loops for ever: the fast path does not hand
// such a page back to it (errHexEOF).
const whyHexEOF = "unterminated hex string"

// errHexEOF is the error of a page whose content ends inside a hex
// string; the text before it is kept.
var errHexEOF = errors.New("the page's content ends inside a hex string <…>, which the PDF library cannot read (it would loop for ever); the text before it is kept")

// kind is the type of an operand, as far as text extraction tells types
// apart.
type kind uint8

const (
	kindNull kind = iota
	kindBool
	kindNumber
	kindString
	kindName
	kindArray
	kindDict
)

// operand is one value on the content stream's operand stack: what the
// walker reads of a pdf.Value (Float64, RawString, Name, the elements of
// an array).
type operand struct {
	kind kind
	num  float64   // kindNumber; 0 otherwise, as pdf.Value.Float64
	str  string    // kindString: the raw bytes; kindName: the name
	arr  []operand // kindArray
}

func (o operand) name() string {
	if o.kind == kindName {
		return o.str
	}
	return ""
}

func (o operand) rawString() string {
	if o.kind == kindString {
		return o.str
	}
	return ""
}

// operandOf converts a value pushed by pdf.Interpret (or read from the
// file, for a form's Matrix).
func operandOf(v pdf.Value) operand {
	switch v.Kind() {
	case pdf.Bool:
		return operand{kind: kindBool}
	case pdf.Integer, pdf.Real:
		return operand{kind: kindNumber, num: v.Float64()}
	case pdf.String:
		return operand{kind: kindString, str: v.RawString()}
	case pdf.Name:
		return operand{kind: kindName, str: v.Name()}
	case pdf.Array:
		return operand{kind: kindArray, arr: arrayOperands(v)}
	case pdf.Dict, pdf.Stream:
		return operand{kind: kindDict}
	}
	return operand{}
}

// opcode is a content-stream operator the walker acts on; opOther is any
// other keyword.
type opcode uint8

const (
	opOther opcode = iota
	opq
	opQ
	opcm
	opBT
	opTc
	opTw
	opTz
	opTL
	opTs
	opTf
	opTd
	opTD
	opTm
	opTstar
	opTj
	opQuote
	opDquote
	opTJ
	opDo
)

func opcodeOf(op string) opcode {
	switch op {
	case "q":
		return opq
	case "Q":
		return opQ
	case "cm":
		return opcm
	case "BT":
		return opBT
	case "Tc":
		return opTc
	case "Tw":
		return opTw
	case "Tz":
		return opTz
	case "TL":
		return opTL
	case "Ts":
		return opTs
	case "Tf":
		return opTf
	case "Td":
		return opTd
	case "TD":
		return opTD
	case "Tm":
		return opTm
	case "T*":
		return opTstar
	case "Tj":
		return opTj
	case "'":
		return opQuote
	case "\"":
		return opDquote
	case "TJ":
		return opTJ
	case "Do":
		return opDo
	}
	return opOther
}

// walkFast interprets content with contentLexer. It panics with
// errSlowPath where the result could differ from pdf.Interpret's.
func (w *pageWalker) walkFast(st *walkState, content pdf.Value, id string) {
	data, err := w.contentBytes(content, id)
	if err != nil {
		if w.refused == nil {
			w.refused = err
		}
		return
	}
	lx := contentLexer{data: data}
	// A form's content runs while the operands of the page's Do wait
	// below base and arenaBase.
	base, arenaBase := len(w.stk), len(w.arena)
	defer func() { w.stk, w.arena = w.stk[:base], w.arena[:arenaBase] }()
	for {
		t := lx.token()
		switch t.typ {
		case tokEOF:
			return
		case tokKeyword:
			switch t.kw {
			case "null", "[", "]", "<<", ">>":
			case "dict", "currentdict", "begin", "end", "def", "pop":
				panic(errSlowPath{"PostScript dictionary operator " + t.kw})
			default:
				st.exec(opcodeOf(t.kw), w.stk[base:])
				w.stk = w.stk[:base]
				w.arena = w.arena[:arenaBase]
				continue
			}
		}
		w.stk = append(w.stk, w.object(&lx, t, 1))
	}
}

// contentBytes inflates content (a stream or an array of streams, read as
// one) once, with checkContent's caps and in its read loop, so that a page
// over a cap is refused with the same error. A form drawn again is not
// inflated again: its bytes still count against the page's budget.
func (w *pageWalker) contentBytes(content pdf.Value, id string) ([]byte, error) {
	if data, ok := w.formData[id]; ok && id != "" {
		if w.budget -= int64(len(data)); w.budget < 0 {
			return nil, fmt.Errorf("the page's content inflates to more than %d MiB; skipped as a %w", maxPageContent>>20, errBomb)
		}
		return data, nil
	}
	streams := []pdf.Value{content}
	if content.Kind() == pdf.Array {
		streams = streams[:0]
		for i := 0; i < content.Len(); i++ {
			streams = append(streams, content.Index(i))
		}
	}
	// The operand scan starts only when the content passes maxOperands
	// bytes (the streams' separators counted): every operand takes a byte
	// at least, so shorter content cannot pass the cap. It then catches up
	// on the bytes before, as checkContent fed them, and goes on chunk by
	// chunk as checkContent does.
	var s contentScan
	start := len(w.buf)
	var ends []int // where the streams read so far end in w.buf, before the scan starts
	scanning := false
	for _, st := range streams {
		rc := st.Reader()
		for {
			if len(w.buf) > maxHeldContent {
				rc.Close()
				panic(errSlowPath{"content over maxHeldContent"})
			}
			w.buf = growBytes(w.buf, contentChunk)
			n, rerr := rc.Read(w.buf[len(w.buf) : len(w.buf)+contentChunk])
			p := w.buf[len(w.buf) : len(w.buf)+n]
			w.buf = w.buf[:len(w.buf)+n]
			if w.budget -= int64(n); w.budget < 0 {
				rc.Close()
				return nil, fmt.Errorf("the page's content inflates to more than %d MiB; skipped as a %w", maxPageContent>>20, errBomb)
			}
			if !scanning && len(w.buf)-start+len(ends) > maxOperands {
				scanning = true
				from := start
				for _, e := range ends {
					s.feed(w.buf[from:e])
					s.feed([]byte{'\n'})
					from = e
				}
				s.feed(w.buf[from : len(w.buf)-n])
			}
			if scanning && !s.feed(p) {
				rc.Close()
				return nil, fmt.Errorf("more than %d operands without an operator in the page's content; skipped as a %w", maxOperands, errBomb)
			}
			if rerr == io.EOF {
				break
			}
			if rerr != nil {
				rc.Close()
				panic(errSlowPath{"damaged stream: " + rerr.Error()})
			}
			if s.reads++; s.reads%32 == 0 && w.ctx.Err() != nil {
				rc.Close()
				panic(errSlowPath{"context done"})
			}
		}
		rc.Close()
		if scanning {
			s.feed([]byte{'\n'})
		} else {
			ends = append(ends, len(w.buf))
		}
	}
	// Later content is appended to w.buf, which may move: data keeps the
	// bytes it has.
	data := w.buf[start:len(w.buf):len(w.buf)]
	if id != "" {
		if w.formData == nil {
			w.formData = map[string][]byte{}
		}
		w.formData[id] = data
	}
	return data, nil
}

// growBytes makes room for n more bytes without changing len, growing to
// at most maxHeldContent+n.
func growBytes(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	nb := make([]byte, len(b), max(min(2*cap(b), maxHeldContent)+n, len(b)+n))
	copy(nb, b)
	return nb
}

// object reads the operand that starts with token t, as the library's
// readObject does with objects references and streams off; depth is its
// nesting (the library gives up past 1000). Array elements go to the
// arena, valid until the next operator.
func (w *pageWalker) object(lx *contentLexer, t token, depth int) operand {
	if depth > 1000 {
		panic(errSlowPath{"objects nested too deep"})
	}
	switch t.typ {
	case tokKeyword:
		switch t.kw {
		case "null", ">>", "]":
			return operand{}
		case "<<":
			w.dict(lx, depth)
			return operand{kind: kindDict}
		case "[":
			return operand{kind: kindArray, arr: w.array(lx, depth)}
		}
		panic(errSlowPath{"unexpected keyword in an operand"})
	case tokEOF:
		return operand{} // a dictionary value at the end: the library stores io.EOF there
	}
	return t.op
}

func (w *pageWalker) array(lx *contentLexer, depth int) []operand {
	base := len(w.stk)
	for {
		t := lx.token()
		if t.typ == tokEOF || t.typ == tokKeyword && t.kw == "]" {
			break
		}
		w.stk = append(w.stk, w.object(lx, t, depth+1))
	}
	start := len(w.arena)
	w.arena = append(w.arena, w.stk[base:]...)
	w.stk = w.stk[:base]
	return w.arena[start:len(w.arena):len(w.arena)]
}

func (w *pageWalker) dict(lx *contentLexer, depth int) {
	for {
		t := lx.token()
		if t.typ == tokEOF || t.typ == tokKeyword && t.kw == ">>" {
			return
		}
		if t.op.kind != kindName || t.typ != tokValue {
			panic(errSlowPath{"dictionary key not a name"})
		}
		w.object(lx, lx.token(), depth+1)
	}
}

// Token types of contentLexer.
const (
	tokValue = iota
	tokKeyword
	tokEOF
)

// token is one token: a value (number, boolean, string, name), a keyword
// (operators and the delimiters "[", "]", "<<", ">>", "{", "}"), or the
// end of the content.
type token struct {
	typ int
	kw  string
	op  operand
}

// contentLexer reads tokens as the library's buffer.readToken does, from
// bytes in memory: past the end it reads '\n' for ever, and a byte read
// there cannot be unread.
type contentLexer struct {
	data []byte
	pos  int
	eof  bool
	tmp  []byte
}

func (l *contentLexer) readByte() byte {
	if l.pos >= len(l.data) {
		l.eof = true
		return '\n'
	}
	c := l.data[l.pos]
	l.pos++
	return c
}

func (l *contentLexer) unreadByte() {
	if !l.eof {
		l.pos--
	}
}

func (l *contentLexer) token() token {
	c := l.readByte()
	for {
		if isPDFSpace(c) {
			if l.eof {
				return token{typ: tokEOF}
			}
			c = l.readByte()
		} else if c == '%' {
			for c != '\r' && c != '\n' {
				c = l.readByte()
			}
		} else {
			break
		}
	}
	switch c {
	case '<':
		if l.readByte() == '<' {
			return token{typ: tokKeyword, kw: "<<"}
		}
		l.unreadByte()
		return l.hexString()
	case '(':
		return l.literalString()
	case '[':
		return token{typ: tokKeyword, kw: "["}
	case ']':
		return token{typ: tokKeyword, kw: "]"}
	case '{':
		return token{typ: tokKeyword, kw: "{"}
	case '}':
		return token{typ: tokKeyword, kw: "}"}
	case '/':
		return l.name()
	case '>':
		if l.readByte() == '>' {
			return token{typ: tokKeyword, kw: ">>"}
		}
		panic(errSlowPath{"unexpected delimiter >"})
	}
	if isPDFDelim(c) {
		panic(errSlowPath{"unexpected delimiter"})
	}
	l.unreadByte()
	return l.keyword()
}

func (l *contentLexer) hexString() token {
	tmp := l.tmp[:0]
	for {
		c := l.readByte()
		if l.eof {
			panic(errSlowPath{whyHexEOF}) // the library loops for ever
		}
		if c == '>' {
			break
		}
		if isPDFSpace(c) {
			continue
		}
		c2 := l.readByte()
		for isPDFSpace(c2) {
			if l.eof {
				panic(errSlowPath{whyHexEOF})
			}
			c2 = l.readByte()
		}
		x := hexDigit(c)<<4 | hexDigit(c2)
		if x < 0 {
			panic(errSlowPath{"malformed hex string"})
		}
		tmp = append(tmp, byte(x))
	}
	l.tmp = tmp
	return token{op: operand{kind: kindString, str: string(tmp)}}
}

// hexDigit is the value of a hex digit, -1 for any other byte.
func hexDigit(b byte) int {
	switch {
	case '0' <= b && b <= '9':
		return int(b) - '0'
	case 'a' <= b && b <= 'f':
		return int(b) - 'a' + 10
	case 'A' <= b && b <= 'F':
		return int(b) - 'A' + 10
	}
	return -1
}

func (l *contentLexer) literalString() token {
	tmp := l.tmp[:0]
	depth := 1
Loop:
	for !l.eof {
		c := l.readByte()
		switch c {
		default:
			tmp = append(tmp, c)
		case '(':
			depth++
			tmp = append(tmp, c)
		case ')':
			if depth--; depth == 0 {
				break Loop
			}
			tmp = append(tmp, c)
		case '\\':
			switch c = l.readByte(); c {
			default:
				panic(errSlowPath{"invalid escape sequence"})
			case 'n':
				tmp = append(tmp, '\n')
			case 'r':
				tmp = append(tmp, '\r')
			case 'b':
				tmp = append(tmp, '\b')
			case 't':
				tmp = append(tmp, '\t')
			case 'f':
				tmp = append(tmp, '\f')
			case '(', ')', '\\':
				tmp = append(tmp, c)
			case '\r':
				if l.readByte() != '\n' {
					l.unreadByte()
				}
			case '\n':
			case '0', '1', '2', '3', '4', '5', '6', '7':
				x := int(c - '0')
				for range 2 {
					c = l.readByte()
					if c < '0' || c > '7' {
						l.unreadByte()
						break
					}
					x = x*8 + int(c-'0')
				}
				if x > 255 {
					panic(errSlowPath{"invalid octal escape"})
				}
				tmp = append(tmp, byte(x))
			}
		}
	}
	l.tmp = tmp
	return token{op: operand{kind: kindString, str: string(tmp)}}
}

func (l *contentLexer) name() token {
	tmp := l.tmp[:0]
	for {
		c := l.readByte()
		if isPDFDelim(c) || isPDFSpace(c) {
			l.unreadByte()
			break
		}
		if c == '#' {
			x := hexDigit(l.readByte()) << 4
			x |= hexDigit(l.readByte())
			if x < 0 {
				panic(errSlowPath{"malformed name"})
			}
			tmp = append(tmp, byte(x))
			continue
		}
		tmp = append(tmp, c)
	}
	l.tmp = tmp
	return token{op: operand{kind: kindName, str: string(tmp)}}
}

func (l *contentLexer) keyword() token {
	start := l.pos
	for {
		c := l.readByte()
		if isPDFDelim(c) || isPDFSpace(c) {
			l.unreadByte()
			break
		}
	}
	b := l.data[start:l.pos]
	switch {
	case string(b) == "true" || string(b) == "false":
		return token{op: operand{kind: kindBool}}
	case !isInteger(b) && !isReal(b):
		return token{typ: tokKeyword, kw: keywordString(b)}
	}
	if x, ok := shortDecimal(b); ok {
		return token{op: operand{kind: kindNumber, num: x}}
	}
	switch {
	case isInteger(b):
		x, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil {
			panic(errSlowPath{"invalid integer"})
		}
		return token{op: operand{kind: kindNumber, num: float64(x)}}
	case isReal(b):
		x, err := strconv.ParseFloat(string(b), 64)
		if err != nil {
			panic(errSlowPath{"invalid real"})
		}
		return token{op: operand{kind: kindNumber, num: x}}
	}
	panic(errSlowPath{"unreachable"})
}

// keywordString returns b as a string, without allocating for the
// operators that text extraction reads or skips most often.
func keywordString(b []byte) string {
	switch string(b) {
	case "q":
		return "q"
	case "Q":
		return "Q"
	case "cm":
		return "cm"
	case "BT":
		return "BT"
	case "ET":
		return "ET"
	case "Tf":
		return "Tf"
	case "Td":
		return "Td"
	case "TD":
		return "TD"
	case "Tm":
		return "Tm"
	case "T*":
		return "T*"
	case "Tj":
		return "Tj"
	case "TJ":
		return "TJ"
	case "Tc":
		return "Tc"
	case "Tw":
		return "Tw"
	case "Tz":
		return "Tz"
	case "TL":
		return "TL"
	case "Ts":
		return "Ts"
	case "Do":
		return "Do"
	case "re":
		return "re"
	case "m":
		return "m"
	case "l":
		return "l"
	case "c":
		return "c"
	case "h":
		return "h"
	case "f":
		return "f"
	case "S":
		return "S"
	case "n":
		return "n"
	case "W":
		return "W"
	case "w":
		return "w"
	case "g":
		return "g"
	case "G":
		return "G"
	case "rg":
		return "rg"
	case "RG":
		return "RG"
	case "gs":
		return "gs"
	case "cs":
		return "cs"
	case "sc":
		return "sc"
	case "scn":
		return "scn"
	}
	return string(b)
}

// pow10 holds the powers of ten that float64 represents exactly.
var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

// shortDecimal parses an integer or real keyword of at most 15 digits,
// the numbers of real content streams, without strconv: the digits make
// an integer m below 2^53 and k of them follow the dot, so m and 10^k are
// exact in float64 and m/10^k, rounded once, is the correctly rounded
// value strconv.ParseFloat returns (and float64 of strconv.ParseInt's
// result, for integers). ok is false for anything longer.
func shortDecimal(b []byte) (x float64, ok bool) {
	neg := false
	if len(b) > 0 && (b[0] == '+' || b[0] == '-') {
		neg = b[0] == '-'
		b = b[1:]
	}
	var m uint64
	digits, frac, dot := 0, 0, false
	for _, c := range b {
		if c == '.' {
			dot = true
			continue
		}
		m = m*10 + uint64(c-'0')
		digits++
		if dot {
			frac++
		}
	}
	if digits == 0 || digits > 15 {
		return 0, false
	}
	x = float64(m) / pow10[frac]
	if neg && (dot || m != 0) { // "-0" is the integer 0; "-0.0" the real -0
		x = -x
	}
	return x, true
}

// isInteger and isReal are the library's tests of a keyword's syntax.
func isInteger(s []byte) bool {
	if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	if len(s) == 0 {
		return false
	}
	for _, c := range s {
		if c < '0' || '9' < c {
			return false
		}
	}
	return true
}

func isReal(s []byte) bool {
	if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	if len(s) == 0 {
		return false
	}
	ndot := 0
	for _, c := range s {
		if c == '.' {
			ndot++
			continue
		}
		if c < '0' || '9' < c {
			return false
		}
	}
	return ndot == 1
}
