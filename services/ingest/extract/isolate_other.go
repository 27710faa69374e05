//go:build !unix

package extract

import (
	"os/exec"
	"runtime/debug"
)

// killGroup kills only the child where process groups are not available.
func killGroup(cmd *exec.Cmd) {}

// limitMemory sets only the garbage collector's soft limit where address
// space limits are not available.
func limitMemory(n int64) { debug.SetMemoryLimit(n) }
