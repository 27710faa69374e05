package vntext

import (
	"slices"
	"strings"
	"testing"

	"github.com/bantin/bantin/internal/model"
)

func TestFigures(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []model.Figure
	}{
		{
			name: "growth and budget",
			in:   "Tổng sản phẩm trên địa bàn (GRDP) ước tăng 7,52% so với cùng kỳ; thu ngân sách nhà nước đạt 18.245,6 tỷ đồng, bằng 112,3% dự toán.",
			want: []model.Figure{
				{Text: "7,52%", Value: 7.52, Unit: "%"},
				{Text: "18.245,6 tỷ đồng", Value: 18245.6, Unit: "tỷ đồng"},
				{Text: "112,3%", Value: 112.3, Unit: "%"},
			},
		},
		{
			name: "percentages with and without space",
			in:   "Tỷ lệ hộ nghèo giảm còn 13,45 %, thấp hơn 13,45% năm trước; tăng 7,5%.",
			want: []model.Figure{
				{Text: "13,45 %", Value: 13.45, Unit: "%"},
				{Text: "13,45%", Value: 13.45, Unit: "%"},
				{Text: "7,5%", Value: 7.5, Unit: "%"},
			},
		},
		{
			name: "money with multipliers",
			in:   "Quy mô kinh tế đạt 181,9 nghìn tỷ đồng; xuất khẩu 3,2 tỷ USD; dự toán 1.250 triệu đồng; hỗ trợ 500 nghìn đồng và 25 tỷ đồng; lương 4,5 triệu đồng/người/tháng.",
			want: []model.Figure{
				{Text: "181,9 nghìn tỷ đồng", Value: 181.9, Unit: "nghìn tỷ đồng"},
				{Text: "3,2 tỷ USD", Value: 3.2, Unit: "tỷ USD"},
				{Text: "1.250 triệu đồng", Value: 1250, Unit: "triệu đồng"},
				{Text: "500 nghìn đồng", Value: 500, Unit: "nghìn đồng"},
				{Text: "25 tỷ đồng", Value: 25, Unit: "tỷ đồng"},
				{Text: "4,5 triệu đồng/người/tháng", Value: 4.5, Unit: "triệu đồng/người/tháng"},
			},
		},
		{
			name: "quantities with units",
			in:   "Trồng mới 1.200 ha rừng, làm 35 km đường, thu 12.500 tấn vải, giải quyết việc làm cho 4.500 lao động, thành lập 120 doanh nghiệp, khởi công 15 dự án, đón 2,1 triệu lượt khách, hỗ trợ 350 hộ nghèo tại 12 xã, hoàn thành 8 công trình.",
			want: []model.Figure{
				{Text: "1.200 ha", Value: 1200, Unit: "ha"},
				{Text: "35 km", Value: 35, Unit: "km"},
				{Text: "12.500 tấn", Value: 12500, Unit: "tấn"},
				{Text: "4.500 lao động", Value: 4500, Unit: "lao động"},
				{Text: "120 doanh nghiệp", Value: 120, Unit: "doanh nghiệp"},
				{Text: "15 dự án", Value: 15, Unit: "dự án"},
				{Text: "2,1 triệu lượt khách", Value: 2.1, Unit: "triệu lượt khách"},
				{Text: "350 hộ nghèo", Value: 350, Unit: "hộ nghèo"},
				{Text: "12 xã", Value: 12, Unit: "xã"},
				{Text: "8 công trình", Value: 8, Unit: "công trình"},
			},
		},
		{
			name: "technical units",
			in:   "Nhà máy 25 MW sản xuất 3.5 triệu kWh; xây 1.500 m2 sàn, đổ 12 m³ bê tông, 20m² kho.",
			want: []model.Figure{
				{Text: "25 MW", Value: 25, Unit: "MW"},
				{Text: "3.5 triệu kWh", Value: 3.5, Unit: "triệu kWh"},
				{Text: "1.500 m2", Value: 1500, Unit: "m2"},
				{Text: "12 m³", Value: 12, Unit: "m³"},
				{Text: "20m²", Value: 20, Unit: "m²"},
			},
		},
		{
			name: "ratio and plain large count",
			in:   "Số doanh nghiệp gấp 1,5 lần cùng kỳ; có 32.100 lượt truy cập, tổng cộng 25000 kết quả.",
			want: []model.Figure{
				{Text: "1,5 lần", Value: 1.5, Unit: "lần"},
				{Text: "32.100 lượt", Value: 32100, Unit: "lượt"},
				{Text: "25000", Value: 25000},
			},
		},
		{
			name: "non-breaking space between number and unit",
			in:   "Thu 18.245,6\u00a0tỷ\u00a0đồng.",
			want: []model.Figure{{Text: "18.245,6\u00a0tỷ\u00a0đồng", Value: 18245.6, Unit: "tỷ đồng"}},
		},
		{
			name: "dates, times and years are not figures",
			in:   "Ngày 01/12/2023, lúc 15:34, khoảng 23h đêm 3/8, năm 2023, tháng 11 người dân, ngày 5 tháng 12 năm 2023, vào 01.12.2023, giai đoạn 2021-2025, (SN 1994).",
			want: nil,
		},
		{
			name: "document numbers and references are not figures",
			in:   "Báo cáo Số 125/BC-UBND, Số: 125/BC-UBND, Công văn 1.250/UBND-KT, Nghị định 2500/2023/NĐ-CP, Nghị quyết 30-NQ/TW, Điều 5, khoản 2, điểm 3, Kỳ họp thứ 15, Chương 2, Quyết định số 1250, COVID-19, F0, mục 4 người.",
			want: nil,
		},
		{
			name: "list numbering is not a figure",
			in:   "1. Kết quả thực hiện\n2) Nhiệm vụ\nI. Tình hình\na) 15 dự án",
			want: []model.Figure{{Text: "15 dự án", Value: 15, Unit: "dự án"}},
		},
		{
			name: "small numbers without a unit, ranges and codes",
			in:   "Có 3 nhóm, tăng 5-7%, xe 51 A -55850, điện thoại 0912345678, mã 12a, 15h30.",
			want: nil,
		},
		{
			name: "sign is not part of the figure",
			in:   "Chỉ số giảm -2,5% và giảm 3,1%.",
			want: []model.Figure{
				{Text: "2,5%", Value: 2.5, Unit: "%"},
				{Text: "3,1%", Value: 3.1, Unit: "%"},
			},
		},
		{
			name: "units glued or followed by punctuation",
			in:   "Chiều dài 35km, giá 500đ/kg, diện tích 12ha.",
			want: []model.Figure{
				{Text: "35km", Value: 35, Unit: "km"},
				{Text: "500đ/kg", Value: 500, Unit: "đ/kg"},
				{Text: "12ha", Value: 12, Unit: "ha"},
			},
		},
		{
			name: "unit after a wrapped line",
			in:   "gây thiệt hại về tài sản từ 100.000.000\nđồng đến dưới 500.000.000 đồng;\n\nđ) 12\n\nha\n5\nphòng, chống tham nhũng\n9 đ) Thanh tra",
			want: []model.Figure{
				{Text: "100.000.000\nđồng", Value: 100000000, Unit: "đồng"},
				{Text: "500.000.000 đồng", Value: 500000000, Unit: "đồng"},
			},
		},
		{
			name: "unit words are lower case, abbreviations any case",
			in:   "4.1 Cơ sở pháp lý\n12 Tổ chức thực hiện\nXuất khẩu 3,2 tỷ usd và 25 Mw.",
			want: []model.Figure{
				{Text: "3,2 tỷ usd", Value: 3.2, Unit: "tỷ usd"},
				{Text: "25 Mw", Value: 25, Unit: "Mw"},
			},
		},
		{
			name: "unit must end at a word boundary",
			in:   "Có 5 hai 3 mới và 7 người.",
			want: []model.Figure{{Text: "7 người", Value: 7, Unit: "người"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Figures(tt.in)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Figures(%q)\n got: %+v\nwant: %+v", tt.in, got, tt.want)
			}
			checkFigures(t, tt.in, got)
		})
	}
}

