package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/bantin/bantin/internal/bus"
	"github.com/bantin/bantin/internal/llmtest"
)

// Distinctive secrets of TestSecretsNeverShow: none may appear anywhere
// bantin writes.
const (
	secretNATS    = "nats-pw-SECRET-51c7e0d2"
	secretLLM     = "sk-llm-SECRET-9a4f27b3"
	secretEditor  = "editor-tok-SECRET-c3e81f06"
	secretAPI     = "api-tok-SECRET-7d05b9aa"
	secretWebhook = "hook-SECRET-e6f2a184"
)

// secretsDigest is the model's answer for a report that goes through.
const secretsDigest = `{"headline":"Báo cáo kết quả thực hiện nhiệm vụ","summary":"Huyện báo cáo kết quả thực hiện nhiệm vụ phát triển kinh tế - xã hội trong quý vừa qua. Ủy ban nhân dân huyện đã giải ngân dự án đầu tư công.","bullets":[{"text":"Huyện tổ chức đào tạo nghề cho lao động nông thôn.","page":0},{"text":"Giao Phòng Tài chính - Kế hoạch rà soát các dự án chậm tiến độ.","page":0}],"figures":[]}`

func secretsReport(marker string) []byte {
	return fmt.Appendf(nil, `BÁO CÁO SỐ 12/BC-UBND (%s)
Kết quả thực hiện nhiệm vụ phát triển kinh tế - xã hội của huyện trong quý vừa qua.
Tổng sản phẩm trên địa bàn ước tăng 7,5%% so với cùng kỳ năm trước, cao hơn mức bình quân của tỉnh.
Thu ngân sách nhà nước trên địa bàn đạt 412 tỷ đồng, bằng 105%% dự toán được giao.
Ủy ban nhân dân huyện đã giải ngân 14 dự án đầu tư công và khởi công mới 6 công trình giao thông nông thôn.
Giao Phòng Tài chính - Kế hoạch chủ trì rà soát các dự án chậm tiến độ, báo cáo trước ngày 15 tháng 3.
`, marker)
}

