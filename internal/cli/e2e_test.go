package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/text/unicode/norm"

	"github.com/bantin/bantin/internal/bus"
	"github.com/bantin/bantin/internal/demo"
	"github.com/bantin/bantin/internal/model"
)

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// samplePDFs are the demo's bundled meeting reports, by name.
func samplePDFs(t *testing.T) map[string][]byte {
	t.Helper()
	matches, err := fs.Glob(demo.Files(), "*.pdf")
	if err != nil || len(matches) < 2 {
		t.Fatalf("want two PDFs in the demo sample, have %v (%v)", matches, err)
	}
	out := map[string][]byte{}
	for _, m := range matches {
		raw, err := fs.ReadFile(demo.Files(), m)
		if err != nil {
			t.Fatal(err)
		}
		out[m] = raw
	}
	return out
}

// samplePDF is the first of the sample reports.
func samplePDF(t *testing.T) (string, []byte) {
	t.Helper()
	pdfs := samplePDFs(t)
	var names []string
	for n := range pdfs {
		names = append(names, n)
	}
	slices.Sort(names)
	return names[0], pdfs[names[0]]
}

const conclusionHTML = `<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>Kết luận của Ban Thường vụ Tỉnh ủy</title></head>
<body><nav><a href="/">Trang chủ</a> | <a href="/tin">Tin tức</a></nav>
<article><h1>Kết luận của Ban Thường vụ Tỉnh ủy về tình hình kinh tế - xã hội năm 2023</h1>
<p>Ban Thường vụ Tỉnh ủy thống nhất đánh giá năm 2023 tổng sản phẩm trên địa bàn tỉnh ước tăng 7,52% so với cùng kỳ, cao hơn mức bình quân chung của cả nước.</p>
<p>Thu ngân sách nhà nước trên địa bàn đạt 18.245,6 tỷ đồng, bằng 112,3% dự toán; giá trị xuất khẩu đạt 3,2 tỷ USD.</p>
<p>Ban Thường vụ yêu cầu Ủy ban nhân dân tỉnh chỉ đạo các sở, ngành hoàn thành kế hoạch giải ngân vốn đầu tư công trước ngày 31/01/2024.</p>
<p>Giao Sở Kế hoạch và Đầu tư chủ trì, phối hợp với các huyện rà soát 15 dự án chậm tiến độ, báo cáo Tỉnh ủy trong quý I năm 2024.</p>
<p>Năm 2024, tỉnh phấn đấu tăng trưởng kinh tế đạt 8% và thu hút thêm 1.200 doanh nghiệp thành lập mới.</p>
</article><footer>Cổng thông tin điện tử tỉnh</footer></body></html>`

// meetingSite serves an article page whose "File đính kèm" list links two
// PDF reports, as provincial portals publish them.
func meetingSite(t *testing.T) (*httptest.Server, string) {
	t.Helper()
	pdfs := samplePDFs(t)
	var list strings.Builder
	for name := range pdfs {
		fmt.Fprintf(&list, "<li><a href=\"/files/%s\">%s</a></li>\n", name, name)
	}
	article := `<!doctype html><html lang="vi"><head><meta charset="utf-8">
<title>Hội nghị Ban Chấp hành Đảng bộ tỉnh lần thứ 20 - Cổng thông tin điện tử tỉnh</title></head>
<body><header><nav><a href="/">Trang chủ</a> <a href="/chinh-tri">Chính trị</a></nav></header>
<div class="detail">
<h1 class="title">Hội nghị Ban Chấp hành Đảng bộ tỉnh lần thứ 20</h1>
<div class="time">15:34 01/12/2023</div>
<div class="detail-content">
<p>Sáng 1/12, Ban Chấp hành Đảng bộ tỉnh tổ chức Hội nghị lần thứ 20 để đánh giá tình hình thực hiện nhiệm vụ năm 2023 và bàn phương hướng năm 2024.</p>
<p>Hội nghị đã nghe báo cáo của Ủy ban nhân dân tỉnh và thảo luận các giải pháp trọng tâm.</p>
<p class="author">Nguyễn Minh</p>
</div>
<div class="attachments"><strong>File đính kèm:</strong>
<ul>` + list.String() + `</ul></div>
</div><footer>Bản quyền thuộc Cổng thông tin điện tử tỉnh</footer></body></html>`
	mux := http.NewServeMux()
	mux.HandleFunc("GET /tin/hoi-nghi-lan-thu-20.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, article)
	})
	for name, pdf := range pdfs {
		mux.HandleFunc("GET /files/"+name, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/pdf")
			w.Write(pdf)
		})
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, srv.URL + "/tin/hoi-nghi-lan-thu-20.html"
}

