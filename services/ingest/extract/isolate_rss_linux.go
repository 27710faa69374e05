package extract

import (
	"bytes"
	"os"
	"strconv"
)

// residentSet returns the resident set size of process pid in bytes, from
// /proc/<pid>/statm, and false when it cannot be read.
func residentSet(pid int) (int64, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/statm")
	if err != nil {
		return 0, false
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0, false
	}
	pages, err := strconv.ParseInt(string(f[1]), 10, 64)
	if err != nil {
		return 0, false
	}
	return pages * int64(os.Getpagesize()), true
}
