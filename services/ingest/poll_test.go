package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bantin/bantin/internal/bus"
	"github.com/bantin/bantin/internal/demo"
	"github.com/bantin/bantin/internal/model"
)

// testSite is a small provincial site: a listing page, article pages with
// "File đính kèm" blocks, PDFs, and a robots.txt. It answers conditional
// requests (ETag and Last-Modified) like a real server and logs them.
type testSite struct {
	srv   *httptest.Server
	mu    sync.Mutex
	pages map[string][]byte // path -> body
	log   []siteRequest
}

type siteRequest struct {
	path        string
	conditional bool
	status      int
}

func (s *testSite) set(path string, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pages[path] = body
}

func (s *testSite) take() []siteRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.log
	s.log = nil
	return out
}

func (s *testSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	body, ok := s.pages[r.URL.Path]
	s.mu.Unlock()
	rec := siteRequest{path: r.URL.Path, conditional: r.Header.Get("If-None-Match") != "" || r.Header.Get("If-Modified-Since") != ""}
	defer func() {
		s.mu.Lock()
		s.log = append(s.log, rec)
		s.mu.Unlock()
	}()
	if r.UserAgent() == "" || !strings.Contains(r.UserAgent(), "bantin") {
		rec.status = http.StatusForbidden
		http.Error(w, "who are you?", rec.status)
		return
	}
	if !ok {
		rec.status = http.StatusNotFound
		http.NotFound(w, r)
		return
	}
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		rec.status = http.StatusNotModified
		w.WriteHeader(rec.status)
		return
	}
	rec.status = http.StatusOK
	if strings.HasSuffix(r.URL.Path, ".pdf") {
		w.Header().Set("Content-Type", "application/pdf")
	} else if r.URL.Path != "/robots.txt" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
	}
	w.Write(body)
}

