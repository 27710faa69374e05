package article

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	xunicode "golang.org/x/text/encoding/unicode"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// ict is Vietnam's offset, whatever the system's tzdata says.
var ict = time.FixedZone("+07", 7*60*60)

// fixture is a synthetic page in testdata/ shaped like a real Vietnamese
// provincial site, the URL it is parsed as, and what Parse must find.
type fixture struct {
	name        string
	file        string
	url         string
	title       string
	published   time.Time
	author      string
	tags        []string
	site        string
	attachments []Attachment
	// inBody must each appear in some paragraph; notInBody in none.
	inBody, notInBody []string
	firstPara         string
}

var fixtures = []fixture{
	{
		name:      "newspaper, label in strong, relative and absolute links",
		file:      "baosonlam-strong.html",
		url:       "https://baosonlam.vn/chinh-tri/412345/khai-mac-ky-hop-thu-15-hdnd-tinh-khoa-xix.html",
		title:     "Khai mạc Kỳ họp thứ 15 HĐND tỉnh khóa XIX",
		published: time.Date(2023, 12, 1, 15, 34, 0, 0, ict),
		author:    "Minh Hà",
		tags:      []string{"Kỳ họp", "HĐND tỉnh", "kinh tế - xã hội"},
		site:      "baosonlam.vn",
		attachments: []Attachment{
			{URL: "https://baosonlam.vn/uploads/2023/12/01/bao-cao-kt-xh-2023.pdf", Name: "Báo cáo tình hình kinh tế - xã hội năm 2023"},
			{URL: "https://baosonlam.vn/uploads/2023/12/01/ke-hoach-2024.docx", Name: "Kế hoạch phát triển kinh tế - xã hội năm 2024"},
		},
		firstPara: "BSL - Sáng 1/12, HĐND tỉnh khóa XIX khai mạc Kỳ họp thứ 15",
		inBody: []string{
			"GRDP) ước tăng 7,85%",
			"Tăng trưởng GRDP (%) | 7,5 | 7,85",
			"Kỳ họp dự kiến diễn ra trong 3 ngày",
		},
		notInBody: []string{
			"Trang chủ", "Tin liên quan", "Ban Thường vụ Tỉnh ủy cho ý kiến", "File đính kèm",
			"Báo cáo tình hình kinh tế - xã hội năm 2023 (1,2 MB)", "Minh Hà", "Từ khóa",
			"Giấy phép", "15:34 01/12/2023", "Tin đọc nhiều", "Chia sẻ",
		},
	},
	{
		name:      "Liferay portal, h4 label, base href, encoded Vietnamese names",
		file:      "sonlam-gov-h4-base.html",
		url:       "https://sonlam.gov.vn/web/portal/tin-tuc/-/asset_publisher/Xy12/content/hoi-nghi-ban-chap-hanh-dang-bo-tinh-lan-thu-20",
		title:     "Hội nghị Ban Chấp hành Đảng bộ tỉnh lần thứ 20",
		published: time.Date(2023, 12, 1, 15, 34, 0, 0, ict),
		author:    "Nguyễn Văn An",
		tags:      []string{"Tỉnh ủy", "Hội nghị"},
		site:      "sonlam.gov.vn",
		attachments: []Attachment{
			{URL: "https://sonlam.gov.vn/documents/10180/2345678/B%C3%A1o+c%C3%A1o+t%E1%BB%95ng+k%E1%BA%BFt+n%C4%83m+2023.pdf/a1b2c3d4-e5f6", Name: "Báo cáo tổng kết năm 2023"},
			{URL: "https://sonlam.gov.vn/documents/10180/2345678/D%E1%BB%B1%20th%E1%BA%A3o%20Ngh%E1%BB%8B%20quy%E1%BA%BFt%20n%C4%83m%202024.docx", Name: "Dự thảo Nghị quyết năm 2024"},
			{URL: "https://sonlam.gov.vn/c/document_library/get_file?uuid=7d1e3b0a-1111-2222-3333-444455556666&groupId=10180", Name: "Chương trình hành động thực hiện Nghị quyết"},
			{URL: "https://sonlam.gov.vn/documents/10180/2345678/Danh+sach+dai+bieu.XLSX?version=1.0&t=1701420000000", Name: "Danh sách đại biểu"},
		},
		firstPara: "Ngày 1/12, Ban Chấp hành Đảng bộ tỉnh tổ chức Hội nghị lần thứ 20",
		inBody:    []string{"hoàn thành trước ngày 31/3/2024", "Thực hiện nhiệm vụ năm 2024"},
		notInBody: []string{
			"Tác giả", "Tài liệu đính kèm", "Danh sách đại biểu", "Tin khác",
			"UBND tỉnh họp phiên thường kỳ", "Cơ quan chủ quản", "Tìm kiếm", "Dịch vụ công",
			"Xem tin hội nghị lần thứ 19", "Thứ Sáu",
		},
	},
	{
		name:      "ASP.NET HĐND portal, attachment table, viewers, pdf.js iframe",
		file:      "hdnd-aspnet-table.html",
		url:       "https://hdnd.sonlam.gov.vn/tin-tuc/ky-hop/be-mac-ky-hop-thu-15.aspx",
		title:     "Bế mạc Kỳ họp thứ 15, HĐND tỉnh khóa XIX",
		published: time.Date(2023, 12, 3, 17, 5, 0, 0, ict),
		author:    "Trần Thị Mai",
		tags:      []string{"Kỳ họp thứ 15", "HĐND tỉnh khóa XIX", "nghị quyết"},
		site:      "hdnd.sonlam.gov.vn",
		attachments: []Attachment{
			{URL: "https://hdnd.sonlam.gov.vn/DesktopModules/VanBan/Download.ashx?fileid=5521", Name: "Nghị quyết về nhiệm vụ phát triển kinh tế - xã hội năm 2024"},
			{URL: "https://hdnd.sonlam.gov.vn/Portals/0/VanBan/NQ-du-toan-2024.PDF", Name: "Nghị quyết dự toán ngân sách năm 2024"},
			{URL: "https://hdnd.sonlam.gov.vn/Portals/0/VanBan/Bao%20cao%20tham%20tra.docx", Name: "Báo cáo thẩm tra của Ban Kinh tế - Ngân sách"},
			{URL: "https://hdnd.sonlam.gov.vn/Portals/0/VanBan/To-trinh-UBND.pdf", Name: "Tờ trình của UBND tỉnh"},
			{URL: "https://hdnd.sonlam.gov.vn/Portals/0/VanBan/BC-Thuong-truc-2023.pdf", Name: "Báo cáo công tác năm 2023 của Thường trực HĐND tỉnh"},
		},
		firstPara: "Chiều 3/12, sau 3 ngày làm việc khẩn trương",
		inBody:    []string{"thông qua 28 nghị quyết", "lấy phiếu tín nhiệm"},
		notInBody: []string{"STT", "Phụ lục kèm theo", "Liên kết website", "TRANG CHỦ", "Bản quyền", "Xem"},
	},
	{
		name:      "WordPress-like, div label in capitals, onclick download, NFD text",
		file:      "lamha-div-label.html",
		url:       "https://lamha.sonlam.gov.vn/tin-tuc/thuong-truc-hdnd-hop-phien-thang-12.html",
		title:     "Thường trực HĐND tỉnh họp phiên tháng 12",
		published: time.Date(2023, 12, 1, 15, 34, 0, 0, ict),
		author:    "Phạm Thị Lan",
		tags:      []string{"HĐND huyện", "kỳ họp"},
		site:      "lamha.sonlam.gov.vn",
		attachments: []Attachment{
			{URL: "https://lamha.sonlam.gov.vn/Upload/2023/12/BC%20KT-XH%20nam%202023.PDF?v=3", Name: "BC KT-XH nam 2023.PDF"},
			{URL: "https://lamha.sonlam.gov.vn/Upload/2023/12/Ke%20hoach%202024.doc", Name: "Kế hoạch năm 2024"},
			{URL: "https://lamha.sonlam.gov.vn/api/files/98765/download", Name: "Danh mục công trình trọng điểm"},
			{URL: "https://cdn.lamha.gov.vn/files/phu-luc-01.xls", Name: "Phụ lục 01"},
		},
		firstPara: "Chiều 1/12, Thường trực HĐND huyện Lâm Hà",
		inBody: []string{
			"có 1.126 doanh nghiệp thành lập mới, tăng 12,4%", // NFD in the page
			"Xem thêm: Kỳ họp thứ 8 HĐND huyện khóa XXI",
		},
		notInBody: []string{"TỆP ĐÍNH KÈM", "Ảnh kỳ họp", "Danh mục công trình", "Phụ lục 01", "Bài viết liên quan", "Thẻ", "UBND huyện Lâm Hà"},
	},
	{
		name:      "table-layout page without attachments or body classes",
		file:      "sotnmt-no-attachments.html",
		url:       "http://www.stnmt.sonlam.gov.vn/tin-tuc/chi-tiet.aspx?id=1203",
		title:     "Sở Tài nguyên và Môi trường tỉnh Sơn Lâm",
		published: time.Date(2023, 12, 1, 15, 34, 0, 0, ict),
		site:      "stnmt.sonlam.gov.vn",
		firstPara: "Sơ kết công tác quản lý đất đai năm 2023",
		inBody:    []string{"4.560 ha", "trước ngày 31/3/2024"},
		notInBody: []string{"Thông báo lịch tiếp công dân", "Thủ tục hành chính", "Điện thoại"},
	},
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestParse(t *testing.T) {
	for _, tc := range fixtures {
		t.Run(tc.name, func(t *testing.T) {
			a, err := Parse(readFixture(t, tc.file), tc.url)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if a.URL != tc.url {
				t.Errorf("URL = %q, want %q", a.URL, tc.url)
			}
			if a.Title != tc.title {
				t.Errorf("Title = %q, want %q", a.Title, tc.title)
			}
			if !a.PublishedAt.Equal(tc.published) {
				t.Errorf("PublishedAt = %v, want %v", a.PublishedAt, tc.published)
			}
			if _, off := a.PublishedAt.Zone(); !a.PublishedAt.IsZero() && off != 7*60*60 {
				t.Errorf("PublishedAt offset = %d, want +07:00", off)
			}
			if a.Author != tc.author {
				t.Errorf("Author = %q, want %q", a.Author, tc.author)
			}
			if !slices.Equal(a.Tags, tc.tags) {
				t.Errorf("Tags = %q, want %q", a.Tags, tc.tags)
			}
			if a.Site != tc.site {
				t.Errorf("Site = %q, want %q", a.Site, tc.site)
			}
			if !slices.Equal(a.Attachments, tc.attachments) {
				t.Errorf("Attachments:\n got %s\nwant %s", dump(a.Attachments), dump(tc.attachments))
			}
			if len(a.Paragraphs) == 0 || !strings.HasPrefix(a.Paragraphs[0], tc.firstPara) {
				t.Errorf("first paragraph = %q, want prefix %q", first(a.Paragraphs), tc.firstPara)
			}
			body := strings.Join(a.Paragraphs, "\n")
			for _, s := range tc.inBody {
				if !strings.Contains(body, s) {
					t.Errorf("body lacks %q; body:\n%s", s, body)
				}
			}
			for _, s := range tc.notInBody {
				if strings.Contains(body, s) {
					t.Errorf("body has %q; body:\n%s", s, body)
				}
			}
			checkInvariants(t, a)
		})
	}
}

// TestParseGolden compares the whole Article for each fixture with
// testdata/golden/<file>.json; run with -update to rewrite them.
func TestParseGolden(t *testing.T) {
	for _, tc := range fixtures {
		t.Run(tc.file, func(t *testing.T) {
			a, err := Parse(readFixture(t, tc.file), tc.url)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got, err := json.MarshalIndent(a, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := filepath.Join("testdata", "golden", strings.TrimSuffix(tc.file, ".html")+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Parse(%s) differs from %s (run go test -update if the change is intended):\n%s", tc.file, golden, got)
			}
		})
	}
}

// TestAttachmentLayouts runs small pages through Parse, one attachment
// markup each.
func TestAttachmentLayouts(t *testing.T) {
	const pageURL = "https://tinh.gov.vn/tin-tuc/2023/12/ky-hop.html"
	tests := []struct {
		name string
		html string
		want []Attachment
	}{
		{
			name: "label in strong, list after",
			html: `<p>Nội dung bài.</p><p><strong>File đính kèm:</strong></p><ul><li><a href="bc.pdf">Báo cáo</a></li><li><a href="/files/kh.docx">Kế hoạch</a></li></ul>`,
			want: []Attachment{
				{URL: "https://tinh.gov.vn/tin-tuc/2023/12/bc.pdf", Name: "Báo cáo"},
				{URL: "https://tinh.gov.vn/files/kh.docx", Name: "Kế hoạch"},
			},
		},
		{
			name: "label and links in one paragraph, no diacritics",
			html: `<p>FILE DINH KEM: <a href="/dl?id=1">Bao cao tong hop</a>, <a href="/dl?id=2">Phu luc</a></p>`,
			want: []Attachment{
				{URL: "https://tinh.gov.vn/dl?id=1", Name: "Bao cao tong hop"},
				{URL: "https://tinh.gov.vn/dl?id=2", Name: "Phu luc"},
			},
		},
		{
			name: "h3 label, download handler without extension",
			html: `<h3>Văn bản đính kèm</h3><div><a href="/Download.aspx?ID=77">Nghị quyết số 12/NQ-HĐND</a></div><h3>Ý kiến bạn đọc</h3><div><a href="/Download.aspx?ID=78">không phải tệp đính kèm</a></div>`,
			want: []Attachment{{URL: "https://tinh.gov.vn/Download.aspx?ID=77", Name: "Nghị quyết số 12/NQ-HĐND"}},
		},
		{
			name: "table caption",
			html: `<table><caption>Tài liệu đính kèm</caption><tr><td>1</td><td><a href="/getfile/abc">Tờ trình</a></td></tr></table>`,
			want: []Attachment{{URL: "https://tinh.gov.vn/getfile/abc", Name: "Tờ trình"}},
		},
		{
			name: "label in a table cell",
			html: `<table><tr><td>Tệp đính kèm</td><td><a href="../../../upload/bao%20cao.pdf">bao cao.pdf</a></td></tr></table>`,
			want: []Attachment{{URL: "https://tinh.gov.vn/upload/bao%20cao.pdf", Name: "bao cao.pdf"}},
		},
		{
			name: "base href resolves relative links",
			html: `<base href="https://cdn.tinh.gov.vn/media/"><p>Tải về: <a href="2023/bc.pdf">bc.pdf</a></p>`,
			want: []Attachment{{URL: "https://cdn.tinh.gov.vn/media/2023/bc.pdf", Name: "bc.pdf"}},
		},
		{
			name: "relative base href",
			html: `<base href="/static/"><p><a href="x.PDF">Báo cáo</a></p>`,
			want: []Attachment{{URL: "https://tinh.gov.vn/static/x.PDF", Name: "Báo cáo"}},
		},
		{
			name: "extension in any case, query, fragment, escaped Vietnamese name",
			html: `<p>Xem <a href="/up/B%C3%A1o%20c%C3%A1o.Pdf?v=2#page=3">tại đây</a> và <a href="/up/Báo cáo.Pdf?v=2">bản gốc</a>.</p>`,
			want: []Attachment{{URL: "https://tinh.gov.vn/up/B%C3%A1o%20c%C3%A1o.Pdf?v=2", Name: "Báo cáo.Pdf"}},
		},
		{
			name: "unescaped spaces and Vietnamese in the query",
			html: `<p><a href="/DownloadFile.ashx?name=Báo cáo năm.docx">Báo cáo năm</a></p>`,
			want: []Attachment{{URL: "https://tinh.gov.vn/DownloadFile.ashx?name=B%C3%A1o%20c%C3%A1o%20n%C4%83m.docx", Name: "Báo cáo năm"}},
		},
		{
			name: "downloadfile javascript with spaces, name argument",
			html: `<ul class="fileAttack"><li><a href="javascript:downloadfile('Bao cao 2023.doc','/Lists/Attachments/5/Bao cao 2023.doc');"><img src="a.png">Bao cao 2023.doc</a></li></ul>`,
			want: []Attachment{{URL: "https://tinh.gov.vn/Lists/Attachments/5/Bao%20cao%202023.doc", Name: "Bao cao 2023.doc"}},
		},
		{
			name: "javascript link without text takes the name argument",
			html: `<a href="javascript:downloadfile('Kế hoạch.pdf','/Files/ke-hoach.pdf')"><img src="i.png"></a>`,
			want: []Attachment{{URL: "https://tinh.gov.vn/Files/ke-hoach.pdf", Name: "Kế hoạch.pdf"}},
		},
		{
			name: "WopiFrame viewer with a file resolves and deduplicates",
			html: `<p>Tệp đính kèm</p><ul><li><a href="/Lists/A/Bao cao.docx">Bao cao.docx</a> (<a href="/_layouts/15/WopiFrame.aspx?sourcedoc=/Lists/A/Bao cao.docx&action=default">Xem nhanh</a>)</li><li><a href="/_layouts/15/WopiFrame.aspx?sourcedoc=/Lists/A/Phu%20luc.xlsx">Xem nhanh</a></li></ul>`,
			want: []Attachment{
				{URL: "https://tinh.gov.vn/Lists/A/Bao%20cao.docx", Name: "Bao cao.docx"},
				{URL: "https://tinh.gov.vn/Lists/A/Phu%20luc.xlsx", Name: "Phu luc.xlsx"},
			},
		},
		{
			name: "viewer of an unknown file is skipped",
			html: `<h4>File đính kèm</h4><a href="/_layouts/15/WopiFrame.aspx?sourcedoc={11111111-2222-3333-4444-555555555555}">Xem</a>`,
			want: nil,
		},
		{
			name: "links outside the body are not attachments",
			html: `<nav><a href="/menu.pdf">Menu</a></nav><p>Bài viết.</p><div class="tin-lien-quan"><a href="/old.pdf">Cũ</a></div><footer><a href="/quy-che.pdf">Quy chế</a></footer>`,
			want: nil,
		},
		{
			name: "link text is a file name on a handler URL",
			html: `<p>Tài liệu hội nghị: <a href="/handler/7781">Bao-cao-chinh-tri.docx (2,1 MB)</a></p>`,
			want: []Attachment{{URL: "https://tinh.gov.vn/handler/7781", Name: "Bao-cao-chinh-tri.docx"}},
		},
		{
			name: "non-http schemes and images are skipped",
			html: `<p>File đính kèm: <a href="ftp://tinh.gov.vn/a.pdf">ftp</a> <a href="mailto:a@b.vn">thư</a> <a href="/anh.jpg">ảnh</a> <a href="data:application/pdf;base64,AAAA">data</a></p>`,
			want: nil,
		},
		{
			name: "embedded pdf.js viewer",
			html: `<iframe src="/pdfjs/web/viewer.html?file=/upload/bc%20nam.pdf" title="Báo cáo năm"></iframe>`,
			want: []Attachment{{URL: "https://tinh.gov.vn/upload/bc%20nam.pdf", Name: "Báo cáo năm"}},
		},
		{
			name: "600 unclosed divs (deeper than html.Parse allows)",
			html: strings.Repeat("<div>", 600) + `<p>Nội dung.</p><p>File đính kèm: <a href="/up/bc.pdf">Báo cáo</a></p>`,
			want: []Attachment{{URL: "https://tinh.gov.vn/up/bc.pdf", Name: "Báo cáo"}},
		},
		{
			name: "generic link text falls back to the list item text",
			html: `<h4>Tải về</h4><ul><li>Báo cáo tình hình KT-XH <a href="/api/download/1">Tải về</a></li><li><a href="/files/ke%20hoach.pdf">Download</a></li></ul>`,
			want: []Attachment{
				{URL: "https://tinh.gov.vn/api/download/1", Name: "Báo cáo tình hình KT-XH"},
				{URL: "https://tinh.gov.vn/files/ke%20hoach.pdf", Name: "ke hoach.pdf"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			page := `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Kỳ họp</title></head><body><div class="detail-content">` + tc.html + `</div></body></html>`
			a, err := Parse([]byte(page), pageURL)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !slices.Equal(a.Attachments, tc.want) {
				t.Errorf("Attachments:\n got %s\nwant %s", dump(a.Attachments), dump(tc.want))
			}
			checkInvariants(t, a)
		})
	}
}

func TestParseNotHTML(t *testing.T) {
	tests := []struct {
		name string
		raw  []byte
	}{
		{"empty", nil},
		{"white space", []byte(" \r\n\t ")},
		{"PDF", []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n")},
		{"DOCX", []byte("PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml")},
		{"DOC", []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00\x00\x00")},
		{"plain text", []byte("Báo cáo tình hình kinh tế - xã hội năm 2023\n\nI. Kết quả")},
		{"JSON", []byte(`{"title": "Kỳ họp thứ 15", "body": "a < b"}`)},
		{"binary", []byte("\x00\x01\x02<html>\x00\x00")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := Parse(tc.raw, "https://tinh.gov.vn/a.html")
			if !errors.Is(err, ErrNotHTML) {
				t.Fatalf("Parse = %+v, %v; want ErrNotHTML", a, err)
			}
		})
	}
}

func TestParseBadPageURL(t *testing.T) {
	for _, u := range []string{"", "/tin-tuc/a.html", "ftp://tinh.gov.vn/a.html", "https://", "http://a b/"} {
		t.Run(u, func(t *testing.T) {
			if _, err := Parse([]byte("<p>x</p>"), u); err == nil {
				t.Errorf("Parse with page URL %q: no error", u)
			}
		})
	}
}

func TestParseFragmentAndEmptyBody(t *testing.T) {
	tests := []struct {
		name, html string
		paras      int
	}{
		{"fragment", `<p>Báo cáo tóm tắt kết quả kỳ họp, gồm 28 nghị quyết được thông qua.</p>`, 1},
		{"empty body", `<html><head><title>Trống</title></head><body></body></html>`, 0},
		{"only menus", `<body><nav><a href="/">Trang chủ</a></nav><footer>Bản quyền</footer></body>`, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := Parse([]byte(tc.html), "http://upload.invalid/")
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(a.Paragraphs) != tc.paras {
				t.Errorf("Paragraphs = %q, want %d", a.Paragraphs, tc.paras)
			}
			if len(a.Attachments) != 0 {
				t.Errorf("Attachments = %v, want none", a.Attachments)
			}
		})
	}
}

func TestParseLegacyEncodings(t *testing.T) {
	// "Tin tức Hà Nội" in windows-1258, which writes most tones as
	// combining marks: ư=FD, acute=EC, grave=CC, ô=F4, dot below=F2.
	cp1258 := "Tin t\xfd\xecc Ha\xcc N\xf4\xf2i"
	utf16, err := xunicode.UTF16(xunicode.LittleEndian, xunicode.UseBOM).NewEncoder().String(
		`<html><head><title>Kỳ họp thứ 15</title></head><body><p>Nội dung</p></body></html>`)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, raw, title string
	}{
		{"windows-1258 declared", `<html><head><meta charset="windows-1258"><title>` + cp1258 + `</title></head><body><p>x</p></body></html>`, "Tin tức Hà Nội"},
		{"windows-1258 undeclared", `<html><head><title>` + cp1258 + `</title></head><body><p>x</p></body></html>`, "Tin tức Hà Nội"},
		{"UTF-8 with BOM", "\xef\xbb\xbf<title>Kỳ họp</title><p>x</p>", "Kỳ họp"},
		{"UTF-16 with BOM", utf16, "Kỳ họp thứ 15"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := Parse([]byte(tc.raw), "https://tinh.gov.vn/")
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if a.Title != tc.title {
				t.Errorf("Title = %q (% x), want %q", a.Title, a.Title, tc.title)
			}
		})
	}
}

func TestStripSite(t *testing.T) {
	tests := []struct {
		name, title, siteName, host, head, want string
	}{
		{"site name suffix", "Khai mạc kỳ họp - Báo Bắc Giang", "", "baobacgiang.vn", "", "Khai mạc kỳ họp"},
		{"host spelled out", "Khai mạc kỳ họp | BAOBACGIANG", "", "baobacgiang.vn", "", "Khai mạc kỳ họp"},
		{"og:site_name", "Khai mạc kỳ họp – Tin Sơn Lâm", "Tin Sơn Lâm", "x.vn", "", "Khai mạc kỳ họp"},
		{"portal prefix", "Cổng thông tin điện tử tỉnh X - Hội nghị Tỉnh ủy lần thứ 20", "", "x.gov.vn", "", "Hội nghị Tỉnh ủy lần thứ 20"},
		{"domain", "Hội nghị Tỉnh ủy :: sonlam.gov.vn", "", "other.vn", "", "Hội nghị Tỉnh ủy"},
		{"two suffixes", "Kỳ họp thứ 15 - Tin tức - Báo Sơn Lâm", "", "baosonlam.vn", "", "Kỳ họp thứ 15"},
		{"kinh tế - xã hội stays", "Tình hình kinh tế - xã hội năm 2023", "", "tinh.gov.vn", "", "Tình hình kinh tế - xã hội năm 2023"},
		{"headline wins", "Kỳ họp thứ 15 - Chính trị - Sơn Lâm 24h", "", "sl24.vn", "Kỳ họp thứ 15", "Kỳ họp thứ 15"},
		{"nothing left", "Báo Sơn Lâm", "", "baosonlam.vn", "", "Báo Sơn Lâm"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := stripSite(tc.title, tc.siteName, tc.host, tc.head); got != tc.want {
				t.Errorf("stripSite(%q) = %q, want %q", tc.title, got, tc.want)
			}
		})
	}
}

