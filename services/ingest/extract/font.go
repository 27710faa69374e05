package extract

import (
	"io"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/ledongthuc/pdf"

	"github.com/bantin/bantin/internal/vnlegacy"
)

// Limits that keep one hostile font from costing more than a page is worth.
const (
	maxCMapBytes   = 4 << 20 // a ToUnicode or encoding CMap stream
	maxRangeSpan   = 1 << 16 // codes covered by one bfrange
	maxWidthArrays = 1 << 16 // entries read from a CID font's /W array
)

// pdfFont is what the layout walker needs from a PDF font: how to split a
// shown string into character codes, each code's advance width and its text.
//
// ledongthuc/pdf decodes text with Font.Encoder, which ignores /ToUnicode
// whenever a simple font also has an /Encoding (the usual case for
// Vietnamese TrueType subsets: that is how naive extraction turns "Hợp tác
// quốc tế" into "Hp tác quc t"), and its Page.Content positions glyphs with
// one byte per code, which is wrong for the two-byte CID fonts that Word and
// Foxit write. So the CMap and width handling is done here and the library
// is used for objects, streams and simple-font encodings.
type pdfFont struct {
	composite bool  // Type0: codes are usually two bytes
	codeSpace *cmap // code lengths of a composite font, when known
	toUnicode *cmap
	enc       pdf.TextEncoding // fallback decoder of a simple font
	glyphs    map[byte]string  // simple-font codes named uniXXXX in /Differences

	firstChar int
	widths    []float64          // simple fonts, glyph space units
	cidWidths map[uint32]float64 // composite fonts, glyph space units
	defWidth  float64
	scale     float64 // glyph space to text space: 1/1000, or Type3's FontMatrix

	// legacy is the vnlegacy encoding the BaseFont name implies (TCVN3,
	// VNI), "" for none; capitals marks the TCVN3 "H" fonts. The text of
	// such a font is its raw byte, carried as a private-use rune (see
	// legacyRune) until the page's lines are decoded by decodeLegacy.
	legacy   string
	capitals bool
}

// code is one character code of a shown string.
type code struct {
	raw   string
	value uint32
}

// newPDFFont reads the parts of a font dictionary that text extraction needs.
func newPDFFont(v pdf.Value) *pdfFont {
	f := &pdfFont{scale: 0.001}
	subtype := v.Key("Subtype").Name()
	f.composite = subtype == "Type0"
	if tu := v.Key("ToUnicode"); tu.Kind() == pdf.Stream {
		f.toUnicode = parseCMapStream(tu)
	}
	if f.composite {
		if enc := v.Key("Encoding"); enc.Kind() == pdf.Stream {
			f.codeSpace = parseCMapStream(enc)
		}
		if f.codeSpace == nil || len(f.codeSpace.space) == 0 {
			f.codeSpace = nil
		}
		f.readCIDWidths(v.Key("DescendantFonts").Index(0))
		return f
	}

	font := pdf.Font{V: v}
	f.enc = font.Encoder()
	f.legacy, f.capitals = vnlegacy.FontEncoding(v.Key("BaseFont").Name())
	f.firstChar = int(v.Key("FirstChar").Int64())
	ws := v.Key("Widths")
	for i := 0; i < ws.Len() && i < 256; i++ {
		f.widths = append(f.widths, ws.Index(i).Float64())
	}
	f.defWidth = v.Key("FontDescriptor").Key("MissingWidth").Float64()
	if f.defWidth == 0 {
		// Standard 14 fonts come without widths; an average advance keeps
		// the positions of glyphs within one string plausible.
		f.defWidth = 500
		if strings.Contains(v.Key("BaseFont").Name(), "Courier") {
			f.defWidth = 600
		}
	}
	if subtype == "Type3" {
		if m := v.Key("FontMatrix"); m.Len() == 6 && m.Index(0).Float64() != 0 {
			f.scale = m.Index(0).Float64()
		}
	}
	if enc := v.Key("Encoding"); enc.Kind() == pdf.Dict {
		f.glyphs = uniGlyphNames(enc.Key("Differences"))
	}
	return f
}

