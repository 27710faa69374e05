package vntext

import (
	"strings"
	"testing"

	"github.com/bantin/bantin/internal/model"
)

// fuzzSeeds are the test strings above plus edge cases of punctuation.
var fuzzSeeds = []string{
	"Tổng sản phẩm trên địa bàn (GRDP) ước tăng 7,52% so với cùng kỳ; thu ngân sách nhà nước đạt 18.245,6 tỷ đồng, bằng 112,3% dự toán. TP. Bắc Giang dẫn đầu.",
	"Đồng chí Nguyễn Văn A, Phó Bí thư Tỉnh ủy, Chủ tịch UBND tỉnh chủ trì.",
	"PGS. TS. Trần Văn B. phát biểu lúc 15:34 ngày 01/12/2023 theo Nghị quyết 30-NQ/TW. Điều 5. Phạm vi.",
	"UỶ BAN NHÂN DÂN\nTỈNH BẮC GIANG\nSố: 125/BC-UBND\n\nBÁO CÁO\nTình hình kinh tế - xã hội tháng 11 năm 2023\n1. Kết quả\n- Thu 4,5 triệu đồng/người/tháng;\na) 1.200 ha",
	"Ông nói: “Chúng tôi sẽ làm.” Bà hỏi: \"Vì sao?\" Anh nói \" Đây. \" - xong… Còn v.v. Ngoài ra",
	"chị H. Thấy vậy, ông Th. 400 triệu đồng… Sau đó (Q. Tân Phú) Bà Ph. Th. Hele. (SN 1942)",
	"3,2 tỷ USD 1.250 triệu đồng 500đ/kg 35km 12 m³ 25 MW gấp 1,5 lần 32.100 -2,5% 5-7% 0912345678",
	"7,5%.Thu TP.Hồ Chí Minh ..... ?!?! \"\"\" ”” (((( )))) 1. 2) I. a)",
	".", "...", "\n\n", "1.", "- ", "\"", "”.", "\xff\xfe.", "a\u00a0.\u2028B", "Q. ", "v.v.",
}

func FuzzSplitSentences(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		checkCoverage(t, in, SplitSentences(in))
	})
}

func FuzzFigures(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		figs := Figures(in)
		checkFigures(t, in, figs)
		// Figures come in order of appearance and do not overlap.
		pos := 0
		for _, fg := range figs {
			k := strings.Index(in[pos:], fg.Text)
			if k < 0 {
				t.Fatalf("figure %q out of order", fg.Text)
			}
			pos += k + len(fg.Text)
		}
		seen := map[string]bool{}
		for _, fg := range FiguresIn([]model.Paragraph{{Page: 1, Text: in}, {Page: 2, Text: in}}) {
			if seen[fg.Text] || fg.Page != 1 {
				t.Fatalf("FiguresIn kept %q twice or on page %d", fg.Text, fg.Page)
			}
			seen[fg.Text] = true
		}
		for _, fg := range figs {
			if n := NormalizeFigure(fg.Text); NormalizeFigure(n) != n {
				t.Fatalf("NormalizeFigure not idempotent on %q: %q → %q", fg.Text, n, NormalizeFigure(n))
			}
		}
	})
}

func FuzzParseNumber(f *testing.F) {
	for _, s := range []string{"13,45", "1.234.567", "18.245,6", "3.5", "1,234.5", "1,250", "-7", "01.12.2023", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		v, ok := ParseNumber(in)
		if !ok {
			return
		}
		if back, ok := ParseNumber(FormatNumber(v)); !ok || back != v {
			t.Fatalf("ParseNumber(%q) = %v, but ParseNumber(FormatNumber(%v) = %q) = %v, %v", in, v, v, FormatNumber(v), back, ok)
		}
	})
}
