package extractive

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/bantin/bantin/internal/model"
	"github.com/bantin/bantin/internal/vntext"
)

// Scoring knobs. They were set on the VietNews sample and on hand-written
// provincial reports; change them with the ROUGE log of the corpus test
// in view.
const (
	centroidTerms = 100  // terms kept in the document centroid
	mmrLambda     = 0.7  // relevance vs. novelty in MMR
	maxRedundancy = 0.75 // cosine above which a sentence repeats one chosen
	leadFloor     = 0.2
	leadHalf      = 2.0
	figureBoost   = 0.1  // summary: a sentence with a figure
	bulletFigure  = 0.25 // bullets: a sentence with a figure
	bulletAction  = 0.25 // bullets: a decision, target or assignment
	shortSyl      = 10   // sentences shorter than this are penalised

	centroidWeight = 0.5  // centroid similarity vs. TextRank centrality
	rankDamping    = 0.85 // PageRank damping
	rankIterations = 30   // power iterations (converged well before)
)

// sentence is a candidate sentence of the report.
type sentence struct {
	pos      int    // order among the candidates
	page     int    // page of its paragraph
	raw      string // as split from the paragraph
	display  string // cleaned and shortened for the digest
	syl      []string
	vec      vector
	figures  []string // Text of the figures it holds
	decision bool     // states a decision, target or assignment
	score    float64
}

// bulletScore prefers sentences that carry figures and decisions.
func (c *sentence) bulletScore() float64 {
	b := 1.0
	if len(c.figures) > 0 {
		b += bulletFigure
	}
	if c.decision {
		b += bulletAction
	}
	return c.score * b
}

// term is one weighted dimension of a sparse vector.
type term struct {
	id int
	w  float64
}

// vector is a sparse vector sorted by term id. Slices rather than maps keep
// the float arithmetic in a fixed order, so scores are reproducible to the
// last bit and the digest is deterministic.
type vector []term

func (v vector) norm() float64 {
	var s float64
	for _, t := range v {
		s += t.w * t.w
	}
	return math.Sqrt(s)
}

func cosine(a, b vector) float64 { return cosineNorms(a, b, a.norm(), b.norm()) }

// cosineNorms is cosine with the norms of a and b already computed.
func cosineNorms(a, b vector, na, nb float64) float64 {
	if na == 0 || nb == 0 {
		return 0
	}
	var dot float64
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i].id < b[j].id:
			i++
		case a[i].id > b[j].id:
			j++
		default:
			dot += a[i].w * b[j].w
			i++
			j++
		}
	}
	return dot / (na * nb)
}

// document holds the candidate sentences of a report, scored.
type document struct {
	sents []*sentence
}

// analyse splits the paragraphs into sentences, drops boilerplate and
// headings, and scores what is left.
func analyse(paras []model.Paragraph) *document {
	d := &document{}
	seen := make(map[string]bool)
	for _, p := range paras {
		for _, raw := range vntext.SplitSentences(p.Text) {
			if isBoilerplate(raw) || isHeading(raw) {
				continue
			}
			display, ok := clean(raw)
			if !ok || seen[display] {
				continue // repeated page headers and footers count once
			}
			syl := vntext.Syllables(display)
			if len(syl) < 5 {
				continue
			}
			seen[display] = true
			c := &sentence{
				pos:      len(d.sents),
				page:     p.Page,
				raw:      raw,
				display:  display,
				syl:      syl,
				decision: hasDecision(syl),
			}
			for _, f := range vntext.Figures(display) {
				c.figures = append(c.figures, f.Text)
			}
			d.sents = append(d.sents, c)
		}
	}
	d.score()
	return d
}