// checkFigures asserts what every figure must satisfy: Text is verbatim in
// text and starts with a number that ParseNumber reads as Value, and Unit,
// when set, is what follows the number.
func checkFigures(t *testing.T, text string, figs []model.Figure) {
	t.Helper()
	for _, f := range figs {
		if f.Text == "" || !strings.Contains(text, f.Text) {
			t.Fatalf("figure %q is not a verbatim substring of the text", f.Text)
		}
		num := f.Text
		if i := strings.IndexFunc(f.Text, func(r rune) bool { return !(r >= '0' && r <= '9' || r == '.' || r == ',') }); i >= 0 {
			num = f.Text[:i]
		}
		v, ok := ParseNumber(num)
		if !ok || v != f.Value {
			t.Fatalf("figure %q: ParseNumber(%q) = %v, %v; Value is %v", f.Text, num, v, ok, f.Value)
		}
		if rest := strings.TrimSpace(collapseSpace(f.Text[len(num):])); rest != f.Unit {
			t.Fatalf("figure %q: unit %q, want %q", f.Text, f.Unit, rest)
		}
	}
}

func TestFiguresIn(t *testing.T) {
	paras := []model.Paragraph{
		{Page: 1, Text: "Thu ngân sách đạt 18.245,6 tỷ đồng, bằng 112,3% dự toán."},
		{Page: 2, Text: "Nhắc lại: thu ngân sách đạt 18.245,6 tỷ đồng; GRDP tăng 7,52%."},
		{Page: 3, Text: "Không có số liệu."},
		{Page: 4, Text: "Tăng 7,52 % và 112,3% nữa."},
	}
	want := []model.Figure{
		{Text: "18.245,6 tỷ đồng", Value: 18245.6, Unit: "tỷ đồng", Page: 1},
		{Text: "112,3%", Value: 112.3, Unit: "%", Page: 1},
		{Text: "7,52%", Value: 7.52, Unit: "%", Page: 2},
		{Text: "7,52 %", Value: 7.52, Unit: "%", Page: 4},
	}
	if got := FiguresIn(paras); !slices.Equal(got, want) {
		t.Errorf("FiguresIn\n got: %+v\nwant: %+v", got, want)
	}
	if got := FiguresIn(nil); got != nil {
		t.Errorf("FiguresIn(nil) = %+v, want nil", got)
	}
}