// instance is one `bantin` command running in this test process.
type instance struct {
	http   string
	cancel context.CancelFunc
	done   chan int
	out    *syncBuffer
	once   sync.Once
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs `bantin args…` in-process and waits until /readyz says ready.
func start(t *testing.T, args ...string) *instance {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{http: "http://" + addr, cancel: cancel, done: make(chan int, 1), out: &syncBuffer{}}
	args = append(args, "--http", addr, "--log-level", "warn")
	go func() { in.done <- run(ctx, args, in.out, in.out) }()
	t.Cleanup(func() { in.stop(t) })
	waitReady(t, in.http, in.done, in.out)
	return in
}

func (in *instance) stop(t *testing.T) {
	t.Helper()
	in.once.Do(func() {
		in.cancel()
		select {
		case code := <-in.done:
			if code != 0 {
				t.Errorf("bantin exited with %d:\n%s", code, in.out)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("bantin did not stop within 30s of cancellation")
		}
	})
}

func waitReady(t *testing.T, base string, done chan int, out fmt.Stringer) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case code := <-done:
			done <- code
			t.Fatalf("bantin exited early with %d:\n%s", code, out)
		default:
		}
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s/readyz not ready within 30s:\n%s", base, out)
}

func postJSON(t *testing.T, url string, body any) (int, []byte) {
	t.Helper()
	data, _ := json.Marshal(body)
	resp, err := http.Post(url, "application/json", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

func upload(t *testing.T, base, name string, raw []byte) (int, map[string]any) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(raw)
	mw.Close()
	resp, err := http.Post(base+"/api/reports", mw.FormDataContentType(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var res map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		t.Fatalf("decoding upload answer: %v", err)
	}
	return resp.StatusCode, res
}

// waitFeed polls a feed until it has n items and returns it parsed.
func waitFeed(t *testing.T, url string, n int) *gofeed.Feed {
	t.Helper()
	var last *gofeed.Feed
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				f, err := gofeed.NewParser().ParseString(string(body))
				if err != nil {
					t.Fatalf("parsing %s: %v\n%s", url, err, body)
				}
				last = f
				if len(f.Items) >= n {
					return f
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	got := 0
	if last != nil {
		got = len(last.Items)
	}
	t.Fatalf("%s: want %d items, have %d after 60s", url, n, got)
	return nil
}

func itemLinks(it *gofeed.Item) string {
	var b strings.Builder
	b.WriteString(it.Link + " " + strings.Join(it.Links, " ") + " " + it.Content + " " + it.Description)
	for _, e := range it.Enclosures {
		b.WriteString(" " + e.URL)
	}
	return b.String()
}

// checkFeeds reads all three feeds with a real parser and checks each
// digest links back to the article and its attachment, in NFC Vietnamese.
func checkFeeds(t *testing.T, base, articleURL string, n int) []string {
	t.Helper()
	var titles []string
	for _, ext := range []string{"atom", "rss", "json"} {
		f := waitFeed(t, base+"/feeds/all."+ext, n)
		if len(f.Items) != n {
			t.Errorf("%s feed: %d items, want %d", ext, len(f.Items), n)
		}
		for _, it := range f.Items {
			if it.Title == "" || !norm.NFC.IsNormalString(it.Title) {
				t.Errorf("%s item title %q is empty or not NFC", ext, it.Title)
			}
			links := itemLinks(it)
			if !strings.Contains(links, articleURL) {
				t.Errorf("%s item %q does not link to the article %s: %s", ext, it.Title, articleURL, links)
			}
			if !strings.Contains(links, "/files/") {
				t.Errorf("%s item %q does not link to its attachment: %s", ext, it.Title, links)
			}
			if ext == "atom" {
				titles = append(titles, it.Title)
			}
		}
	}
	all := strings.Join(titles, " | ")
	if !strings.Contains(all, "kinh tế") {
		t.Errorf("feed titles lack the Vietnamese attachment names (diacritics lost?): %s", all)
	}
	return titles
}

func deadLetters(t *testing.T, natsURL string) []model.DeadLetter {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := bus.Connect(ctx, natsURL, "test", bus.Topology{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	cons, err := b.JS.OrderedConsumer(ctx, model.StreamDeadLetter, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	info, err := b.JS.Stream(ctx, model.StreamDeadLetter)
	if err != nil {
		t.Fatal(err)
	}
	n := int(info.CachedInfo().State.Msgs)
	var out []model.DeadLetter
	for range n {
		msg, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatal(err)
		}
		var dl model.DeadLetter
		if err := json.Unmarshal(msg.Data(), &dl); err != nil {
			t.Fatal(err)
		}
		out = append(out, dl)
	}
	return out
}

func TestEndToEndAllInOneProcess(t *testing.T) {
	_, articleURL := meetingSite(t)
	data := t.TempDir()
	natsAddr := freeAddr(t)
	args := []string{"all", "--data", data, "--nats-listen", natsAddr, "--allow-private-networks"}
	in := start(t, args...)

	code, body := postJSON(t, in.http+"/api/articles", map[string]string{"url": articleURL})
	if code != http.StatusAccepted {
		t.Fatalf("POST /api/articles: %d %s", code, body)
	}
	var res struct {
		Title   string `json:"title"`
		Reports []struct {
			Outcome string `json:"outcome"`
			Name    string `json:"name"`
		} `json:"reports"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Reports) != 2 || res.Reports[0].Outcome != "queued" || res.Reports[1].Outcome != "queued" {
		t.Fatalf("want two queued reports (the two attached PDFs), got %s", body)
	}
	titles := checkFeeds(t, in.http, articleURL, 2)

	t.Run("same report twice yields one digest", func(t *testing.T) {
		name, pdf := samplePDF(t)
		code, res := upload(t, in.http, name, pdf)
		if code != http.StatusAccepted || res["outcome"] != "duplicate" {
			t.Fatalf("re-upload of the PDF: %d %v, want 202 duplicate", code, res)
		}
		code, body := postJSON(t, in.http+"/api/articles", map[string]string{"url": articleURL})
		if code != http.StatusAccepted || strings.Count(string(body), `"duplicate"`) != 2 {
			t.Fatalf("re-crawl: %d %s, want both duplicate", code, body)
		}
	})

	t.Run("redelivered report beyond the duplicate window is skipped", func(t *testing.T) {
		// A message the server cannot de-duplicate (new Msg-Id, as after the
		// window) must still not produce a second digest.
		ctx := context.Background()
		b, err := bus.Connect(ctx, "nats://"+natsAddr, "test", bus.Topology{}, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		_, pdf := samplePDF(t)
		r := model.Report{SchemaVersion: 1, ID: model.ReportID(pdf), Source: model.Source{Site: "upload"},
			Paragraphs: []model.Paragraph{{Text: strings.Repeat("Báo cáo kết quả thực hiện nhiệm vụ năm 2023 của tỉnh. ", 20)}}}
		data, _ := json.Marshal(r)
		if _, err := b.JS.Publish(ctx, model.ReportSubject("upload"), data, jetstream.WithMsgID("a-day-later")); err != nil {
			t.Fatal(err)
		}
		waitConsumerIdle(t, b)
	})

	t.Run("corrupt PDF is dead-lettered and the next report still digested", func(t *testing.T) {
		code, res := upload(t, in.http, "hong.pdf", []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage without xref"))
		if code != http.StatusUnprocessableEntity || res["outcome"] != "dead" || res["reason"] == "" {
			t.Fatalf("corrupt PDF: %d %v, want 422 dead with a reason", code, res)
		}
		code, res = upload(t, in.http, "ket-luan.html", []byte(strings.Replace(conclusionHTML, "7,52%", "7,61%", 1)))
		if code != http.StatusAccepted || res["outcome"] != "queued" {
			t.Fatalf("next report: %d %v", code, res)
		}
		waitFeed(t, in.http+"/feeds/all.atom", 3)
		dls := deadLetters(t, "nats://"+natsAddr)
		found := false
		for _, dl := range dls {
			if dl.Name == "hong.pdf" && dl.Stage == "ingest" && dl.Reason != "" && dl.Error != "" {
				found = true
			}
		}
		if !found {
			t.Fatalf("no dead letter with a reason for hong.pdf: %+v", dls)
		}
	})

	// The feed must still have exactly 3 digests: no duplicate appeared.
	if f := waitFeed(t, in.http+"/feeds/all.json", 3); len(f.Items) != 3 {
		t.Fatalf("feed has %d items after duplicates, want 3", len(f.Items))
	}

	t.Run("restart on the same data dir keeps serving digests", func(t *testing.T) {
		in.stop(t)
		in2 := start(t, args...)
		f := waitFeed(t, in2.http+"/feeds/all.atom", 3)
		if len(f.Items) != 3 {
			t.Fatalf("after restart: %d items, want 3", len(f.Items))
		}
		got := map[string]bool{}
		for _, it := range f.Items {
			got[it.Title] = true
		}
		for _, title := range titles {
			if !got[title] {
				t.Errorf("digest %q missing after restart", title)
			}
		}
		name, pdf := samplePDF(t)
		if code, res := upload(t, in2.http, name, pdf); res["outcome"] != "duplicate" {
			t.Fatalf("upload after restart: %d %v, want duplicate", code, res)
		}
	})
}

// waitConsumerIdle waits until the summarize consumer has nothing pending.
func waitConsumerIdle(t *testing.T, b *bus.Bus) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		c, err := b.JS.Consumer(ctx, model.StreamReports, model.ConsumerSummarize)
		if err != nil {
			t.Fatal(err)
		}
		info, err := c.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.NumPending == 0 && info.NumAckPending == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("summarize consumer still busy after 30s")
}

func TestDemoOnce(t *testing.T) {
	var out syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code := run(ctx, []string{"demo", "--once", "--http", "127.0.0.1:0", "--log-level", "warn"}, &out, &out)
	if code != 0 {
		t.Fatalf("demo exited %d:\n%s", code, out.String())
	}
	for _, want := range []string{"/feeds/all.atom", "/feeds/all.rss", "/feeds/all.json", "Digest "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
}

// buildBinary builds bantin once for the multi-process test.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "bantin")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/bantin/bantin")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("building bantin: %v", err)
	}
	return bin
}

func TestEndToEndSeparateProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped in -short")
	}
	bin := buildBinary(t)
	_, articleURL := meetingSite(t)
	natsAddr := freeAddr(t)
	// One NATS server for the three roles: the embedded one of a bantin
	// process whose own roles we do not use would blur the test, so run a
	// plain embedded server here.
	ns, err := bus.StartEmbedded(bus.EmbeddedOptions{StoreDir: t.TempDir(), Listen: natsAddr}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Shutdown()
	natsURL := "nats://" + natsAddr

	type proc struct {
		cmd  *exec.Cmd
		http string
		out  *syncBuffer
	}
	var procs []*proc
	for _, role := range []string{"ingest", "summarize", "publish"} {
		addr := freeAddr(t)
		p := &proc{http: "http://" + addr, out: &syncBuffer{}}
		args := []string{role, "--nats", natsURL, "--http", addr, "--log-format", "json"}
		if role == "ingest" {
			args = append(args, "--allow-private-networks") // the meeting site is on loopback
		}
		p.cmd = exec.Command(bin, args...)
		p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs = append(procs, p)
		t.Cleanup(func() { _ = p.cmd.Process.Kill() })
	}
	for _, p := range procs {
		exited := make(chan int, 1)
		waitReady(t, p.http, exited, p.out)
	}
	code, body := postJSON(t, procs[0].http+"/api/articles", map[string]string{"url": articleURL})
	if code != http.StatusAccepted {
		t.Fatalf("POST /api/articles to the ingest process: %d %s", code, body)
	}
	checkFeeds(t, procs[2].http, articleURL, 2)

	// SIGTERM: each role shuts down cleanly.
	for _, p := range procs {
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range procs {
		errc := make(chan error, 1)
		go func() { errc <- p.cmd.Wait() }()
		select {
		case err := <-errc:
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				t.Errorf("%s exited with %v:\n%s", p.cmd.Args[1], err, p.out)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("%s did not stop within 30s of SIGTERM", p.cmd.Args[1])
		}
	}
}