// readCIDWidths reads /DW and /W of a CIDFont.
func (f *pdfFont) readCIDWidths(desc pdf.Value) {
	f.defWidth = 1000
	if dw := desc.Key("DW"); dw.Kind() == pdf.Integer || dw.Kind() == pdf.Real {
		f.defWidth = dw.Float64()
	}
	w := desc.Key("W")
	n := w.Len()
	if n == 0 {
		return
	}
	f.cidWidths = make(map[uint32]float64)
	entries := 0
	for i := 0; i < n && entries < maxWidthArrays; {
		first := w.Index(i)
		if i+1 >= n {
			break
		}
		next := w.Index(i + 1)
		if next.Kind() == pdf.Array {
			c := uint32(first.Int64())
			for j := 0; j < next.Len() && entries < maxWidthArrays; j++ {
				f.cidWidths[c+uint32(j)] = next.Index(j).Float64()
				entries++
			}
			i += 2
			continue
		}
		if i+2 >= n {
			break
		}
		lo, hi := first.Int64(), next.Int64()
		width := w.Index(i + 2).Float64()
		for c := lo; c <= hi && entries < maxWidthArrays; c++ {
			f.cidWidths[uint32(c)] = width
			entries++
		}
		i += 3
	}
}

// uniGlyphNames maps the codes of an /Differences array whose glyph names
// spell their Unicode value (uni1EA1, u1EA1), which the library's glyph list
// does not know.
func uniGlyphNames(diffs pdf.Value) map[byte]string {
	var m map[byte]string
	c := 0
	for i := 0; i < diffs.Len(); i++ {
		x := diffs.Index(i)
		switch x.Kind() {
		case pdf.Integer:
			c = int(x.Int64())
			continue
		case pdf.Name:
			if s, ok := glyphNameText(x.Name()); ok && c >= 0 && c < 256 {
				if m == nil {
					m = make(map[byte]string)
				}
				m[byte(c)] = s
			}
			c++
		}
	}
	return m
}

// glyphNameText decodes the uniXXXX[XXXX…] and uXXXX[XX] glyph name forms.
func glyphNameText(name string) (string, bool) {
	if i := strings.IndexByte(name, '.'); i > 0 {
		name = name[:i] // "uni1EA1.sc"
	}
	var hex string
	var width int
	switch {
	case strings.HasPrefix(name, "uni") && len(name) >= 7 && (len(name)-3)%4 == 0:
		hex, width = name[3:], 4
	case strings.HasPrefix(name, "u") && len(name) >= 5 && len(name) <= 7:
		hex, width = name[1:], len(name)-1
	default:
		return "", false
	}
	var b strings.Builder
	for len(hex) > 0 {
		n, err := strconv.ParseUint(hex[:width], 16, 32)
		if err != nil || !utf8.ValidRune(rune(n)) {
			return "", false
		}
		b.WriteRune(rune(n))
		hex = hex[width:]
	}
	return b.String(), true
}

// appendCodes splits a shown string into character codes, appended to
// out.
func (f *pdfFont) appendCodes(out []code, s string) []code {
	if !f.composite {
		for i := 0; i < len(s); i++ {
			out = append(out, code{raw: s[i : i+1], value: uint32(s[i])})
		}
		return out
	}
	for len(s) > 0 {
		n := 2
		if f.codeSpace != nil {
			if k := f.codeSpace.codeLen(s); k > 0 {
				n = k
			}
		}
		if n > len(s) {
			n = len(s)
		}
		var v uint32
		for i := 0; i < n; i++ {
			v = v<<8 | uint32(s[i])
		}
		out = append(out, code{raw: s[:n], value: v})
		s = s[n:]
	}
	return out
}

// width is the advance of c in text space units per unit of font size.
func (f *pdfFont) width(c code) float64 {
	if f.composite {
		if w, ok := f.cidWidths[c.value]; ok {
			return w * f.scale
		}
		return f.defWidth * f.scale
	}
	i := int(c.value) - f.firstChar
	if i >= 0 && i < len(f.widths) && f.widths[i] != 0 {
		return f.widths[i] * f.scale
	}
	return f.defWidth * f.scale
}

// text is the Unicode text of c, "" when the font does not say.
func (f *pdfFont) text(c code) string {
	if f.legacy != "" && !f.composite {
		return string(legacyRune(f.legacy, f.capitals, byte(c.value)))
	}
	if f.toUnicode != nil {
		if s, ok := f.toUnicode.lookup(c.raw); ok {
			return s
		}
	}
	if f.composite {
		// A CID without a Unicode mapping: keep a visible trace so that
		// quality checks downstream can see the text is incomplete.
		return "\uFFFD"
	}
	if s, ok := f.glyphs[byte(c.value)]; ok {
		return s
	}
	if f.enc == nil {
		return string(rune(c.value))
	}
	return f.enc.Decode(c.raw)
}

// isSpace reports whether c is the single-byte code 32, the one code that
// word spacing (Tw) applies to.
func (f *pdfFont) isSpace(c code) bool {
	return len(c.raw) == 1 && c.raw[0] == ' '
}