// score builds tf-idf vectors of content syllables and syllable bigrams and
// scores each sentence by its cosine to the document centroid, weighted by
// position.
func (d *document) score() {
	ids := make(map[string]int)
	tfs := make([]map[int]float64, len(d.sents))
	df := make(map[int]int)
	for i, c := range d.sents {
		tf := make(map[int]float64)
		add := func(t string) {
			id, ok := ids[t]
			if !ok {
				id = len(ids)
				ids[t] = id
			}
			if tf[id] == 0 {
				df[id]++
			}
			tf[id]++
		}
		for j, s := range c.syl {
			if !isContent(s) {
				continue
			}
			add(s)
			if j+1 < len(c.syl) && isContent(c.syl[j+1]) {
				add(s + " " + c.syl[j+1])
			}
		}
		tfs[i] = tf
	}
	n := float64(len(d.sents))
	centroid := make(map[int]float64)
	for i, c := range d.sents {
		v := make(vector, 0, len(tfs[i]))
		for id, tf := range tfs[i] {
			v = append(v, term{id, (1 + math.Log(tf)) * math.Log(1+n/float64(df[id]))})
		}
		slices.SortFunc(v, func(a, b term) int { return a.id - b.id })
		c.vec = v
		for _, t := range v {
			centroid[t.id] += t.w
		}
	}
	cv := make(vector, 0, len(centroid))
	for id, w := range centroid {
		cv = append(cv, term{id, w})
	}
	// Keep the heaviest terms; ties by id, so the cut is reproducible.
	slices.SortFunc(cv, func(a, b term) int {
		if a.w != b.w {
			if a.w > b.w {
				return -1
			}
			return 1
		}
		return a.id - b.id
	})
	cv = cv[:min(len(cv), centroidTerms)]
	slices.SortFunc(cv, func(a, b term) int { return a.id - b.id })

	rank := d.textRank()
	for i, c := range d.sents {
		lead := leadFloor + (1-leadFloor)/(1+float64(c.pos)/leadHalf)
		s := (centroidWeight*cosine(c.vec, cv) + (1-centroidWeight)*rank[i]) * lead
		if len(c.figures) > 0 {
			s *= 1 + figureBoost
		}
		if len(c.syl) < shortSyl {
			s *= 0.8
		}
		c.score = s
	}
}

// textRank is each sentence's centrality: PageRank over the graph of
// cosine similarities between sentences (LexRank, continuous), scaled so
// that the most central sentence has 1. The iteration count is fixed and
// the sums run in sentence order, so the result is deterministic.
func (d *document) textRank() []float64 {
	n := len(d.sents)
	out := make([]float64, n)
	norms := make([]float64, n)
	for i, s := range d.sents {
		norms[i] = s.vec.norm()
	}
	// rows[i] holds the sentences j that share a term with i, in
	// ascending j, with their similarity; the zeros of the similarity
	// matrix are left out (adding them changed nothing), so memory grows
	// with the pairs that share a term, not with n².
	type edge struct {
		j int
		w float64
	}
	rows := make([][]edge, n)
	deg := make([]float64, n)
	// The dot products come from an inverted index: for sentence i, each
	// of its terms in ascending id adds w_i·w_j to every later sentence j
	// that has it. Each pair's products are summed in ascending term id,
	// as cosine's merge does, so the similarities are the same numbers;
	// pairs that share no term cost nothing.
	type posting struct {
		i int
		w float64
	}
	index := map[int][]posting{}
	for i, s := range d.sents {
		for _, t := range s.vec {
			index[t.id] = append(index[t.id], posting{i, t.w})
		}
	}
	dot := make([]float64, n)
	seen := make([]bool, n)
	var touched []int
	for i, s := range d.sents {
		if norms[i] == 0 {
			continue
		}
		touched = touched[:0]
		for _, t := range s.vec {
			ps := index[t.id]
			// Postings are in ascending sentence order; skip to j > i.
			k, _ := slices.BinarySearchFunc(ps, i+1, func(p posting, target int) int { return cmp.Compare(p.i, target) })
			for _, p := range ps[k:] {
				if !seen[p.i] {
					seen[p.i] = true
					touched = append(touched, p.i)
				}
				dot[p.i] += t.w * p.w
			}
		}
		slices.Sort(touched)
		for _, j := range touched {
			c := 0.0
			if norms[j] != 0 {
				c = dot[j] / (norms[i] * norms[j])
			}
			dot[j], seen[j] = 0, false
			if c == 0 {
				continue
			}
			rows[i] = append(rows[i], edge{j, c})
			rows[j] = append(rows[j], edge{i, c})
			deg[i] += c
			deg[j] += c
		}
	}
	// The transition weight from j to i is sim[j][i]/deg[j]; sim is
	// symmetric, so row i holds them. The power iteration adds the same
	// terms in the same order as over the dense matrix.
	for _, es := range rows {
		for k := range es {
			es[k].w /= deg[es[k].j]
		}
	}
	rank := make([]float64, n)
	for i := range rank {
		rank[i] = 1 / float64(n)
	}
	next := make([]float64, n)
	for range rankIterations {
		for i := range n {
			var s float64
			for _, e := range rows[i] {
				s += e.w * rank[e.j]
			}
			next[i] = (1-rankDamping)/float64(n) + rankDamping*s
		}
		rank, next = next, rank
	}
	var top float64
	for _, r := range rank {
		top = max(top, r)
	}
	for i, r := range rank {
		if top > 0 {
			out[i] = r / top
		}
	}
	return out
}

