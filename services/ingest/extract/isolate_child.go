package extract

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"time"
)

// The protocol between a Pool and its children, on the child's standard
// input and output. A request is a 16-byte header, the document's length
// and the time the parent allows for it in milliseconds (0: none), both
// big-endian uint64, then the document. A response is its length as a
// big-endian uint64, then the childResult encoded with gob (encoding plus
// decoding a 300-page Document takes 6.5 ms, JSON 10 ms; see
// BenchmarkResultEncoding).
const (
	requestHeader = 16
	// maxRequest bounds a document a child accepts.
	maxRequest = 1 << 30
	// childGrace is how long past the parent's deadline a child waits
	// before it exits by itself (the parent kills it at the deadline; the
	// child's own check covers a parent that died).
	childGrace = 5 * time.Second
	// memoryCheck is how often a child compares its memory with the limit.
	memoryCheck = 5 * time.Millisecond
)

// extractFunc extracts one document; ChildMain uses Extract, tests a
// misbehaving one.
type extractFunc func(ctx context.Context, data []byte) (*Document, error)

// ChildMain is the child side of Isolated and Pool: it applies the memory
// limit the parent asked for, then either reads one document from in and
// writes the result as JSON to out, or, as a Pool's child, serves framed
// requests until in is closed. The error is non-nil only when a result
// cannot be written or a request cannot be read.
func ChildMain(ctx context.Context, in io.Reader, out io.Writer) error {
	return childMain(ctx, in, out, Extract)
}

func childMain(ctx context.Context, in io.Reader, out io.Writer, extract extractFunc) error {
	if v := os.Getenv(childEnvMemory); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
			stop := limitMemory(n)
			defer stop()
		}
	}
	if os.Getenv(childEnvServe) == "1" {
		return serveChild(ctx, in, out, extract)
	}
	var res childResult
	data, err := io.ReadAll(in)
	if err != nil {
		res.Class, res.Error = "other", fmt.Sprintf("reading the document from standard input: %v", err)
	} else {
		res = extractResult(ctx, data, extract)
	}
	if err := json.NewEncoder(out).Encode(res); err != nil {
		return fmt.Errorf("writing the extraction result: %w", err)
	}
	return nil
}

// extractResult extracts data and classifies the error for the parent.
func extractResult(ctx context.Context, data []byte, extract extractFunc) childResult {
	var res childResult
	doc, err := extract(ctx, data)
	res.Doc = doc
	if err != nil {
		res.Error = err.Error()
		switch {
		case errors.Is(err, ErrNoText):
			res.Class = "no_text"
		case errors.Is(err, ErrCorrupt):
			res.Class = "corrupt"
		case errors.Is(err, ErrUnsupported):
			res.Class = "unsupported"
		case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
			res.Class = "timeout"
		default:
			res.Class = "other"
		}
		if res.Class != "no_text" {
			res.Doc = nil
		}
	}
	return res
}

// serveChild answers framed requests from in on out until in is closed.
func serveChild(ctx context.Context, in io.Reader, out io.Writer, extract extractFunc) error {
	r := bufio.NewReaderSize(in, 64<<10)
	w := bufio.NewWriterSize(out, 64<<10)
	var hdr [requestHeader]byte
	var buf bytes.Buffer
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return nil // the parent closed our input: done
			}
			return fmt.Errorf("reading a request header: %w", err)
		}
		n := binary.BigEndian.Uint64(hdr[:8])
		ms := binary.BigEndian.Uint64(hdr[8:])
		if n > maxRequest {
			return fmt.Errorf("reading a request: a document of %d bytes is over the limit of %d", n, maxRequest)
		}
		data := make([]byte, n)
		if _, err := io.ReadFull(r, data); err != nil {
			return fmt.Errorf("reading a document of %d bytes: %w", n, err)
		}
		dctx, cancel := ctx, context.CancelFunc(func() {})
		var guard *time.Timer
		if ms > 0 {
			limit := time.Duration(ms) * time.Millisecond
			dctx, cancel = context.WithTimeout(ctx, limit)
			guard = time.AfterFunc(limit+childGrace, func() {
				fmt.Fprintf(os.Stderr, "extract-child: a document ran %v past its limit of %v and its parent did not stop it; exiting\n", childGrace, limit)
				os.Exit(3)
			})
		}
		res := extractResult(dctx, data, extract)
		cancel()
		if guard != nil {
			guard.Stop()
		}
		data = nil
		res.Memory = goMemory()
		buf.Reset()
		buf.Write(make([]byte, 8))
		if err := gob.NewEncoder(&buf).Encode(&res); err != nil {
			// Something in the Document gob cannot carry: say so as the result.
			buf.Reset()
			buf.Write(make([]byte, 8))
			bad := childResult{Class: "other", Error: fmt.Sprintf("encoding the extraction result: %v", err)}
			if err := gob.NewEncoder(&buf).Encode(&bad); err != nil {
				return fmt.Errorf("encoding the extraction result: %w", err)
			}
		}
		b := buf.Bytes()
		binary.BigEndian.PutUint64(b[:8], uint64(len(b)-8))
		if _, err := w.Write(b); err != nil {
			return fmt.Errorf("writing the extraction result: %w", err)
		}
		if err := w.Flush(); err != nil {
			return fmt.Errorf("writing the extraction result: %w", err)
		}
		if buf.Cap() > 4<<20 {
			buf = bytes.Buffer{} // do not keep a large report's buffer
		}
	}
}

// goMemory returns the memory the Go runtime has mapped and not released:
// what debug.SetMemoryLimit limits.
func goMemory() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 || s[1].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64() - s[1].Value.Uint64()
}

// limitMemory asks the garbage collector to keep this process's memory
// below three quarters of n, and exits the process, with "out of memory"
// on standard error, when the runtime's memory passes n anyway (a live
// heap that will not fit). It returns a function that stops the watch.
func limitMemory(n int64) (stop func()) {
	debug.SetMemoryLimit(n / 4 * 3)
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(memoryCheck)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			if m := goMemory(); m > uint64(n) {
				fmt.Fprintf(os.Stderr, "fatal error: out of memory: the extraction used %d MiB, over the limit of %d MiB (--max-parse-memory)\n", m>>20, n>>20)
				os.Exit(2)
			}
		}
	}()
	return func() { close(done) }
}
