package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bantin/bantin/internal/llmtest"
	"github.com/bantin/bantin/internal/model"
)

const meetingText = `Chiều 30/11, UBND tỉnh họp phiên thường kỳ tháng 11. Thu ngân sách nhà nước 11 tháng đạt 18.245,6 tỷ đồng, bằng 112,3% dự toán. GRDP 11 tháng ước tăng 7,52% so với cùng kỳ, đứng thứ 5 cả nước.
Toàn tỉnh có 1.250 doanh nghiệp thành lập mới, gấp 1,5 lần cùng kỳ. Giải ngân vốn đầu tư công đạt 6.215 tỷ đồng, bằng 78,5% kế hoạch.
Chủ tịch UBND tỉnh giao Sở Tài chính phấn đấu thu ngân sách cả năm đạt trên 20.000 tỷ đồng.`

func TestDigestCommandWithLLM(t *testing.T) {
	answer := `{"headline":"Thu ngân sách vượt dự toán","summary":"Thu ngân sách nhà nước 11 tháng đạt 18.245,6 tỷ đồng, bằng 112,3% dự toán. GRDP 11 tháng ước tăng 7,52%.","bullets":[{"text":"Có 1.250 doanh nghiệp thành lập mới.","page":0},{"text":"Giải ngân vốn đầu tư công đạt 6.215 tỷ đồng.","page":0},{"text":"Giao Sở Tài chính phấn đấu thu trên 20.000 tỷ đồng.","page":0}],"figures":[{"text":"18.245,6 tỷ đồng","page":0}]}`
	srv := llmtest.New(llmtest.Sequence(llmtest.Text(answer)), llmtest.Options{APIKey: "sk-test"})
	defer srv.Close()
	t.Setenv("BANTIN_LLM_API_KEY", "sk-test")
	path := filepath.Join(t.TempDir(), "bao-cao.txt")
	if err := os.WriteFile(path, []byte(meetingText), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"digest", "--format", "json", "--llm-base-url", srv.URL(), "--llm-model", "qwen2.5:7b", path}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var d model.Digest
	if err := json.Unmarshal(out.Bytes(), &d); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if d.Backend != "llm:qwen2.5:7b" || d.NeedsReview || len(d.Bullets) != 3 {
		t.Errorf("backend %q, needs_review %v (%s), %d bullets", d.Backend, d.NeedsReview, d.ReviewReason, len(d.Bullets))
	}
	reqs := srv.Requests()
	if len(reqs) != 1 || reqs[0].Temperature == nil || *reqs[0].Temperature != 0 || reqs[0].Model != "qwen2.5:7b" {
		t.Errorf("requests %+v", reqs)
	}
	if strings.Contains(errOut.String(), "sk-test") {
		t.Error("the API key was logged")
	}
}

func TestDigestCommandWithoutModel(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"digest", "--llm-base-url", "http://127.0.0.1:1/v1", "x.txt"}, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "--llm-model") {
		t.Errorf("exit %d, stderr %q: want a message naming --llm-model", code, errOut.String())
	}
}

func TestEvalCommand(t *testing.T) {
	path := filepath.Join(t.TempDir(), "eval.jsonl")
	var lines []string
	for i, ref := range []string{"Thu ngân sách 11 tháng đạt 18.245,6 tỷ đồng.", "GRDP tăng 7,52%."} {
		b, _ := json.Marshal(map[string]any{"id": i, "text": meetingText, "summary": ref})
		lines = append(lines, string(b))
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"eval", path}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, want := range []string{"2 summarised", "| extractive", "| lead-3", "100.0%"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
