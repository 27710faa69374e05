package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/bantin/bantin/internal/bus"
	"github.com/bantin/bantin/internal/model"
	"github.com/bantin/bantin/services/ingest"
)

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// freePorts returns n distinct loopback ports that were free a moment ago:
// all are held open until every one is picked, so none comes twice.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

func portOf(t *testing.T, addr string) int {
	t.Helper()
	_, p, _ := net.SplitHostPort(addr)
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// reportText is the text of the i-th synthetic report: a meeting report
// with figures of its own, long enough for the extractive summariser, and
// different bytes (so a different report id) for every i.
func reportText(run string, i int) []byte {
	return fmt.Appendf(nil, `BÁO CÁO SỐ %d/BC-UBND (%s)
Kết quả thực hiện nhiệm vụ phát triển kinh tế - xã hội của huyện số %d trong quý vừa qua.
Tổng sản phẩm trên địa bàn ước tăng %d,%d%% so với cùng kỳ năm trước, cao hơn mức bình quân của tỉnh.
Thu ngân sách nhà nước trên địa bàn đạt %d tỷ đồng, bằng %d%% dự toán được giao.
Ủy ban nhân dân huyện đã giải ngân %d dự án đầu tư công và khởi công mới %d công trình giao thông nông thôn.
Huyện tổ chức %d lớp đào tạo nghề cho lao động nông thôn, giải quyết việc làm cho %d người.
Giao Phòng Tài chính - Kế hoạch chủ trì rà soát các dự án chậm tiến độ, báo cáo trước ngày %d tháng %d.
Năm tới, huyện phấn đấu thu hút thêm %d doanh nghiệp thành lập mới và giảm tỷ lệ hộ nghèo xuống dưới %d%%.
`, i+1, run, i%97+1, 5+i%4, i%10, 100+i, 90+i%20, 3+i%17, 2+i%9, 10+i%30, 200+i, 1+i%28, 1+i%12, 50+i, 2+i%5)
}

// digestCounts reads every message of DIGESTS and returns the count of
// messages and of messages per digest id. A read cut short (a cluster
// still settling its consumers after a node's restart) is done again, up
// to five times, before the test fails.
func digestCounts(ctx context.Context, t *testing.T, b *bus.Bus) (msgs int, perID map[string]int) {
	t.Helper()
	var err error
	for attempt := range 5 {
		if attempt > 0 {
			time.Sleep(time.Second)
		}
		var n int
		n, msgs, perID, err = readDigestStream(ctx, b)
		if err == nil && msgs == n {
			return msgs, perID
		}
		if err == nil {
			err = fmt.Errorf("read %d of %d digest messages", msgs, n)
		}
		t.Logf("reading DIGESTS (attempt %d): %v", attempt+1, err)
	}
	t.Fatalf("reading DIGESTS: %v", err)
	return 0, nil
}

// readDigestStream reads DIGESTS once with an ordered consumer: the count
// the stream gives, the messages read and the messages per digest id.
func readDigestStream(ctx context.Context, b *bus.Bus) (n, msgs int, perID map[string]int, err error) {
	perID = map[string]int{}
	s, err := b.JS.Stream(ctx, model.StreamDigests)
	if err != nil {
		return 0, 0, nil, fmt.Errorf("opening DIGESTS: %w", err)
	}
	n = int(s.CachedInfo().State.Msgs)
	if n == 0 {
		return 0, 0, perID, nil
	}
	cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return n, 0, nil, fmt.Errorf("reading DIGESTS: %w", err)
	}
	batch, err := cons.Fetch(n, jetstream.FetchMaxWait(30*time.Second))
	if err != nil {
		return n, 0, nil, fmt.Errorf("reading DIGESTS: %w", err)
	}
	for m := range batch.Messages() {
		var d model.Digest
		if err := json.Unmarshal(m.Data(), &d); err != nil {
			return n, msgs, perID, fmt.Errorf("digest on DIGESTS is not JSON: %w", err)
		}
		perID[d.ID]++
		msgs++
	}
	if err := batch.Error(); err != nil && msgs < n {
		return n, msgs, perID, fmt.Errorf("reading DIGESTS: %w", err)
	}
	return n, msgs, perID, nil
}

// feedIDs reads every page of the JSON feed, limit items a page, and
// counts items by digest id.
func feedIDs(t *testing.T, base string, limit int) map[string]int {
	t.Helper()
	out := map[string]int{}
	for page := 0; page < 1000; page++ {
		got := feedPage(t, base, limit, page, out)
		if got < limit {
			break
		}
	}
	return out
}

func feedPage(t *testing.T, base string, limit, page int, out map[string]int) int {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("%s/feeds/all.json?limit=%d&page=%d", base, limit, page))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("feed: %s %s", resp.Status, body)
	}
	var feed struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	if err := json.Unmarshal(body, &feed); err != nil {
		t.Fatalf("feed is not JSON: %v", err)
	}
	for _, it := range feed.Items {
		out[digestIDOf(it.ID)]++
	}
	return len(feed.Items)
}

