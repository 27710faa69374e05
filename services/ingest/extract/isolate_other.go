//go:build !unix

package extract

import "os/exec"

// killGroup kills only the child where process groups are not available.
func killGroup(cmd *exec.Cmd) {}

// killProcessGroup kills only the child where process groups are not
// available.
func killProcessGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = cmd.Process.Kill()
	}
}

// newGroup does nothing where process groups are not available.
func newGroup(cmd *exec.Cmd) {}
