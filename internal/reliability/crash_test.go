package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/bantin/bantin/internal/bus"
	"github.com/bantin/bantin/internal/llmtest"
	"github.com/bantin/bantin/internal/model"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// bantinBinary builds the bantin command once per test binary.
func bantinBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "bantin-reliability-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "bantin")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/bantin/bantin").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("building bantin: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// syncBuffer collects a child's output.
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

// child is one bantin role running as its own process.
type child struct {
	t    *testing.T
	role string
	args []string
	env  []string
	http string
	cmd  *exec.Cmd
	out  *syncBuffer // every incarnation's output
	done chan error
}

func startChild(t *testing.T, role string, env []string, args ...string) *child {
	t.Helper()
	c := &child{t: t, role: role, env: env, http: freeAddr(t), out: &syncBuffer{}}
	c.args = append([]string{role, "--http", c.http, "--log-format", "json"}, args...)
	c.start()
	t.Cleanup(func() {
		if c.cmd.ProcessState == nil {
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	})
	return c
}

func (c *child) start() {
	c.t.Helper()
	c.cmd = exec.Command(bantinBinary(c.t), c.args...)
	c.cmd.Env = append(os.Environ(), c.env...)
	c.cmd.Stdout, c.cmd.Stderr = c.out, c.out
	if err := c.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.done = make(chan error, 1)
	go func(cmd *exec.Cmd, done chan error) { done <- cmd.Wait() }(c.cmd, c.done)
	if !waitFor(30*time.Second, func() bool {
		resp, err := http.Get("http://" + c.http + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}) {
		c.t.Fatalf("%s not ready:\n%s", c.role, c.out)
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (c *child) kill() {
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.done
}

// term sends SIGTERM and returns how long the process took to exit.
func (c *child) term(limit time.Duration) (time.Duration, error) {
	start := time.Now()
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-c.done:
		return time.Since(start), err
	case <-time.After(limit):
		return limit, fmt.Errorf("%s did not exit within %s of SIGTERM", c.role, limit)
	}
}

func (c *child) get(t *testing.T, path string) string {
	t.Helper()
	resp, err := http.Get("http://" + c.http + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// uploadRetrying posts raw to the ingest API until it is queued (or a
// duplicate), riding out an ingest process that is being killed.
func uploadRetrying(ctx context.Context, base, name string, raw []byte) (string, error) {
	var last string
	for attempt := 0; attempt < 300 && ctx.Err() == nil; attempt++ {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, _ := mw.CreateFormFile("file", name)
		fw.Write(raw)
		mw.Close()
		resp, err := http.Post(base+"/api/reports", mw.FormDataContentType(), &buf)
		if err == nil {
			var res struct{ Outcome, Reason string }
			json.NewDecoder(resp.Body).Decode(&res)
			resp.Body.Close()
			if res.Outcome == "queued" || res.Outcome == "duplicate" {
				return res.Outcome, nil
			}
			last = fmt.Sprintf("%d %s %s", resp.StatusCode, res.Outcome, res.Reason)
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	return "", fmt.Errorf("upload of %s never queued: %s", name, last)
}

const (
	testNATSUser     = "bantin-crash"
	testNATSPassword = "nats-pw-7f3a9c1e-do-not-log"
	testLLMKey       = "sk-llm-4b8e2d6f-do-not-log"
)

// llmDigest is a reply the LLM backend accepts.
const llmDigest = `{"headline":"Báo cáo kết quả thực hiện nhiệm vụ","summary":"Huyện báo cáo kết quả thực hiện nhiệm vụ phát triển kinh tế - xã hội trong quý vừa qua. Ủy ban nhân dân huyện đã giải ngân dự án đầu tư công.","bullets":[{"text":"Huyện tổ chức đào tạo nghề cho lao động nông thôn.","page":0},{"text":"Giao Phòng Tài chính - Kế hoạch rà soát các dự án chậm tiến độ.","page":0},{"text":"Huyện phấn đấu thu hút thêm doanh nghiệp thành lập mới.","page":0}],"figures":[]}`

// TestWorkerCrashes runs ingest, summarize and publish as child processes
// against a NATS server that requires a password, behind an LLM that takes
// its time. Ingest is SIGKILLed mid-upload and summarize mid-LLM call;
// both come back. Then summarize gets SIGTERM with calls in flight and must
// exit without leaving anything to AckWait. Every report must come out as
// exactly one digest, in the feed and in the webhook, and no secret may show
// in any log, /metrics or dead letter.
func TestWorkerCrashes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the bantin binary and runs child processes; skipped in -short")
	}
	n := reportCount(40, 20)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// NATS with a password: the children get it from the environment only.
	natsAddr := freeAddr(t)
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: portOf(t, natsAddr), JetStream: true, StoreDir: t.TempDir(),
		Username: testNATSUser, Password: testNATSPassword, NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats not ready")
	}
	defer ns.Shutdown()
	natsURL := "nats://" + natsAddr
	co := bus.ConnectOptions{Name: "check", User: testNATSUser, Password: testNATSPassword}
	check, err := bus.ConnectWith(ctx, natsURL, co, bus.Topology{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer check.Close()

	var llmDelay atomic.Int64
	llmDelay.Store(int64(1500 * time.Millisecond))
	llm := llmtest.New(func(r llmtest.Request) llmtest.Reply {
		return llmtest.Reply{Content: llmDigest, Delay: time.Duration(llmDelay.Load())}
	}, llmtest.Options{APIKey: testLLMKey})
	defer llm.Close()

	hooks := &hookReceiver{seen: map[string]int{}}
	hookSrv := httptest.NewServer(hooks)
	defer hookSrv.Close()
	hooksFile := filepath.Join(t.TempDir(), "webhooks.json")
	os.WriteFile(hooksFile, fmt.Appendf(nil, `[{"name":"newsroom","url":%q}]`, hookSrv.URL), 0o600)

	env := []string{"BANTIN_NATS_USER=" + testNATSUser, "BANTIN_NATS_PASSWORD=" + testNATSPassword, "BANTIN_LLM_API_KEY=" + testLLMKey}
	common := []string{"--nats", natsURL, "--log-level", "debug"}
	pub := startChild(t, "publish", env, append(common, "--webhooks-file", hooksFile)...)
	sumArgs := append(common, "--ack-wait", "4s", "--max-deliver", "10", "--concurrency", "4", "--llm-base-url", llm.URL(), "--llm-model", "test")
	sum := startChild(t, "summarize", env, sumArgs...)
	ing := startChild(t, "ingest", env, common...)

	// Upload with four clients; kill ingest once a quarter is in.
	start := time.Now()
	runID := fmt.Sprintf("crash-%d", start.UnixNano())
	var next, uploaded atomic.Int64
	var uploaders sync.WaitGroup
	for range 4 {
		uploaders.Add(1)
		go func() {
			defer uploaders.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if _, err := uploadRetrying(ctx, "http://"+ing.http, fmt.Sprintf("bao-cao-%03d.txt", i), reportText(runID, i)); err != nil {
					t.Error(err)
					return
				}
				uploaded.Add(1)
			}
		}()
	}
	if !waitFor(time.Minute, func() bool { return uploaded.Load() >= int64(n/4) }) {
		t.Fatalf("uploads stalled at %d", uploaded.Load())
	}
	ing.kill()
	t.Logf("ingest SIGKILLed after %d uploads", uploaded.Load())
	ing.start()

	// Kill summarize while LLM calls are in flight.
	calls := llm.Count()
	if !waitFor(time.Minute, func() bool { return llm.Count() > calls+2 }) {
		t.Fatalf("no LLM calls in flight:\n%s", sum.out)
	}
	digestsAtKill, _ := digestCounts(ctx, t, check)
	killedAt := time.Now()
	sum.kill()
	t.Logf("summarize SIGKILLed mid-LLM call at %d digests", digestsAtKill)
	sum.start()
	uploaders.Wait()
	if !waitFor(2*time.Minute, func() bool { m, _ := digestCounts(ctx, t, check); return m >= n }) {
		m, _ := digestCounts(ctx, t, check)
		t.Fatalf("%d of %d digests after 2 minutes", m, n)
	}
	recovery := time.Since(killedAt)

	// SIGTERM with calls in flight: in-flight reports finish or are nak'ed,
	// so nothing waits for AckWait. Use an AckWait far longer than the test.
	sum.kill()
	llmDelay.Store(int64(3 * time.Second))
	sum.args = append(append([]string{}, sum.args...), "--ack-wait", "10m")
	sum.start()
	extra := 8
	for i := n; i < n+extra; i++ {
		if _, err := uploadRetrying(ctx, "http://"+ing.http, fmt.Sprintf("bao-cao-%03d.txt", i), reportText(runID, i)); err != nil {
			t.Fatal(err)
		}
	}
	calls = llm.Count()
	waitFor(30*time.Second, func() bool { return llm.Count() > calls })
	took, err := sum.term(40 * time.Second)
	if err != nil {
		t.Fatalf("SIGTERM: %v\n%s", err, sum.out)
	}
	cons, err := check.JS.Consumer(ctx, model.StreamReports, model.ConsumerSummarize)
	if err != nil {
		t.Fatal(err)
	}
	ci, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ci.NumAckPending != 0 {
		t.Errorf("after SIGTERM %d reports wait for AckWait (10m), want 0", ci.NumAckPending)
	}
	t.Logf("summarize drained in %s; %d pending for the next worker", took.Round(time.Millisecond), ci.NumPending)
	llmDelay.Store(0)
	sum.start()
	total := n + extra
	if !waitFor(time.Minute, func() bool { m, _ := digestCounts(ctx, t, check); return m >= total }) {
		m, _ := digestCounts(ctx, t, check)
		t.Fatalf("%d of %d digests a minute after the drain (reports left to AckWait?)", m, total)
	}

	msgs, perID := digestCounts(ctx, t, check)
	dups, losses := msgs-len(perID), total-len(perID)
	if msgs != total || dups != 0 || losses != 0 {
		t.Errorf("DIGESTS: %d messages, %d distinct, from %d reports", msgs, len(perID), total)
	}
	var feed map[string]int
	waitFor(30*time.Second, func() bool { feed = feedIDs(t, "http://"+pub.http, 50); return len(feed) >= total })
	if len(feed) != total {
		t.Errorf("feed has %d digests, want %d", len(feed), total)
	}
	var hookTotal, hookDistinct, hookDups int
	waitFor(30*time.Second, func() bool { hookTotal, hookDistinct, hookDups = hooks.counts(); return hookDistinct >= total })
	if hookDistinct != total || hookDups != 0 {
		t.Errorf("webhook: %d deliveries of %d digests, want %d once each", hookTotal, hookDistinct, total)
	}

	// Secrets never show: logs of every process, /metrics, dead letters.
	dls, err := check.ListDead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dlJSON, _ := json.Marshal(dls)
	places := map[string]string{"dead letters": string(dlJSON)}
	for _, c := range []*child{pub, sum, ing} {
		places[c.role+" log"] = c.out.String()
		places[c.role+" /metrics"] = c.get(t, "/metrics")
	}
	for where, text := range places {
		for _, secret := range []string{testNATSPassword, testLLMKey} {
			if strings.Contains(text, secret) {
				t.Errorf("secret %q appears in %s", secret[:8]+"…", where)
			}
		}
	}
	if !strings.Contains(sum.out.String(), `"level"`) {
		t.Errorf("summarize wrote no log lines to check:\n%s", sum.out)
	}
	rss := 0.0
	if sum.cmd.Process != nil {
		rss = peakRSSMiB(strconv.Itoa(sum.cmd.Process.Pid))
	}
	record(t, figures{Scenario: "crash: ingest and summarize SIGKILLed (mid-upload, mid-LLM call), then summarize SIGTERMed", ReportsIn: total,
		DigestsOut: len(perID), Duplicates: dups + hookDups, Losses: losses, RecoveryS: recovery.Seconds(), TotalS: time.Since(start).Seconds(),
		PeakRSSMiB: rss, Note: fmt.Sprintf("AckWait 4s; summarize killed at %d digests; SIGTERM drain took %s with 3s LLM calls in flight; webhook %d/%d; %d dead letters",
			digestsAtKill, took.Round(time.Millisecond), hookTotal, hookDistinct, len(dls))})
}