// digestIDOf takes the digest id out of a feed item id (a tag URI or URL
// ending in the id).
func digestIDOf(itemID string) string {
	itemID = strings.TrimRight(itemID, "/")
	if i := strings.LastIndexAny(itemID, "/:"); i >= 0 {
		return itemID[i+1:]
	}
	return itemID
}

// hookReceiver counts webhook deliveries by X-Bantin-Delivery.
type hookReceiver struct {
	mu    sync.Mutex
	seen  map[string]int
	total int
	last  time.Time // when the latest push arrived
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	h.mu.Lock()
	h.seen[r.Header.Get("X-Bantin-Delivery")]++
	h.total++
	h.last = time.Now()
	h.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// lastPush returns when the latest push arrived.
func (h *hookReceiver) lastPush() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.last
}

func (h *hookReceiver) counts() (total, distinct, dups int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, n := range h.seen {
		if n > 1 {
			dups += n - 1
		}
	}
	return h.total, len(h.seen), dups
}

// figures are one scenario's results, as RELIABILITY.md reports them.
type figures struct {
	Scenario   string  `json:"scenario"`
	ReportsIn  int     `json:"reports_in"`
	DigestsOut int     `json:"digests_out"`
	Duplicates int     `json:"duplicates"`
	Losses     int     `json:"losses"`
	RecoveryS  float64 `json:"recovery_s,omitempty"`
	// NewLeaderS and CatchUpS are the cluster test's: from the kill to a
	// new stream leader, and from the restart to the node being current.
	NewLeaderS float64 `json:"new_leader_s,omitempty"`
	CatchUpS   float64 `json:"catch_up_s,omitempty"`
	TotalS     float64 `json:"total_s"`
	PeakRSSMiB float64 `json:"peak_rss_mib,omitempty"`
	Note       string  `json:"note,omitempty"`
	Time       string  `json:"time"`
}

// record logs f and appends it to $BANTIN_RELIABILITY_FIGURES.
func record(t *testing.T, f figures) {
	t.Helper()
	f.Time = time.Now().UTC().Format(time.RFC3339)
	line, _ := json.Marshal(f)
	t.Logf("figures: %s", line)
	path := os.Getenv("BANTIN_RELIABILITY_FIGURES")
	if path == "" {
		return
	}
	fh, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Errorf("recording figures: %v", err)
		return
	}
	defer fh.Close()
	fh.Write(append(line, '\n'))
}

// peakRSSMiB is the high-water mark of a process's resident memory, from
// /proc/<pid>/status (VmHWM); 0 where that is not available.
func peakRSSMiB(pid string) float64 {
	data, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}

// waitFor polls cond every 100ms until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	return pollEvery(d, 100*time.Millisecond, cond)
}

// pollEvery polls cond every interval until it holds or d passes.
func pollEvery(d, interval time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(interval)
	}
	return cond()
}

// reportCount is the number of reports a load test pushes: n, or small in
// -short mode, or $BANTIN_RELIABILITY_REPORTS.
func reportCount(n, short int) int {
	if v, err := strconv.Atoi(os.Getenv("BANTIN_RELIABILITY_REPORTS")); err == nil && v > 0 {
		return v
	}
	if testing.Short() {
		return short
	}
	return n
}

// uploads pushes n generated reports through ing with several uploaders,
// as newsroom clients do: an upload that fails while NATS recovers is
// retried with the same bytes (so the same report id) after retryDelay.
type uploads struct {
	n, workers int
	runID      string
	site       string
	retryDelay time.Duration
	maxRetries int
	// pace is a pause between reports of one uploader.
	pace time.Duration
	// retryable says which failed results may be retried; nil: all.
	retryable func(ingest.Result) bool

	queued, retries atomic.Int64
	mu              sync.Mutex
	ids             map[string]bool
	wg              sync.WaitGroup
}

// start begins the uploads; wait waits for them.
func (u *uploads) start(ctx context.Context, t *testing.T, ing *ingest.Service) {
	u.ids = map[string]bool{}
	var next atomic.Int64
	for range u.workers {
		u.wg.Add(1)
		go func() {
			defer u.wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= u.n {
					return
				}
				raw := reportText(u.runID, i)
				for attempt := 0; ; attempt++ {
					res := ing.IngestBytes(ctx, raw, model.Source{Site: u.site, AttachmentName: fmt.Sprintf("bao-cao-%04d.txt", i)})
					if res.Outcome == ingest.OutcomeQueued || res.Outcome == ingest.OutcomeDuplicate {
						u.mu.Lock()
						u.ids[res.ReportID] = true
						u.mu.Unlock()
						u.queued.Add(1)
						break
					}
					if u.retryable != nil && !u.retryable(res) || attempt > u.maxRetries || ctx.Err() != nil {
						t.Errorf("report %d not queued: %+v", i, res)
						return
					}
					u.retries.Add(1)
					time.Sleep(u.retryDelay)
				}
				time.Sleep(u.pace)
			}
		}()
	}
}

func (u *uploads) wait() { u.wg.Wait() }
