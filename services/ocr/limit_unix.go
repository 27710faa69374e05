//go:build unix

package ocr

import (
	"os/exec"
	"strconv"
)

// limitMemory returns the command line that runs exe with args under an
// address-space limit of n bytes: the POSIX shell sets it (ulimit -v) and
// execs exe in its place, so the process that the context kills is exe.
// Without a shell, exe runs unlimited.
func limitMemory(n int64, exe string, args []string) (string, []string) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		return exe, args
	}
	kib := strconv.FormatInt(max(n>>10, 1), 10)
	return sh, append([]string{"-c", `ulimit -v "$1" 2>/dev/null; shift; exec "$@"`, "sh", kib, exe}, args...)
}
