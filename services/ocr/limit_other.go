//go:build !unix

package ocr

// limitMemory runs exe unlimited where there is no POSIX shell to set an
// address-space limit.
func limitMemory(_ int64, exe string, args []string) (string, []string) {
	return exe, args
}
