package extractive

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bantin/bantin/internal/model"
	"github.com/bantin/bantin/internal/vntext"
)

var update = flag.Bool("update", false, "rewrite the golden digests in testdata")

// checkDigest asserts what every digest must satisfy.
func checkDigest(t *testing.T, r *model.Report, d *model.Digest) {
	t.Helper()
	if d.ID != model.DigestID(r.ID) || d.ReportID != r.ID {
		t.Errorf("ids %q, %q for report %q", d.ID, d.ReportID, r.ID)
	}
	if d.SchemaVersion != model.SchemaVersion || d.Version != 1 || d.Backend != "extractive" || d.Language != "vi" {
		t.Errorf("schema %d, version %d, backend %q, language %q", d.SchemaVersion, d.Version, d.Backend, d.Language)
	}
	if !reflect.DeepEqual(d.Source, r.Source) || !d.CreatedAt.Equal(r.CreatedAt) || !d.UpdatedAt.IsZero() {
		t.Errorf("source %+v, created %v, updated %v: not copied from the report", d.Source, d.CreatedAt, d.UpdatedAt)
	}
	if strings.TrimSpace(d.Title) == "" {
		t.Error("empty title")
	}
	if n := len(vntext.SplitSentences(d.Summary)); n < minSummary || n > maxSummary {
		t.Errorf("summary has %d sentences, want %d..%d: %q", n, minSummary, maxSummary, d.Summary)
	}
	if n := len(d.Bullets); n < minBullets || n > maxBullets {
		t.Errorf("%d bullets, want %d..%d", n, minBullets, maxBullets)
	}
	seen := make(map[string]bool)
	for _, b := range d.Bullets {
		if b.Text == "" || seen[b.Text] {
			t.Errorf("empty or repeated bullet %q", b.Text)
		}
		seen[b.Text] = true
		if p, ok := pageOf(r, b.Text); !ok || p != b.Page {
			t.Errorf("bullet %q has page %d, found on page %d (found: %v)", b.Text, b.Page, p, ok)
		}
	}
	if len(d.Figures) > maxFigures {
		t.Errorf("%d figures, want at most %d", len(d.Figures), maxFigures)
	}
	text := r.Text()
	for _, f := range d.Figures {
		if !strings.Contains(text, f.Text) {
			t.Errorf("figure %q is not verbatim in the report", f.Text)
		}
		if p, _ := pageOf(r, f.Text); p != f.Page {
			t.Errorf("figure %q has page %d, first found on page %d", f.Text, f.Page, p)
		}
	}
}

// pageOf returns the page of the first paragraph that holds text, or the
// start of it up to a cut ("…").
func pageOf(r *model.Report, text string) (int, bool) {
	probe := strings.TrimRight(text, ".…")
	if len(probe) > 60 {
		probe = probe[:strings.LastIndexByte(probe[:60], ' ')]
	}
	probe = strings.TrimLeft(probe, " ")
	for _, p := range r.Paragraphs {
		flat := strings.Join(strings.Fields(p.Text), " ")
		if strings.Contains(flat, probe) || strings.Contains(strings.ToLower(flat), strings.ToLower(probe)) {
			return p.Page, true
		}
	}
	return 0, false
}

func loadReport(t testing.TB, name string) *model.Report {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var r model.Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("decoding %s: %v", name, err)
	}
	return &r
}

