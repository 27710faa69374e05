package extract

import (
	"cmp"
	"context"
	"math"
	"slices"
	"sort"
	"strings"
	"unicode"

	"github.com/ledongthuc/pdf"
)

// Layout tuning, in units of the font size. Chosen by comparing the output
// with pdftotext on the corpus (see TestCorpusAgainstPdftotext).
const (
	spaceGap       = 0.15 // a horizontal gap wider than this is a word space
	minGutter      = 1.0  // the narrowest gap that can separate columns
	gutterOverlap  = 0.8  // white space a neighbouring row must share with a gutter
	wideText       = 8.0  // text this wide on both sides of a gutter makes columns, not table cells
	rowTolerance   = 0.35 // baselines closer than this are one row
	blockLineGap   = 2.2  // a line further below its block's last line starts a new block
	paragraphGap   = 1.4  // × the block's usual line pitch: a paragraph break
	indentBreak    = 1.0  // a line starting this much right of the previous one starts a paragraph
	duplicateShift = 0.15 // same glyph redrawn within this distance: fake bold, drop it
)

// Limits per page, so that hostile content costs bounded time and memory.
const (
	maxGlyphsPerPage = 400_000
	maxFormDepth     = 8
	maxFormsPerPage  = 500
	maxBlocksOrdered = 300
)

// matrix is a PDF transformation matrix [a b c d e f].
type matrix [6]float64

var identity = matrix{1, 0, 0, 1, 0, 0}

// mul returns m×n: first m, then n.
func (m matrix) mul(n matrix) matrix {
	return matrix{
		m[0]*n[0] + m[1]*n[2],
		m[0]*n[1] + m[1]*n[3],
		m[2]*n[0] + m[3]*n[2],
		m[2]*n[1] + m[3]*n[3],
		m[4]*n[0] + m[5]*n[2] + n[4],
		m[4]*n[1] + m[5]*n[3] + n[5],
	}
}

func (m matrix) apply(x, y float64) (float64, float64) {
	return x*m[0] + y*m[2] + m[4], x*m[1] + y*m[3] + m[5]
}

func translate(x, y float64) matrix { return matrix{1, 0, 0, 1, x, y} }

func matrixOf(args []operand) (matrix, bool) {
	if len(args) != 6 {
		return identity, false
	}
	var m matrix
	for i := range m {
		m[i] = args[i].num
	}
	return m, true
}

// glyph is one decoded character code placed on the page. Coordinates are
// in the frame of its writing direction: x grows along the text, y grows
// up the page, so rotated text is laid out like horizontal text.
type glyph struct {
	x0, x1, y float64
	size      float64
	dir       int // quarter turns of the text direction, 0 = left to right
	text      string
	space     bool
}

// gstate is the part of the graphics state that text extraction needs.
type gstate struct {
	ctm                       matrix
	tc, tw, th, tl, tfs, rise float64
	font                      *pdfFont
}

// pageWalker interprets a page's content streams and collects its glyphs.
type pageWalker struct {
	ctx      context.Context
	fonts    *fontCache
	glyphs   []glyph
	forms    int
	open     []string // Form XObjects being interpreted, to refuse cycles
	full     bool     // glyph limit reached
	unmapped int      // glyphs without a Unicode mapping
	budget   int64    // decompressed content bytes left for the page
	refused  error    // why a content stream was skipped (checkContent)

	// legacy reads content streams with pdf.Interpret (after checkContent
	// has read them once); otherwise they are read once and tokenized by
	// contentLexer, and whatever that lexer does not mirror exactly sends
	// the page back to the legacy path (see pageLines).
	legacy bool
	// buf holds the inflated content read on the page by the fast path,
	// bounded by maxHeldContent; formData the parts of it that are Form
	// XObjects, by stream, for forms drawn more than once.
	buf      []byte
	formData map[string][]byte
	stk      []operand // the operand stack of the fast path, reused
	codes    []code    // the codes of the string being shown, reused
	arena    []operand // array elements of the current operands
}

// walkState is the state of interpreting one content stream (the page's,
// or a Form XObject's).
type walkState struct {
	w         *pageWalker
	resources pdf.Value
	depth     int
	g         gstate
	stack     []gstate
	tm, tlm   matrix
	local     map[string]*pdfFont // by resource name: cheaper than the document cache
}

