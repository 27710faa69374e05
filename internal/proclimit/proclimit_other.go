//go:build !unix

package proclimit

func memory(_ int64, exe string, args []string) (string, []string) {
	return exe, args
}