func TestPublished(t *testing.T) {
	d := func(y, mo, d, h, mi int) time.Time { return time.Date(y, time.Month(mo), d, h, mi, 0, 0, ict) }
	tests := []struct {
		name, html string
		want       time.Time
	}{
		{"time first", `<span class="time">15:34 01/12/2023</span>`, d(2023, 12, 1, 15, 34)},
		{"date first", `<div class="date">01/12/2023 15:34</div>`, d(2023, 12, 1, 15, 34)},
		{"weekday", `<div class="ngay-dang">Thứ Sáu, 01/12/2023 - 15:34</div>`, d(2023, 12, 1, 15, 34)},
		{"date only", `<div class="post-date">01/12/2023</div>`, d(2023, 12, 1, 0, 0)},
		{"h notation", `<p class="meta">Cập nhật 15h34 ngày 1-12-2023</p>`, d(2023, 12, 1, 15, 34)},
		{"GMT+7 suffix", `<span class="pdate">01/12/2023 | 15:34 (GMT+7)</span>`, d(2023, 12, 1, 15, 34)},
		{"meta ISO with zone", `<meta property="article:published_time" content="2023-12-01T08:34:00Z">`, d(2023, 12, 1, 15, 34)},
		{"meta ISO without zone", `<meta property="article:published_time" content="2023-12-01T15:34:00">`, d(2023, 12, 1, 15, 34)},
		{"meta Vietnamese text", `<meta name="pubdate" content="01/12/2023 15:34">`, d(2023, 12, 1, 15, 34)},
		{"time element", `<time datetime="2023-12-01T15:34:00+07:00">1 tháng 12</time>`, d(2023, 12, 1, 15, 34)},
		{"time element text", `<time>15:34 01/12/2023</time>`, d(2023, 12, 1, 15, 34)},
		{"unclassed line", `<div><span>15:34 01/12/2023</span></div>`, d(2023, 12, 1, 15, 34)},
		{"unclassed date with label", `<div>Ngày đăng: 01/12/2023</div>`, d(2023, 12, 1, 0, 0)},
		{"PM", `<span class="date">03:34 PM 01/12/2023</span>`, d(2023, 12, 1, 15, 34)},
		{"effective date is not publication", `<div class="info">Ngày có hiệu lực: 01/01/2024</div>`, time.Time{}},
		{"impossible date", `<span class="date">31/02/2023</span>`, time.Time{}},
		{"dates in related news do not count", `<div class="tin-lien-quan"><span class="date">30/11/2023</span></div>`, time.Time{}},
		{"date inside prose does not count", `<p>Kỳ họp diễn ra từ ngày 01/12/2023 đến hết ngày 03/12/2023 tại Hội trường tỉnh, với sự tham dự của các đại biểu HĐND tỉnh và khách mời.</p>`, time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := Parse([]byte(`<html><head>`+tc.html+`</head><body>`+tc.html+`</body></html>`), "https://tinh.gov.vn/")
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !a.PublishedAt.Equal(tc.want) {
				t.Errorf("PublishedAt = %v, want %v", a.PublishedAt, tc.want)
			}
		})
	}
}