// walk interprets one content stream (the page's, or a Form XObject's,
// then id is the form's stream) with the given resources and starting
// graphics state.
func (w *pageWalker) walk(content, resources pdf.Value, start gstate, depth int, id string) {
	st := &walkState{w: w, resources: resources, depth: depth, g: start, tm: identity, tlm: identity}
	if !w.legacy {
		w.walkFast(st, content, id)
		return
	}
	if err := checkContent(w.ctx, content, &w.budget); err != nil {
		if w.refused == nil {
			w.refused = err
		}
		return
	}
	var args []operand
	pdf.Interpret(content, func(stk *pdf.Stack, op string) {
		n := stk.Len()
		args = slices.Grow(args[:0], n)[:n]
		for i := n - 1; i >= 0; i-- {
			args[i] = operandOf(stk.Pop())
		}
		st.exec(opcodeOf(op), args)
	})
}

func (st *walkState) nextLine(tx, ty float64) {
	st.tlm = translate(tx, ty).mul(st.tlm)
	st.tm = st.tlm
}

func (st *walkState) show(s string) {
	if st.g.font == nil || st.w.full {
		return
	}
	st.tm = st.w.show(st.g, st.tm, s)
}

// exec runs one content-stream operator with its operands (all the
// operands since the previous operator, oldest first).
func (st *walkState) exec(op opcode, args []operand) {
	g := &st.g
	switch op {
	case opq:
		if len(st.stack) < 1000 {
			st.stack = append(st.stack, *g)
		}
	case opQ:
		if k := len(st.stack); k > 0 {
			*g = st.stack[k-1]
			st.stack = st.stack[:k-1]
		}
	case opcm:
		if m, ok := matrixOf(args); ok {
			g.ctm = m.mul(g.ctm)
		}
	case opBT:
		st.tm, st.tlm = identity, identity
	case opTc:
		if len(args) == 1 {
			g.tc = args[0].num
		}
	case opTw:
		if len(args) == 1 {
			g.tw = args[0].num
		}
	case opTz:
		if len(args) == 1 {
			g.th = args[0].num / 100
		}
	case opTL:
		if len(args) == 1 {
			g.tl = args[0].num
		}
	case opTs:
		if len(args) == 1 {
			g.rise = args[0].num
		}
	case opTf:
		if len(args) != 2 {
			return
		}
		name := args[0].name()
		f, ok := st.local[name]
		if !ok {
			f = st.w.fonts.named(st.resources.Key("Font"), name)
			if st.local == nil {
				st.local = map[string]*pdfFont{}
			}
			st.local[name] = f
		}
		g.font = f
		g.tfs = args[1].num
	case opTd, opTD:
		if len(args) != 2 {
			return
		}
		if op == opTD {
			g.tl = -args[1].num
		}
		st.nextLine(args[0].num, args[1].num)
	case opTm:
		if m, ok := matrixOf(args); ok {
			st.tm, st.tlm = m, m
		}
	case opTstar:
		st.nextLine(0, -g.tl)
	case opTj:
		if len(args) == 1 {
			st.show(args[0].rawString())
		}
	case opQuote:
		if len(args) == 1 {
			st.nextLine(0, -g.tl)
			st.show(args[0].rawString())
		}
	case opDquote:
		if len(args) == 3 {
			g.tw, g.tc = args[0].num, args[1].num
			st.nextLine(0, -g.tl)
			st.show(args[2].rawString())
		}
	case opTJ:
		if len(args) != 1 {
			return
		}
		for _, x := range args[0].arr {
			if x.kind == kindString {
				st.show(x.str)
				continue
			}
			st.tm = translate(-x.num/1000*g.tfs*g.th, 0).mul(st.tm)
		}
	case opDo:
		if len(args) == 1 && st.depth < maxFormDepth && st.w.forms < maxFormsPerPage {
			st.w.form(st.resources, args[0].name(), *g, st.depth)
		}
	}
}

// form interprets a Form XObject drawn with Do.
func (w *pageWalker) form(resources pdf.Value, name string, g gstate, depth int) {
	x := resources.Key("XObject").Key(name)
	if x.Kind() != pdf.Stream || x.Key("Subtype").Name() != "Form" {
		return
	}
	id := x.String() // names the stream's offset in the file
	if slices.Contains(w.open, id) {
		return // a form that draws itself, directly or not
	}
	w.open = append(w.open, id)
	defer func() { w.open = w.open[:len(w.open)-1] }()
	w.forms++
	if m, ok := matrixOf(arrayOperands(x.Key("Matrix"))); ok {
		g.ctm = m.mul(g.ctm)
	}
	res := x.Key("Resources")
	if res.Kind() != pdf.Dict {
		res = resources
	}
	w.walk(x, res, g, depth+1, id)
}

