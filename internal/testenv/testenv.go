// Package testenv is what bantin's tests share about their environment:
// the shared corpus (BANTIN_CORPUS) and installed tools. A test that lacks
// either is skipped with a message that says what to set or install —
// unless BANTIN_TEST_STRICT=1, as in CI, where it fails instead, so that
// nothing is skipped there.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// Strict reports whether BANTIN_TEST_STRICT=1: skipping is a failure.
func Strict() bool { return os.Getenv("BANTIN_TEST_STRICT") == "1" }

// Skip skips t with the message, or fails it when strict.
func Skip(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if Strict() {
		t.Fatalf("%s (BANTIN_TEST_STRICT=1 forbids skipping)", msg)
	}
	t.Skip(msg)
}

// Corpus returns the shared corpus root from BANTIN_CORPUS (the folder with
// pdf/, html/ and text/), or skips.
func Corpus(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("BANTIN_CORPUS")
	if dir == "" {
		Skip(t, "BANTIN_CORPUS is not set; point it at the shared corpus (shared/corpus)")
	}
	if _, err := os.Stat(dir); err != nil {
		Skip(t, "BANTIN_CORPUS=%s: %v", dir, err)
	}
	return dir
}

// Tool returns the path of an installed command, or skips naming the
// Debian package that provides it.
func Tool(t testing.TB, name, debianPackage string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Skip(t, "%s not found: install the Debian package %s", name, debianPackage)
	}
	return p
}