func TestAuthorAndTags(t *testing.T) {
	const body = `<div class="detail-content"><p>Nội dung bài viết về kỳ họp HĐND tỉnh, với nhiều số liệu, chỉ tiêu và nhiệm vụ năm 2024.</p>`
	tests := []struct {
		name, html, author string
		tags               []string
	}{
		{"tacgia class", body + `<p class="tacgia">Thu Trang</p></div>`, "Thu Trang", nil},
		{"label", body + `<p>Bài và ảnh: Ngọc Anh</p></div>`, "Ngọc Anh", nil},
		{"label then name element", body + `<p><span>Tác giả:</span> <b>Lê Hùng</b></p></div>`, "Lê Hùng", nil},
		{"trailing bold line", body + `<p><b>Hoàng Minh - Thu Hà</b></p></div>`, "Hoàng Minh - Thu Hà", nil},
		{"trailing right-aligned line", body + `<p align="right">Nhóm PV (tổng hợp)</p></div>`, "Nhóm PV", nil},
		{"bold sentence is not a name", body + `<p><strong>Kỳ họp sẽ bế mạc vào ngày 3/12.</strong></p></div>`, "", nil},
		{"meta author, not the site", body + `</div><meta name="author" content="Đỗ Văn Long">`, "Đỗ Văn Long", nil},
		{"meta author that is the site", body + `</div><meta name="author" content="Báo Sơn Lâm">`, "", nil},
		{"tags label", body + `</div><div>Từ khoá: <a href="/t/1">ngân sách</a> <a href="/t/2">#đầu tư công</a></div>`, "", []string{"ngân sách", "đầu tư công"}},
		{"tags class", body + `</div><ul class="tags"><li><a href="/t/1">Kỳ họp</a></li><li><a href="/t/1">kỳ họp</a></li></ul>`, "", []string{"Kỳ họp"}},
		{"meta keywords", body + `</div><meta name="keywords" content="HĐND, kỳ họp thứ 15 ; ngân sách,">`, "", []string{"HĐND", "kỳ họp thứ 15", "ngân sách"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := Parse([]byte(tc.html), "https://baosonlam.vn/a.html")
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if a.Author != tc.author {
				t.Errorf("Author = %q, want %q", a.Author, tc.author)
			}
			if !slices.Equal(a.Tags, tc.tags) {
				t.Errorf("Tags = %q, want %q", a.Tags, tc.tags)
			}
			for _, p := range a.Paragraphs {
				if tc.author != "" && strings.Contains(p, tc.author) {
					t.Errorf("author %q left in the body: %q", tc.author, p)
				}
			}
		})
	}
}