func arrayOperands(v pdf.Value) []operand {
	out := make([]operand, v.Len())
	for i := range out {
		out[i] = operandOf(v.Index(i))
	}
	return out
}

// show places the glyphs of one shown string and returns the text matrix
// after it.
func (w *pageWalker) show(g gstate, tm matrix, s string) matrix {
	f := g.font
	th := g.th
	m := tm.mul(g.ctm)
	size := math.Abs(g.tfs) * math.Hypot(m[2], m[3])
	if size == 0 || math.IsNaN(size) || math.IsInf(size, 0) {
		size = 1
	}
	dir := quarterTurns(m[0], m[1])
	tx := 0.0
	w.codes = f.appendCodes(w.codes[:0], s)
	for _, c := range w.codes {
		wd := f.width(c)
		x0, y0 := m.apply(tx, g.rise)
		x1, y1 := m.apply(tx+wd*g.tfs*th, g.rise)
		adv := wd*g.tfs + g.tc
		if f.isSpace(c) { // word spacing applies to code 32, whatever it shows
			adv += g.tw
		}
		tx += adv * th
		text := f.text(c)
		if text == "" {
			continue
		}
		if text == "\uFFFD" {
			w.unmapped++
		}
		if len(w.glyphs) >= maxGlyphsPerPage {
			w.full = true
			break
		}
		a0, b0 := toFrame(dir, x0, y0)
		a1, _ := toFrame(dir, x1, y1)
		if a1 < a0 {
			a0, a1 = a1, a0
		}
		w.glyphs = append(w.glyphs, glyph{
			x0: a0, x1: a1, y: b0, size: size, dir: dir, text: text,
			space: strings.TrimSpace(text) == "",
		})
	}
	return translate(tx, 0).mul(tm)
}

// quarterTurns rounds the direction of the vector (a, b) to 0–3 quarter turns.
func quarterTurns(a, b float64) int {
	angle := math.Atan2(b, a)
	q := int(math.Round(angle/(math.Pi/2))) % 4
	if q < 0 {
		q += 4
	}
	return q
}

// toFrame maps a device point into the frame of writing direction dir.
func toFrame(dir int, x, y float64) (along, across float64) {
	switch dir {
	case 1:
		return y, -x
	case 2:
		return -x, -y
	case 3:
		return -y, x
	}
	return x, y
}

// segment is the part of a row on one side of the column gutters: a line
// of a block.
type segment struct {
	glyphs    []glyph
	x0, x1, y float64
	size      float64
}

func newSegment(gs []glyph) *segment {
	s := &segment{glyphs: gs, x0: math.Inf(1), x1: math.Inf(-1), y: gs[0].y}
	for _, g := range gs {
		s.x0 = min(s.x0, g.x0)
		s.x1 = max(s.x1, g.x1)
		if g.size > s.size {
			s.size = g.size
			s.y = g.y // the baseline of the largest glyph, not a superscript
		}
	}
	return s
}

// block is a column-like run of lines that read one after the other.
type block struct {
	lines                  []*segment
	minX, maxX, minY, maxY float64
}

func (b *block) add(s *segment) {
	if len(b.lines) == 0 {
		b.minX, b.maxX, b.minY, b.maxY = s.x0, s.x1, s.y, s.y+s.size
	}
	b.lines = append(b.lines, s)
	b.minX, b.maxX = min(b.minX, s.x0), max(b.maxX, s.x1)
	b.minY, b.maxY = min(b.minY, s.y), max(b.maxY, s.y+s.size)
}

