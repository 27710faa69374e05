package extract

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
// Timeout, and runs under an address-space limit of MaxMemory bytes.
//
// The child is Exe run with Args (normally the bantin binary itself with
// its hidden `extract-child` command, see ChildMain); it reads the
// document on its standard input and writes the result as JSON.
type Isolated struct {
	Exe  string
	Args []string
	// Env is added to the child's environment.
	Env []string
	// Timeout bounds one document; 0 leaves it to the context.
	Timeout time.Duration
	// MaxMemory limits the child's heap in bytes; 0 means no limit. The
	// hard address-space limit is MaxMemory plus 1 GiB that the Go
	// runtime reserves for itself.
	MaxMemory int64
}

// childEnvMemory passes MaxMemory to the child.
const childEnvMemory = "BANTIN_EXTRACT_MAX_MEMORY"

// maxChildOutput bounds the JSON a child may print.
const maxChildOutput = 256 << 20

// childResult is what the child prints.
type childResult struct {
	Doc   *Document `json:"doc,omitempty"`
	Class string    `json:"class,omitempty"` // no_text, corrupt, unsupported, timeout, other
	Error string    `json:"error,omitempty"`
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
		why := strings.TrimSpace(stderr.String())
		if i := strings.Index(why, "\n\ngoroutine "); i > 0 {
			why = why[:i] // the panic message, not the stacks
		}
		if len(why) > 500 {
			why = why[:500] + "…"
		}
		if strings.Contains(why, "out of memory") || strings.Contains(why, "cannot allocate memory") {
			why = fmt.Sprintf("ran out of memory (limit %d MiB): %s", iso.MaxMemory>>20, why)
		}
		return nil, fmt.Errorf("extracting text in a child process: %w (%v): %s", ErrCrashed, runErr, why)
	}
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

// ChildMain is the child side of Isolated: it applies the memory limit
// the parent asked for, reads one document from in, extracts it with the
// tools on PATH and writes the result as JSON to out. The error is
// non-nil only when the result cannot be written.
func ChildMain(ctx context.Context, in io.Reader, out io.Writer) error {
	if v := os.Getenv(childEnvMemory); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
			limitMemory(n)
		}
	}
	var res childResult
	data, err := io.ReadAll(in)
	if err != nil {
		res.Class, res.Error = "other", fmt.Sprintf("reading the document from standard input: %v", err)
	} else {
		res.Doc, err = Extract(ctx, data)
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
	}
	if err := json.NewEncoder(out).Encode(res); err != nil {
		return fmt.Errorf("writing the extraction result: %w", err)
	}
	return nil
}
