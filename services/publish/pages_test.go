package publish

import (
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/bantin/bantin/internal/model"
)

// checkPage asserts what every HTML page has: language, charset, viewport,
// feed autodiscovery and visible subscribe links, and no script at all.
func checkPage(t *testing.T, resp *http.Response, body []byte, baseURL string) []*html.Node {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy = %q, want scripts forbidden", csp)
	}
	els := htmlElements(t, string(body))
	var hasLang, hasCharset, hasViewport bool
	var alternates, anchors []string
	for _, n := range els {
		switch n.Data {
		case "html":
			hasLang = attr(n, "lang") == "vi"
		case "meta":
			hasCharset = hasCharset || strings.EqualFold(attr(n, "charset"), "utf-8")
			hasViewport = hasViewport || attr(n, "name") == "viewport"
		case "link":
			if attr(n, "rel") == "alternate" {
				alternates = append(alternates, attr(n, "type")+" "+attr(n, "href"))
			}
		case "a":
			anchors = append(anchors, attr(n, "href"))
		case "script":
			t.Error("page has a <script> element")
		}
	}
	if !hasLang || !hasCharset || !hasViewport {
		t.Errorf(`lang="vi" %v, charset %v, viewport %v: all required`, hasLang, hasCharset, hasViewport)
	}
	wantAlternates := []string{
		"application/atom+xml " + baseURL + "/feeds/all.atom",
		"application/rss+xml " + baseURL + "/feeds/all.rss",
		"application/feed+json " + baseURL + "/feeds/all.json",
	}
	// Topic pages list their own feeds too.
	for _, w := range wantAlternates {
		if !slices.Contains(alternates, w) {
			t.Errorf("autodiscovery links = %q, want %q among them", alternates, w)
		}
	}
	for _, f := range []string{"/feeds/all.atom", "/feeds/all.rss", "/feeds/all.json"} {
		if !slices.Contains(anchors, baseURL+f) {
			t.Errorf("no visible link to %s", f)
		}
	}
	if !strings.Contains(htmlText(t, string(body)), "Theo dõi") {
		t.Error(`page lacks "Theo dõi"`)
	}
	return els
}

// hrefs returns the targets of the page's links.
func hrefs(els []*html.Node) []string {
	var out []string
	for _, n := range els {
		if n.Data == "a" {
			out = append(out, attr(n, "href"))
		}
	}
	return out
}

func TestHomePage(t *testing.T) {
	x, srv := newServer(t, IndexOptions{})
	bacGiang, quangNinh, daNang := sampleDigests(t)
	for _, d := range []model.Digest{bacGiang, quangNinh, daNang} {
		x.Put(d)
	}
	resp, body := get(t, srv.URL+"/")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /: %s", resp.Status)
	}
	els := checkPage(t, resp, body, srv.URL)
	text := htmlText(t, string(body))
	for _, want := range []string{
		"Bản tin mới nhất",
		bacGiang.Title, quangNinh.Title, daNang.Title,
		bacGiang.Summary,
		"15:34 01/12/2023", // bacGiang's PublishedAt, 08:34 UTC, in Hà Nội time
		"baobacgiang.vn", "danang.gov.vn",
		"Cần kiểm tra", // quangNinh needs review
	} {
		if !strings.Contains(text, want) {
			t.Errorf("home page lacks %q", want)
		}
	}
	links := hrefs(els)
	for _, want := range []string{
		srv.URL + "/digests/" + bacGiang.ID,
		srv.URL + "/digests/" + quangNinh.ID,
		bacGiang.Source.ArticleURL,
		daNang.Source.ArticleURL,
	} {
		if !slices.Contains(links, want) {
			t.Errorf("home page does not link to %s", want)
		}
	}
	// Newest first.
	if i, j := strings.Index(text, quangNinh.Title), strings.Index(text, daNang.Title); i > j {
		t.Error("home page is not newest first")
	}
	if resp, _ := get(t, srv.URL+"/", "If-None-Match", resp.Header.Get("ETag")); resp.StatusCode != http.StatusNotModified {
		t.Errorf("home page revalidation: %s, want 304", resp.Status)
	}
}

func TestHomePageEmpty(t *testing.T) {
	_, srv := newServer(t, IndexOptions{})
	resp, body := get(t, srv.URL+"/")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /: %s", resp.Status)
	}
	checkPage(t, resp, body, srv.URL)
	if !strings.Contains(htmlText(t, string(body)), "Chưa có bản tin nào") {
		t.Error("empty home page does not say so")
	}
}

