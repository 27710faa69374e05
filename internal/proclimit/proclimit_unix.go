//go:build unix

package proclimit

import (
	"os/exec"
	"strconv"
)

func memory(n int64, exe string, args []string) (string, []string) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		return exe, args
	}
	kib := strconv.FormatInt(max(n>>10, 1), 10)
	return sh, append([]string{"-c", `ulimit -v "$1" 2>/dev/null; shift; exec "$@"`, "sh", kib, exe}, args...)
}
