package extract

import (
	"bytes"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// bombPDF writes a PDF of pages pages that all draw one FlateDecode
// content stream, inflating to size bytes of unit repeated: a few hundred
// kilobytes on disk that the reader would inflate to size bytes per page.
func bombPDF(t testing.TB, unit string, size int64, pages int) []byte {
	t.Helper()
	var z bytes.Buffer
	zw, err := zlib.NewWriterLevel(&z, zlib.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte(unit), (1<<20)/len(unit))
	for n := int64(0); n < size; n += int64(len(chunk)) {
		if _, err := zw.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	var kids bytes.Buffer
	for i := range pages {
		fmt.Fprintf(&kids, "%d 0 R ", 5+i)
	}
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", kids.String(), pages),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
		fmt.Sprintf("<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream", z.Len(), z.Bytes()),
	}
	for range pages {
		objs = append(objs, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents 4 0 R >>")
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

// allocated returns the bytes allocated so far and the live heap after a
// collection.
func allocated() (total, live uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc, ms.HeapAlloc
}

// TestPDFBomb feeds PDF a few hundred kilobytes that inflate to 200 MiB of
// content per page: white space (CPU), bare operands (the library's
// interpreter would stack 32 bytes per 2-byte operand: gigabytes; a child
// with 512 MiB died of it before the cap) and strings holding operator-like
// words. The page is skipped with a warning naming the cap, the call
// allocates a bounded amount, and under a cap on every page of a long
// file the deadline returns control and the abandoned parser stops.
func TestPDFBomb(t *testing.T) {
	const bound = 48 << 20 // bytes the whole call may allocate
	tests := []struct {
		name     string
		unit     string
		size     int64
		pages    int
		deadline time.Duration
		warning  string
	}{
		{name: "white space", unit: "\x00", size: 200 << 20, pages: 1, deadline: 20 * time.Second, warning: "inflates to more than 64 MiB"},
		{name: "operands", unit: "1 ", size: 200 << 20, pages: 1, deadline: 20 * time.Second, warning: "operands without an operator"},
		{name: "strings with words", unit: "(a Tj b) ", size: 200 << 20, pages: 1, deadline: 20 * time.Second, warning: "operands without an operator"},
		{name: "names and an open array", unit: "[/F1 /Tj ", size: 200 << 20, pages: 1, deadline: 20 * time.Second, warning: "operands without an operator"},
		{name: "under the cap on 1,000 pages", unit: "\x00", size: 60 << 20, pages: 1000, deadline: 300 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bomb := bombPDF(t, tt.unit, tt.size, tt.pages)
			if len(bomb) > 1<<20 {
				t.Fatalf("the bomb is %d bytes; want under 1 MiB", len(bomb))
			}
			goroutines := runtime.NumGoroutine()
			total0, _ := allocated()
			ctx, cancel := context.WithTimeout(context.Background(), tt.deadline)
			defer cancel()
			start := time.Now()
			doc, err := PDF(ctx, bomb)
			elapsed := time.Since(start)
			if tt.warning == "" {
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("err = %v, want the deadline", err)
				}
				if elapsed > tt.deadline+time.Second {
					t.Errorf("returned after %v with a deadline of %v", elapsed, tt.deadline)
				}
				// The abandoned parser checks the context while it reads a
				// page and between pages: it must end, not run through
				// 1,000 × 60 MiB.
				for wait := time.Now(); runtime.NumGoroutine() > goroutines; time.Sleep(10 * time.Millisecond) {
					if time.Since(wait) > 10*time.Second {
						t.Fatalf("the abandoned parser still runs after 10 s (%d goroutines, %d before)", runtime.NumGoroutine(), goroutines)
					}
				}
			} else {
				if !errors.Is(err, ErrNoText) || doc == nil || len(doc.FailedPages) != 1 || len(doc.Warnings) == 0 {
					t.Fatalf("doc, err = %+v, %v; want ErrNoText with page 1 failed and a warning", doc, err)
				}
				if w := doc.Warnings[0]; !strings.HasPrefix(w, "page 1: ") || !strings.Contains(w, tt.warning) || !strings.Contains(w, "PDF bomb") {
					t.Errorf("warning = %q, want page 1, %q and \"PDF bomb\" in it", w, tt.warning)
				}
				if msg := err.Error(); strings.Contains(msg, "OCR of the rendered pages may still work") || !strings.Contains(msg, "none is sent to OCR") {
					t.Errorf("error %q: want it to say the bomb page is not sent to OCR", msg)
				}
			}
			total1, live := allocated()
			t.Logf("figures: %s: %d-byte file, %d MiB inflated per page, %v, allocated %.1f MiB, live heap after %.1f MiB", tt.name, len(bomb), tt.size>>20, elapsed.Round(time.Millisecond), float64(total1-total0)/(1<<20), float64(live)/(1<<20))
			if total1-total0 > bound {
				t.Errorf("allocated %d MiB; want at most %d MiB", (total1-total0)>>20, bound>>20)
			}
		})
	}
	t.Run("an ordinary page reads without a warning", func(t *testing.T) {
		good := legacyPDF([]string{"Helvetica"}, []fontLine{{font: "F1", text: []byte("Bao cao tinh hinh kinh te xa hoi sau thang dau nam")}})
		doc, err := PDF(context.Background(), good)
		if err != nil || len(doc.Warnings) > 0 {
			t.Fatalf("an ordinary page: doc, err = %+v, %v; want its text and no warning", doc, err)
		}
	})
}

// TestIsolatedPDFBomb runs the bombs through the child process of
// Isolated (the test binary, as in TestIsolated) with pdftotext if
// installed: the bomb page is refused fast and classified ErrNoText
// without poppler being run on it (pdftotext writes a line of stderr per
// extra operand: 5.7 GB in 64 s for the operand bomb); a file that stays
// under the caps on every one of 1,000 pages is killed at the timeout.
// The memory limit's kill is TestIsolated's "memory blow-up is a crash".
func TestIsolatedPDFBomb(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		unit    string
		size    int64
		pages   int
		timeout time.Duration
		err     error
		message string
	}{
		{name: "operands", unit: "1 ", size: 200 << 20, pages: 1, timeout: 20 * time.Second, err: ErrNoText, message: "PDF bomb"},
		{name: "white space", unit: "\x00", size: 200 << 20, pages: 1, timeout: 20 * time.Second, err: ErrNoText, message: "PDF bomb"},
		{name: "under the cap on 1,000 pages", unit: "\x00", size: 60 << 20, pages: 1000, timeout: 2 * time.Second, err: context.DeadlineExceeded, message: "killed after"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iso := Isolated{Exe: exe, Env: []string{childEnv + "=extract"}, Timeout: tt.timeout, MaxMemory: 512 << 20}
			start := time.Now()
			_, err := iso.Extract(context.Background(), bombPDF(t, tt.unit, tt.size, tt.pages))
			elapsed := time.Since(start)
			t.Logf("figures: %s: %v after %v", tt.name, err, elapsed.Round(time.Millisecond))
			if !errors.Is(err, tt.err) || !strings.Contains(err.Error(), tt.message) {
				t.Fatalf("err = %v, want %v with %q", err, tt.err, tt.message)
			}
			if elapsed > tt.timeout+5*time.Second {
				t.Errorf("took %v with a timeout of %v", elapsed, tt.timeout)
			}
		})
	}
}

// TestLimitedBufferHoldsItsLimit copies a child's 10 MB of output into a
// limitedBuffer of 1 KiB as os/exec does (io.Copy, which prefers a
// ReaderFrom): the embedded bytes.Buffer's ReadFrom used to take it all.
func TestLimitedBufferHoldsItsLimit(t *testing.T) {
	var out limitedBuffer
	out.limit = 1 << 10
	n, err := io.Copy(&out, io.LimitReader(zeroReader{}, 10<<20))
	if err != nil || n != 10<<20 {
		t.Fatalf("copied %d, %v; want all 10 MiB consumed", n, err)
	}
	if out.Len() != 1<<10 {
		t.Errorf("kept %d bytes; want the first %d", out.Len(), 1<<10)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