func TestDigestPage(t *testing.T) {
	x, srv := newServer(t, IndexOptions{})
	bacGiang, quangNinh, _ := sampleDigests(t)
	x.Put(bacGiang)
	x.Put(quangNinh)

	t.Run("html", func(t *testing.T) {
		resp, body := get(t, srv.URL+"/digests/"+bacGiang.ID)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status = %s", resp.Status)
		}
		if !slices.Contains(resp.Header.Values("Vary"), "Accept") {
			t.Errorf("Vary = %q, want Accept", resp.Header.Values("Vary"))
		}
		els := checkPage(t, resp, body, srv.URL)
		text := htmlText(t, string(body))
		for _, want := range []string{
			bacGiang.Title,
			bacGiang.Summary,
			"15:34 01/12/2023",
			"Giá trị sản xuất công nghiệp tăng 25,6% so với cùng kỳ. (tr. 2)",
			"Đề nghị HĐND tỉnh xem xét điều chỉnh kế hoạch đầu tư công.",
			"Số liệu", "13,45%", "181,9 nghìn tỷ đồng",
			"Bài gốc", "Tải tệp đính kèm", bacGiang.Source.AttachmentName,
			"llm:gpt-4o-mini",
		} {
			if !strings.Contains(text, want) {
				t.Errorf("digest page lacks %q", want)
			}
		}
		if strings.Contains(text, "Cần kiểm tra") {
			t.Error("digest page has a review badge for a digest that needs none")
		}
		links := hrefs(els)
		for _, want := range []string{bacGiang.Source.ArticleURL, bacGiang.Source.AttachmentURL} {
			if !slices.Contains(links, want) {
				t.Errorf("digest page does not link to %s", want)
			}
		}
	})

	t.Run("needs review", func(t *testing.T) {
		resp, body := get(t, srv.URL+"/digests/"+quangNinh.ID)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status = %s", resp.Status)
		}
		text := htmlText(t, string(body))
		for _, want := range []string{"Cần kiểm tra", quangNinh.ReviewReason, "extractive", "08:00 02/12/2023"} {
			if !strings.Contains(text, want) {
				t.Errorf("digest page lacks %q", want)
			}
		}
	})

	t.Run("json", func(t *testing.T) {
		resp, body := get(t, srv.URL+"/digests/"+bacGiang.ID, "Accept", "application/json")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status = %s", resp.Status)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("Content-Type = %q", ct)
		}
		var got model.Digest
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("decoding: %v", err)
		}
		if !reflect.DeepEqual(got, bacGiang) {
			t.Errorf("JSON digest = %+v\nwant %+v", got, bacGiang)
		}
	})

	t.Run("browser accept header gets html", func(t *testing.T) {
		resp, _ := get(t, srv.URL+"/digests/"+bacGiang.ID, "Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("Content-Type = %q, want HTML", ct)
		}
	})

	t.Run("unknown id", func(t *testing.T) {
		resp, body := get(t, srv.URL+"/digests/khongco")
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("status = %s, want 404", resp.Status)
		}
		checkPage(t, resp, body, srv.URL)
		if !strings.Contains(htmlText(t, string(body)), "Không tìm thấy bản tin") {
			t.Error("404 page does not say what is missing")
		}
		resp, body = get(t, srv.URL+"/digests/khongco", "Accept", "application/json")
		if resp.StatusCode != http.StatusNotFound || !json.Valid(body) {
			t.Errorf("JSON 404: %s, %q", resp.Status, body)
		}
	})
}

func TestRoutes(t *testing.T) {
	_, srv := newServer(t, IndexOptions{})
	tests := []struct {
		name, method, path string
		want               int
	}{
		{name: "head feed", method: http.MethodHead, path: "/feeds/all.atom", want: http.StatusOK},
		{name: "post feed", method: http.MethodPost, path: "/feeds/all.rss", want: http.StatusMethodNotAllowed},
		{name: "unknown path", method: http.MethodGet, path: "/khong-co", want: http.StatusNotFound},
		{name: "unknown feed", method: http.MethodGet, path: "/feeds/all.xml", want: http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", tt.method, tt.path, err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("%s %s: %s, want %d", tt.method, tt.path, resp.Status, tt.want)
			}
		})
	}
}

func TestPagesEscaping(t *testing.T) {
	x, srv := newServer(t, IndexOptions{})
	evil := hostileDigest(t)
	x.Put(evil)
	for _, path := range []string{"/", "/digests/" + evil.ID} {
		t.Run(path, func(t *testing.T) {
			resp, body := get(t, srv.URL+path)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %s", resp.Status)
			}
			if strings.Contains(strings.ToLower(string(body)), "<script") {
				t.Errorf("page contains a raw <script:\n%s", body)
			}
			els := checkPage(t, resp, body, srv.URL)
			for _, h := range hrefs(els) {
				if strings.HasPrefix(strings.ToLower(h), "javascript:") {
					t.Errorf("page links to %q", h)
				}
			}
			text := htmlText(t, string(body))
			if !strings.Contains(text, evil.Title) || !strings.Contains(text, evil.Summary) {
				t.Errorf("page text does not show the title and summary as text: %q", text)
			}
		})
	}
	t.Run("json", func(t *testing.T) {
		_, body := get(t, srv.URL+"/digests/"+evil.ID, "Accept", "application/json")
		if strings.Contains(string(body), "<script") {
			t.Errorf("JSON has a raw <script: %s", body)
		}
		var got model.Digest
		if err := json.Unmarshal(body, &got); err != nil || got.Title != evil.Title {
			t.Errorf("JSON title = %q (%v), want %q", got.Title, err, evil.Title)
		}
	})
}

// A digest built on OCR text says so, in its page and its feed entries,
// naming the pages and the confidence.
func TestOCRDigestSaysSo(t *testing.T) {
	x, srv := newServer(t, IndexOptions{})
	d, _, _ := sampleDigests(t)
	d.OCR = &model.OCRInfo{Pages: []int{1, 2, 4}, Confidence: 86.6, Engine: "tesseract 5.3.0 vie", DPI: 300}
	x.Put(d)
	_, page := get(t, srv.URL+"/digests/"+d.ID)
	text := htmlText(t, string(page))
	for _, want := range []string{"Văn bản quét: các trang 1, 2, 4 được nhận dạng bằng OCR", "độ tin cậy 87%", "tesseract 5.3.0 vie"} {
		if !strings.Contains(text, want) {
			t.Errorf("digest page lacks %q:\n%s", want, text)
		}
	}
	_, atom := get(t, srv.URL+"/feeds/all.atom")
	if !strings.Contains(string(atom), "các trang 1, 2, 4 được nhận dạng bằng OCR (độ tin cậy 87%)") {
		t.Errorf("Atom entry does not say the digest is built on OCR text:\n%s", atom)
	}
	_, home := get(t, srv.URL+"/")
	if !strings.Contains(htmlText(t, string(home)), "OCR") {
		t.Error("index does not badge the OCR digest")
	}
}