func TestResolve(t *testing.T) {
	base := mustURL(t, "https://tinh.gov.vn/a/b/page.aspx?id=1")
	tests := []struct {
		ref, want string
	}{
		{"x.pdf", "https://tinh.gov.vn/a/b/x.pdf"},
		{"../x.pdf", "https://tinh.gov.vn/a/x.pdf"},
		{"/x.pdf#p=2", "https://tinh.gov.vn/x.pdf"},
		{"//cdn.tinh.gov.vn/x.pdf", "https://cdn.tinh.gov.vn/x.pdf"},
		{"HTTP://Other.vn/x.pdf", "http://Other.vn/x.pdf"},
		{"\n\t /up/Báo cáo.pdf ", "https://tinh.gov.vn/up/B%C3%A1o%20c%C3%A1o.pdf"},
		{`\Upload\2023\bc.pdf`, "https://tinh.gov.vn/Upload/2023/bc.pdf"},
		{"/up/giam 5%.pdf", "https://tinh.gov.vn/up/giam%205%25.pdf"},
		{"/dl?f=a b&n=Kỳ họp", "https://tinh.gov.vn/dl?f=a%20b&n=K%E1%BB%B3%20h%E1%BB%8Dp"},
		{"javascript:void(0)", ""},
		{"mailto:a@b.vn", ""},
		{"data:text/plain,x", ""},
		{"http://user:pw@tinh.gov.vn/x.pdf", ""},
		{"http://[::1", ""},
		{"", ""},
	}
	for _, tc := range tests {
		t.Run(tc.ref, func(t *testing.T) {
			u, ok := resolve(base, tc.ref)
			got := ""
			if ok {
				got = u.String()
			}
			if got != tc.want {
				t.Errorf("resolve(%q) = %q, want %q", tc.ref, got, tc.want)
			}
		})
	}
}