func articlePage(title, date, body string, files ...string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>%s - Cổng thông tin tỉnh</title></head><body>
<nav><a href="/">Trang chủ</a> <a href="/gioi-thieu">Giới thiệu</a></nav>
<article><h1>%s</h1><div class="date">%s</div><p>%s</p>
<p>Các đại biểu thảo luận, cho ý kiến vào các báo cáo trình tại kỳ họp và biểu quyết thông qua các nghị quyết quan trọng.</p>`, title, title, date, body)
	if len(files) > 0 {
		b.WriteString(`<div class="attachments"><strong>File đính kèm:</strong><ul>`)
		for _, f := range files {
			fmt.Fprintf(&b, `<li><a href="%s">%s</a></li>`, f, f[strings.LastIndex(f, "/")+1:])
		}
		b.WriteString(`</ul></div>`)
	}
	b.WriteString(`</article><footer><a href="/lien-he">Liên hệ</a></footer></body></html>`)
	return []byte(b.String())
}

func listingPage(links ...string) []byte {
	var b strings.Builder
	b.WriteString(`<!doctype html><html><head><meta charset="utf-8"><title>Kỳ họp HĐND</title></head><body>
<header><a href="/">Trang chủ</a><a href="/tin-tuc/ky-hop">Kỳ họp</a><a href="/tin-tuc/ky-hop?page=2">2</a></header><main><ul>`)
	for _, l := range links {
		fmt.Fprintf(&b, `<li><a href="%s">Bài viết</a></li>`, l)
	}
	b.WriteString(`</ul><a href="/tin-tuc/ky-hop?page=2">Trang sau</a></main><footer><a href="/lien-he-voi-chung-toi-ngay">Liên hệ</a></footer></body></html>`)
	return []byte(b.String())
}

// queuedReports reads every report on the REPORTS stream.
func queuedReports(t *testing.T, b *bus.Bus) []model.Report {
	t.Helper()
	ctx := context.Background()
	st, err := b.JS.Stream(ctx, model.StreamReports)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []model.Report
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		msg, err := st.GetMsg(ctx, seq)
		if err != nil {
			continue
		}
		var r model.Report
		if err := json.Unmarshal(msg.Data, &r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func demoPDF(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := fs.ReadFile(demo.Files(), name)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestPollSource(t *testing.T) {
	site := &testSite{pages: map[string][]byte{}}
	site.srv = httptest.NewServer(site)
	defer site.srv.Close()
	internal, internalHits := countingServer(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("%PDF-1.4 internal")) })

	pdfA := demoPDF(t, "bao-cao-kt-xh-2023.pdf")
	pdfC := demoPDF(t, "ke-hoach-2024.pdf")
	site.set("/robots.txt", []byte("User-agent: *\nDisallow: /mat/\n\nUser-agent: otherbot\nDisallow: /\n"))
	site.set("/tin-tuc/ky-hop-thu-12-hdnd-tinh.html", articlePage("Khai mạc kỳ họp thứ 12 HĐND tỉnh", "08:30 05/12/2023",
		"Sáng 5/12, HĐND tỉnh khai mạc kỳ họp thứ 12 để xem xét báo cáo tình hình kinh tế - xã hội năm 2023.", "/files/Bao cao KT-XH 2023.pdf"))
	site.set("/files/Bao cao KT-XH 2023.pdf", pdfA)
	site.set("/tin-tuc/ky-hop-bat-thuong-thu-2.html", articlePage("Kỳ họp bất thường thứ hai", "14:00 06/12/2023",
		"Chiều 6/12, HĐND tỉnh họp bất thường để xem xét tờ trình về điều chỉnh kế hoạch đầu tư công.", "/files/to-trinh.pdf"))
	site.set("/mat/bao-cao-noi-bo-2023-12.html", articlePage("Báo cáo nội bộ", "", "Nội dung nội bộ không công khai cho trình thu thập.", "/mat/noi-bo.pdf"))
	site.set("/mat/noi-bo.pdf", pdfC)
	listing := []string{"/tin-tuc/ky-hop-thu-12-hdnd-tinh.html", "/tin-tuc/ky-hop-bat-thuong-thu-2.html", "/mat/bao-cao-noi-bo-2023-12.html"}
	site.set("/tin-tuc/ky-hop", listingPage(listing...))
	// An attachment that redirects into the internal network.
	redirect := http.NewServeMux()
	redirect.Handle("/", site)
	redirect.HandleFunc("/files/to-trinh.pdf", func(w http.ResponseWriter, r *http.Request) {
		site.mu.Lock()
		site.log = append(site.log, siteRequest{path: r.URL.Path, status: http.StatusFound})
		site.mu.Unlock()
		http.Redirect(w, r, internal.URL+"/to-trinh.pdf", http.StatusFound)
	})
	site.srv.Config.Handler = redirect

	b := testBus(t)
	newService := func() *Service {
		s, err := New(Config{HostRate: 1000}, Deps{Bus: b, Log: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		// The site stands for a public one; the internal server does not.
		su, _ := url.Parse(site.srv.URL)
		s.reader.fetch.dialer.exempt = map[netip.AddrPort]bool{netip.MustParseAddrPort(su.Host): true}
		return s
	}
	s := newService()
	src := Source{Name: "hdnd-test", Listings: []string{site.srv.URL + "/tin-tuc/ky-hop"}}
	ctx := context.Background()
	poll := func(s *Service) PollStats {
		t.Helper()
		st, err := s.PollOnce(ctx, src)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}

	// First poll: everything public is ingested.
	st := poll(s)
	reqs := site.take()
	if st.New != 1 || st.Skipped != 1 || st.Failed != 1 {
		t.Fatalf("first poll: %+v, want 1 new (the PDF), 1 robots skip, 1 failure (the redirect into the internal server); requests %+v", st, reqs)
	}
	for _, r := range reqs {
		if strings.HasPrefix(r.path, "/mat/") {
			t.Errorf("fetched %s, which robots.txt disallows", r.path)
		}
		if strings.Contains(r.path, "gioi-thieu") || strings.Contains(r.path, "lien-he") || strings.Contains(r.path, "page=") {
			t.Errorf("fetched %s, a menu or paging link, as an article", r.path)
		}
	}
	if n := internalHits.Load(); n != 0 {
		t.Errorf("the internal server got %d request(s) through a redirect, want none", n)
	}
	reports := queuedReports(t, b)
	if len(reports) != 1 {
		t.Fatalf("REPORTS holds %d reports, want 1", len(reports))
	}
	first := reports[0]
	if first.ID != model.ReportID(pdfA) || first.Source.ArticleTitle != "Khai mạc kỳ họp thứ 12 HĐND tỉnh" ||
		first.Source.AttachmentName != "Bao cao KT-XH 2023.pdf" || first.Source.PublishedAt.IsZero() {
		t.Errorf("first report: id %s source %+v", first.ID, first.Source)
	}

	// Second poll: conditional requests only, nothing new.
	st = poll(s)
	reqs = site.take()
	if st.New != 0 || st.Fetched != 0 {
		t.Errorf("second poll: %+v, want nothing new or fetched", st)
	}
	for _, r := range reqs {
		if r.path == "/files/to-trinh.pdf" {
			continue // failed last time, so nothing to be conditional on
		}
		if !r.conditional || r.status != http.StatusNotModified {
			t.Errorf("second poll: %s conditional=%v status %d, want a conditional request answered 304", r.path, r.conditional, r.status)
		}
	}
	if len(reqs) < 3 {
		t.Errorf("second poll made %d requests (%+v); want the listing, the articles and the attachment checked", len(reqs), reqs)
	}

	// A new article appears: only it is ingested.
	site.set("/tin-tuc/be-mac-ky-hop-thu-12.html", articlePage("Bế mạc kỳ họp thứ 12", "17:00 07/12/2023",
		"Chiều 7/12, kỳ họp thứ 12 bế mạc sau ba ngày làm việc, thông qua kế hoạch phát triển năm 2024.", "ke-hoach-2024.pdf"))
	site.set("/tin-tuc/ke-hoach-2024.pdf", pdfC)
	site.set("/tin-tuc/ky-hop", listingPage(append([]string{"/tin-tuc/be-mac-ky-hop-thu-12.html"}, listing...)...))
	st = poll(s)
	site.take()
	if st.New != 1 {
		t.Errorf("third poll: %+v, want exactly 1 new report", st)
	}
	reports = queuedReports(t, b)
	if len(reports) != 2 || reports[1].ID != model.ReportID(pdfC) || reports[1].Source.AttachmentURL != site.srv.URL+"/tin-tuc/ke-hoach-2024.pdf" {
		t.Fatalf("after the new article REPORTS holds %d reports; want the plan PDF second", len(reports))
	}

	// New bytes at a known attachment URL: a new report linked to the old one.
	revised := append(bytes.Clone(pdfA), []byte("\n% sửa đổi\n")...)
	site.set("/files/Bao cao KT-XH 2023.pdf", revised)
	st = poll(s)
	if st.New != 1 {
		t.Errorf("poll after the attachment changed: %+v, want 1 new", st)
	}
	reports = queuedReports(t, b)
	last := reports[len(reports)-1]
	if last.ID != model.ReportID(revised) || last.Source.Replaces != first.ID {
		t.Errorf("changed attachment: report %s replaces %q, want %s replacing %s", last.ID, last.Source.Replaces, model.ReportID(revised), first.ID)
	}

	// A restarted ingest remembers everything (SOURCES_SEEN).
	st = poll(newService())
	if st.New != 0 {
		t.Errorf("poll after a restart: %+v, want nothing new", st)
	}
	// The attachment that redirects inside was given up after
	// maxFetchFailures polls, with the reason in a dead letter.
	if internalHits.Load() != 0 {
		t.Errorf("internal server hits = %d, want 0", internalHits.Load())
	}
	dls := deadLetters(t, b)
	if len(dls) != 1 || dls[0].Reason != "forbidden_address" || !strings.HasSuffix(dls[0].Source.AttachmentURL, "/files/to-trinh.pdf") {
		t.Errorf("dead letters = %+v, want one forbidden_address for to-trinh.pdf", dls)
	}
}

// deadLetters reads the DEADLETTER stream.
func deadLetters(t *testing.T, b *bus.Bus) []model.DeadLetter {
	t.Helper()
	ctx := context.Background()
	st, err := b.JS.Stream(ctx, model.StreamDeadLetter)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []model.DeadLetter
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		msg, err := st.GetMsg(ctx, seq)
		if err != nil {
			continue
		}
		var dl model.DeadLetter
		if err := json.Unmarshal(msg.Data, &dl); err != nil {
			t.Fatal(err)
		}
		out = append(out, dl)
	}
	return out
}

func TestPollFeed(t *testing.T) {
	site := &testSite{pages: map[string][]byte{}}
	site.srv = httptest.NewServer(site)
	defer site.srv.Close()
	u := site.srv.URL
	site.set("/rss/ky-hop.rss", []byte(`<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Kỳ họp</title>
<item><title>Khai mạc kỳ họp thứ 12</title><link>`+u+`/tin/khai-mac-ky-hop-12.html</link><pubDate>Tue, 05 Dec 2023 01:30:00 GMT</pubDate></item>
<item><title>Kế hoạch năm 2024</title><link>`+u+`/tin/ke-hoach-nam-2024.html</link><enclosure url="`+u+`/files/ke-hoach-2024.pdf" type="application/pdf" length="1"/></item>
</channel></rss>`))
	site.set("/tin/khai-mac-ky-hop-12.html", articlePage("Khai mạc kỳ họp thứ 12", "08:30 05/12/2023",
		"Sáng 5/12, HĐND tỉnh khai mạc kỳ họp thứ 12.", "/files/bao-cao.pdf"))
	site.set("/tin/ke-hoach-nam-2024.html", articlePage("Kế hoạch năm 2024", "", "UBND tỉnh ban hành kế hoạch phát triển kinh tế - xã hội năm 2024."))
	site.set("/files/bao-cao.pdf", demoPDF(t, "bao-cao-kt-xh-2023.pdf"))
	site.set("/files/ke-hoach-2024.pdf", demoPDF(t, "ke-hoach-2024.pdf"))

	s, b := testService(t, Config{AllowPrivateNetworks: true})
	src := Source{Feeds: []string{u + "/rss/ky-hop.rss"}}
	st, err := s.PollOnce(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	if st.New != 2 || st.Failed != 0 {
		t.Fatalf("feed poll: %+v, want the two PDFs (one linked, one enclosed)", st)
	}
	got := map[string]string{}
	for _, r := range queuedReports(t, b) {
		got[r.Source.AttachmentName] = r.Source.ArticleTitle
	}
	if got["bao-cao.pdf"] != "Khai mạc kỳ họp thứ 12" || got["ke-hoach-2024.pdf"] != "Kế hoạch năm 2024" {
		t.Errorf("reports by attachment -> article: %v", got)
	}
	st, _ = s.PollOnce(context.Background(), src)
	if st.New != 0 || st.Fetched != 0 {
		t.Errorf("second feed poll: %+v, want all unchanged", st)
	}
}

func TestRunPollsSourcesUntilCancelled(t *testing.T) {
	site := &testSite{pages: map[string][]byte{}}
	site.srv = httptest.NewServer(site)
	defer site.srv.Close()
	site.set("/tin-tuc", listingPage("/tin-tuc/ky-hop-thu-12-hdnd-tinh.html"))
	site.set("/tin-tuc/ky-hop-thu-12-hdnd-tinh.html", articlePage("Khai mạc kỳ họp thứ 12", "08:30 05/12/2023",
		"Sáng 5/12, HĐND tỉnh khai mạc kỳ họp thứ 12.", "/files/bao-cao.pdf"))
	site.set("/files/bao-cao.pdf", demoPDF(t, "bao-cao-kt-xh-2023.pdf"))
	s, b := testService(t, Config{AllowPrivateNetworks: true, Sources: []Source{{Name: "t", Listings: []string{site.srv.URL + "/tin-tuc"}, Interval: time.Second}}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	deadline := time.Now().Add(15 * time.Second)
	for len(queuedReports(t, b)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("Run did not poll the source within 15s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}
