package faithful

import (
	"reflect"
	"strings"
	"testing"

	"github.com/bantin/bantin/internal/model"
)

const report = `Ngày 05/12/2023, UBND tỉnh Bắc Giang tổ chức phiên họp thường kỳ tháng 11 do đồng chí Nguyễn Văn Gấu, Chủ tịch UBND tỉnh chủ trì.
Tổng sản phẩm trên địa bàn (GRDP) tăng 13,45 %, thu ngân sách đạt 181,9 nghìn tỷ đồng, giải quyết việc làm cho 32.100 lao động.
Sở Kế hoạch và Đầu tư được giao hoàn thành trước ngày 31/12/2023 kế hoạch giai đoạn 2021-2025 với 1250 dự án.`

func TestCheck(t *testing.T) {
	r := &model.Report{ID: "r", Paragraphs: []model.Paragraph{{Page: 1, Text: report}}}
	tests := []struct {
		name    string
		summary string
		figures []string
		want    []string // failing texts
	}{
		{name: "verbatim", summary: "GRDP tăng 13,45 %, thu ngân sách đạt 181,9 nghìn tỷ đồng.", figures: []string{"13,45 %"}},
		{name: "spacing and grouping normalised", summary: "GRDP tăng 13,45%. Có 1.250 dự án và 32100 lao động.", figures: []string{"181,9 nghìn tỷ đồng"}},
		{name: "unit synonyms", summary: "Thu ngân sách đạt 181,9 ngàn tỉ đồng."},
		{name: "dates and ranges", summary: "Hạn chót là 31/12/2023, kế hoạch 2021-2025. Họp ngày 5/12."},
		{name: "people and bodies", summary: "Đồng chí Nguyễn Văn Gấu chủ trì. Sở Kế hoạch và Đầu tư được giao. UBND tỉnh chỉ đạo."},
		{name: "invented percentage", summary: "GRDP tăng 15,2%, vượt kế hoạch.", want: []string{"15,2%", "15,2"}},
		{name: "invented money in figures", summary: "Thu ngân sách tăng.", figures: []string{"200 tỷ đồng"}, want: []string{"200 tỷ đồng"}},
		{name: "changed unit", summary: "Thu ngân sách đạt 181,9 tỷ đồng.", want: []string{"181,9 tỷ đồng"}},
		{name: "invented date", summary: "Hoàn thành trước ngày 30/6/2024.", want: []string{"30/6/2024"}},
		{name: "invented count", summary: "Có 45 doanh nghiệp mới.", want: []string{"45 doanh nghiệp", "45"}},
		{name: "invented person", summary: "Ông Trần Thị Bưởi phát biểu.", want: []string{"Trần Thị Bưởi"}},
		{name: "invented body acronym", summary: "HĐND tỉnh thông qua.", want: []string{"HĐND"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &model.Digest{Title: "Báo cáo", Summary: tt.summary}
			for _, f := range tt.figures {
				d.Figures = append(d.Figures, model.Figure{Text: f})
			}
			res := Check(r, d)
			var got []string
			for _, f := range res.Failures {
				got = append(got, f.Text)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("failures %q, want %q (%s)", got, tt.want, res.Reason())
			}
			if res.OK() != (len(tt.want) == 0) || (res.Reason() == "") != res.OK() {
				t.Errorf("OK %v, reason %q", res.OK(), res.Reason())
			}
			if res.Checked == 0 && tt.want == nil && strings.ContainsAny(tt.summary, "0123456789") {
				t.Error("nothing was checked")
			}
		})
	}
}

func TestArticleTitleSupportsStatements(t *testing.T) {
	r := &model.Report{ID: "r", Source: model.Source{ArticleTitle: "Năm 2023, GRDP tỉnh tăng 13,45%"}, Paragraphs: []model.Paragraph{{Page: 1, Text: "Báo cáo kinh tế."}}}
	if res := Check(r, &model.Digest{Title: "GRDP tăng 13,45%", Summary: "Báo cáo kinh tế."}); !res.OK() {
		t.Errorf("a figure of the article title fails: %s", res.Reason())
	}
	if got := NewSource(r.Paragraphs, r.Source.ArticleTitle).Pages("13,45%"); len(got) != 0 {
		t.Errorf("the article title is on pages %v, want none", got)
	}
}

func TestNames(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string
	}{
		{name: "sentence start skipped", text: "Tỉnh Bắc Giang đạt kết quả tốt.", want: []string{"Bắc Giang"}},
		{name: "acronym", text: "Theo UBND tỉnh, kết quả tốt.", want: []string{"UBND"}},
		{name: "comma ends a run", text: "Các ông Nguyễn Văn A, Lê Thị B dự họp.", want: []string{"Nguyễn Văn A", "Lê Thị B"}},
		{name: "single capital is not checked", text: "Đồng chí Hùng dự họp.", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Names(tt.text); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Names(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestPages(t *testing.T) {
	s := NewSource([]model.Paragraph{
		{Page: 1, Text: "Mở đầu báo cáo."},
		{Page: 2, Text: "Thu ngân sách đạt 181,9 nghìn tỷ đồng."},
		{Page: 3, Text: "Tăng 13,45%, lại 181,9 nghìn tỷ đồng."},
	})
	if got := s.Pages("181,9 ngàn tỷ đồng"); !reflect.DeepEqual(got, []int{2, 3}) {
		t.Errorf("Pages = %v, want [2 3]", got)
	}
	if !s.PageHas(3, "13,45 %") || s.PageHas(2, "13,45%") {
		t.Error("PageHas does not follow the pages")
	}
}
