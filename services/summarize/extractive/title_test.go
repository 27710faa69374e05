package extractive

import (
	"context"
	"strings"
	"testing"

	"github.com/bantin/bantin/internal/model"
)

// The summary must not open by restating the headline, as it did on the
// demo report ("Tình hình kinh tế - xã hội năm 2023… (Trình Kỳ họp…)").
func TestSummaryDoesNotRepeatTheHeadline(t *testing.T) {
	r := &model.Report{ID: "0123456789abcdef0123", Paragraphs: []model.Paragraph{
		{Page: 1, Text: "BÁO CÁO"},
		{Page: 1, Text: "Tình hình kinh tế - xã hội năm 2023, phương hướng, nhiệm vụ năm 2024 (Trình Kỳ họp thứ 15, Hội đồng nhân dân tỉnh khóa XIX)"},
		{Page: 1, Text: "Năm 2023, kinh tế - xã hội của tỉnh tiếp tục phục hồi và phát triển trong bối cảnh còn nhiều khó khăn."},
		{Page: 1, Text: "Tổng sản phẩm trên địa bàn (GRDP) ước tăng 7,85% so với năm 2022, đứng thứ 12/63 tỉnh, thành phố."},
		{Page: 1, Text: "Thu ngân sách nhà nước trên địa bàn ước đạt 12.450 tỷ đồng, bằng 103,2% dự toán."},
		{Page: 2, Text: "Kim ngạch xuất khẩu đạt 2.500 triệu USD; thành lập mới 1.200 doanh nghiệp."},
		{Page: 2, Text: "Giao Sở Kế hoạch và Đầu tư chủ trì, hoàn thành kế hoạch giải ngân trước ngày 31/3/2024."},
		{Page: 2, Text: "Năm 2024, tỉnh phấn đấu tăng trưởng kinh tế đạt 8% và giải quyết việc làm cho 25.000 lao động."},
	}}
	d, err := New(Config{}).Summarize(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(d.Title, "tình hình kinh tế - xã hội năm 2023") {
		t.Fatalf("headline %q lost its subject", d.Title)
	}
	if strings.Contains(d.Summary, "Trình Kỳ họp thứ 15") || strings.Contains(d.Summary, "phương hướng, nhiệm vụ năm 2024") {
		t.Errorf("summary restates the headline: %q", d.Summary)
	}
	for _, b := range d.Bullets {
		if strings.Contains(b.Text, "Trình Kỳ họp thứ 15") {
			t.Errorf("bullet restates the headline: %q", b.Text)
		}
	}
}