// selectMMR picks up to k sentences not in chosen by maximal marginal
// relevance: relevance (rel, scaled to the best candidate) against the
// highest similarity to anything chosen so far, chosen included. Sentences
// that nearly repeat a chosen one are skipped while others remain.
func (d *document) selectMMR(chosen []*sentence, k int, rel func(*sentence) float64) []*sentence {
	taken := make(map[*sentence]bool)
	for _, c := range chosen {
		taken[c] = true
	}
	var best float64
	for _, c := range d.sents {
		best = max(best, rel(c))
	}
	if best == 0 {
		best = 1
	}
	var out []*sentence
	for len(out) < k {
		var pick *sentence
		pickVal, pickRedundant := math.Inf(-1), true
		for _, c := range d.sents {
			if taken[c] {
				continue
			}
			var sim float64
			for _, o := range chosen {
				sim = max(sim, cosine(c.vec, o.vec))
			}
			for _, o := range out {
				sim = max(sim, cosine(c.vec, o.vec))
			}
			redundant := sim > maxRedundancy
			val := mmrLambda*rel(c)/best - (1-mmrLambda)*sim
			// Strictly better only, so ties go to the earlier sentence.
			if pick == nil || (pickRedundant && !redundant) || (redundant == pickRedundant && val > pickVal) {
				pick, pickVal, pickRedundant = c, val, redundant
			}
		}
		if pick == nil {
			break
		}
		taken[pick] = true
		out = append(out, pick)
	}
	return out
}

// byScore returns the sentences from best to worst score.
func (d *document) byScore(ss []*sentence) []*sentence {
	out := slices.Clone(ss)
	slices.SortStableFunc(out, func(a, b *sentence) int {
		switch {
		case a.score > b.score:
			return -1
		case a.score < b.score:
			return 1
		}
		return a.pos - b.pos
	})
	return out
}

func sortByPosition(ss []*sentence) {
	slices.SortFunc(ss, func(a, b *sentence) int { return a.pos - b.pos })
}

// isContent reports whether a syllable carries meaning for scoring: not a
// stop word, not a bare number.
func isContent(s string) bool {
	if stopWords[s] {
		return false
	}
	r, _ := utf8.DecodeRuneInString(s)
	return !unicode.IsDigit(r)
}

