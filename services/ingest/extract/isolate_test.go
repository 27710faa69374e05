package extract

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bantin/bantin/internal/model"
)

// childEnv makes the test binary act as the child process of Isolated
// and Pool (see TestMain): "extract" runs ChildMain; "misbehave" runs it
// with an extractor that, for documents containing a trigger word, hangs,
// panics or allocates without end, as a parser might on a hostile file,
// or reports facts about the child (see misbehaving).
const childEnv = "BANTIN_EXTRACT_TEST_CHILD"

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "":
		os.Exit(m.Run())
	case "misbehave":
		if err := childMain(context.Background(), os.Stdin, os.Stdout, misbehaving()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	default:
		if err := ChildMain(context.Background(), os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	os.Exit(0)
}

// misbehaving returns the extractor of the "misbehave" child. Trigger
// words: HANG loops forever; PANIC panics; BLOWUP allocates 64 MiB blocks
// without end; GROW keeps 96 MiB for the rest of the child's life; PID
// answers with the child's process id; SPAWN starts `sleep 300` in the
// child's process group and answers "<child pid> <sleep pid>".
func misbehaving() extractFunc {
	var kept [][]byte
	return func(ctx context.Context, data []byte) (*Document, error) {
		answer := func(s string) (*Document, error) {
			return &Document{Format: FormatText, Extractor: "text", Paragraphs: []model.Paragraph{{Text: s}}}, nil
		}
		switch {
		case bytes.Contains(data, []byte("HANG")):
			for {
				time.Sleep(time.Second) // a parser looping forever
			}
		case bytes.Contains(data, []byte("PANIC")):
			panic("parser panic: boom")
		case bytes.Contains(data, []byte("BLOWUP")):
			for {
				kept = append(kept, bytes.Repeat([]byte{1}, 64<<20))
			}
		case bytes.Contains(data, []byte("GROW")):
			for range 96 {
				kept = append(kept, bytes.Repeat([]byte{1}, 1<<20))
			}
			return answer(strconv.Itoa(os.Getpid()))
		case bytes.Contains(data, []byte("PID")):
			return answer(strconv.Itoa(os.Getpid()))
		case bytes.Contains(data, []byte("SPAWN")):
			cmd := exec.Command("sleep", "300")
			if err := cmd.Start(); err != nil {
				return nil, err
			}
			return answer(fmt.Sprintf("%d %d", os.Getpid(), cmd.Process.Pid))
		}
		return Extract(ctx, data)
	}
}

// extractor is what TestIsolated runs the cases through: Isolated or Pool.
type extractor interface {
	Extract(ctx context.Context, data []byte) (*Document, error)
}

// TestIsolated runs the same documents through a child per document
// (Isolated) and through a Pool, both with a memory limit of 256 MiB
// (which an address-space limit made fail on healthy documents): text
// comes back, error classes survive, and a hang, a panic and a memory
// blow-up are stopped and reported.
func TestIsolated(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	iso := Isolated{Exe: exe, Env: []string{childEnv + "=misbehave"}, Timeout: 20 * time.Second, MaxMemory: 256 << 20, Workers: 1}
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
		{name: "pdf after the blow-up", data: pdf, text: "Bao cao tinh hinh kinh te"},
	}
	for _, kind := range []string{"child per document", "pool"} {
		t.Run(kind, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					iso := iso
					if tt.timeout > 0 {
						iso.Timeout = tt.timeout
					}
					var x extractor = iso
					if kind == "pool" {
						p := NewPool(iso)
						defer p.Close()
						x = p
					}
					start := time.Now()
					doc, err := x.Extract(context.Background(), tt.data)
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
				var x extractor = iso
				if kind == "pool" {
					p := NewPool(iso)
					defer p.Close()
					x = p
				}
				scan := legacyPDF([]string{"Helvetica"}, []fontLine{{font: "F1", text: []byte("12")}})
				doc, err := x.Extract(context.Background(), scan)
				if !errors.Is(err, ErrNoText) || doc == nil || doc.Pages != 1 || !doc.PageInfo[0].NeedsOCR {
					t.Fatalf("doc, err = %+v, %v; want the Document with page 1 NeedsOCR and ErrNoText", doc, err)
				}
			})
		})
	}
}
