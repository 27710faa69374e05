package ingest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWatchMovesFilesToDoneAndFailed(t *testing.T) {
	dir := t.TempDir()
	s, b := testService(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Watch(ctx, dir) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	write := func(name string, data []byte) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("Báo cáo KT-XH 2023.pdf", demoPDF(t, "bao-cao-kt-xh-2023.pdf"))
	write("hong.pdf", []byte("%PDF-1.4\nthis is not really a PDF\n"))
	write("dang-tai.pdf.part", []byte("%PDF-1.4 half a file"))
	write(".an.pdf", []byte("hidden"))

	wantFiles := []string{"done/Báo cáo KT-XH 2023.pdf", "failed/hong.pdf", "failed/hong.pdf.reason.txt"}
	deadline := time.Now().Add(20 * time.Second)
	for {
		missing := ""
		for _, f := range wantFiles {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				missing = f
			}
		}
		if missing == "" {
			break
		}
		if time.Now().After(deadline) {
			entries, _ := filepath.Glob(filepath.Join(dir, "*", "*"))
			t.Fatalf("%s did not appear within 20s; have %v", missing, entries)
		}
		time.Sleep(100 * time.Millisecond)
	}
	reason, err := os.ReadFile(filepath.Join(dir, "failed/hong.pdf.reason.txt"))
	if err != nil || !strings.Contains(string(reason), ":") || len(reason) < 10 {
		t.Errorf("reason file = %q, %v; want the reason class and the error", reason, err)
	}
	for _, f := range []string{"dang-tai.pdf.part", ".an.pdf"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s was touched: %v", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "Báo cáo KT-XH 2023.pdf")); err == nil {
		t.Error("the ingested file is still in the watched folder")
	}
	if n := len(queuedReports(t, b)); n != 1 {
		t.Errorf("REPORTS holds %d reports, want 1", n)
	}

	// The same file dropped again is a duplicate, still moved to done/
	// under a free name.
	write("Báo cáo KT-XH 2023.pdf", demoPDF(t, "bao-cao-kt-xh-2023.pdf"))
	for {
		if _, err := os.Stat(filepath.Join(dir, "done/Báo cáo KT-XH 2023-1.pdf")); err == nil {
			break
		}
		if time.Now().After(deadline.Add(10 * time.Second)) {
			t.Fatal("the second copy was not moved to done/ as \"Báo cáo KT-XH 2023-1.pdf\"")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