// cmap is a parsed CMap: code space ranges and the bfchar/bfrange mappings
// of a ToUnicode stream.
type cmap struct {
	space  []codeRange
	chars  map[string]string
	ranges []bfRange
}

type codeRange struct {
	lo, hi string // same length
}

type bfRange struct {
	lo, hi uint32
	n      int      // code length in bytes
	base   []uint16 // UTF-16 of the first code's text, or nil
	array  []string // one text per code, or nil
}

// parseCMapStream reads a CMap stream, nil when it cannot be read.
func parseCMapStream(v pdf.Value) (m *cmap) {
	defer func() {
		if recover() != nil {
			m = nil // unknown filter, corrupt stream: no mapping
		}
	}()
	rc := v.Reader()
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxCMapBytes))
	if err != nil && len(data) == 0 {
		return nil
	}
	return parseCMap(data)
}

// parseCMap parses the subset of CMap syntax that ToUnicode and embedded
// encoding CMaps use. It never fails: what it cannot read it skips.
func parseCMap(data []byte) *cmap {
	m := &cmap{chars: make(map[string]string)}
	lx := cmapLexer{data: data}
	var operands []any
	for {
		tok, ok := lx.next()
		if !ok {
			break
		}
		kw, isKeyword := tok.(cmapKeyword)
		if !isKeyword {
			operands = append(operands, tok)
			if len(operands) > 3*10000 {
				operands = operands[:0] // garbage; do not grow without bound
			}
			continue
		}
		switch kw {
		case "endcodespacerange":
			for i := 0; i+1 < len(operands); i += 2 {
				lo, ok1 := operands[i].(string)
				hi, ok2 := operands[i+1].(string)
				if ok1 && ok2 && len(lo) == len(hi) && len(lo) > 0 && len(lo) <= 4 {
					m.space = append(m.space, codeRange{lo, hi})
				}
			}
		case "endbfchar":
			for i := 0; i+1 < len(operands); i += 2 {
				src, ok1 := operands[i].(string)
				if !ok1 || len(src) == 0 || len(src) > 4 {
					continue
				}
				switch dst := operands[i+1].(type) {
				case string:
					m.chars[src] = decodeUTF16BE(dst)
				case cmapName:
					if s, ok := glyphNameText(string(dst)); ok {
						m.chars[src] = s
					}
				}
			}
		case "endbfrange":
			for i := 0; i+2 < len(operands); i += 3 {
				m.addRange(operands[i], operands[i+1], operands[i+2])
			}
		}
		operands = operands[:0]
	}
	return m
}

func (m *cmap) addRange(loTok, hiTok, dst any) {
	lo, ok1 := loTok.(string)
	hi, ok2 := hiTok.(string)
	if !ok1 || !ok2 || len(lo) != len(hi) || len(lo) == 0 || len(lo) > 4 {
		return
	}
	r := bfRange{lo: beUint(lo), hi: beUint(hi), n: len(lo)}
	if r.hi < r.lo || r.hi-r.lo >= maxRangeSpan {
		return
	}
	switch d := dst.(type) {
	case string:
		if len(d) < 2 {
			return
		}
		r.base = make([]uint16, 0, len(d)/2)
		for i := 0; i+1 < len(d); i += 2 {
			r.base = append(r.base, uint16(d[i])<<8|uint16(d[i+1]))
		}
	case []any:
		for _, x := range d {
			s, _ := x.(string)
			r.array = append(r.array, decodeUTF16BE(s))
		}
	default:
		return
	}
	m.ranges = append(m.ranges, r)
}

// lookup returns the text of one code.
func (m *cmap) lookup(raw string) (string, bool) {
	if s, ok := m.chars[raw]; ok {
		return s, true
	}
	v := beUint(raw)
	for i := len(m.ranges) - 1; i >= 0; i-- {
		r := &m.ranges[i]
		if r.n != len(raw) || v < r.lo || v > r.hi {
			continue
		}
		off := v - r.lo
		if r.array != nil {
			if int(off) < len(r.array) {
				return r.array[off], true
			}
			return "", false
		}
		units := append([]uint16(nil), r.base...)
		units[len(units)-1] += uint16(off)
		return string(utf16.Decode(units)), true
	}
	return "", false
}

// codeLen is the length of the code at the start of s according to the
// code space ranges, 0 when none matches.
func (m *cmap) codeLen(s string) int {
	for n := 1; n <= 4 && n <= len(s); n++ {
		for _, r := range m.space {
			if len(r.lo) == n && r.lo <= s[:n] && s[:n] <= r.hi {
				return n
			}
		}
	}
	return 0
}