// checkInvariants asserts what holds for every page: absolute http(s)
// attachment URLs, NFC text without stray white space.
func checkInvariants(t testing.TB, a *Article) {
	t.Helper()
	seen := map[string]bool{}
	for _, at := range a.Attachments {
		u, err := parseURL(at.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" {
			t.Errorf("attachment URL %q is not absolute http(s) without fragment (err %v)", at.URL, err)
		}
		if seen[at.URL] {
			t.Errorf("attachment URL %q listed twice", at.URL)
		}
		seen[at.URL] = true
		if at.Name == "" {
			t.Errorf("attachment %q has no name", at.URL)
		}
	}
	texts := append([]string{a.Title, a.Author}, a.Paragraphs...)
	texts = append(texts, a.Tags...)
	for _, at := range a.Attachments {
		texts = append(texts, at.Name)
	}
	for _, s := range texts {
		if clean(s) != s {
			t.Errorf("text not cleaned (NFC, collapsed spaces): %q", s)
		}
	}
	for _, p := range a.Paragraphs {
		if p == "" {
			t.Error("empty paragraph")
		}
	}
}

func dump(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func parseURL(s string) (*url.URL, error) { return url.Parse(s) }

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestDemoArticle checks the sample meeting that `bantin demo` serves and
// crawls: the article page must yield its two attachments, and they must
// be the PDFs lying next to it.
func TestDemoArticle(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "internal", "demo", "sample")
	raw, err := os.ReadFile(filepath.Join(dir, "article.html"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := Parse(raw, "http://127.0.0.1:8080/article.html")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := []Attachment{
		{URL: "http://127.0.0.1:8080/bao-cao-kt-xh-2023.pdf", Name: "Báo cáo tình hình kinh tế - xã hội năm 2023, phương hướng, nhiệm vụ năm 2024"},
		{URL: "http://127.0.0.1:8080/ke-hoach-2024.pdf", Name: "Kế hoạch phát triển kinh tế - xã hội năm 2024"},
	}
	if !slices.Equal(a.Attachments, want) {
		t.Errorf("Attachments:\n got %s\nwant %s", dump(a.Attachments), dump(want))
	}
	if a.Title != "Khai mạc Kỳ họp thứ 15, HĐND tỉnh khóa XIX" {
		t.Errorf("Title = %q", a.Title)
	}
	if want := time.Date(2023, 12, 1, 15, 34, 0, 0, ict); !a.PublishedAt.Equal(want) {
		t.Errorf("PublishedAt = %v, want %v", a.PublishedAt, want)
	}
	if a.Author != "Minh Hà" || len(a.Tags) != 4 || len(a.Paragraphs) < 5 {
		t.Errorf("Author = %q, Tags = %q, %d paragraphs", a.Author, a.Tags, len(a.Paragraphs))
	}
	for _, at := range want {
		pdf, err := os.ReadFile(filepath.Join(dir, filepath.Base(at.URL)))
		if err != nil {
			t.Errorf("attachment missing from the demo: %v", err)
			continue
		}
		if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
			t.Errorf("%s is not a PDF", at.URL)
		}
	}
	checkInvariants(t, a)
}

// TestParsePathologicalShapes guards against quadratic walks: each page
// here once took seconds (or failed in html.Parse) and must now parse in
// well under the budget, which is generous so that a loaded CI machine
// does not flake.
func TestParsePathologicalShapes(t *testing.T) {
	const budget = 5 * time.Second
	tests := []struct {
		name, html string
	}{
		{"3000 unclosed divs", strings.Repeat("<div>Tin liên quan văn bản ", 3000)},
		{"400 nested tables", strings.Repeat("<table><tr><td>nội dung <a href=x.pdf>a</a>", 400)},
		{"5000 unclosed b", strings.Repeat("<b>File đính kèm ", 5000)},
		{"5000 author labels", "<div>" + strings.Repeat("<span>Tác giả:</span> ", 5000) + "</div>"},
		{"5000 tag labels", "<div>" + strings.Repeat("<span>Từ khóa:</span> <a href=/t>x</a> ", 5000) + "</div>"},
		{"5000 related headings", "<div>" + strings.Repeat("<h3>Tin khác</h3><p>x</p>", 5000) + "</div>"},
		{"5000 download buttons", "<div><b>Tải về</b>" + strings.Repeat("<a href='/dl?id=1'>Tải về</a> ", 5000) + "</div>"},
		{"5000 attachment labels", strings.Repeat("<p><strong>File đính kèm:</strong></p><div><p>Tải về</p></div>", 5000)},
		{"20000 date-like spans", "<div>" + strings.Repeat("<span class=date>1/1/1 </span>", 20000) + "</div>"},
		{"1000 lead teasers", strings.Repeat("<div class=summary>Tóm tắt bài viết với đủ chữ để làm sapo</div>", 1000) + "<div class=detail-content><p>x</p></div>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			a, err := Parse([]byte(tc.html), "https://tinh.gov.vn/a.html")
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if d := time.Since(start); d > budget {
				t.Errorf("Parse took %v, budget %v", d, budget)
			}
			checkInvariants(t, a)
		})
	}
}
