package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"testing"

	"github.com/bantin/bantin/services/ingest/extract"
)

// isolationOptions configure parsing in a child process.
type isolationOptions struct {
	isolate   bool
	maxMemory int64
	workers   int
	maxDocs   int
}

func isolationFlags(fs *flag.FlagSet, o *options) {
	fs.BoolVar(&o.isolation.isolate, "isolate-parsing", true, "extract documents in child processes (bantin extract-child) kept running; one that hangs past --parse-timeout, crashes or passes --max-parse-memory is killed and replaced, so a hostile file cannot take the worker down")
	fs.Int64Var(&o.isolation.maxMemory, "max-parse-memory", 2<<30, "memory limit of one extraction child process, in bytes (with --isolate-parsing); a document that needs more is dead-lettered as crashed")
	fs.IntVar(&o.isolation.workers, "parse-workers", runtime.GOMAXPROCS(0), "extraction child processes kept running: documents extracted at once (with --isolate-parsing); more wait for a free child")
	fs.IntVar(&o.isolation.maxDocs, "parse-child-documents", extract.DefaultMaxDocuments, "documents one extraction child serves before it is replaced (with --isolate-parsing)")
}

// config returns the child-process runner: this very binary with its
// hidden extract-child command. A test binary cannot be re-executed that
// way, so under `go test` parsing stays in process.
func (iso isolationOptions) config() extract.Isolated {
	if !iso.isolate || testing.Testing() {
		return extract.Isolated{}
	}
	exe, err := os.Executable()
	if err != nil {
		return extract.Isolated{} // cannot find ourselves: parse in process
	}
	return extract.Isolated{Exe: exe, Args: []string{"extract-child"}, MaxMemory: iso.maxMemory, Workers: iso.workers, MaxDocuments: iso.maxDocs}
}

// extractChildCommand is the child side of --isolate-parsing: it reads one
// document on standard input and writes the extracted Document as JSON,
// or, started by the ingest worker's pool, serves framed requests until
// its input is closed (see extract.ChildMain).
func extractChildCommand() *command {
	return &command{
		name:   "extract-child",
		short:  "Internal: extract documents from standard input (used by --isolate-parsing).",
		hidden: true,
		run: func(ctx context.Context, o *options, args []string) error {
			if len(args) > 0 {
				return errUsage
			}
			if err := extract.ChildMain(ctx, os.Stdin, o.stdout); err != nil {
				return fmt.Errorf("extract-child: %w", err)
			}
			return nil
		},
	}
}
