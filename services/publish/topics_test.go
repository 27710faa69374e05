package publish

import (
	"cmp"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bantin/bantin/internal/model"
)

// checkFeedSpec fails unless body has the elements its format requires:
// Atom id/title/updated, RSS channel title/link/description, JSON Feed
// version/title/items; and parses with gofeed.
func checkFeedSpec(t *testing.T, ext string, body []byte) {
	t.Helper()
	switch ext {
	case "atom":
		var f specAtom
		if err := xml.Unmarshal(body, &f); err != nil {
			t.Fatalf("decoding Atom: %v", err)
		}
		if f.ID == "" || f.Title == "" || f.Updated == "" {
			t.Errorf("atom feed id %q title %q updated %q: all required", f.ID, f.Title, f.Updated)
		}
		for _, e := range f.Entries {
			if e.ID == "" || e.Title == "" || e.Updated == "" {
				t.Errorf("atom entry %+v lacks id, title or updated", e.ID)
			}
		}
	case "rss":
		var f specRSS
		if err := xml.Unmarshal(body, &f); err != nil {
			t.Fatalf("decoding RSS: %v", err)
		}
		hasLink := slices.ContainsFunc(f.Channel.Links, func(l struct {
			XMLName xml.Name
			Value   string `xml:",chardata"`
			Href    string `xml:"href,attr"`
		}) bool {
			return l.XMLName.Space == "" && l.Value != ""
		})
		if f.Version != "2.0" || f.Channel.Title == "" || f.Channel.Description == "" || !hasLink {
			t.Errorf("rss version %q channel title %q description %q link %v: all required", f.Version, f.Channel.Title, f.Channel.Description, hasLink)
		}
	case "json":
		var f specJSONFeed
		if err := json.Unmarshal(body, &f); err != nil {
			t.Fatalf("decoding JSON Feed: %v", err)
		}
		var raw map[string]json.RawMessage
		_ = json.Unmarshal(body, &raw)
		if f.Version != jsonFeedVersion || f.Title == "" || raw["items"] == nil {
			t.Errorf("json feed version %q title %q items %s: all required", f.Version, f.Title, raw["items"])
		}
	}
}

func TestTopicFeeds(t *testing.T) {
	x, srv := newServer(t, IndexOptions{})
	bacGiang, quangNinh, daNang := sampleDigests(t)
	for _, d := range []model.Digest{bacGiang, quangNinh, daNang} {
		x.Put(d)
	}
	tests := []struct {
		name string
		path string // without extension
		want []string
	}{
		{name: "all", path: "/feeds/all", want: []string{quangNinh.Title, bacGiang.Title, daNang.Title}},
		{name: "site", path: "/feeds/site/baobacgiang.vn", want: []string{bacGiang.Title}},
		// bacGiang's article and tag name the HĐND, quangNinh's attachment
		// ("15-NQ-HĐND") and summary do.
		{name: "body hdnd", path: "/feeds/body/hdnd", want: []string{quangNinh.Title, bacGiang.Title}},
		{name: "tag", path: "/feeds/tag/thien-tai", want: []string{daNang.Title}},
		{name: "tag with diacritics", path: "/feeds/tag/kinh-te", want: []string{bacGiang.Title}},
		{name: "daily", path: "/feeds/daily", want: []string{"Bản tin ngày 02/12/2023 (1)", "Bản tin ngày 01/12/2023 (1)", "Bản tin ngày 30/11/2023 (1)"}},
	}
	for _, tt := range tests {
		for _, ext := range []string{"atom", "rss", "json"} {
			t.Run(tt.name+"/"+ext, func(t *testing.T) {
				url := srv.URL + tt.path + "." + ext
				resp, body := get(t, url)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("GET %s: %s", url, resp.Status)
				}
				checkFeedSpec(t, ext, body)
				f := parseFeed(t, url)
				var titles []string
				for _, it := range f.Items {
					titles = append(titles, it.Title)
				}
				if !slices.Equal(titles, tt.want) {
					t.Errorf("items %q, want %q", titles, tt.want)
				}
				if f.FeedLink != "" && f.FeedLink != url {
					t.Errorf("self link %q, want %q", f.FeedLink, url)
				}
			})
		}
	}
	for _, path := range []string{"/feeds/site/khong-co.vn.atom", "/feeds/body/khong-co.rss", "/feeds/tag/khong-co.json", "/feeds/bogus/x.atom", "/feeds/failures.rss"} {
		if resp, _ := get(t, srv.URL+path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %s, want 404", path, resp.Status)
		}
	}
}