func beUint(s string) uint32 {
	var v uint32
	for i := 0; i < len(s); i++ {
		v = v<<8 | uint32(s[i])
	}
	return v
}

// decodeUTF16BE decodes a CMap destination string.
func decodeUTF16BE(s string) string {
	if len(s)%2 == 1 {
		return s // a single byte: treat as Latin-1-ish code
	}
	units := make([]uint16, 0, len(s)/2)
	for i := 0; i+1 < len(s); i += 2 {
		units = append(units, uint16(s[i])<<8|uint16(s[i+1]))
	}
	return string(utf16.Decode(units))
}

// cmapKeyword and cmapName are CMap tokens; strings are plain Go strings
// holding the raw bytes of <hex> and (literal) strings, arrays are []any.
type (
	cmapKeyword string
	cmapName    string
)

type cmapLexer struct {
	data  []byte
	pos   int
	depth int
}

func (lx *cmapLexer) next() (any, bool) {
	d := lx.data
	for lx.pos < len(d) {
		c := d[lx.pos]
		switch {
		case c == '%':
			for lx.pos < len(d) && d[lx.pos] != '\n' && d[lx.pos] != '\r' {
				lx.pos++
			}
		case isPDFSpace(c):
			lx.pos++
		case c == '<' && lx.pos+1 < len(d) && d[lx.pos+1] == '<':
			lx.pos += 2
			return cmapKeyword("<<"), true
		case c == '>' && lx.pos+1 < len(d) && d[lx.pos+1] == '>':
			lx.pos += 2
			return cmapKeyword(">>"), true
		case c == '<':
			return lx.hexString(), true
		case c == '(':
			return lx.literalString(), true
		case c == '/':
			lx.pos++
			return cmapName(lx.word()), true
		case c == '[':
			lx.pos++
			if lx.depth > 8 {
				return []any(nil), true
			}
			lx.depth++
			var arr []any
			for {
				tok, ok := lx.next()
				if !ok || tok == cmapKeyword("]") {
					break
				}
				arr = append(arr, tok)
			}
			lx.depth--
			return arr, true
		case c == ']' || c == '{' || c == '}' || c == ')' || c == '>':
			lx.pos++
			return cmapKeyword(string(c)), true
		default:
			w := lx.word()
			if w == "" {
				lx.pos++
				continue
			}
			if n, err := strconv.ParseFloat(w, 64); err == nil {
				return n, true
			}
			return cmapKeyword(w), true
		}
	}
	return nil, false
}

func (lx *cmapLexer) word() string {
	start := lx.pos
	for lx.pos < len(lx.data) {
		c := lx.data[lx.pos]
		if isPDFSpace(c) || strings.IndexByte("()<>[]{}/%", c) >= 0 {
			break
		}
		lx.pos++
	}
	return string(lx.data[start:lx.pos])
}

func (lx *cmapLexer) hexString() string {
	lx.pos++ // '<'
	var b []byte
	var hi byte
	half := false
	for lx.pos < len(lx.data) {
		c := lx.data[lx.pos]
		lx.pos++
		if c == '>' {
			break
		}
		v, ok := unhex(c)
		if !ok {
			continue
		}
		if half {
			b = append(b, hi<<4|v)
		} else {
			hi = v
		}
		half = !half
	}
	if half {
		b = append(b, hi<<4)
	}
	return string(b)
}

func (lx *cmapLexer) literalString() string {
	lx.pos++ // '('
	var b []byte
	depth := 1
	for lx.pos < len(lx.data) {
		c := lx.data[lx.pos]
		lx.pos++
		switch c {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return string(b)
			}
		case '\\':
			if lx.pos >= len(lx.data) {
				return string(b)
			}
			e := lx.data[lx.pos]
			lx.pos++
			switch e {
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			case '0', '1', '2', '3', '4', '5', '6', '7':
				v := int(e - '0')
				for k := 0; k < 2 && lx.pos < len(lx.data) && lx.data[lx.pos] >= '0' && lx.data[lx.pos] <= '7'; k++ {
					v = v*8 + int(lx.data[lx.pos]-'0')
					lx.pos++
				}
				c = byte(v)
			case '\r', '\n':
				continue
			default:
				c = e
			}
		}
		b = append(b, c)
	}
	return string(b)
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func isPDFSpace(c byte) bool {
	switch c {
	case 0, '\t', '\n', '\f', '\r', ' ':
		return true
	}
	return false
}
