package publish

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/bantin/bantin/internal/model"
)

// goldenBaseURL is the BaseURL of Indexes whose output is compared with
// golden files, so that they do not depend on the test server's port.
const goldenBaseURL = "https://bantin.example"

// newServer starts a real HTTP server for a new Index. When opts.BaseURL is
// empty it is set to the server's own URL, so links in feeds can be followed.
func newServer(t *testing.T, opts IndexOptions) (*Index, *httptest.Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listening: %v", err)
	}
	if opts.BaseURL == "" {
		opts.BaseURL = "http://" + ln.Addr().String()
	}
	x := NewIndex(opts)
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: x.Handler()}}
	srv.Start()
	t.Cleanup(srv.Close)
	return x, srv
}

// get fetches url with the given request headers through a client that does
// not negotiate gzip by itself, and returns the response and its body.
func get(t *testing.T, url string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatalf("building request: %v", err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading %s: %v", url, err)
	}
	return resp, body
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("parsing time %q: %v", s, err)
	}
	return tm
}

// sampleDigests are three digests of reports from provincial sites, in NFC,
// with fixed times. Newest first they are: quangNinh, bacGiang, daNang.
func sampleDigests(t *testing.T) (bacGiang, quangNinh, daNang model.Digest) {
	t.Helper()
	bacGiang = model.Digest{
		SchemaVersion: model.SchemaVersion,
		ID:            "3f9a1c0b7d2e4a55",
		ReportID:      "3f9a1c0b7d2e4a55e0c1b2a39485766f1e2d3c4b5a69788796a5b4c3d2e1f001",
		Title:         "Kinh tế – xã hội tỉnh Bắc Giang 11 tháng năm 2023 tăng trưởng cao nhất cả nước",
		Summary:       "Tổng sản phẩm trên địa bàn (GRDP) ước tăng 13,45%, dẫn đầu cả nước. Thu ngân sách đạt 181,9 nghìn tỷ đồng; thu hút đầu tư nước ngoài vượt kế hoạch.",
		Bullets: []model.Bullet{
			{Text: "Giá trị sản xuất công nghiệp tăng 25,6% so với cùng kỳ.", Page: 2},
			{Text: "Kim ngạch xuất khẩu ước đạt 25 tỷ USD.", Page: 3},
			{Text: "Đề nghị HĐND tỉnh xem xét điều chỉnh kế hoạch đầu tư công."},
		},
		Figures: []model.Figure{
			{Text: "13,45%", Value: 13.45, Unit: "%", Page: 1},
			{Text: "181,9 nghìn tỷ đồng", Value: 181.9, Unit: "nghìn tỷ đồng", Page: 2},
		},
		Language: "vi",
		Source: model.Source{
			ArticleURL:     "https://baobacgiang.vn/bg/chinh-tri/411234/ky-hop-thu-14-hdnd-tinh-khoa-xix.html",
			ArticleTitle:   "Khai mạc Kỳ họp thứ 14, HĐND tỉnh khóa XIX",
			PublishedAt:    mustTime(t, "2023-12-01T08:34:00Z"),
			Author:         "Thu Hương",
			Tags:           []string{"Kinh tế", "HĐND tỉnh"},
			AttachmentURL:  "https://baobacgiang.vn/files/2023/12/bao-cao-kt-xh-11-thang.pdf",
			AttachmentName: "Báo cáo KT-XH 11 tháng.pdf",
			Site:           "baobacgiang.vn",
		},
		Backend:   "llm:gpt-4o-mini",
		CreatedAt: mustTime(t, "2023-12-01T09:00:00Z"),
		Version:   1,
	}
	quangNinh = model.Digest{
		SchemaVersion: model.SchemaVersion,
		ID:            "b71e02c9aa4f3d18",
		ReportID:      "b71e02c9aa4f3d18c2a0e9f8d7c6b5a4938271605f4e3d2c1b0a998877665544",
		Title:         "Nghị quyết về dự toán ngân sách năm 2024 của tỉnh Quảng Ninh",
		Summary:       "HĐND tỉnh thông qua dự toán thu ngân sách nhà nước 51.000 tỷ đồng. Ưu tiên vốn cho hạ tầng giao thông và y tế cơ sở.",
		Bullets: []model.Bullet{
			{Text: "Thu nội địa dự kiến 36.500 tỷ đồng.", Page: 1},
			{Text: "Chi đầu tư phát triển chiếm 45% tổng chi.", Page: 4},
			{Text: "Giao UBND tỉnh hướng dẫn thực hiện từ ngày 01/01/2024.", Page: 5},
		},
		Figures: []model.Figure{
			{Text: "51.000 tỷ đồng", Value: 51000, Unit: "tỷ đồng", Page: 1},
		},
		Language: "vi",
		Source: model.Source{
			AttachmentName: "Nghị quyết 15-NQ-HĐND.docx",
			Site:           "upload",
		},
		Backend:      "extractive",
		NeedsReview:  true,
		ReviewReason: "số liệu chưa khớp với văn bản gốc",
		CreatedAt:    mustTime(t, "2023-12-02T01:00:00Z"),
		Version:      1,
	}
	daNang = model.Digest{
		SchemaVersion: model.SchemaVersion,
		ID:            "0c4d8e2f61a7b935",
		ReportID:      "0c4d8e2f61a7b9351f2e3d4c5b6a79880011223344556677889900aabbccddee",
		Title:         "Đà Nẵng: báo cáo tình hình khắc phục hậu quả mưa lũ",
		Summary:       "Mưa lớn kéo dài gây ngập úng nhiều tuyến đường, thiệt hại ước 120 tỷ đồng. Thành phố đề xuất hỗ trợ khẩn cấp cho các hộ dân bị ảnh hưởng.",
		Bullets: []model.Bullet{
			{Text: "Hơn 300 hộ dân phải di dời đến nơi an toàn.", Page: 1},
			{Text: "Ngành giáo dục cho học sinh nghỉ học hai ngày.", Page: 2},
			{Text: "Đề nghị Trung ương hỗ trợ 50 tỷ đồng.", Page: 3},
		},
		Figures: []model.Figure{
			{Text: "120 tỷ đồng", Value: 120, Unit: "tỷ đồng", Page: 1},
		},
		Language: "vi",
		Source: model.Source{
			ArticleURL:     "https://danang.gov.vn/web/guest/chinh-quyen/chi-tiet?id=58231",
			ArticleTitle:   "Khắc phục hậu quả mưa lũ",
			PublishedAt:    mustTime(t, "2023-11-30T03:00:00Z"),
			Tags:           []string{"Thiên tai"},
			AttachmentURL:  "https://danang.gov.vn/documents/10184/bao-cao-mua-lu.docx",
			AttachmentName: "Báo cáo mưa lũ.docx",
			Site:           "danang.gov.vn",
		},
		Backend:   "llm:gpt-4o-mini",
		CreatedAt: mustTime(t, "2023-11-30T04:00:00Z"),
		UpdatedAt: mustTime(t, "2023-11-30T06:30:00Z"),
		Version:   2,
	}
	return bacGiang, quangNinh, daNang
}

