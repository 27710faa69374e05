package extract

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of a Pool.
const (
	// DefaultMaxDocuments is how many documents a child serves before it
	// is replaced.
	DefaultMaxDocuments = 500
	// DefaultRecycleMemory is the memory after a document above which a
	// child is replaced when no MaxMemory is set.
	DefaultRecycleMemory = 512 << 20
	// ChildRSSSlack is what a child may hold beyond MaxMemory outside
	// the Go runtime's accounting (the mapped binary) before the parent
	// kills it: a pod's memory limit must hold Workers × (MaxMemory +
	// ChildRSSSlack) beside the worker itself.
	ChildRSSSlack = 64 << 20
	// rssCheck is how often the parent reads a busy child's resident set.
	rssCheck = 20 * time.Millisecond
	// stopWait is how long a child closing down may take before its
	// process group is killed.
	stopWait = 2 * time.Second
)

// Pool extracts documents in long-lived child processes, as Tika's
// ForkParser does: Workers children, each serving many documents over a
// framed protocol on its standard input and output, with the guarantees
// of Isolated. A document that hangs past Timeout (or its context) has its
// child's process group killed; a child that panics, exits or passes
// MaxMemory fails that document only, with ErrCrashed; in each case the
// next document gets a fresh child. A child is also replaced after
// MaxDocuments documents, or when its memory after a document passes
// RecycleMemory. Close stops the children.
type Pool struct {
	iso     Isolated
	idle    chan *poolChild // one per worker; a nil process is started on use
	done    chan struct{}   // closed by Close
	mu      sync.Mutex
	closed  bool
	started atomic.Int64
}

// NewPool returns a Pool of iso.Workers children of iso.Exe; they start
// when first needed.
func NewPool(iso Isolated) *Pool {
	if iso.Workers <= 0 {
		iso.Workers = runtime.GOMAXPROCS(0)
	}
	if iso.MaxDocuments <= 0 {
		iso.MaxDocuments = DefaultMaxDocuments
	}
	if iso.RecycleMemory <= 0 {
		iso.RecycleMemory = DefaultRecycleMemory
		if iso.MaxMemory > 0 {
			iso.RecycleMemory = iso.MaxMemory / 2
		}
	}
	p := &Pool{iso: iso, idle: make(chan *poolChild, iso.Workers), done: make(chan struct{})}
	for range iso.Workers {
		p.idle <- &poolChild{}
	}
	return p
}

// Started returns how many child processes the pool has started.
func (p *Pool) Started() int { return int(p.started.Load()) }

// Extract extracts data in one of the pool's children. Errors wrap the
// same sentinels as the in-process Extract, ErrCrashed when the child
// died, or the context's error when it was killed at the timeout or
// cancelled. After Close it runs a one-off child as Isolated.Extract does.
func (p *Pool) Extract(ctx context.Context, data []byte) (*Document, error) {
	if p.iso.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.iso.Timeout)
		defer cancel()
	}
	var c *poolChild
	select {
	case c = <-p.idle:
	case <-p.done:
		return p.iso.Extract(ctx, data)
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for a free extraction child process: %w", ctx.Err())
	}
	defer func() { p.idle <- c }()
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return p.iso.Extract(ctx, data)
	}
	if c.cmd == nil {
		if err := p.start(c); err != nil {
			return nil, err
		}
	}
	res, err := p.do(ctx, c, data)
	if err != nil {
		return nil, err
	}
	if c.cmd != nil {
		c.docs++
		rss, _ := residentSet(c.cmd.Process.Pid)
		if c.docs >= p.iso.MaxDocuments || int64(res.Memory) > p.iso.RecycleMemory || rss > p.iso.RecycleMemory {
			c.stop()
		}
	}
	return res.result()
}

// Close stops the pool's children: idle ones at once (their input is
// closed, then their process group killed), busy ones when their document
// is done. Documents extracted after Close run in one-off children.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.done)
	p.mu.Unlock()
	for range p.iso.Workers {
		c := <-p.idle
		c.stop()
		defer func() { p.idle <- c }() // for Extract calls that took a slot before Close
	}
	return nil
}

// poolChild is one slot of a Pool and its process, if started.
type poolChild struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr *syncBuffer
	docs   int
}

// start runs a new child process in slot c.
func (p *Pool) start(c *poolChild) error {
	cmd := exec.Command(p.iso.Exe, p.iso.Args...)
	cmd.Env = append(os.Environ(), p.iso.Env...)
	cmd.Env = append(cmd.Env, childEnvServe+"=1")
	if p.iso.MaxMemory > 0 {
		cmd.Env = append(cmd.Env, childEnvMemory+"="+strconv.FormatInt(p.iso.MaxMemory, 10))
	}
	newGroup(cmd)
	cmd.WaitDelay = stopWait
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("starting an extraction child process: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("starting an extraction child process: %w", err)
	}
	stderr := &syncBuffer{limit: 64 << 10}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting an extraction child process (%s): %w", p.iso.Exe, err)
	}
	p.started.Add(1)
	*c = poolChild{cmd: cmd, stdin: stdin, stdout: bufio.NewReaderSize(stdout, 64<<10), stderr: stderr}
	return nil
}

