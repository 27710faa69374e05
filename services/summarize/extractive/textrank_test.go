package extractive

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/bantin/bantin/internal/model"
)

// denseTextRank is TextRank over the full similarity matrix, as it was
// written first: the reference the sparse textRank must match exactly.
func denseTextRank(d *document) []float64 {
	n := len(d.sents)
	sim := make([][]float64, n)
	for i := range sim {
		sim[i] = make([]float64, n)
	}
	deg := make([]float64, n)
	for i := range n {
		for j := i + 1; j < n; j++ {
			c := cosine(d.sents[i].vec, d.sents[j].vec)
			sim[i][j], sim[j][i] = c, c
			deg[i] += c
			deg[j] += c
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
			for j := range n {
				if deg[j] > 0 {
					s += sim[j][i] / deg[j] * rank[j]
				}
			}
			next[i] = (1-rankDamping)/float64(n) + rankDamping*s
		}
		rank, next = next, rank
	}
	out := make([]float64, n)
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

// TestTextRankMatchesDense checks that the inverted-index, sparse
// textRank gives bit-for-bit the scores of the dense computation.
func TestTextRankMatchesDense(t *testing.T) {
	b, err := os.ReadFile("testdata/bao-cao-ktxh-thang-11.report.json")
	if err != nil {
		t.Fatal(err)
	}
	var r model.Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		paras []model.Paragraph
	}{
		{name: "report", paras: r.Paragraphs},
		{name: "one sentence", paras: []model.Paragraph{{Page: 1, Text: "Hội đồng nhân dân tỉnh thông qua nghị quyết về ngân sách năm sau."}}},
		{name: "no shared terms", paras: []model.Paragraph{{Page: 1, Text: "Một hai ba bốn năm sáu bảy. Tám chín mười mười một mười hai."}}},
		{name: "repeated text", paras: []model.Paragraph{{Page: 1, Text: strings.Repeat("Thu ngân sách nhà nước đạt 18.245,6 tỷ đồng, bằng 112,3% dự toán năm. ", 3) + "Giao Sở Kế hoạch và Đầu tư tham mưu phân bổ vốn đầu tư công năm 2024."}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := analyse(tt.paras)
			got, want := d.textRank(), denseTextRank(d)
			if len(got) != len(want) {
				t.Fatalf("textRank gave %d scores, dense %d", len(got), len(want))
			}
			if tt.name == "report" {
				distinct := map[float64]bool{}
				for _, v := range got {
					distinct[v] = true
				}
				if len(got) < 10 || len(distinct) < 5 {
					t.Fatalf("the report gave %d sentences with %d distinct scores; the comparison would prove nothing", len(got), len(distinct))
				}
			}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("sentence %d: textRank %v, dense %v", i, got[i], want[i])
				}
			}
		})
	}
}