// hostileDigest has markup and a CDATA terminator in every text field and a
// javascript: link, none of which may become live anywhere.
func hostileDigest(t *testing.T) model.Digest {
	t.Helper()
	const evil = `<script>alert(1)</script> ]]> "quoted" & more`
	return model.Digest{
		SchemaVersion: model.SchemaVersion,
		ID:            "eeee0000eeee0000",
		ReportID:      "eeee0000eeee0000eeee0000eeee0000eeee0000eeee0000eeee0000eeee0000",
		Title:         "Tiêu đề " + evil,
		Summary:       "Tóm tắt " + evil,
		Bullets:       []model.Bullet{{Text: "Ý chính " + evil, Page: 1}},
		Figures:       []model.Figure{{Text: "]]><script>alert(2)</script>", Value: 2}},
		Language:      "vi",
		Source: model.Source{
			ArticleURL:     "javascript:alert(3)",
			ArticleTitle:   evil,
			PublishedAt:    mustTime(t, "2023-12-03T00:00:00Z"),
			Author:         "<script>alert(4)</script>",
			Tags:           []string{"<script>alert(5)</script>", "]]>"},
			AttachmentURL:  "https://example.vn/files/a.pdf",
			AttachmentName: evil + ".pdf",
			Site:           "example.vn",
		},
		Backend:      "llm:<script>alert(6)</script>",
		NeedsReview:  true,
		ReviewReason: evil,
		CreatedAt:    mustTime(t, "2023-12-03T00:00:00Z"),
		Version:      1,
	}
}

// htmlElements parses an HTML document or fragment and returns every element
// in it, in document order.
func htmlElements(t *testing.T, src string) []*html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(src))
	if err != nil {
		t.Fatalf("parsing HTML: %v", err)
	}
	var out []*html.Node
	for n := range doc.Descendants() {
		if n.Type == html.ElementNode {
			out = append(out, n)
		}
	}
	return out
}

// htmlText returns the text content of an HTML document or fragment.
func htmlText(t *testing.T, src string) string {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(src))
	if err != nil {
		t.Fatalf("parsing HTML: %v", err)
	}
	var b strings.Builder
	for n := range doc.Descendants() {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
	}
	return b.String()
}

// attr returns the value of n's attribute key.
func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// assertNoScriptElement fails when an HTML document or fragment contains a
// script element.
func assertNoScriptElement(t *testing.T, what, src string) {
	t.Helper()
	for _, n := range htmlElements(t, src) {
		if n.Data == "script" {
			t.Errorf("%s: contains a <script> element: %q", what, src)
			return
		}
	}
}