// do sends one document to child c and waits for its result, killing the
// child at the context's end or when its resident set passes the limit.
// On an error c's process is gone and the slot is empty.
func (p *Pool) do(ctx context.Context, c *poolChild, data []byte) (*childResult, error) {
	c.stderr.Reset()
	start := time.Now()
	var ms uint64
	if dl, ok := ctx.Deadline(); ok {
		ms = uint64(max(time.Until(dl).Milliseconds(), 1))
	}
	type reply struct {
		res *childResult
		err error
	}
	replies := make(chan reply, 1)
	stdin, stdout := c.stdin, c.stdout
	go func() {
		var hdr [requestHeader]byte
		binary.BigEndian.PutUint64(hdr[:8], uint64(len(data)))
		binary.BigEndian.PutUint64(hdr[8:], ms)
		if _, err := stdin.Write(hdr[:]); err != nil {
			replies <- reply{err: fmt.Errorf("sending the document: %w", err)}
			return
		}
		if _, err := stdin.Write(data); err != nil {
			replies <- reply{err: fmt.Errorf("sending the document: %w", err)}
			return
		}
		res, err := readResult(stdout)
		replies <- reply{res, err}
	}()
	tick := time.NewTicker(rssCheck)
	defer tick.Stop()
	for {
		select {
		case r := <-replies:
			if r.err == nil {
				return r.res, nil
			}
			// The child died (or wrote garbage): why is on its stderr.
			exitErr := c.kill()
			return nil, crashError(exitErr, c.stderr.String(), p.iso.MaxMemory)
		case <-ctx.Done():
			c.kill()
			<-replies
			return nil, fmt.Errorf("extracting text in a child process: killed after %v (a hostile or looping file?): %w", time.Since(start).Round(time.Millisecond), ctx.Err())
		case <-tick.C:
			if p.iso.MaxMemory <= 0 {
				continue
			}
			if rss, ok := residentSet(c.cmd.Process.Pid); ok && rss > p.iso.MaxMemory+ChildRSSSlack {
				c.kill()
				<-replies
				return nil, fmt.Errorf("extracting text in a child process: %w (killed): ran out of memory (limit %d MiB): resident set %d MiB", ErrCrashed, p.iso.MaxMemory>>20, rss>>20)
			}
		}
	}
}

// readResult reads one response frame.
func readResult(r *bufio.Reader) (*childResult, error) {
	var hdr [8]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("reading the result: %w", err)
	}
	n := binary.BigEndian.Uint64(hdr[:])
	if n > maxChildOutput {
		return nil, fmt.Errorf("reading the result: %d bytes is over the limit of %d", n, maxChildOutput)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("reading the result: %w", err)
	}
	var res childResult
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&res); err != nil {
		return nil, fmt.Errorf("decoding the result: %w", err)
	}
	if res.Doc == nil && res.Class == "" {
		return nil, errors.New("decoding the result: neither a document nor an error")
	}
	return &res, nil
}

// kill kills c's process group and waits for it; the slot is then empty.
// It returns the exit error.
func (c *poolChild) kill() error {
	if c.cmd == nil {
		return nil
	}
	killProcessGroup(c.cmd)
	return c.wait()
}

// stop closes c's input so that it exits, kills its process group if it
// has not within stopWait (or at once, for what it started), waits for it
// and empties the slot.
func (c *poolChild) stop() {
	if c.cmd == nil {
		return
	}
	_ = c.stdin.Close()
	exited := make(chan struct{})
	go func() {
		select {
		case <-exited:
		case <-time.After(stopWait):
			killProcessGroup(c.cmd)
		}
	}()
	c.wait()
	close(exited)
}

// wait waits for c's process, kills what is left of its group (a
// pdftotext it started) and empties the slot. It returns the exit error.
func (c *poolChild) wait() error {
	if c.cmd == nil {
		return nil
	}
	cmd := c.cmd
	err := cmd.Wait()
	killProcessGroup(cmd)
	c.cmd, c.stdin, c.stdout = nil, nil, nil
	c.docs = 0
	return err
}

// syncBuffer keeps the first limit bytes written to it, for a child's
// standard error, which os/exec copies from another goroutine.
type syncBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	limit int
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.limit - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// Reset empties the buffer.
func (b *syncBuffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Reset()
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