// pageText lays out glyphs as text lines in reading order: blocks (columns,
// header cells) one after the other, lines top to bottom, "" between
// paragraphs and blocks.
//
// pageText reorders glyphs in place.
func pageText(glyphs []glyph) []string {
	byDir := map[int][]glyph{}
	count := map[int]int{}
	for _, g := range glyphs {
		count[g.dir]++
	}
	if len(count) == 1 {
		byDir[glyphs[0].dir] = glyphs // one direction, the usual case: no copy
	} else {
		for _, g := range glyphs {
			if byDir[g.dir] == nil {
				byDir[g.dir] = make([]glyph, 0, count[g.dir])
			}
			byDir[g.dir] = append(byDir[g.dir], g)
		}
	}
	dirs := make([]int, 0, len(byDir))
	for d := range byDir {
		dirs = append(dirs, d)
	}
	// Horizontal text first, then the other directions, most text first.
	sort.Slice(dirs, func(i, j int) bool {
		if (dirs[i] == 0) != (dirs[j] == 0) {
			return dirs[i] == 0
		}
		return len(byDir[dirs[i]]) > len(byDir[dirs[j]])
	})
	var lines []string
	for _, d := range dirs {
		for _, b := range orderBlocks(buildBlocks(segments(rows(byDir[d])))) {
			if len(lines) > 0 {
				lines = append(lines, "")
			}
			lines = append(lines, b.text()...)
		}
	}
	return lines
}

// row is the glyphs on one baseline, left to right.
type row struct {
	glyphs []glyph
	y      float64
	size   float64
	free   []interval // horizontal white space, including both margins
}

type interval struct{ lo, hi float64 }

// rows groups glyphs into baselines, top to bottom. A glyph joins the row
// above when its baseline is within rowTolerance of the row's largest
// glyph; a smaller glyph (a superscript, a footnote mark) may be off by
// half the row's size.
func rows(gs []glyph) []*row {
	sort.SliceStable(gs, func(i, j int) bool { return gs[i].y > gs[j].y })
	var out []*row
	start := 0
	refY, refSize := 0.0, 0.0
	flush := func(end int) {
		if end > start {
			out = append(out, newRow(gs[start:end:end], refY, refSize))
		}
		start = end
	}
	for i, g := range gs {
		if i > start {
			big, small := max(g.size, refSize), min(g.size, refSize)
			tol := rowTolerance * big
			if small < 0.8*big {
				tol = 0.5 * big
			}
			if math.Abs(g.y-refY) > tol {
				flush(i)
			}
		}
		if i == start || g.size > refSize {
			refY, refSize = g.y, g.size
		}
	}
	flush(len(gs))
	return out
}

// newRow makes the row of glyphs gs, which it sorts in place and keeps.
func newRow(gs []glyph, y, size float64) *row {
	r := &row{glyphs: gs, y: y, size: size}
	sort.SliceStable(r.glyphs, func(i, j int) bool { return r.glyphs[i].x0 < r.glyphs[j].x0 })
	end := math.Inf(-1)
	for _, g := range r.glyphs {
		if g.space {
			continue
		}
		if g.x0-end > spaceGap*size {
			r.free = append(r.free, interval{end, g.x0})
		}
		end = max(end, g.x1)
	}
	r.free = append(r.free, interval{end, math.Inf(1)})
	return r
}

// freeOver reports whether the row has white space overlapping [lo, hi]
// by at least width.
func (r *row) freeOver(lo, hi, width float64) bool {
	for _, f := range r.free {
		if min(hi, f.hi)-max(lo, f.lo) >= width {
			return true
		}
	}
	return false
}

// gutter is a vertical strip of white space running down consecutive rows
// (first to last) between two columns of glyphs.
type gutter struct {
	lo, hi      float64
	first, last int
	twoSided    int // rows with glyphs on both sides
	wide        int // of those, rows where both sides are text-wide
}

