package extract

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// ErrCrashed means the parser process died (a crash, an out-of-memory
// kill) before it returned a result. The document is likely hostile;
// retrying will not help.
var ErrCrashed = errors.New("parser crashed")

// Isolated extracts text in a child process, as Tika's forked parser
// does, so that a panic, a hang or a memory blow-up in one document cannot
// take the worker down: the child is killed with its process group at
// Timeout, and its memory is bounded by MaxMemory (see ChildMain).
//
// The child is Exe run with Args (normally the bantin binary itself with
// its hidden `extract-child` command, see ChildMain). Isolated.Extract
// starts one child per document, which reads the document on its standard
// input and writes the result as JSON; a Pool (NewPool) keeps Workers
// children running, each serving many documents.
type Isolated struct {
	Exe  string
	Args []string
	// Env is added to the child's environment.
	Env []string
	// Timeout bounds one document; 0 leaves it to the context.
	Timeout time.Duration
	// MaxMemory limits the child's memory in bytes; 0 means no limit. The
	// child's garbage collector aims below it (debug.SetMemoryLimit) and
	// the child exits when the Go runtime's memory passes it; a Pool also
	// kills a child whose resident set passes it by more than ChildRSSSlack.
	// (An address-space limit, RLIMIT_AS, is not used: the Go runtime
	// reserves gigabytes of address space it never touches.)
	MaxMemory int64

	// Workers is the number of children a Pool keeps running: the
	// worker's extraction concurrency. 0 means GOMAXPROCS.
	Workers int
	// MaxDocuments is the number of documents after which a Pool
	// replaces a child, for hygiene; 0 means DefaultMaxDocuments.
	MaxDocuments int
	// RecycleMemory is the resident set (or Go heap) of a child after a
	// document above which a Pool replaces it; 0 means half of MaxMemory,
	// or DefaultRecycleMemory without a MaxMemory.
	RecycleMemory int64
}

// childEnvMemory passes MaxMemory to the child.
const childEnvMemory = "BANTIN_EXTRACT_MAX_MEMORY"

// childEnvServe set to 1 makes ChildMain serve framed requests (a Pool's
// child) instead of reading one document.
const childEnvServe = "BANTIN_EXTRACT_SERVE"

// maxChildOutput bounds the JSON a child may print.
const maxChildOutput = 256 << 20

// childResult is what the child prints.
type childResult struct {
	Doc   *Document `json:"doc,omitempty"`
	Class string    `json:"class,omitempty"` // no_text, corrupt, unsupported, timeout, other
	Error string    `json:"error,omitempty"`
	// Memory is the Go runtime's memory after the document (a Pool's
	// child only), for the decision to replace the child.
	Memory uint64 `json:"memory,omitempty"`
}

// childError carries the child's error message with the class sentinel.
type childError struct {
	msg   string
	class error
}

func (e *childError) Error() string { return e.msg }
func (e *childError) Unwrap() error { return e.class }

// Extract runs extraction of data in a child process. Errors wrap the
// same sentinels as the in-process Extract, ErrCrashed when the child
// died, or context.DeadlineExceeded when it was killed at the timeout.
func (iso Isolated) Extract(ctx context.Context, data []byte) (*Document, error) {
	if iso.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, iso.Timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, iso.Exe, iso.Args...)
	cmd.Env = append(os.Environ(), iso.Env...)
	if iso.MaxMemory > 0 {
		cmd.Env = append(cmd.Env, childEnvMemory+"="+strconv.FormatInt(iso.MaxMemory, 10))
	}
	killGroup(cmd)
	cmd.WaitDelay = 2 * time.Second
	cmd.Stdin = bytes.NewReader(data)
	var out limitedBuffer
	out.limit = maxChildOutput
	var stderr limitedBuffer
	stderr.limit = 64 << 10
	cmd.Stdout, cmd.Stderr = &out, &stderr
	start := time.Now()
	runErr := cmd.Run()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("extracting text in a child process: killed after %v (a hostile or looping file?): %w", time.Since(start).Round(time.Millisecond), ctx.Err())
	}
	var res childResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || (res.Doc == nil && res.Class == "") {
		return nil, crashError(runErr, stderr.String(), iso.MaxMemory)
	}
	return res.result()
}

// crashError describes a child that died without a result, from its exit
// status and what it wrote on standard error.
func crashError(exitErr error, stderr string, maxMemory int64) error {
	why := strings.TrimSpace(stderr)
	if i := strings.Index(why, "\n\ngoroutine "); i > 0 {
		why = why[:i] // the panic message, not the stacks
	}
	if i := strings.Index(why, "\n\nruntime stack:"); i > 0 {
		why = why[:i]
	}
	if len(why) > 500 {
		why = why[:500] + "…"
	}
	if strings.Contains(why, "out of memory") || strings.Contains(why, "cannot allocate memory") {
		why = fmt.Sprintf("ran out of memory (limit %d MiB): %s", maxMemory>>20, why)
	}
	return fmt.Errorf("extracting text in a child process: %w (%v): %s", ErrCrashed, exitErr, why)
}

// result turns what the child reported into the Document and an error
// wrapping the same sentinel as the in-process Extract.
func (res *childResult) result() (*Document, error) {
	if res.Class == "" {
		return res.Doc, nil
	}
	class := map[string]error{
		"no_text": ErrNoText, "corrupt": ErrCorrupt, "unsupported": ErrUnsupported,
		"timeout": context.DeadlineExceeded, "crashed": ErrCrashed,
	}[res.Class]
	if class == nil {
		return nil, errors.New(res.Error)
	}
	return res.Doc, &childError{msg: res.Error, class: class}
}
