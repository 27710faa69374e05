package extract

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// childEnv makes the test binary act as the child process of Isolated
// (see TestMain): "extract" runs ChildMain; "misbehave" runs ChildMain
// except for documents that contain a trigger word, for which it hangs,
// panics or allocates without end, as a parser might on a hostile file.
const childEnv = "BANTIN_EXTRACT_TEST_CHILD"

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "":
		os.Exit(m.Run())
	case "misbehave":
		data, _ := io_ReadAll()
		switch {
		case bytes.Contains(data, []byte("HANG")):
			for {
				time.Sleep(time.Second) // a parser looping forever
			}
		case bytes.Contains(data, []byte("PANIC")):
			panic("parser panic: boom")
		case bytes.Contains(data, []byte("BLOWUP")):
			limitFromEnv()
			var keep [][]byte
			for {
				keep = append(keep, bytes.Repeat([]byte{1}, 64<<20))
			}
		}
		if err := ChildMain(context.Background(), bytes.NewReader(data), os.Stdout); err != nil {
			os.Exit(1)
		}
	default:
		if err := ChildMain(context.Background(), os.Stdin, os.Stdout); err != nil {
			os.Exit(1)
		}
	}
	os.Exit(0)
}

func io_ReadAll() ([]byte, error) {
	var b bytes.Buffer
	_, err := b.ReadFrom(os.Stdin)
	return b.Bytes(), err
}

// limitFromEnv applies the parent's memory limit as ChildMain does.
func limitFromEnv() {
	var n int64
	if _, err := fmt.Sscan(os.Getenv(childEnvMemory), &n); err == nil && n > 0 {
		limitMemory(n)
	}
}

func TestIsolated(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	iso := Isolated{Exe: exe, Env: []string{childEnv + "=misbehave"}, Timeout: 20 * time.Second, MaxMemory: 512 << 20}
	pdf := legacyPDF([]string{"Helvetica"}, []fontLine{{font: "F1", text: []byte("Bao cao tinh hinh kinh te xa hoi sau thang dau nam cua tinh")}})
	tests := []struct {
		name    string
		data    []byte
		timeout time.Duration
		err     error
		message string
		text    string
	}{
		{name: "pdf", data: pdf, text: "Bao cao tinh hinh kinh te"},
		{name: "text", data: []byte("Báo cáo tình hình kinh tế - xã hội 6 tháng đầu năm"), text: "Báo cáo tình hình"},
		{name: "no text keeps the error class", data: []byte("%PDF-1.4\n1 0 obj <<>> endobj\n"), err: ErrCorrupt},
		{name: "unsupported", data: []byte("\x89PNG\r\n\x1a\n\x00\x00"), err: ErrUnsupported, message: "PNG"},
		{name: "hang is killed at the timeout", data: []byte("%PDF-1.4 HANG"), timeout: 500 * time.Millisecond, err: context.DeadlineExceeded, message: "killed after"},
		{name: "panic is a crash", data: []byte("%PDF-1.4 PANIC"), err: ErrCrashed, message: "boom"},
		{name: "memory blow-up is a crash", data: []byte("%PDF-1.4 BLOWUP"), err: ErrCrashed, message: "out of memory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iso := iso
			if tt.timeout > 0 {
				iso.Timeout = tt.timeout
			}
			start := time.Now()
			doc, err := iso.Extract(context.Background(), tt.data)
			if elapsed := time.Since(start); tt.timeout > 0 && elapsed > tt.timeout+5*time.Second {
				t.Errorf("took %v with a timeout of %v", elapsed, tt.timeout)
			}
			if tt.err == nil {
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(doc.Text(), tt.text) {
					t.Errorf("text = %q, want %q in it", doc.Text(), tt.text)
				}
				return
			}
			if !errors.Is(err, tt.err) || !strings.Contains(err.Error(), tt.message) {
				t.Fatalf("err = %v, want %v with %q", err, tt.err, tt.message)
			}
		})
	}
	t.Run("no text returns the document", func(t *testing.T) {
		scan := legacyPDF([]string{"Helvetica"}, []fontLine{{font: "F1", text: []byte("12")}})
		doc, err := iso.Extract(context.Background(), scan)
		if !errors.Is(err, ErrNoText) || doc == nil || doc.Pages != 1 || !doc.PageInfo[0].NeedsOCR {
			t.Fatalf("doc, err = %+v, %v; want the Document with page 1 NeedsOCR and ErrNoText", doc, err)
		}
	})
}
