// Package proclimit runs external tools (poppler, antiword, catdoc) under
// an address-space limit, so that a hostile document cannot make one take
// the machine's memory.
package proclimit

// Memory returns the command line that runs exe with args under an
// address-space limit (RLIMIT_AS) of n bytes. On Unix a POSIX shell sets
// the limit (ulimit -v) and execs exe in its place, so the process a
// context kills is exe itself. Without a shell, or with n <= 0, exe runs
// unlimited.
func Memory(n int64, exe string, args []string) (string, []string) {
	if n <= 0 {
		return exe, args
	}
	return memory(n, exe, args)
}
