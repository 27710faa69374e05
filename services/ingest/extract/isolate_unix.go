//go:build unix

package extract

import (
	"os/exec"
	"runtime/debug"
	"syscall"
)

// killGroup puts the child in its own process group and makes the
// context's cancellation kill the whole group, so that a pdftotext or
// antiword the child started dies with it.
func killGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}

// runtimeReserve is address space the Go runtime reserves beyond the heap
// (page-allocator summaries, stacks, the binary); without it a tight limit
// kills healthy children at random.
const runtimeReserve = 1 << 30

// limitMemory caps this process's address space at n bytes plus the
// runtime's reserve (a hard limit: allocations beyond it fail and the
// runtime dies) and asks the garbage collector to keep the heap below n.
func limitMemory(n int64) {
	debug.SetMemoryLimit(n)
	lim := syscall.Rlimit{Cur: uint64(n + runtimeReserve), Max: uint64(n + runtimeReserve)}
	_ = syscall.Setrlimit(syscall.RLIMIT_AS, &lim) // best effort: the soft limit still applies
}