func TestFeedPaging(t *testing.T) {
	x, srv := newServer(t, IndexOptions{})
	bacGiang, quangNinh, daNang := sampleDigests(t)
	for _, d := range []model.Digest{bacGiang, quangNinh, daNang} {
		x.Put(d)
	}
	f := parseFeed(t, srv.URL+"/feeds/all.json?limit=2")
	if len(f.Items) != 2 || f.Items[0].Title != quangNinh.Title {
		t.Fatalf("limit=2 gave %d items", len(f.Items))
	}
	_, body := get(t, srv.URL+"/feeds/all.atom?limit=2")
	var a specAtom
	if err := xml.Unmarshal(body, &a); err != nil {
		t.Fatal(err)
	}
	var next string
	for _, l := range a.Links {
		if l.Rel == "next" {
			next = l.Href
		}
	}
	if next != srv.URL+"/feeds/all.atom?limit=2&page=1" {
		t.Fatalf("rel=next %q", next)
	}
	f = parseFeed(t, next)
	if len(f.Items) != 1 || f.Items[0].Title != daNang.Title {
		t.Errorf("page 1 has %d items, want daNang only", len(f.Items))
	}
	for _, q := range []string{"limit=0", "limit=x", "page=-1"} {
		if resp, _ := get(t, srv.URL+"/feeds/all.atom?"+q); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("?%s: %s, want 400", q, resp.Status)
		}
	}
}

func TestDetectBodies(t *testing.T) {
	tests := []struct {
		name, title string
		want        []string
	}{
		{name: "abbreviation", title: "Kỳ họp thứ 14 HĐND tỉnh", want: []string{"hdnd"}},
		{name: "full name", title: "Ủy ban nhân dân tỉnh ban hành kế hoạch", want: []string{"ubnd"}},
		{name: "party committee", title: "Hội nghị Tỉnh ủy lần thứ 20", want: []string{"tinh-uy"}},
		{name: "two bodies", title: "UBND báo cáo HĐND", want: []string{"hdnd", "ubnd"}},
		{name: "no word match inside a word", title: "Thanh tra tình hình", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := detectBodies(&model.Digest{Title: tt.title})
			if !slices.Equal(got, tt.want) {
				t.Errorf("detectBodies(%q) = %v, want %v", tt.title, got, tt.want)
			}
		})
	}
}

func TestSearch(t *testing.T) {
	x, srv := newServer(t, IndexOptions{})
	bacGiang, quangNinh, daNang := sampleDigests(t)
	for _, d := range []model.Digest{bacGiang, quangNinh, daNang} {
		x.Put(d)
	}
	tests := []struct {
		name, q string
		want    []string
	}{
		{name: "without diacritics", q: "ke hoach", want: []string{bacGiang.Title}},
		{name: "with diacritics", q: "kế hoạch", want: []string{bacGiang.Title}},
		{name: "upper case", q: "KẾ HOẠCH", want: []string{bacGiang.Title}},
		{name: "in a bullet", q: "di doi", want: []string{daNang.Title}},
		{name: "two sites", q: "ty dong", want: []string{quangNinh.Title, bacGiang.Title, daNang.Title}},
		{name: "d for đ", q: "da nang", want: []string{daNang.Title}},
		{name: "nothing", q: "khong co gi", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(t, srv.URL+"/search?q="+strings.ReplaceAll(tt.q, " ", "+"))
			checkPage(t, resp, body, srv.URL)
			var got []string
			for _, n := range htmlElements(t, string(body)) {
				if n.Data == "h2" && n.FirstChild != nil && n.FirstChild.Data == "a" && n.FirstChild.FirstChild != nil {
					got = append(got, n.FirstChild.FirstChild.Data)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("search %q found %q, want %q", tt.q, got, tt.want)
			}
		})
	}
}

