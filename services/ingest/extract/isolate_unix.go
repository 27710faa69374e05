//go:build unix

package extract

import (
	"os/exec"
	"syscall"
)

// killGroup puts the child in its own process group and makes the
// context's cancellation kill the whole group, so that a pdftotext or
// antiword the child started dies with it.
func killGroup(cmd *exec.Cmd) {
	newGroup(cmd)
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}

// killProcessGroup kills the process group that cmd leads (see killGroup).
func killProcessGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}

// newGroup puts the child in its own process group, which
// killProcessGroup kills.
func newGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}
