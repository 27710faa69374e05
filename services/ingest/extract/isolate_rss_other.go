//go:build !linux

package extract

// residentSet is not available here: the child's own memory check
// (limitMemory) is the only bound.
func residentSet(pid int) (int64, bool) { return 0, false }