// decisionWords are syllable sequences that mark a decision, a target or an
// assignment, which make the best bullets of meeting reports.
var decisionWords = [][]string{
	{"giao"}, {"yêu", "cầu"}, {"chỉ", "đạo"}, {"phấn", "đấu"}, {"đề", "nghị"},
	{"thống", "nhất"}, {"kết", "luận"}, {"quyết", "nghị"}, {"thông", "qua"},
	{"chỉ", "tiêu"}, {"mục", "tiêu"}, {"nhiệm", "vụ"}, {"giải", "pháp"},
	{"đẩy", "mạnh"}, {"tập", "trung"}, {"khẩn", "trương"}, {"chủ", "trì"},
	{"phê", "duyệt"}, {"ban", "hành"}, {"đồng", "ý"}, {"cần"},
}

// notAssignment follows "giao" when it does not mean "assign": giao thông
// (traffic), giao dịch (trade), bàn giao (hand over) is caught by the
// syllable before.
var notAssignment = map[string]bool{
	"thông": true, "dịch": true, "lưu": true, "thương": true, "tiếp": true,
	"hữu": true, "hàng": true, "nhận": true, "thoa": true, "cắt": true, "tranh": true,
}

func hasDecision(syl []string) bool {
	for i := range syl {
		for _, w := range decisionWords {
			if i+len(w) > len(syl) || !slices.Equal(syl[i:i+len(w)], w) {
				continue
			}
			if w[0] == "giao" {
				if (i+1 < len(syl) && notAssignment[syl[i+1]]) || (i > 0 && syl[i-1] == "bàn") {
					continue
				}
			}
			return true
		}
	}
	return false
}

// clean turns a split sentence into digest text: list markers and bullets
// dropped, a run-on cut at a clause boundary near maxSyl syllables, and a
// final full stop where the sentence had none. ok is false when the
// sentence is too long to cut well.
func clean(raw string) (string, bool) {
	s := strings.TrimSpace(listMarker.ReplaceAllString(raw, ""))
	if s == "" {
		return "", false
	}
	if strings.HasPrefix(s, "\" ") && strings.Count(s, "\"")%2 == 1 {
		s = s[2:] // the quote opened in an earlier sentence: `" Nam thanh niên …`
	}
	if r, size := utf8.DecodeRuneInString(s); unicode.IsLower(r) {
		s = string(unicode.ToUpper(r)) + s[size:] // "a) diện tích …" → "Diện tích …"
	}
	words := strings.Fields(s)
	counts := make([]int, len(words)) // syllables up to and including word i
	total := 0
	for i, w := range words {
		total += len(vntext.Syllables(w))
		counts[i] = total
	}
	if total > maxSyl {
		cut, end := -1, ""
		// Prefer the last ';' before the limit, then the last ','.
		for _, p := range []struct {
			sep    string
			minSyl int
			end    string
		}{{";", 15, "."}, {",", 25, "…"}} {
			for i := len(words) - 2; i >= 0; i-- {
				if counts[i] <= maxSyl && counts[i] >= p.minSyl && strings.HasSuffix(words[i], p.sep) && balanced(words[:i+1]) {
					cut, end = i, p.end
					break
				}
			}
			if cut >= 0 {
				break
			}
		}
		switch {
		case cut >= 0:
			s = strings.TrimRight(strings.Join(words[:cut+1], " "), ";,") + end
		case total > maxSylUncut:
			return "", false
		}
	}
	if r, _ := utf8.DecodeLastRuneInString(strings.TrimRight(s, "\"”’)]»")); !strings.ContainsRune(".!?…", r) {
		s = strings.TrimRight(s, ";:,-–— ") + "."
	}
	return s, true
}

const (
	maxSyl      = 60 // sentences longer than this are cut at a clause boundary…
	maxSylUncut = 80 // …or, when they have none, dropped above this
)

// balanced reports whether the words close every bracket and curly quote
// they open, so that a cut after them leaves no "(SN 1970…".
func balanced(words []string) bool {
	depth := 0
	for _, w := range words {
		for _, r := range w {
			switch r {
			case '(', '[', '“':
				depth++
			case ')', ']', '”':
				depth--
			}
		}
	}
	return depth <= 0
}
