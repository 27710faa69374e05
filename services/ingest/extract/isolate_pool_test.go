package extract

import (
	"bytes"
	"context"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bantin/bantin/internal/model"
)

// testPool returns a Pool of the "misbehave" test child (see TestMain),
// closed when the test ends.
func testPool(t *testing.T, iso Isolated) *Pool {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	iso.Exe, iso.Env = exe, []string{childEnv + "=misbehave"}
	p := NewPool(iso)
	t.Cleanup(func() { p.Close() })
	return p
}

// pidOf sends a PID document and returns the child's answer.
func pidOf(t *testing.T, p *Pool) int {
	t.Helper()
	doc, err := p.Extract(context.Background(), []byte("PID"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(doc.Text())
	if err != nil {
		t.Fatalf("PID document answered %q", doc.Text())
	}
	return pid
}

// gone reports whether process pid has exited (or is a zombie whose
// parent has not reaped it yet: it holds no memory and runs nothing).
func gone(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return true
	}
	// pid (comm) state ...
	i := bytes.LastIndexByte(b, ')')
	return i > 0 && i+2 < len(b) && b[i+2] == 'Z'
}

func needProc(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc (Linux) to see child processes")
	}
}

// TestPoolReuse: one child serves many documents, and two children serve
// two workers' documents.
func TestPoolReuse(t *testing.T) {
	tests := []struct {
		name    string
		workers int
		docs    int
	}{
		{name: "one worker", workers: 1, docs: 25},
		{name: "two workers at once", workers: 2, docs: 40},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPool(t, Isolated{Workers: tt.workers, Timeout: 20 * time.Second})
			pids := map[int]int{}
			var mu sync.Mutex
			var wg sync.WaitGroup
			for w := 0; w < tt.workers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < tt.docs/tt.workers; i++ {
						pid := pidOf(t, p)
						mu.Lock()
						pids[pid]++
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			if len(pids) > tt.workers || p.Started() > tt.workers {
				t.Errorf("%d documents were served by %d processes (%d started), want at most %d: %v", tt.docs, len(pids), p.Started(), tt.workers, pids)
			}
			n := 0
			for _, c := range pids {
				n += c
			}
			if n != tt.docs {
				t.Errorf("served %d documents, want %d", n, tt.docs)
			}
		})
	}
}

// TestPoolRecovers: a crash, a memory blow-up or a hang fails that one
// document; the next document gets a fresh child, and the other worker's
// child is not disturbed.
func TestPoolRecovers(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		err     error
		message string
	}{
		{name: "panic", doc: "PANIC", err: ErrCrashed, message: "boom"},
		{name: "memory blow-up", doc: "BLOWUP", err: ErrCrashed, message: "out of memory"},
		{name: "hang", doc: "HANG", err: context.DeadlineExceeded, message: "killed after"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPool(t, Isolated{Workers: 1, Timeout: time.Second, MaxMemory: 256 << 20})
			before := pidOf(t, p)
			if pidOf(t, p) != before {
				t.Fatal("a healthy child was replaced")
			}
			start := time.Now()
			_, err := p.Extract(context.Background(), []byte(tt.doc))
			if !errors.Is(err, tt.err) || !strings.Contains(err.Error(), tt.message) {
				t.Fatalf("err = %v, want %v with %q", err, tt.err, tt.message)
			}
			if d := time.Since(start); d > 6*time.Second {
				t.Errorf("took %v to stop", d)
			}
			after := pidOf(t, p)
			if after == before {
				t.Errorf("the document after the %s was served by the same process %d", tt.name, before)
			}
			if !gone(before) {
				t.Errorf("the child %d that failed is still running", before)
			}
			if p.Started() != 2 {
				t.Errorf("started %d children, want 2", p.Started())
			}
		})
	}
	t.Run("a hang kills only its own child", func(t *testing.T) {
		p := testPool(t, Isolated{Workers: 2, Timeout: 20 * time.Second})
		// Start both children, each busy with a document.
		var a, b int
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); a = pidOf(t, p) }()
		go func() { defer wg.Done(); b = pidOf(t, p) }()
		wg.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		hung := make(chan error, 1)
		go func() {
			_, err := p.Extract(ctx, []byte("HANG"))
			hung <- err
		}()
		// The other child keeps serving while one hangs.
		pids := map[int]bool{}
		for range 5 {
			pids[pidOf(t, p)] = true
		}
		if err := <-hung; !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("hang: err = %v, want DeadlineExceeded", err)
		}
		if len(pids) != 1 || !(pids[a] || pids[b]) {
			t.Errorf("during the hang documents went to %v, want one of the first children %d, %d", pids, a, b)
		}
		if p.Started() != 2 {
			t.Errorf("started %d children, want 2 (no restart until the next document on the killed one)", p.Started())
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		p := testPool(t, Isolated{Workers: 1})
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(300*time.Millisecond, cancel)
		start := time.Now()
		_, err := p.Extract(ctx, []byte("HANG"))
		if !errors.Is(err, context.Canceled) || time.Since(start) > 5*time.Second {
			t.Fatalf("err = %v after %v, want Canceled soon after 300ms", err, time.Since(start))
		}
		pidOf(t, p)
	})
}

