package benchutil

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/bantin/bantin/internal/llmtest"
	"github.com/bantin/bantin/internal/model"
)

// SampleReportPath is the 4-page Bắc Giang report of the extractive
// summariser's tests, relative to the repository root.
const SampleReportPath = "services/summarize/extractive/testdata/bao-cao-ktxh-thang-11.report.json"

// SampleReports returns n copies of the sample report with distinct ids
// (salted, so every run starts with an empty cache and DIGESTED bucket).
func SampleReports(n int, salt string) ([]*model.Report, error) {
	b, err := os.ReadFile(SampleReportPath)
	if err != nil {
		return nil, fmt.Errorf("reading the sample report: %w (run the benchmark from the repository root)", err)
	}
	out := make([]*model.Report, n)
	for i := range out {
		var r model.Report
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("decoding %s: %w", SampleReportPath, err)
		}
		h := sha256.Sum256([]byte(fmt.Sprintf("%s/%d", salt, i)))
		r.ID = hex.EncodeToString(h[:])
		r.Source.Site = "bench.example"
		out[i] = &r
	}
	return out, nil
}

// FaithfulReply is an LLM answer for the sample report whose every figure
// is in the report, so the faithfulness check passes on the first call.
const FaithfulReply = `{"headline":"Bắc Giang: thu ngân sách 11 tháng vượt dự toán",` +
	`"summary":"Thu ngân sách nhà nước trên địa bàn 11 tháng đạt 18.245,6 tỷ đồng, bằng 112,3% dự toán. GRDP 11 tháng ước tăng 7,52% so với cùng kỳ.",` +
	`"bullets":[{"text":"Thu ngân sách 11 tháng đạt 18.245,6 tỷ đồng, bằng 112,3% dự toán.","page":2},` +
	`{"text":"Lũy kế 11 tháng có 1.250 doanh nghiệp thành lập mới.","page":2},` +
	`{"text":"Giao Sở Kế hoạch và Đầu tư tham mưu phân bổ vốn đầu tư công năm 2024.","page":3}],` +
	`"figures":[{"text":"18.245,6 tỷ đồng","page":2},{"text":"7,52%","page":1}]}`

// Clock records when requests arrive.
type Clock struct {
	mu    sync.Mutex
	times []time.Time
}

// Handler answers every request with FaithfulReply and records its time.
func (c *Clock) Handler() llmtest.Handler {
	return func(llmtest.Request) llmtest.Reply {
		c.mu.Lock()
		c.times = append(c.times, time.Now())
		c.mu.Unlock()
		return llmtest.Reply{Content: FaithfulReply}
	}
}

// Times returns the arrival times so far.
func (c *Clock) Times() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Time(nil), c.times...)
}

// MaxInWindow is the most arrivals within any window of length w.
func MaxInWindow(ts []time.Time, w time.Duration) int {
	best, j := 0, 0
	for i := range ts {
		for ts[i].Sub(ts[j]) >= w {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}