// segments cuts rows at column gutters. A gap of at least minGutter starts
// a gutter when the row above or below has white space at the same place
// (a wide word space in justified text does not line up with the next
// row's); the gutter runs down while the rows keep white space there. Rows
// are cut at a gutter only if the text on both sides is mostly at least
// wideText wide: two-column pages are read column after column, while
// tables, whose cells are narrow, are read row by row, which keeps each
// figure next to its label.
func segments(rs []*row) [][]*segment {
	var all, active []*gutter
	for i, r := range rs {
		near := func(j int) bool {
			return j >= 0 && j < len(rs) && math.Abs(rs[j].y-r.y) <= 3*max(r.size, rs[j].size)
		}
		var still []*gutter
		for _, g := range active {
			if near(i-1) && r.freeOver(g.lo, g.hi, gutterOverlap*r.size) {
				g.last = i
				still = append(still, g)
			}
		}
		for _, gap := range r.gaps(minGutter * r.size) {
			var cont *gutter
			for _, g := range still {
				if min(g.hi, gap.hi)-max(g.lo, gap.lo) >= gutterOverlap*r.size {
					cont = g
				}
			}
			if cont != nil {
				// Narrow the gutter to this row's gap where that keeps it.
				if lo, hi := max(cont.lo, gap.lo), min(cont.hi, gap.hi); hi-lo >= gutterOverlap*r.size {
					cont.lo, cont.hi = lo, hi
				}
				continue
			}
			confirmed := false
			for _, j := range []int{i - 1, i + 1} {
				if near(j) && rs[j].freeOver(gap.lo, gap.hi, gutterOverlap*r.size) {
					confirmed = true
				}
			}
			if confirmed {
				g := &gutter{lo: gap.lo, hi: gap.hi, first: i, last: i}
				still = append(still, g)
				all = append(all, g)
			}
		}
		active = still
	}

	cuts := make([][]float64, len(rs))
	for _, g := range all {
		mid := (g.lo + g.hi) / 2
		for i := g.first; i <= g.last; i++ {
			l, r := rs[i].sides(mid)
			if l > 0 && r > 0 {
				g.twoSided++
				if l >= wideText*rs[i].size && r >= wideText*rs[i].size {
					g.wide++
				}
			}
		}
		if g.twoSided == 0 || 2*g.wide < g.twoSided {
			continue
		}
		for i := g.first; i <= g.last; i++ {
			cuts[i] = append(cuts[i], mid)
		}
	}

	out := make([][]*segment, len(rs))
	for i, r := range rs {
		slices.Sort(cuts[i])
		start := 0
		for k, g := range r.glyphs {
			if len(cuts[i]) > 0 && g.x0 >= cuts[i][0] {
				if s := trimSegment(r.glyphs[start:k]); s != nil {
					out[i] = append(out[i], s)
				}
				start = k
				for len(cuts[i]) > 0 && g.x0 >= cuts[i][0] {
					cuts[i] = cuts[i][1:]
				}
			}
		}
		if s := trimSegment(r.glyphs[start:]); s != nil {
			out[i] = append(out[i], s)
		}
	}
	return out
}

// gaps returns the row's gaps between glyphs wider than minWidth.
func (r *row) gaps(minWidth float64) []interval {
	var out []interval
	for _, f := range r.free {
		if !math.IsInf(f.lo, 0) && !math.IsInf(f.hi, 0) && f.hi-f.lo >= minWidth {
			out = append(out, f)
		}
	}
	return out
}

// sides measures the runs of text just left and right of x: how far they
// reach before a gap of minGutter or more. 0 means no glyph on that side.
func (r *row) sides(x float64) (left, right float64) {
	gs := r.glyphs
	k := sort.Search(len(gs), func(i int) bool { return gs[i].x0 >= x })
	gapMax := minGutter * r.size
	// Left run: back from k-1.
	end, start := math.Inf(-1), math.Inf(1)
	for i := k - 1; i >= 0; i-- {
		g := gs[i]
		if g.space {
			continue
		}
		if start < math.Inf(1) && start-g.x1 > gapMax {
			break
		}
		end = max(end, g.x1)
		start = min(start, g.x0)
	}
	if end > start {
		left = end - start
	}
	end, start = math.Inf(-1), math.Inf(1)
	for i := k; i < len(gs); i++ {
		g := gs[i]
		if g.space {
			continue
		}
		if end > math.Inf(-1) && g.x0-end > gapMax {
			break
		}
		start = min(start, g.x0)
		end = max(end, g.x1)
	}
	if end > start {
		right = end - start
	}
	return left, right
}

// trimSegment drops leading and trailing spaces; nil when nothing is left.
func trimSegment(gs []glyph) *segment {
	for len(gs) > 0 && gs[0].space {
		gs = gs[1:]
	}
	for len(gs) > 0 && gs[len(gs)-1].space {
		gs = gs[:len(gs)-1]
	}
	if len(gs) == 0 {
		return nil
	}
	return newSegment(gs)
}

// buildBlocks assigns each segment, top to bottom, to the block whose last
// line is just above it and overlaps it horizontally, or starts a block.
func buildBlocks(rows [][]*segment) []*block {
	var blocks []*block
	for _, row := range rows {
		for _, s := range row {
			var best *block
			bestDY := math.Inf(1)
			for _, b := range blocks {
				last := b.lines[len(b.lines)-1]
				if s.x1 <= last.x0 || s.x0 >= last.x1 {
					continue
				}
				dy := last.y - s.y
				if dy < rowTolerance*s.size || dy > blockLineGap*max(s.size, last.size) {
					continue // the same row (another column), or too far below
				}
				if dy < bestDY {
					best, bestDY = b, dy
				}
			}
			if best == nil {
				best = &block{}
				blocks = append(blocks, best)
			}
			best.add(s)
		}
	}
	return blocks
}

