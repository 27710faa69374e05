package extractive

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/bantin/bantin/internal/model"
)

func FuzzSummarize(f *testing.F) {
	r := loadReport(f, "bao-cao-ktxh-thang-11.report.json")
	f.Add(r.Text())
	f.Add("BÁO CÁO\nTình hình\n\nThu ngân sách đạt 18.245,6 tỷ đồng. Chi ngân sách đạt 21.030 tỷ đồng. Giao Sở Tài chính chủ trì. Đề nghị UBND tỉnh xem xét.")
	f.Add(strings.Repeat("a. ", 40))
	f.Fuzz(func(t *testing.T, text string) {
		var paras []model.Paragraph
		for i, p := range strings.Split(text, "\n\n") {
			paras = append(paras, model.Paragraph{Page: i%3 + 1, Text: p})
		}
		r := &model.Report{ID: "fuzz", Paragraphs: paras}
		d, err := New(Config{}).Summarize(context.Background(), r)
		if err != nil {
			if !errors.Is(err, ErrTooShort) {
				t.Fatalf("unexpected error: %v", err)
			}
			return
		}
		if n := len(d.Bullets); n < minBullets || n > maxBullets || d.Summary == "" || len(d.Figures) > maxFigures {
			t.Fatalf("digest out of bounds: %d bullets, %d figures, summary %q", n, len(d.Figures), d.Summary)
		}
		for _, fg := range d.Figures {
			if !strings.Contains(text, fg.Text) {
				t.Fatalf("figure %q not in the text", fg.Text)
			}
		}
	})
}

func BenchmarkSummarize(b *testing.B) {
	r := loadReport(b, "bao-cao-ktxh-thang-11.report.json")
	s := New(Config{})
	for b.Loop() {
		if _, err := s.Summarize(context.Background(), r); err != nil {
			b.Fatal(err)
		}
	}
}