func TestSummarizeMeetingReport(t *testing.T) {
	r := loadReport(t, "bao-cao-ktxh-thang-11.report.json")
	s := New(Config{})
	d, err := s.Summarize(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	checkDigest(t, r, d)

	if want := "Báo cáo tình hình kinh tế - xã hội tháng 11, nhiệm vụ trọng tâm tháng 12 năm 2023 của tỉnh Bắc Giang"; d.Title != want {
		t.Errorf("title %q, want %q", d.Title, want)
	}
	digestText := d.Summary
	for _, b := range d.Bullets {
		digestText += "\n" + b.Text
	}
	for _, bp := range []string{
		"CỘNG HÒA", "Độc lập - Tự do", "Số: 125", "ngày 01 tháng 12", "Nơi nhận", "Lưu: VT",
		"Đã ký", "TM.", "CHỦ TỊCH", "Trên đây là", "như sau", "TÌNH HÌNH KINH TẾ", "Về phát triển kinh tế",
	} {
		if strings.Contains(digestText, bp) {
			t.Errorf("digest quotes boilerplate %q:\n%s", bp, digestText)
		}
	}
	pages := make(map[int]bool)
	for _, b := range d.Bullets {
		pages[b.Page] = true
		if b.Page < 1 || b.Page > 3 {
			t.Errorf("bullet %q on page %d, want the body pages 1..3", b.Text, b.Page)
		}
	}
	if len(pages) < 2 {
		t.Errorf("bullets come from %d page(s), want a spread", len(pages))
	}
	decision := false
	for _, b := range d.Bullets {
		decision = decision || hasDecision(vntext.Syllables(b.Text))
	}
	if !decision {
		t.Errorf("no bullet states a decision or assignment: %+v", d.Bullets)
	}
	if len(d.Figures) < 5 {
		t.Errorf("%d figures, want at least 5 from a report full of them", len(d.Figures))
	}
	if !strings.Contains(d.Summary+d.Bullets[0].Text, d.Figures[0].Text) {
		t.Errorf("first figure %q is not quoted in the summary or first bullet", d.Figures[0].Text)
	}

	// Deterministic: same report, byte-identical digest, from a fresh
	// summariser and from the same one.
	want, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	for i, sum := range []*Summarizer{s, New(Config{})} {
		d2, err := sum.Summarize(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := json.Marshal(d2); !bytes.Equal(got, want) {
			t.Errorf("run %d differs:\n%s\n%s", i+2, got, want)
		}
	}

	golden := filepath.Join("testdata", "bao-cao-ktxh-thang-11.digest.json")
	got, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wantGolden, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, wantGolden) {
		t.Errorf("digest differs from %s (run with -update if the change is intended):\n%s", golden, got)
	}
}

func TestSummarizeErrors(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	long := "Hội đồng nhân dân tỉnh đã thông qua nghị quyết về kế hoạch phát triển kinh tế - xã hội năm 2024 với nhiều chỉ tiêu quan trọng và giải pháp cụ thể."
	tests := []struct {
		name    string
		ctx     context.Context
		cfg     Config
		report  model.Report
		wantIs  error
		wantMsg string
	}{
		{name: "no paragraphs", report: model.Report{ID: "r1"}, wantIs: ErrTooShort},
		{
			name:   "a few words",
			report: model.Report{ID: "r2", Paragraphs: []model.Paragraph{{Page: 1, Text: "Thu ngân sách đạt 18.245,6 tỷ đồng."}}},
			wantIs: ErrTooShort,
		},
		{
			name: "only boilerplate",
			report: model.Report{ID: "r3", Paragraphs: []model.Paragraph{{Text: strings.Repeat(
				"CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc\nSố: 125/BC-UBND\nBắc Giang, ngày 01 tháng 12 năm 2023\n\n", 3)}}},
			wantIs: ErrTooShort,
		},
		{
			name:   "two sentences",
			report: model.Report{ID: "r4", Paragraphs: []model.Paragraph{{Text: long + " " + long + " Kết thúc."}}},
			wantIs: ErrTooShort,
		},
		{
			name:   "text stored elsewhere",
			report: model.Report{ID: "r5", TextRef: "text/r5.json"},
			wantIs: ErrTextNotLoaded,
		},
		{
			name:   "canceled",
			ctx:    canceled,
			report: model.Report{ID: "r6", Paragraphs: []model.Paragraph{{Text: long}}},
			wantIs: context.Canceled,
		},
		{
			name:    "unsupported language",
			cfg:     Config{Language: "en"},
			report:  model.Report{ID: "r7", Paragraphs: []model.Paragraph{{Text: long}}},
			wantMsg: `language "en" is not supported`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			d, err := New(tt.cfg).Summarize(ctx, &tt.report)
			if err == nil {
				t.Fatalf("got digest %+v, want an error", d)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v, want one wrapping %v", err, tt.wantIs)
			}
			if !strings.Contains(err.Error(), tt.report.ID) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q should name the report and say %q", err, tt.wantMsg)
			}
		})
	}
}