// TestSecretsNeverShow runs `bantin all` in this process at debug level
// (which adds nothing here: only the embedded nats-server logs at debug)
// against a nats-server that wants a password, with an LLM API key, an
// editor token (--review), an API token and a webhook secret, all set the
// way operators set them (environment), and drives the failure paths: the
// LLM answers 401 invalid_api_key for one report (a dead letter), an
// upload with a wrong API token and one without (401), a sign-in with a
// wrong editor token (401), a webhook that answers 500. Then it greps the
// log, /metrics, every HTTP answer, every dead letter and what the webhook
// and the LLM received (except the LLM's Authorization header) for each
// secret.
func TestSecretsNeverShow(t *testing.T) {
	// NATS with a password.
	natsAddr := freeAddr(t)
	host, port := splitPort(t, natsAddr)
	ns, err := server.NewServer(&server.Options{Host: host, Port: port, JetStream: true, StoreDir: t.TempDir(),
		Username: "bantin", Password: secretNATS, NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	t.Cleanup(ns.Shutdown)
	natsURL := "nats://" + natsAddr

	// The LLM refuses the key for reports marked HONG-KHOA.
	llm := llmtest.New(func(r llmtest.Request) llmtest.Reply {
		if strings.Contains(r.Prompt(), "HONG-KHOA") {
			return llmtest.Reply{Status: http.StatusUnauthorized, Err: &llmtest.APIError{Message: "Incorrect API key provided.", Type: "invalid_request_error", Code: "invalid_api_key"}}
		}
		return llmtest.Reply{Content: secretsDigest}
	}, llmtest.Options{})
	t.Cleanup(llm.Close)

	// A webhook that fails, recording what it got.
	var hookMu sync.Mutex
	var hookSeen bytes.Buffer
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		hookMu.Lock()
		fmt.Fprintf(&hookSeen, "%s %s\n%v\n%s\n", r.Method, r.URL, r.Header, body)
		hookMu.Unlock()
		http.Error(w, "down for maintenance", http.StatusInternalServerError)
	}))
	t.Cleanup(hook.Close)
	hooksFile := filepath.Join(t.TempDir(), "webhooks.json")
	if err := os.WriteFile(hooksFile, fmt.Appendf(nil, `[{"name":"newsroom","url":%q,"secret_env":"BANTIN_TEST_HOOK_SECRET"}]`, hook.URL), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Setenv("BANTIN_NATS_USER", "bantin")
	t.Setenv("BANTIN_NATS_PASSWORD", secretNATS)
	t.Setenv("BANTIN_LLM_API_KEY", secretLLM)
	t.Setenv("BANTIN_EDITOR_TOKEN", secretEditor)
	t.Setenv("BANTIN_API_TOKEN", secretAPI)
	t.Setenv("BANTIN_TEST_HOOK_SECRET", secretWebhook)

	addr := freeAddr(t)
	base := "http://" + addr
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan int, 1)
	args := []string{"all", "--data", t.TempDir(), "--nats", natsURL, "--http", addr, "--log-level", "debug",
		"--llm-base-url", llm.URL(), "--llm-model", "test", "--llm-max-attempts", "1", "--max-deliver", "2", "--ack-wait", "5s",
		"--review", "--webhooks-file", hooksFile, "--isolate-parsing=false"}
	go func() { done <- run(ctx, args, out, out) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("bantin all exited with %d", code)
			}
		case <-time.After(30 * time.Second):
			t.Error("bantin all did not stop within 30 s")
		}
	}
	t.Cleanup(stop)
	waitReady(t, base, done, out)

	answers := map[string]string{} // what every HTTP request got back
	record := func(name string, resp *http.Response) string {
		t.Helper()
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		answers[name] = fmt.Sprintf("%s\n%v\n%s", resp.Status, resp.Header, body)
		return string(body)
	}
	post := func(name, token string, report []byte) int {
		t.Helper()
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, _ := mw.CreateFormFile("file", "bao-cao.txt")
		fw.Write(report)
		mw.Close()
		req, _ := http.NewRequest(http.MethodPost, base+"/api/reports", &buf)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		record(name, resp)
		return resp.StatusCode
	}

	// The API token: wrong, missing, right.
	if code := post("upload with a wrong token", secretAPI+"x", secretsReport("sai")); code != http.StatusUnauthorized {
		t.Errorf("upload with a wrong token: %d, want 401", code)
	}
	if code := post("upload without a token", "", secretsReport("thieu")); code != http.StatusUnauthorized {
		t.Errorf("upload without a token: %d, want 401", code)
	}
	if code := post("upload refused by the LLM", secretAPI, secretsReport("HONG-KHOA")); code != http.StatusAccepted {
		t.Fatalf("upload: %d, want 202:\n%s", code, answers["upload refused by the LLM"])
	}
	if code := post("upload digested", secretAPI, secretsReport("tot")); code != http.StatusAccepted {
		t.Fatalf("upload: %d, want 202", code)
	}

	// The editor: a wrong token, then the right one, approving the draft.
	jar := &secretsJar{}
	ed := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	signIn := func(name, token string) int {
		t.Helper()
		resp, err := ed.Get(base + "/review")
		if err != nil {
			t.Fatal(err)
		}
		m := csrf.FindStringSubmatch(record(name+": sign-in page", resp))
		if m == nil {
			t.Fatalf("no CSRF token on the sign-in page:\n%s", answers[name+": sign-in page"])
		}
		resp, err = ed.PostForm(base+"/review/login", url.Values{"csrf": {m[1]}, "token": {token}})
		if err != nil {
			t.Fatal(err)
		}
		record(name, resp)
		return resp.StatusCode
	}
	if code := signIn("sign-in with a wrong token", secretEditor[:len(secretEditor)-1]); code != http.StatusUnauthorized {
		t.Errorf("sign-in with a wrong token: %d, want 401", code)
	}
	if code := signIn("sign-in", secretEditor); code != http.StatusOK {
		t.Fatalf("sign-in: %d, want 200 (the review list):\n%s", code, answers["sign-in"])
	}
	draftLink := regexp.MustCompile(`href="[^"]*/review/([0-9a-zA-Z_-]{8,})"`)
	var id string
	for deadline := time.Now().Add(60 * time.Second); id == "" && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		resp, err := ed.Get(base + "/review")
		if err != nil {
			t.Fatal(err)
		}
		if m := draftLink.FindStringSubmatch(record("review list", resp)); m != nil {
			id = m[1]
		}
	}
	if id == "" {
		t.Fatalf("no draft to review after 60 s:\n%s\n%s", answers["review list"], out)
	}
	resp, err := ed.Get(base + "/review/" + id)
	if err != nil {
		t.Fatal(err)
	}
	page := record("draft", resp)
	m := csrf.FindStringSubmatch(page)
	v := regexp.MustCompile(`name="version" value="(\d+)"`).FindStringSubmatch(page)
	if m == nil || v == nil {
		t.Fatalf("the draft page has no decision form:\n%s", page)
	}
	resp, err = ed.PostForm(base+"/review/"+id+"/approve", url.Values{"csrf": {m[1]}, "version": {v[1]}})
	if err != nil {
		t.Fatal(err)
	}
	record("approve", resp)

	// Wait for the dead letter and for the webhook's first failed delivery.
	b, err := bus.ConnectWith(context.Background(), natsURL, bus.ConnectOptions{Name: "check", User: "bantin", Password: secretNATS}, bus.Topology{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var dead []bus.DeadEntry
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if dead, err = b.ListDead(context.Background()); err == nil && len(dead) > 0 {
			break
		}
	}
	if len(dead) == 0 {
		t.Fatalf("no dead letter for the report the LLM refused after 60 s:\n%s", out)
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		hookMu.Lock()
		n := hookSeen.Len()
		hookMu.Unlock()
		if n > 0 {
			break
		}
	}
	resp, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics := record("/metrics", resp)
	resp, err = http.Get(base + "/failures")
	if err != nil {
		t.Fatal(err)
	}
	record("/failures", resp)
	stop() // the shutdown's log lines too

	deadJSON, _ := json.MarshalIndent(dead, "", " ")
	hookMu.Lock()
	places := map[string]string{
		"log":                out.String(),
		"dead letters":       string(deadJSON),
		"webhook requests":   hookSeen.String(),
		"LLM request bodies": "",
	}
	hookMu.Unlock()
	for _, r := range llm.Requests() {
		places["LLM request bodies"] += string(r.Raw)
	}
	for name, a := range answers {
		places["answer to "+name] = a
	}
	secrets := map[string]string{"NATS password": secretNATS, "LLM API key": secretLLM, "editor token": secretEditor, "API token": secretAPI, "webhook secret": secretWebhook}
	for where, text := range places {
		for what, secret := range secrets {
			if strings.Contains(text, secret) {
				t.Errorf("the %s appears in the %s", what, where)
			}
		}
	}

	// The failure paths ran, so there was something to grep.
	log := out.String()
	for _, want := range []string{"editor sign-in failed", "reason=llm_unauthorized", "webhook delivery failed", "editor decision"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log has no %q: the path that writes it did not run", want)
		}
	}
	if !strings.Contains(string(deadJSON), "401") && !strings.Contains(string(deadJSON), "invalid_api_key") {
		t.Errorf("the dead letter does not name the LLM's refusal:\n%s", deadJSON)
	}
	if places["webhook requests"] == "" {
		t.Error("the webhook got no delivery: its secret was never used")
	}
	if !strings.Contains(metrics, "bantin_") {
		t.Errorf("/metrics has no bantin series:\n%.500s", metrics)
	}
	for _, r := range llm.Requests() {
		if r.Header.Get("Authorization") != "Bearer "+secretLLM {
			t.Errorf("the LLM got Authorization %q; want the key (else the 401 path tested nothing)", r.Header.Get("Authorization")[:min(len(r.Header.Get("Authorization")), 12)])
			break
		}
	}
	t.Logf("figures: grepped %d places (log %d bytes, %d dead letters, %d LLM requests, %d HTTP answers) for 5 secrets", len(places), len(log), len(dead), llm.Count(), len(answers))
}

// splitPort splits "127.0.0.1:4222".
func splitPort(t *testing.T, addr string) (string, int) {
	t.Helper()
	i := strings.LastIndex(addr, ":")
	var p int
	if _, err := fmt.Sscan(addr[i+1:], &p); err != nil {
		t.Fatal(err)
	}
	return addr[:i], p
}

// secretsJar keeps the cookies of one host.
type secretsJar struct {
	mu      sync.Mutex
	cookies map[string]*http.Cookie
}

func (j *secretsJar) SetCookies(_ *url.URL, cs []*http.Cookie) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.cookies == nil {
		j.cookies = map[string]*http.Cookie{}
	}
	for _, c := range cs {
		j.cookies[c.Name] = c
	}
}

func (j *secretsJar) Cookies(*url.URL) []*http.Cookie {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []*http.Cookie
	for _, c := range j.cookies {
		if c.MaxAge >= 0 {
			out = append(out, c)
		}
	}
	return out
}
