package publish

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/bantin/bantin/internal/bus"
	"github.com/bantin/bantin/internal/model"
)

// startNATS starts an embedded nats-server with JetStream for the test.
func startNATS(t *testing.T) *server.Server {
	t.Helper()
	ns, err := bus.StartEmbedded(bus.EmbeddedOptions{StoreDir: t.TempDir()}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("starting NATS: %v", err)
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	return ns
}

func connect(t *testing.T, ns *server.Server) *bus.Bus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := bus.Connect(ctx, ns.ClientURL(), "publish-test", bus.Topology{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("connecting: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// replica is a running publish Service behind a real HTTP server.
type replica struct {
	s    *Service
	url  string
	stop func()
}

// startReplica runs a publish service on its own connection. An empty
// cfg.BaseURL becomes the server's URL.
func startReplica(t *testing.T, ns *server.Server, cfg Config) *replica {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srvURL := "http://" + ln.Addr().String()
	if cfg.BaseURL == "" {
		cfg.BaseURL = srvURL
	}
	s, err := New(cfg, Deps{Bus: connect(t, ns), Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	mux := http.NewServeMux()
	s.Register(mux)
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: mux}}
	srv.Start()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
			srv.Close()
		})
	}
	t.Cleanup(stop)
	waitFor(t, "the replica to be ready", func() bool { return s.Ready(context.Background()) == nil })
	return &replica{s: s, url: srvURL, stop: stop}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func publishDigest(t *testing.T, b *bus.Bus, d model.Digest) {
	t.Helper()
	if err := b.PublishDigest(context.Background(), &d); err != nil {
		t.Fatalf("publishing digest: %v", err)
	}
}

func hasVersion(x *Index, id string, v int) bool {
	d, ok := x.Get(id)
	return ok && d.Version >= v
}

func TestServiceConditionalGET(t *testing.T) {
	ns := startNATS(t)
	b := connect(t, ns)
	r := startReplica(t, ns, Config{})
	bacGiang, quangNinh, _ := sampleDigests(t)
	publishDigest(t, b, bacGiang)
	waitFor(t, "the first digest", func() bool { return r.s.Index().Len() == 1 })

	url := r.url + "/feeds/all.atom"
	resp, body := get(t, url)
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != http.StatusOK || etag == "" || !strings.Contains(string(body), bacGiang.ID) {
		t.Fatalf("first GET: %s, ETag %q", resp.Status, etag)
	}
	if resp, _ := get(t, url, "If-None-Match", etag); resp.StatusCode != http.StatusNotModified {
		t.Fatalf("revalidation: %s, want 304", resp.Status)
	}
	publishDigest(t, b, quangNinh)
	waitFor(t, "the second digest", func() bool { return r.s.Index().Len() == 2 })
	resp, body = get(t, url, "If-None-Match", etag)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") == etag || !strings.Contains(string(body), quangNinh.ID) {
		t.Errorf("after a new digest: %s, ETag %q (was %q)", resp.Status, resp.Header.Get("ETag"), etag)
	}
}

func TestReplicasServeIdenticalFeeds(t *testing.T) {
	ns := startNATS(t)
	b := connect(t, ns)
	bacGiang, quangNinh, daNang := sampleDigests(t)
	// One replica reads history at start, the other follows it live.
	publishDigest(t, b, bacGiang)
	publishDigest(t, b, daNang)
	cfg := Config{BaseURL: "https://bantin.example"} // what both serve behind one Service
	r1 := startReplica(t, ns, cfg)
	publishDigest(t, b, quangNinh)
	revised := bacGiang
	revised.Version, revised.UpdatedAt, revised.Summary = 2, bacGiang.CreatedAt.Add(time.Hour), "Tóm tắt đã đính chính."
	publishDigest(t, b, revised)
	if err := b.PublishDead(context.Background(), model.DeadLetter{Stage: "ingest", Reason: "bad_pdf", Error: "broken", Name: "x.pdf", Time: mustTime(t, "2023-12-01T00:00:00Z")}); err != nil {
		t.Fatal(err)
	}
	r2 := startReplica(t, ns, cfg)
	for _, r := range []*replica{r1, r2} {
		waitFor(t, "every digest", func() bool { return hasVersion(r.s.Index(), bacGiang.ID, 2) && r.s.Index().Len() == 3 })
		waitFor(t, "the failure", func() bool { return len(r.s.Index().failureViews()) == 1 })
	}
	for _, path := range []string{
		"/feeds/all.atom", "/feeds/all.rss", "/feeds/all.json", "/feeds/daily.atom", "/feeds/site/baobacgiang.vn.rss",
		"/feeds/body/hdnd.json", "/feeds/failures.atom", "/", "/topics/tag/kinh-te",
	} {
		resp1, body1 := get(t, r1.url+path, "Accept-Encoding", "gzip")
		resp2, body2 := get(t, r2.url+path, "Accept-Encoding", "gzip")
		if resp1.StatusCode != http.StatusOK || string(body1) != string(body2) || resp1.Header.Get("ETag") != resp2.Header.Get("ETag") {
			t.Errorf("%s: replicas differ (%s, %s; ETags %q, %q)", path, resp1.Status, resp2.Status, resp1.Header.Get("ETag"), resp2.Header.Get("ETag"))
		}
	}
	if f := parseFeed(t, r2.url+"/feeds/all.atom"); !strings.Contains(f.Items[1].Content, "Đính chính") {
		t.Error("the revised digest is not shown as a correction")
	}
}

// hookReceiver is a webhook endpoint that checks signatures and counts
// deliveries by digest version.
type hookReceiver struct {
	t      *testing.T
	secret string
	srv    *httptest.Server

	mu    sync.Mutex
	got   map[string]int
	texts []string
}

func newHookReceiver(t *testing.T, secret string) *hookReceiver {
	h := &hookReceiver{t: t, secret: secret, got: map[string]int{}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		m := hmac.New(sha256.New, []byte(h.secret))
		m.Write(body)
		if want := "sha256=" + hex.EncodeToString(m.Sum(nil)); !hmac.Equal([]byte(r.Header.Get(SignatureHeader)), []byte(want)) {
			t.Errorf("bad signature %q", r.Header.Get(SignatureHeader))
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		h.mu.Lock()
		h.got[r.Header.Get("X-Bantin-Delivery")]++
		h.texts = append(h.texts, string(body))
		h.mu.Unlock()
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) count() (total int, deliveries map[string]int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, c := range h.got {
		n += c
	}
	return n, maps(h.got)
}

func maps(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func TestWebhooksExactlyOnce(t *testing.T) {
	ns := startNATS(t)
	b := connect(t, ns)
	all := newHookReceiver(t, "bí mật của tòa soạn")
	slack := newHookReceiver(t, "slack secret")
	hooks := []Webhook{
		{Name: "newsroom", URL: all.srv.URL, Secret: all.secret},
		{Name: "danang-chat", URL: slack.srv.URL, Format: "slack", Sites: []string{"danang.gov.vn"}, Secret: slack.secret},
	}
	r := startReplica(t, ns, Config{Webhooks: hooks})
	bacGiang, quangNinh, daNang := sampleDigests(t)
	publishDigest(t, b, bacGiang)
	publishDigest(t, b, daNang)
	waitFor(t, "the first deliveries", func() bool { n, _ := all.count(); m, _ := slack.count(); return n == 2 && m == 1 })
	r.stop()

	// A restart with two replicas sharing the durable consumer.
	r1 := startReplica(t, ns, Config{Webhooks: hooks})
	r2 := startReplica(t, ns, Config{Webhooks: hooks})
	publishDigest(t, b, quangNinh)
	publishDigest(t, b, bacGiang) // a redelivery of the same version: no second push
	revised := bacGiang
	revised.Version, revised.UpdatedAt = 2, bacGiang.CreatedAt.Add(time.Hour)
	publishDigest(t, b, revised)
	waitFor(t, "the later deliveries", func() bool { n, _ := all.count(); return n == 4 })
	time.Sleep(500 * time.Millisecond) // room for a duplicate to show up
	_ = r1
	_ = r2

	n, got := all.count()
	want := map[string]int{bacGiang.ID + ".v1": 1, daNang.ID + ".v2": 1, quangNinh.ID + ".v1": 1, bacGiang.ID + ".v2": 1}
	if n != 4 || len(got) != len(want) {
		t.Errorf("deliveries %v, want each of %v once", got, want)
	}
	for k := range want {
		if got[k] != 1 {
			t.Errorf("%s delivered %d times, want 1", k, got[k])
		}
	}
	all.mu.Lock()
	var last webhookPayload
	_ = json.Unmarshal([]byte(all.texts[len(all.texts)-1]), &last)
	all.mu.Unlock()
	if !last.Corrected || last.Event != "digest.corrected" || last.Digest.Version != 2 {
		t.Errorf("revision delivered as %q corrected=%v v%d, want a correction", last.Event, last.Corrected, last.Digest.Version)
	}
	if m, got := slack.count(); m != 1 || got[daNang.ID+".v2"] != 1 {
		t.Errorf("filtered slack hook got %v, want daNang only", got)
	}
	slack.mu.Lock()
	var msg map[string]string
	_ = json.Unmarshal([]byte(slack.texts[0]), &msg)
	slack.mu.Unlock()
	if !strings.Contains(msg["text"], daNang.Title) || !strings.Contains(msg["text"], "/digests/"+daNang.ID+"|") {
		t.Errorf("slack text %q lacks the title and link", msg["text"])
	}
}

func TestWebhookRetries(t *testing.T) {
	ns := startNATS(t)
	b := connect(t, ns)
	var mu sync.Mutex
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls < 3 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	r := startReplica(t, ns, Config{Webhooks: []Webhook{{Name: "flaky", URL: srv.URL}}})
	r.s.push.backoff = 10 * time.Millisecond
	bacGiang, _, _ := sampleDigests(t)
	publishDigest(t, b, bacGiang)
	waitFor(t, "the delivery to succeed", func() bool { mu.Lock(); defer mu.Unlock(); return calls == 3 })
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if calls != 3 {
		t.Errorf("%d calls, want 2 failures and 1 success", calls)
	}
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// editorClient signs in to a replica in review mode.
func editorClient(t *testing.T, base, token string) *http.Client {
	t.Helper()
	jar := &cookieJar{}
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	_, page := fetch(t, c, http.MethodGet, base+"/review", nil)
	m := csrfInput.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("sign-in page has no CSRF token:\n%s", page)
	}
	resp, page := fetch(t, c, http.MethodPost, base+"/review/login", url.Values{"csrf": {m[1]}, "token": {token}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Chờ duyệt") {
		t.Fatalf("signing in: %s\n%s", resp.Status, page)
	}
	return c
}

// cookieJar is a minimal jar: one host, every path.
type cookieJar struct {
	mu      sync.Mutex
	cookies map[string]*http.Cookie
}

func (j *cookieJar) SetCookies(_ *url.URL, cs []*http.Cookie) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.cookies == nil {
		j.cookies = map[string]*http.Cookie{}
	}
	for _, c := range cs {
		if c.MaxAge < 0 {
			delete(j.cookies, c.Name)
		} else {
			j.cookies[c.Name] = c
		}
	}
}

func (j *cookieJar) Cookies(*url.URL) []*http.Cookie {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []*http.Cookie
	for _, c := range j.cookies {
		out = append(out, c)
	}
	return out
}

func fetch(t *testing.T, c *http.Client, method, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

const testEditorToken = "editor-token-for-tests-0123456789"

func TestReviewGate(t *testing.T) {
	ns := startNATS(t)
	b := connect(t, ns)
	cfg := Config{Review: true, EditorToken: testEditorToken, BaseURL: "https://bantin.example"}
	r1 := startReplica(t, ns, cfg)
	r2 := startReplica(t, ns, cfg)
	bacGiang, quangNinh, _ := sampleDigests(t)
	publishDigest(t, b, bacGiang)
	publishDigest(t, b, quangNinh)
	waitFor(t, "the drafts", func() bool { return r1.s.Index().Len() == 2 && r2.s.Index().Len() == 2 })

	if f := parseFeed(t, r1.url+"/feeds/all.atom"); len(f.Items) != 0 {
		t.Fatalf("public feed shows %d drafts", len(f.Items))
	}
	if resp, _ := get(t, r1.url+"/digests/"+bacGiang.ID); resp.StatusCode != http.StatusNotFound {
		t.Errorf("draft page: %s, want 404", resp.Status)
	}
	anon := &http.Client{Timeout: 10 * time.Second}
	if resp, _ := fetch(t, anon, http.MethodPost, r1.url+"/review/"+bacGiang.ID+"/approve", url.Values{"version": {"1"}}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous approve: %s, want 401", resp.Status)
	}
	if resp, _ := fetch(t, anon, http.MethodPost, r1.url+"/review/login", url.Values{"csrf": {"x"}, "token": {testEditorToken}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("sign-in without the form's token: %s, want 403", resp.Status)
	}

	ed := editorClient(t, r1.url, testEditorToken)
	if resp, _ := fetch(t, ed, http.MethodPost, r1.url+"/review/"+bacGiang.ID+"/approve", url.Values{"csrf": {"forged"}, "version": {"1"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("approve with a forged CSRF token: %s, want 403", resp.Status)
	}
	_, page := fetch(t, ed, http.MethodGet, r1.url+"/review/"+bacGiang.ID, nil)
	csrf := csrfInput.FindStringSubmatch(page)[1]
	resp, _ := fetch(t, ed, http.MethodPost, r1.url+"/review/"+bacGiang.ID+"/approve", url.Values{"csrf": {csrf}, "version": {"1"}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("approve: %s", resp.Status)
	}
	if resp, _ := fetch(t, ed, http.MethodPost, r1.url+"/review/"+quangNinh.ID+"/reject", url.Values{"csrf": {csrf}, "version": {"1"}}); resp.StatusCode != http.StatusOK {
		t.Fatalf("reject: %s", resp.Status)
	}
	// Every replica follows the decision.
	for _, r := range []*replica{r1, r2} {
		waitFor(t, "the approval on every replica", func() bool {
			f := parseFeed(t, r.url+"/feeds/all.atom")
			return len(f.Items) == 1 && f.Items[0].GUID == "urn:bantin:digest:"+bacGiang.ID
		})
	}
	f := parseFeed(t, r2.url+"/feeds/all.atom")
	firstUpdated := f.Items[0].UpdatedParsed
	if strings.Contains(f.Items[0].Content, "Đính chính") {
		t.Error("a first approval is marked as a correction")
	}

	// Editing the published digest is a correction.
	resp, _ = fetch(t, ed, http.MethodPost, r1.url+"/review/"+bacGiang.ID+"/edit", url.Values{
		"csrf": {csrf}, "version": {"1"}, "title": {bacGiang.Title}, "summary": {"GRDP ước tăng 13,45%."},
		"bullets": {"Giá trị sản xuất công nghiệp tăng 25,6%. (tr. 2)\nÝ mới"},
	})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("edit: %s", resp.Status)
	}
	for _, r := range []*replica{r1, r2} {
		waitFor(t, "the correction on every replica", func() bool {
			f := parseFeed(t, r.url+"/feeds/all.atom")
			return len(f.Items) == 1 && strings.Contains(f.Items[0].Content, "Đính chính / corrected")
		})
	}
	f = parseFeed(t, r2.url+"/feeds/all.atom")
	if it := f.Items[0]; it.GUID != "urn:bantin:digest:"+bacGiang.ID || !it.UpdatedParsed.After(*firstUpdated) || !strings.Contains(it.Content, "(tr. 2)") {
		t.Errorf("correction id %q updated %v (was %v), content %q", it.GUID, it.UpdatedParsed, firstUpdated, it.Content)
	}
	if resp, _ := fetch(t, ed, http.MethodPost, r1.url+"/review/"+bacGiang.ID+"/approve", url.Values{"csrf": {csrf}, "version": {"1"}}); resp.StatusCode != http.StatusConflict {
		t.Errorf("approving a stale version: %s, want 409", resp.Status)
	}
}

func TestReviewNeedsToken(t *testing.T) {
	ns := startNATS(t)
	if _, err := New(Config{Review: true}, Deps{Bus: connect(t, ns)}); err == nil || !strings.Contains(err.Error(), "BANTIN_EDITOR_TOKEN") {
		t.Errorf("New without a token: %v, want an error naming BANTIN_EDITOR_TOKEN", err)
	}
}

func TestWebSubPing(t *testing.T) {
	ns := startNATS(t)
	b := connect(t, ns)
	var mu sync.Mutex
	var pinged []string
	hubSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.PostFormValue("hub.mode") != "publish" {
			http.Error(w, "bad mode", http.StatusBadRequest)
			return
		}
		mu.Lock()
		pinged = append(pinged, r.PostFormValue("hub.url"))
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(hubSrv.Close)
	r := startReplica(t, ns, Config{WebSubHub: hubSrv.URL})
	_, body := get(t, r.url+"/feeds/all.atom")
	if !strings.Contains(string(body), `rel="hub" href="`+hubSrv.URL+`"`) {
		t.Errorf("Atom feed does not advertise the hub:\n%s", body)
	}
	_, body = get(t, r.url+"/feeds/all.json")
	if !strings.Contains(string(body), `"hubs"`) {
		t.Error("JSON Feed does not advertise the hub")
	}
	bacGiang, _, _ := sampleDigests(t)
	publishDigest(t, b, bacGiang)
	waitFor(t, "the ping", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.Contains(pinged, r.url+"/feeds/all.atom") && slices.Contains(pinged, r.url+"/feeds/site/baobacgiang.vn.rss")
	})
}

func TestBuiltinHub(t *testing.T) {
	ns := startNATS(t)
	b := connect(t, ns)
	const secret = "subscriber-secret"
	type delivery struct{ body, sig string }
	var mu sync.Mutex
	var verified bool
	var got []delivery
	sub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet { // intent verification
			mu.Lock()
			verified = r.URL.Query().Get("hub.mode") == "subscribe"
			mu.Unlock()
			io.WriteString(w, r.URL.Query().Get("hub.challenge"))
			return
		}
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, delivery{string(body), r.Header.Get("X-Hub-Signature")})
		mu.Unlock()
	}))
	t.Cleanup(sub.Close)
	r := startReplica(t, ns, Config{BuiltinHub: true})
	topic := r.url + "/feeds/all.atom"
	resp, _ := fetch(t, &http.Client{}, http.MethodPost, r.url+"/websub", url.Values{
		"hub.mode": {"subscribe"}, "hub.topic": {topic}, "hub.callback": {sub.URL}, "hub.secret": {secret},
	})
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("subscribe: %s", resp.Status)
	}
	waitFor(t, "intent verification", func() bool { mu.Lock(); defer mu.Unlock(); return verified })
	waitFor(t, "the subscription to be stored", func() bool {
		kv, _ := r.s.hub.bucket()
		_, err := kv.Get(context.Background(), subKey(sub.URL, topic))
		return err == nil
	})
	bacGiang, _, _ := sampleDigests(t)
	publishDigest(t, b, bacGiang)
	waitFor(t, "the content delivery", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) > 0 })
	mu.Lock()
	defer mu.Unlock()
	d := got[0]
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(d.body))
	if d.sig != "sha256="+hex.EncodeToString(m.Sum(nil)) {
		t.Errorf("X-Hub-Signature %q does not match the content", d.sig)
	}
	if !strings.Contains(d.body, bacGiang.ID) {
		t.Error("the delivered feed lacks the new digest")
	}
}