func TestMeetingPage(t *testing.T) {
	x, srv := newServer(t, IndexOptions{})
	bacGiang, _, daNang := sampleDigests(t)
	second := bacGiang
	second.ID, second.ReportID = "3f9a1c0b7d2e4a56", "3f9a1c0b7d2e4a56"
	second.Title = "Tờ trình về kế hoạch đầu tư công"
	second.Source.AttachmentName = "To trinh dau tu cong.pdf"
	second.Source.AttachmentURL = "https://baobacgiang.vn/files/2023/12/to-trinh.pdf"
	for _, d := range []model.Digest{bacGiang, second, daNang} {
		x.Put(d)
	}
	// The digest page links to its meeting.
	_, body := get(t, srv.URL+"/digests/"+bacGiang.ID)
	var meeting string
	for _, h := range hrefs(htmlElements(t, string(body))) {
		if strings.Contains(h, "/meetings/") {
			meeting = h
		}
	}
	if meeting == "" {
		t.Fatal("digest page has no meeting link")
	}
	resp, body := get(t, meeting)
	checkPage(t, resp, body, srv.URL)
	text := htmlText(t, string(body))
	for _, want := range []string{bacGiang.Source.ArticleTitle, bacGiang.Title, second.Title, "15:34 01/12/2023", "2 tệp đính kèm"} {
		if !strings.Contains(text, want) {
			t.Errorf("meeting page lacks %q", want)
		}
	}
	if strings.Contains(text, daNang.Title) {
		t.Error("meeting page shows another article's digest")
	}
	if resp, _ := get(t, srv.URL+"/meetings/0000000000000000"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown meeting: %s, want 404", resp.Status)
	}
}

func TestTopicPages(t *testing.T) {
	x, srv := newServer(t, IndexOptions{})
	bacGiang, quangNinh, daNang := sampleDigests(t)
	for _, d := range []model.Digest{bacGiang, quangNinh, daNang} {
		x.Put(d)
	}
	_, home := get(t, srv.URL+"/")
	links := hrefs(htmlElements(t, string(home)))
	for _, want := range []string{"/topics/site/baobacgiang.vn", "/topics/body/hdnd", "/topics/tag/thien-tai"} {
		if !slices.Contains(links, srv.URL+want) {
			t.Errorf("home page does not link to topic %s", want)
		}
	}
	resp, body := get(t, srv.URL+"/topics/body/hdnd")
	els := checkPage(t, resp, body, srv.URL)
	text := htmlText(t, string(body))
	if !strings.Contains(text, bacGiang.Title) || !strings.Contains(text, quangNinh.Title) || strings.Contains(text, daNang.Title) {
		t.Errorf("HĐND page shows the wrong digests:\n%s", text)
	}
	var alternates []string
	for _, n := range els {
		if n.Data == "link" && attr(n, "rel") == "alternate" {
			alternates = append(alternates, attr(n, "href"))
		}
	}
	if !slices.Contains(alternates, srv.URL+"/feeds/body/hdnd.atom") {
		t.Errorf("topic page autodiscovery %v lacks its Atom feed", alternates)
	}
	if resp, _ := get(t, srv.URL+"/topics/site/khong-co.vn"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown topic: %s, want 404", resp.Status)
	}
}

