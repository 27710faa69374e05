package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bantin/bantin/internal/llmtest"
	"github.com/bantin/bantin/internal/model"
	"github.com/bantin/bantin/internal/vntext"
	"github.com/bantin/bantin/services/summarize"
	"github.com/bantin/bantin/services/summarize/extractive"
	"github.com/bantin/bantin/services/summarize/faithful"
)

func loadReport(t *testing.T) *model.Report {
	t.Helper()
	b, err := os.ReadFile("../extractive/testdata/bao-cao-ktxh-thang-11.report.json")
	if err != nil {
		t.Fatal(err)
	}
	var r model.Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

// good is a faithful answer for the Bắc Giang report.
var good = map[string]any{
	"headline": "Bắc Giang: thu ngân sách 11 tháng vượt dự toán",
	"summary":  "Thu ngân sách nhà nước trên địa bàn 11 tháng đạt 18.245,6 tỷ đồng, bằng 112,3% dự toán. GRDP 11 tháng ước tăng 7,52% so với cùng kỳ.",
	"bullets": []map[string]any{
		{"text": "Thu ngân sách 11 tháng đạt 18.245,6 tỷ đồng, bằng 112,3% dự toán.", "page": 2},
		{"text": "Lũy kế 11 tháng có 1.250 doanh nghiệp thành lập mới.", "page": 2},
		{"text": "Giao Sở Kế hoạch và Đầu tư tham mưu phân bổ vốn đầu tư công năm 2024.", "page": 3},
	},
	"figures": []map[string]any{{"text": "18.245,6 tỷ đồng", "page": 2}, {"text": "7,52%", "page": 1}},
}

func goodJSON(t *testing.T) string {
	b, err := json.Marshal(good)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// invented states a growth rate the report does not have.
func invented(t *testing.T) string {
	return strings.Replace(goodJSON(t), "7,52%", "15,2%", -1)
}

func newSummarizer(t *testing.T, srv *llmtest.Server, cfg Config, cache Cache) *Summarizer {
	t.Helper()
	cfg.BaseURL = srv.URL()
	if cfg.Model == "" {
		cfg.Model = "qwen2.5-7b-instruct"
	}
	if cfg.CallTimeout == 0 {
		cfg.CallTimeout = 5 * time.Second
	}
	if cfg.RetryBase == 0 {
		cfg.RetryBase = 20 * time.Millisecond
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 3
	}
	s, err := New(cfg, Deps{Cache: cache, Fallback: extractive.New(extractive.Config{}), Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSummarize(t *testing.T) {
	type outcome int
	const (
		llmDigest outcome = iota
		fallback
		permanent
	)
	tests := []struct {
		name     string
		handler  func(t *testing.T) llmtest.Handler
		opts     llmtest.Options
		cfg      Config
		want     outcome
		reason   string // in ReviewReason or PermanentError.Reason
		requests int
		minTime  time.Duration
		check    func(t *testing.T, reqs []llmtest.Request)
	}{
		{
			name:     "json_schema answer",
			handler:  func(t *testing.T) llmtest.Handler { return llmtest.Sequence(llmtest.Text(goodJSON(t))) },
			want:     llmDigest,
			requests: 1,
			check: func(t *testing.T, reqs []llmtest.Request) {
				r := reqs[0]
				if r.Model != "qwen2.5-7b-instruct" {
					t.Errorf("model %q", r.Model)
				}
				if r.Temperature == nil || *r.Temperature != 0 {
					t.Errorf("temperature %v, want an explicit 0 (raw %s)", r.Temperature, r.Raw)
				}
				if r.ResponseFormat == nil || r.ResponseFormat.Type != "json_schema" || !strings.Contains(string(r.ResponseFormat.JSONSchema), `"bullets"`) {
					t.Errorf("response_format %+v", r.ResponseFormat)
				}
				if !strings.Contains(r.Prompt(), "[tr. 2]") || !strings.Contains(r.Prompt(), "18.245,6 tỷ đồng") {
					t.Error("the prompt lacks the report text with page markers")
				}
			},
		},
		{
			name: "temperature and English digest",
			handler: func(t *testing.T) llmtest.Handler {
				return llmtest.Sequence(llmtest.Text(goodJSON(t)))
			},
			cfg:      Config{Temperature: 0.7, Language: "en", Model: "gpt-4o-mini"},
			want:     llmDigest,
			requests: 1,
			check: func(t *testing.T, reqs []llmtest.Request) {
				if tt := reqs[0].Temperature; tt == nil || *tt < 0.69 || *tt > 0.71 {
					t.Errorf("temperature %v, want 0.7", tt)
				}
				if reqs[0].Model != "gpt-4o-mini" || !strings.Contains(reqs[0].Prompt(), "in English") {
					t.Error("model or language not in the request")
				}
			},
		},
		{
			name: "prose, code fence and think block from a server without json_schema",
			handler: func(t *testing.T) llmtest.Handler {
				return llmtest.Sequence(llmtest.Text("<think>Báo cáo có số 99,9% nhưng…</think>\nĐây là bản tin:\n```json\n" + goodJSON(t) + "\n```\nHy vọng hữu ích."))
			},
			opts:     llmtest.Options{NoJSONSchema: true},
			want:     llmDigest,
			requests: 2, // json_schema rejected, then json_object
			check: func(t *testing.T, reqs []llmtest.Request) {
				if reqs[0].ResponseFormat.Type != "json_schema" || reqs[1].ResponseFormat.Type != "json_object" {
					t.Errorf("formats %v, %v", reqs[0].ResponseFormat, reqs[1].ResponseFormat)
				}
			},
		},
		{
			name: "plain text server",
			handler: func(t *testing.T) llmtest.Handler {
				return llmtest.Sequence(llmtest.Text("Kết quả: " + goodJSON(t)))
			},
			opts:     llmtest.Options{NoResponseFormat: true},
			want:     llmDigest,
			requests: 3,
			check: func(t *testing.T, reqs []llmtest.Request) {
				if reqs[2].ResponseFormat != nil {
					t.Errorf("third request still has response_format %+v", reqs[2].ResponseFormat)
				}
			},
		},
		{
			name: "429 with Retry-After",
			handler: func(t *testing.T) llmtest.Handler {
				return llmtest.Sequence(llmtest.RateLimited(time.Second), llmtest.Text(goodJSON(t)))
			},
			want:     llmDigest,
			requests: 2,
			minTime:  time.Second,
		},
		{
			name: "500 then success",
			handler: func(t *testing.T) llmtest.Handler {
				return llmtest.Sequence(llmtest.ServerError(), llmtest.Overloaded(), llmtest.Text(goodJSON(t)))
			},
			want:     llmDigest,
			requests: 3,
		},
		{
			name:     "500 forever falls back",
			handler:  func(t *testing.T) llmtest.Handler { return llmtest.Sequence(llmtest.ServerError()) },
			want:     fallback,
			reason:   "unavailable",
			requests: 3,
		},
		{
			name:     "hang past the deadline falls back",
			handler:  func(t *testing.T) llmtest.Handler { return llmtest.Sequence(llmtest.Hang()) },
			cfg:      Config{CallTimeout: 150 * time.Millisecond, MaxAttempts: 2},
			want:     fallback,
			reason:   "no answer within",
			requests: 2,
		},
		{
			name:     "400 context_length_exceeded is permanent",
			handler:  func(t *testing.T) llmtest.Handler { return llmtest.Sequence(llmtest.ContextTooLong(4096, 9000)) },
			want:     permanent,
			reason:   "context_too_long",
			requests: 1,
		},
		{
			name:     "401 is permanent",
			handler:  func(t *testing.T) llmtest.Handler { return llmtest.Sequence(llmtest.Text(goodJSON(t))) },
			opts:     llmtest.Options{APIKey: "sk-right"},
			cfg:      Config{APIKey: "sk-wrong"},
			want:     permanent,
			reason:   "llm_unauthorized",
			requests: 1,
		},
		{
			name: "invented figure corrected on the retry",
			handler: func(t *testing.T) llmtest.Handler {
				return llmtest.Sequence(llmtest.Text(invented(t)), llmtest.Text(goodJSON(t)))
			},
			want:     llmDigest,
			requests: 2,
			check: func(t *testing.T, reqs []llmtest.Request) {
				if !strings.Contains(reqs[1].Prompt(), "15,2%") || strings.Contains(reqs[0].Prompt(), "KHÔNG có trong văn bản") {
					t.Error("the retry does not name the invented figure")
				}
			},
		},
		{
			name: "invented figure twice falls back",
			handler: func(t *testing.T) llmtest.Handler {
				return llmtest.Sequence(llmtest.Text(invented(t)))
			},
			want:     fallback,
			reason:   `"15,2%"`,
			requests: 2,
		},
		{
			name: "unparseable replies fall back",
			handler: func(t *testing.T) llmtest.Handler {
				return llmtest.Sequence(llmtest.Text("Xin lỗi, tôi không thể giúp."))
			},
			want:     fallback,
			reason:   "no JSON object",
			requests: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := llmtest.New(tt.handler(t), tt.opts)
			defer srv.Close()
			s := newSummarizer(t, srv, tt.cfg, nil)
			r := loadReport(t)
			start := time.Now()
			d, err := s.Summarize(context.Background(), r)
			took := time.Since(start)
			var perm *summarize.PermanentError
			switch tt.want {
			case llmDigest:
				if err != nil {
					t.Fatal(err)
				}
				if d.Backend != s.Name() || d.NeedsReview {
					t.Errorf("backend %q, needs_review %v (%s)", d.Backend, d.NeedsReview, d.ReviewReason)
				}
				if res := faithful.Check(r, d); !res.OK() {
					t.Errorf("digest not faithful: %s", res.Reason())
				}
				if len(d.Bullets) != 3 || d.Bullets[0].Page != 2 || d.Bullets[2].Page != 3 {
					t.Errorf("bullets %+v", d.Bullets)
				}
			case fallback:
				if err != nil {
					t.Fatal(err)
				}
				if d.Backend != "extractive" || !d.NeedsReview || !strings.Contains(d.ReviewReason, tt.reason) {
					t.Errorf("backend %q, needs_review %v, reason %q: want a flagged extractive digest mentioning %q", d.Backend, d.NeedsReview, d.ReviewReason, tt.reason)
				}
			case permanent:
				if !errors.As(err, &perm) || perm.Reason != tt.reason {
					t.Fatalf("err %v, want a PermanentError %q", err, tt.reason)
				}
			}
			if n := srv.Count(); n != tt.requests {
				t.Errorf("%d requests, want %d", n, tt.requests)
			}
			if took < tt.minTime {
				t.Errorf("took %v, want at least %v (Retry-After not honoured)", took, tt.minTime)
			}
			if tt.check != nil {
				tt.check(t, srv.Requests())
			}
		})
	}
}

func TestNoFallbackReturnsRetryableError(t *testing.T) {
	srv := llmtest.New(llmtest.Sequence(llmtest.ServerError()), llmtest.Options{})
	defer srv.Close()
	s := newSummarizer(t, srv, Config{NoFallback: true, MaxAttempts: 2}, nil)
	_, err := s.Summarize(context.Background(), loadReport(t))
	var perm *summarize.PermanentError
	if err == nil || errors.As(err, &perm) {
		t.Fatalf("err %v, want a retryable error", err)
	}
	if srv.Count() != 2 {
		t.Errorf("%d requests, want 2", srv.Count())
	}
}

// mapCache is a Cache in memory.
type mapCache struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (c *mapCache) Get(_ context.Context, k string) ([]byte, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	return v, ok, nil
}

func (c *mapCache) Put(_ context.Context, k string, v []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[k] = v
	return nil
}

func TestCacheSavesTheSecondCall(t *testing.T) {
	srv := llmtest.New(llmtest.Sequence(llmtest.Text(goodJSON(t))), llmtest.Options{})
	defer srv.Close()
	cache := &mapCache{m: map[string][]byte{}}
	s := newSummarizer(t, srv, Config{}, cache)
	r := loadReport(t)
	d1, err := s.Summarize(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	d2, err := s.Summarize(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if srv.Count() != 1 {
		t.Errorf("%d requests for one report summarised twice, want 1", srv.Count())
	}
	if d1.Summary != d2.Summary {
		t.Error("the cached digest differs")
	}
	// Another model or prompt is another key.
	other := newSummarizer(t, srv, Config{Model: "llama3.1:8b"}, cache)
	if other.CacheKey(r.ID) == s.CacheKey(r.ID) {
		t.Error("cache key ignores the model")
	}
}

// pageFigure is the figure that only page p of the long report holds.
func pageFigure(p int) string { return fmt.Sprintf("%d,%d tỷ đồng", 100+p, p%9+1) }

// longReport is a 60-page report; page p says what unit p achieved.
func longReport() *model.Report {
	r := &model.Report{ID: strings.Repeat("ab", 32), Pages: 60, Source: model.Source{Site: "upload", AttachmentName: "bao-cao-60-trang.pdf"}}
	for p := 1; p <= 60; p++ {
		filler := strings.Repeat(fmt.Sprintf("Các đơn vị tiếp tục triển khai nhiệm vụ theo kế hoạch của tỉnh ở trang %d. ", p), 12)
		r.Paragraphs = append(r.Paragraphs,
			model.Paragraph{Page: p, Text: filler},
			model.Paragraph{Page: p, Text: fmt.Sprintf("Đơn vị thứ %d đạt doanh thu %s, giao Sở Tài chính theo dõi.", p, pageFigure(p))},
		)
	}
	return r
}

var (
	pageMarker = regexp.MustCompile(`\[tr\. (\d+)\]`)
	figSent    = regexp.MustCompile(`Đơn vị thứ \d+ đạt doanh thu \d+,\d+ tỷ đồng`)
	noteLine   = regexp.MustCompile(`(?m)^- (.+) \(tr\. (\d+)\)$`)
)

// notetaker answers like a model: map requests with one bullet per page
// that has a figure, citing the page; the reduce request with the first
// notes, one of them citing the wrong page.
func notetaker(r llmtest.Request) llmtest.Reply {
	user := r.Messages[len(r.Messages)-1].Content
	if strings.Contains(user, "GHI CHÉP:") {
		notes := noteLine.FindAllStringSubmatch(user, -1)
		var bullets []map[string]any
		for i, n := range notes {
			if len(bullets) == 5 {
				break
			}
			p, _ := strconv.Atoi(n[2])
			if i == 1 {
				p++ // a wrong citation, to be pointed back at the right page
			}
			bullets = append(bullets, map[string]any{"text": n[1], "page": p})
		}
		return llmtest.JSON(map[string]any{"headline": "Kết quả các đơn vị", "summary": "Các đơn vị đạt doanh thu theo kế hoạch. Sở Tài chính theo dõi.", "bullets": bullets, "figures": []any{}})
	}
	text := user[strings.Index(user, "VĂN BẢN:"):]
	var bullets []map[string]any
	marks := pageMarker.FindAllStringSubmatchIndex(text, -1)
	for i, m := range marks {
		end := len(text)
		if i+1 < len(marks) {
			end = marks[i+1][0]
		}
		page, _ := strconv.Atoi(text[m[2]:m[3]])
		if s := figSent.FindString(text[m[1]:end]); s != "" && len(bullets) < 6 {
			bullets = append(bullets, map[string]any{"text": s + ".", "page": page})
		}
	}
	return llmtest.JSON(map[string]any{"headline": "", "summary": "Ghi chép.", "bullets": bullets, "figures": []any{}})
}

func TestMapReduceLongReport(t *testing.T) {
	srv := llmtest.New(notetaker, llmtest.Options{ContextTokens: 4096})
	defer srv.Close()
	s := newSummarizer(t, srv, Config{ContextTokens: 4096, MaxOutputTokens: 512}, nil)
	r := longReport()
	d, err := s.Summarize(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	reqs := srv.Requests()
	whole := estimateTokens(render(r.Paragraphs))
	if len(reqs) < 4 || whole < 4096 {
		t.Fatalf("%d requests for a report of ~%d tokens: not map-reduce", len(reqs), whole)
	}
	for _, q := range reqs[:len(reqs)-1] {
		if !strings.Contains(q.Prompt(), "Đây là phần") {
			t.Fatalf("request %d is not a map request: %.300s", q.N, q.Prompt()[len(q.Prompt())-300:])
		}
	}
	if d.Backend != s.Name() || d.NeedsReview {
		t.Fatalf("backend %q, needs_review %v: %s", d.Backend, d.NeedsReview, d.ReviewReason)
	}
	if len(d.Bullets) < 3 {
		t.Fatalf("bullets %+v", d.Bullets)
	}
	src := faithful.NewSource(r.Paragraphs)
	for _, b := range d.Bullets {
		figs := vntext.Figures(b.Text)
		if len(figs) == 0 || b.Page == 0 {
			t.Errorf("bullet %q (tr. %d) has no figure or page", b.Text, b.Page)
			continue
		}
		for _, f := range figs {
			if !src.PageHas(b.Page, f.Text) {
				t.Errorf("bullet %q cites page %d, which does not hold %q", b.Text, b.Page, f.Text)
			}
		}
	}
}

func TestParseAnswer(t *testing.T) {
	tests := []struct {
		name    string
		reply   string
		summary string
		bullets []cited
		wantErr bool
	}{
		{name: "bare", reply: `{"headline":"H","summary":"S.","bullets":[{"text":"A","page":2}],"figures":[]}`, summary: "S.", bullets: []cited{{"A", 2}}},
		{name: "fenced", reply: "```json\n{\"summary\":\"S.\",\"bullets\":[\"A (tr. 3)\"]}\n```", summary: "S.", bullets: []cited{{"A", 3}}},
		{name: "prose and braces before", reply: "Ghi chú {không phải JSON}. Kết quả: {\"summary\":\"S.\",\"bullets\":[{\"text\":\"- A\",\"page\":\"4\"}]} Xong.", summary: "S.", bullets: []cited{{"A", 4}}},
		{name: "think block", reply: "<think>{\"summary\":\"sai\"}</think>{\"summary\":\"S.\",\"bullets\":[]}", summary: "S."},
		{name: "unclosed think prefix", reply: "suy nghĩ…</think>\n{\"summary\":\"S.\"}", summary: "S."},
		{name: "no json", reply: "Tôi không biết.", wantErr: true},
		{name: "truncated json", reply: `{"summary":"S`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := parseAnswer(tt.reply)
			if tt.wantErr {
				if !errors.Is(err, errNoJSON) {
					t.Fatalf("err %v, want errNoJSON", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.Summary != tt.summary || fmt.Sprint(a.Bullets) != fmt.Sprint(tt.bullets) {
				t.Errorf("got %q %v, want %q %v", a.Summary, a.Bullets, tt.summary, tt.bullets)
			}
		})
	}
}

func TestChunksArePageAligned(t *testing.T) {
	r := longReport()
	cs := chunks(r.Paragraphs, 1500)
	if len(cs) < 2 {
		t.Fatalf("%d chunks", len(cs))
	}
	next := 1
	for _, c := range cs {
		if c.first != next || estimateTokens(c.text) > 1500 {
			t.Errorf("chunk pages %d–%d (~%d tokens), want to start at %d within 1500", c.first, c.last, estimateTokens(c.text), next)
		}
		if !strings.HasPrefix(c.text, fmt.Sprintf("[tr. %d]", c.first)) {
			t.Errorf("chunk does not start with its page marker: %q", c.text[:20])
		}
		next = c.last + 1
	}
	if next != 61 {
		t.Errorf("chunks end at page %d", next-1)
	}
}

// A proxy that echoes the key in its error message must not get the key
// into the error, which goes to logs, dead letters and /failures.
func TestErrorsNeverCarryTheKey(t *testing.T) {
	const key = "sk-bantin-test-0123456789abcdef"
	echo := func(r llmtest.Request) llmtest.Reply {
		return llmtest.Reply{Status: 401, Err: &llmtest.APIError{
			Message: "key " + r.Header.Get("Authorization") + " is not valid", Type: "invalid_request_error", Code: "invalid_api_key"}}
	}
	srv := llmtest.New(echo, llmtest.Options{})
	defer srv.Close()
	s := newSummarizer(t, srv, Config{APIKey: key}, nil)
	_, err := s.Summarize(context.Background(), loadReport(t))
	var perm *summarize.PermanentError
	if !errors.As(err, &perm) || perm.Reason != "llm_unauthorized" {
		t.Fatalf("err %v, want a permanent llm_unauthorized error (classification must survive redaction)", err)
	}
	if strings.Contains(err.Error(), key) {
		t.Fatalf("the error carries the API key: %v", err)
	}
	if !strings.Contains(err.Error(), "[redacted]") {
		t.Errorf("the error lost the server's message instead of redacting it: %v", err)
	}
	if srv.Count() != 1 || !strings.Contains(srv.Requests()[0].Header.Get("Authorization"), key) {
		t.Errorf("the key did not reach the server as a bearer token")
	}
}