// TestPoolRecycles: a child is replaced after MaxDocuments documents and
// when its memory after a document passes RecycleMemory.
func TestPoolRecycles(t *testing.T) {
	t.Run("after MaxDocuments", func(t *testing.T) {
		p := testPool(t, Isolated{Workers: 1, MaxDocuments: 3})
		pids := map[int]int{}
		for range 7 {
			pids[pidOf(t, p)]++
		}
		if len(pids) != 3 || p.Started() != 3 {
			t.Errorf("7 documents at 3 a child went to %v (%d started), want 3 children", pids, p.Started())
		}
	})
	t.Run("after a document that leaves the memory high", func(t *testing.T) {
		p := testPool(t, Isolated{Workers: 1, MaxMemory: 512 << 20, RecycleMemory: 64 << 20})
		first := pidOf(t, p)
		if pidOf(t, p) != first {
			t.Fatal("a small child was replaced")
		}
		doc, err := p.Extract(context.Background(), []byte("GROW"))
		if err != nil {
			t.Fatal(err)
		}
		if doc.Text() != strconv.Itoa(first) {
			t.Fatalf("GROW went to %s, want %d", doc.Text(), first)
		}
		if next := pidOf(t, p); next == first {
			t.Error("the child that kept 96 MiB (over RecycleMemory 64 MiB) served the next document")
		}
	})
}

// TestPoolClose: Close stops every child and what they started (no
// orphans), and a document after Close still gets extracted.
func TestPoolClose(t *testing.T) {
	needProc(t)
	p := testPool(t, Isolated{Workers: 2, Timeout: 20 * time.Second})
	var pids []int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			doc, err := p.Extract(context.Background(), []byte("SPAWN"))
			if err != nil {
				t.Error(err)
				return
			}
			var child, sleeper int
			if _, err := fmt.Sscan(doc.Text(), &child, &sleeper); err != nil {
				t.Errorf("SPAWN answered %q", doc.Text())
				return
			}
			mu.Lock()
			pids = append(pids, child, sleeper)
			mu.Unlock()
		}()
	}
	wg.Wait()
	for _, pid := range pids {
		if gone(pid) {
			t.Fatalf("process %d is gone before Close", pid)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, pid := range pids {
		for !gone(pid) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if !gone(pid) {
			t.Errorf("process %d still runs after Close", pid)
		}
	}
	doc, err := p.Extract(context.Background(), []byte("Báo cáo sau khi đóng"))
	if err != nil || !strings.Contains(doc.Text(), "Báo cáo") {
		t.Errorf("after Close: %v, %v; want the text from a one-off child", doc, err)
	}
	if p.Started() != 2 {
		t.Errorf("started %d pooled children, want 2", p.Started())
	}
}

// TestPoolCorpusUnder256MiB extracts the corpus' Vietnamese PDFs in a
// pool with a memory limit of 256 MiB: under the RLIMIT_AS limit this
// replaces, every one of them died at a few MB of heap.
func TestPoolCorpusUnder256MiB(t *testing.T) {
	dir := corpusDir(t)
	paths, err := filepath.Glob(filepath.Join(dir, "pdf", "vi-*.pdf"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no vi-*.pdf in %s/pdf", dir)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := NewPool(Isolated{Exe: exe, Env: []string{childEnv + "=extract"}, Timeout: perFileTimeout, MaxMemory: 256 << 20, Workers: 2})
	defer p.Close()
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Extract(context.Background(), data)
		if err != nil && !errors.Is(err, ErrNoText) && !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v", filepath.Base(path), err)
		}
	}
	if p.Started() < 1 || p.Started() > 2 {
		t.Errorf("started %d children for %d healthy files, want 2", p.Started(), len(paths))
	}
}

// BenchmarkResultEncoding compares JSON and gob for the child's result,
// a Document of 300 pages (encode in the child plus decode in the parent).
func BenchmarkResultEncoding(b *testing.B) {
	res := childResult{Doc: &Document{Format: FormatPDF, Extractor: "ledongthuc/pdf", Pages: 300}}
	para := strings.Repeat("Ủy ban nhân dân tỉnh báo cáo tình hình kinh tế - xã hội sáu tháng đầu năm. ", 6)
	for pg := 1; pg <= 300; pg++ {
		for range 8 {
			res.Doc.Paragraphs = append(res.Doc.Paragraphs, model.Paragraph{Page: pg, Text: para})
		}
		res.Doc.PageInfo = append(res.Doc.PageInfo, PageInfo{Page: pg, Chars: 3000, Quality: 0.98, Extractor: "ledongthuc/pdf"})
	}
	codecs := []struct {
		name string
		enc  func(*bytes.Buffer, *childResult) error
		dec  func([]byte, *childResult) error
	}{
		{"json", func(w *bytes.Buffer, r *childResult) error { return json.NewEncoder(w).Encode(r) },
			func(b []byte, r *childResult) error { return json.Unmarshal(b, r) }},
		{"gob", func(w *bytes.Buffer, r *childResult) error { return gob.NewEncoder(w).Encode(r) },
			func(b []byte, r *childResult) error { return gob.NewDecoder(bytes.NewReader(b)).Decode(r) }},
	}
	for _, c := range codecs {
		b.Run(c.name, func(b *testing.B) {
			var buf bytes.Buffer
			for b.Loop() {
				buf.Reset()
				if err := c.enc(&buf, &res); err != nil {
					b.Fatal(err)
				}
				var got childResult
				if err := c.dec(buf.Bytes(), &got); err != nil || len(got.Doc.Paragraphs) != len(res.Doc.Paragraphs) {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(buf.Len()), "bytes")
		})
	}
}