func TestSummarizeSmallReport(t *testing.T) {
	// Three usable sentences: two for the summary, and bullets filled up to
	// three with the summary's strongest sentences.
	r := &model.Report{
		ID: "small",
		Paragraphs: []model.Paragraph{
			{Page: 1, Text: "KẾT LUẬN\nCỦA THƯỜNG TRỰC HĐND TỈNH"},
			{Page: 1, Text: "Thường trực HĐND tỉnh thống nhất trình Kỳ họp thứ 15 xem xét 12 nghị quyết quan trọng."},
			{Page: 2, Text: "Giao Văn phòng Đoàn ĐBQH và HĐND tỉnh chuẩn bị tài liệu, gửi đại biểu trước ngày khai mạc."},
			{Page: 2, Text: "Đề nghị UBND tỉnh hoàn thiện các tờ trình trước ngày 01/12/2023 để thẩm tra đúng thời hạn."},
		},
		CreatedAt: time.Date(2023, 11, 20, 0, 0, 0, 0, time.UTC),
	}
	d, err := New(Config{MaxSentences: 4, MaxBullets: 6}).Summarize(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	checkDigest(t, r, d)
	if want := "Kết luận của Thường trực HĐND tỉnh"; d.Title != want {
		t.Errorf("title %q, want %q", d.Title, want)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name string
		in   Config
		want Config
	}{
		{name: "defaults", in: Config{}, want: Config{MaxSentences: 3, MaxBullets: 5, Language: "vi"}},
		{name: "clamped low", in: Config{MaxSentences: 1, MaxBullets: 1}, want: Config{MaxSentences: 2, MaxBullets: 3, Language: "vi"}},
		{name: "clamped high", in: Config{MaxSentences: 9, MaxBullets: 9, Language: "vi"}, want: Config{MaxSentences: 4, MaxBullets: 6, Language: "vi"}},
		{name: "kept", in: Config{MaxSentences: 2, MaxBullets: 4, Language: "vi"}, want: Config{MaxSentences: 2, MaxBullets: 4, Language: "vi"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(tt.in)
			if s.cfg != tt.want {
				t.Errorf("New(%+v).cfg = %+v, want %+v", tt.in, s.cfg, tt.want)
			}
			if s.Name() != "extractive" {
				t.Errorf("Name() = %q", s.Name())
			}
		})
	}
}

func TestTitle(t *testing.T) {
	src := model.Source{ArticleTitle: "Tỉnh ủy họp bàn kinh tế", AttachmentName: "kl-15.pdf"}
	tests := []struct {
		name  string
		paras []string
		want  string
	}{
		{
			name:  "document type then mixed-case subject",
			paras: []string{"UBND TỈNH BẮC GIANG\nSố: 125/BC-UBND", "BÁO CÁO\nTình hình kinh tế - xã hội tháng 11 năm 2023", "Thực hiện chỉ đạo của Tỉnh ủy, UBND tỉnh báo cáo như sau:"},
			want:  "Báo cáo tình hình kinh tế - xã hội tháng 11 năm 2023",
		},
		{
			name:  "all caps over lines",
			paras: []string{"TỈNH ỦY BẮC GIANG\n*", "THÔNG BÁO KẾT LUẬN\nCỦA BAN THƯỜNG VỤ TỈNH ỦY VỀ TÌNH HÌNH\nKINH TẾ - XÃ HỘI QUÝ III NĂM 2023\n-----", "Ngày 05/10/2023, Ban Thường vụ Tỉnh ủy họp."},
			want:  "Thông báo kết luận của Ban Thường vụ Tỉnh ủy về tình hình kinh tế - xã hội quý III năm 2023",
		},
		{
			name:  "resolution with session and term",
			paras: []string{"HỘI ĐỒNG NHÂN DÂN\nTỈNH BẮC GIANG", "NGHỊ QUYẾT\nVỀ KẾ HOẠCH PHÁT TRIỂN KINH TẾ - XÃ HỘI NĂM 2024\nHỘI ĐỒNG NHÂN DÂN TỈNH BẮC GIANG\nKHÓA XIX, KỲ HỌP THỨ 15", "Căn cứ Luật Tổ chức chính quyền địa phương;"},
			want:  "Nghị quyết về kế hoạch phát triển kinh tế - xã hội năm 2024 Hội đồng nhân dân tỉnh Bắc Giang khóa XIX, kỳ họp thứ 15",
		},
		{
			name:  "plan naming a city",
			paras: []string{"KẾ HOẠCH THỰC HIỆN CHƯƠNG TRÌNH CHUYỂN ĐỔI SỐ CỦA THÀNH PHỐ BẮC GIANG NĂM 2024"},
			want:  "Kế hoạch thực hiện chương trình chuyển đổi số của thành phố Bắc Giang năm 2024",
		},
		{
			name:  "law",
			paras: []string{"QUỐC HỘI CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc\nLuật số: …/2025/QH15\n(DỰ THẢO)\nLUẬT THANH TRA\nCăn cứ Hiến pháp nước Cộng hòa xã hội chủ nghĩa Việt Nam;"},
			want:  "Luật thanh tra",
		},
		{
			name:  "no document type",
			paras: []string{"Sáng 28/5, VKSND tỉnh Sóc Trăng tổ chức buổi xin lỗi công khai."},
			want:  "kl-15.pdf",
		},
		{
			name:  "document type alone",
			paras: []string{"BÁO CÁO", "Thực hiện Kế hoạch số 12, Sở báo cáo như sau:"},
			want:  "kl-15.pdf",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &model.Report{ID: "x", Source: src}
			for _, p := range tt.paras {
				r.Paragraphs = append(r.Paragraphs, model.Paragraph{Page: 1, Text: p})
			}
			if got := title(r); got != tt.want {
				t.Errorf("title = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestIsBoilerplate(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{name: "national name", in: "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", want: true},
		{name: "motto", in: "Độc lập - Tự do - Hạnh phúc", want: true},
		{name: "motto old spelling", in: "Độc lập – Tự do – Hạnh phúc", want: true},
		{name: "party motto", in: "ĐẢNG CỘNG SẢN VIỆT NAM", want: true},
		{name: "recipients", in: "Nơi nhận:", want: true},
		{name: "recipient line", in: "- Như trên;", want: true},
		{name: "filing", in: "- Lưu: VT, TH.", want: true},
		{name: "document number", in: "Số: 125/BC-UBND", want: true},
		{name: "document number no colon", in: "Số 30-NQ/TU", want: true},
		{name: "place and date", in: "Bắc Giang, ngày 01 tháng 12 năm 2023", want: true},
		{name: "blank date in a draft", in: "Hà Nội, ngày     tháng     năm 2025", want: true},
		{name: "signature", in: "TM. ỦY BAN NHÂN DÂN", want: true},
		{name: "on behalf", in: "KT. CHỦ TỊCH", want: true},
		{name: "signed", in: "(Đã ký)", want: true},
		{name: "legal basis", in: "Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015;", want: true},
		{name: "closing", in: "Trên đây là báo cáo tình hình kinh tế - xã hội tháng 11 của UBND tỉnh./.", want: true},
		{name: "news cross-link", in: "Xem thêm: Bắt 9X mở két, trộm 10.000 USD", want: true},
		{name: "table of contents", in: "2.3 Khi nào cần phải chia sẻ? ..........................25 2.4 Chia sẻ lợi ích công bằng", want: true},
		{name: "date inside content", in: "Ngày 01 tháng 12 năm 2023, UBND tỉnh tổ chức phiên họp thường kỳ.", want: false},
		{name: "content about a number", in: "Số doanh nghiệp thành lập mới đạt 1.250, gấp 1,5 lần cùng kỳ.", want: false},
		{name: "content", in: "Thu ngân sách nhà nước đạt 18.245,6 tỷ đồng, bằng 112,3% dự toán.", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isBoilerplate(tt.in); got != tt.want {
				t.Errorf("isBoilerplate(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestClean(t *testing.T) {
	runOn := "Năm 2023, tỉnh tập trung chỉ đạo quyết liệt các giải pháp phục hồi và phát triển kinh tế, thu hút đầu tư, tháo gỡ khó khăn cho doanh nghiệp; " +
		"đẩy mạnh cải cách hành chính, nâng cao chỉ số năng lực cạnh tranh cấp tỉnh, bảo đảm an sinh xã hội, giữ vững quốc phòng an ninh và trật tự an toàn xã hội trên địa bàn toàn tỉnh."
	noCut := strings.Repeat("phát triển kinh tế xã hội bền vững ", 14) + "xong."
	tests := []struct {
		name   string
		in     string
		want   string
		wantOK bool
	}{
		{name: "plain", in: "Thu ngân sách tăng 8,7%.", want: "Thu ngân sách tăng 8,7%.", wantOK: true},
		{name: "list number", in: "1. Thu ngân sách tăng 8,7%.", want: "Thu ngân sách tăng 8,7%.", wantOK: true},
		{name: "letter item", in: "a) diện tích lúa đạt 1.200 ha;", want: "Diện tích lúa đạt 1.200 ha.", wantOK: true},
		{name: "bullet", in: "- Giải quyết việc làm cho 4.500 lao động", want: "Giải quyết việc làm cho 4.500 lao động.", wantOK: true},
		{name: "colon", in: "Đồng chí Chủ tịch UBND tỉnh kết luận:", want: "Đồng chí Chủ tịch UBND tỉnh kết luận.", wantOK: true},
		{name: "quote", in: "Ông nói “sẽ làm ngay”", want: "Ông nói “sẽ làm ngay”.", wantOK: true},
		{name: "run-on cut at semicolon", in: runOn, want: strings.SplitN(runOn, ";", 2)[0] + ".", wantOK: true},
		{name: "run-on with no clause boundary", in: noCut, wantOK: false},
		{name: "only a marker", in: "- ", wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := clean(tt.in)
			if ok != tt.wantOK || (ok && got != tt.want) {
				t.Errorf("clean(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestHasDecision(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"Giao Sở Tài chính chủ trì tham mưu.", true},
		{"Yêu cầu các sở, ngành khẩn trương triển khai.", true},
		{"Phấn đấu thu ngân sách đạt 20.000 tỷ đồng.", true},
		{"Thường trực Tỉnh ủy thống nhất chủ trương.", true},
		{"Tai nạn giao thông giảm 12% so với cùng kỳ.", false},
		{"Đã bàn giao 350 nhà đại đoàn kết cho hộ nghèo.", false},
		{"Giá trị sản xuất công nghiệp tăng 12,4%.", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := hasDecision(vntext.Syllables(tt.in)); got != tt.want {
				t.Errorf("hasDecision(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