// orderBlocks puts blocks in reading order: a block comes before another
// one that is below it, or to its right at the same height.
func orderBlocks(blocks []*block) []*block {
	byTop := slices.Clone(blocks)
	sort.SliceStable(byTop, func(i, j int) bool { return byTop[i].maxY > byTop[j].maxY })
	if len(byTop) > maxBlocksOrdered {
		return byTop
	}
	before := func(a, b *block) bool {
		vOverlap := a.minY < b.maxY && b.minY < a.maxY
		if vOverlap {
			return a.maxX <= b.minX+1
		}
		return a.minY >= b.maxY
	}
	out := make([]*block, 0, len(byTop))
	done := make([]bool, len(byTop))
	for len(out) < len(byTop) {
		pick := -1
		for i, b := range byTop {
			if done[i] {
				continue
			}
			free := true
			for j, o := range byTop {
				if !done[j] && j != i && before(o, b) {
					free = false
					break
				}
			}
			if free {
				pick = i
				break
			}
		}
		if pick < 0 { // a cycle: take the highest remaining block
			for i := range byTop {
				if !done[i] {
					pick = i
					break
				}
			}
		}
		done[pick] = true
		out = append(out, byTop[pick])
	}
	return out
}

// text renders a block's lines, with "" where the layout shows a paragraph
// break: a larger gap than the usual pitch of lines of that size, or a
// first-line indent.
func (b *block) text() []string {
	pitch := func(size float64) float64 {
		var ds []float64
		for i := 1; i < len(b.lines); i++ {
			p, c := b.lines[i-1], b.lines[i]
			if similar(p.size, size) && similar(c.size, size) {
				ds = append(ds, p.y-c.y)
			}
		}
		if len(ds) == 0 {
			return 1.25 * size
		}
		sort.Float64s(ds)
		return ds[len(ds)/2]
	}
	pitches := map[float64]float64{}
	var out []string
	for i, l := range b.lines {
		if i > 0 {
			prev := b.lines[i-1]
			p, ok := pitches[l.size]
			if !ok {
				p = pitch(l.size)
				pitches[l.size] = p
			}
			dy := prev.y - l.y
			// An indent moves the start of a line but not its end; a
			// centred line moves both.
			indented := l.x0 > prev.x0+indentBreak*l.size && l.x1 > prev.x1-indentBreak*l.size
			if dy > paragraphGap*max(p, l.size) || indented {
				out = append(out, "")
			}
		}
		out = append(out, lineText(l.glyphs))
	}
	return out
}

// similar reports whether two font sizes are within 10%.
func similar(a, b float64) bool {
	return math.Abs(a-b) <= 0.1*max(a, b)
}

// lineText joins a line's glyphs, inserting spaces where the gap between
// glyphs is wide enough to be one; many PDFs draw no space glyphs at all.
func lineText(gs []glyph) string {
	if !slices.IsSortedFunc(gs, func(a, b glyph) int { return cmp.Compare(a.x0, b.x0) }) {
		gs = slices.Clone(gs) // usually sorted already: a segment of a row (newRow)
		sort.SliceStable(gs, func(i, j int) bool { return gs[i].x0 < gs[j].x0 })
	}
	var b strings.Builder
	end := math.Inf(-1)
	var prev *glyph
	pendingSpace := false
	for i := range gs {
		g := &gs[i]
		if g.space {
			pendingSpace = b.Len() > 0
			end = max(end, g.x1)
			continue
		}
		if prev != nil && prev.text == g.text && math.Abs(prev.x0-g.x0) < duplicateShift*g.size && math.Abs(prev.y-g.y) < duplicateShift*g.size {
			continue
		}
		if b.Len() > 0 && !isMark(g.text) && (pendingSpace || g.x0-end > spaceGap*min(g.size, prev.size)) {
			b.WriteByte(' ')
		}
		pendingSpace = false
		b.WriteString(g.text)
		end = max(end, g.x1)
		prev = g
	}
	return b.String()
}

// isMark reports whether s starts with a combining mark, which belongs to
// the letter before it whatever the gap.
func isMark(s string) bool {
	for _, r := range s {
		return unicode.Is(unicode.Mn, r)
	}
	return false
}