func TestFailures(t *testing.T) {
	x, srv := newServer(t, IndexOptions{})
	x.PutFailure(model.DeadLetter{Stage: "ingest", Reason: "bad_pdf", Error: "PDF has no pages: <script>alert(1)</script>", Name: "bao-cao.pdf",
		Source: model.Source{AttachmentURL: "https://example.vn/bao-cao.pdf"}, Time: mustTime(t, "2023-12-01T01:00:00Z"), Sequence: 1})
	x.PutFailure(model.DeadLetter{Stage: "summarize", Reason: "no_text", Error: "no text ]]> found", Name: "scan.pdf", Time: mustTime(t, "2023-12-02T01:00:00Z"), Sequence: 2})
	if x.PutFailure(model.DeadLetter{Stage: "summarize", Reason: "no_text", Name: "scan.pdf", Sequence: 2}) {
		t.Error("a replayed dead letter was kept twice")
	}
	resp, body := get(t, srv.URL+"/failures")
	checkPage(t, resp, body, srv.URL)
	assertNoScriptElement(t, "/failures", string(body))
	text := htmlText(t, string(body))
	for _, want := range []string{"bao-cao.pdf", "scan.pdf", "bad_pdf", "no_text", "summarize", "08:00 01/12/2023"} {
		if !strings.Contains(text, want) {
			t.Errorf("/failures lacks %q", want)
		}
	}
	url := srv.URL + "/feeds/failures.atom"
	_, body = get(t, url)
	checkFeedSpec(t, "atom", body)
	assertNoXMLScript(t, body)
	f := parseFeed(t, url)
	if len(f.Items) != 2 || f.Items[0].Title != "scan.pdf: no_text" {
		t.Errorf("failures feed items %d, first %q", len(f.Items), f.Items[0].Title)
	}
}

func TestCorrectionNote(t *testing.T) {
	x, srv := newServer(t, IndexOptions{})
	bacGiang, _, _ := sampleDigests(t)
	x.Put(bacGiang)
	_, before := get(t, srv.URL+"/feeds/all.atom")
	if strings.Contains(string(before), "Đính chính") {
		t.Fatal("first version is marked as a correction")
	}
	v2 := bacGiang
	v2.Version, v2.UpdatedAt = 2, bacGiang.CreatedAt.Add(time.Hour)
	v2.Summary = "Tóm tắt đã sửa."
	x.Put(v2)
	f := parseFeed(t, srv.URL+"/feeds/all.atom")
	if len(f.Items) != 1 || !strings.Contains(f.Items[0].Content, "Đính chính / corrected") || !f.Items[0].UpdatedParsed.Equal(v2.UpdatedAt) {
		t.Errorf("revised entry content %q updated %v: want a correction note and the new time", f.Items[0].Content, f.Items[0].UpdatedParsed)
	}
	if f.Items[0].GUID != "urn:bantin:digest:"+bacGiang.ID {
		t.Errorf("correction changed the id to %q", f.Items[0].GUID)
	}
	_, page := get(t, srv.URL+"/digests/"+bacGiang.ID)
	if !strings.Contains(htmlText(t, string(page)), "Đính chính / corrected") {
		t.Error("digest page does not show the correction")
	}
}

func TestTopicEscaping(t *testing.T) {
	x, srv := newServer(t, IndexOptions{})
	d := hostileDigest(t)
	d.Source.ArticleURL = "https://example.vn/a.html"
	x.Put(d)
	for _, path := range []string{"/feeds/site/example.vn.atom", "/feeds/site/example.vn.rss", "/feeds/daily.atom", "/feeds/daily.rss", "/feeds/tag/script-alert-5-script.atom"} {
		resp, body := get(t, srv.URL+path)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s", path, resp.Status)
		}
		assertNoXMLScript(t, body)
		f := parseFeed(t, srv.URL+path)
		for _, it := range f.Items {
			// Atom's description is the plain-text summary; the HTML is
			// in content, or in description for RSS.
			assertNoScriptElement(t, path, cmp.Or(it.Content, it.Description))
		}
	}
	for _, path := range []string{"/topics/site/example.vn", "/search?q=tieu+de", "/meetings/" + meetingKey(&d), "/topics/day/2023-12-03"} {
		resp, body := get(t, srv.URL+path)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s", path, resp.Status)
		}
		assertNoScriptElement(t, path, string(body))
		if !strings.Contains(htmlText(t, string(body)), "<script>alert(1)</script>") {
			t.Errorf("%s does not show the text as text", path)
		}
	}
}
