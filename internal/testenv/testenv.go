// Package testenv is what bantin's tests share about their environment:
// the shared corpus (BANTIN_CORPUS) and installed tools. A test that lacks
// either is skipped with a message that says what to set or install —
// unless BANTIN_TEST_STRICT=1, as in CI, where it fails instead, so that
// nothing is skipped there.
package testenv

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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

// Article is one Vietnamese news article of the corpus with the summary
// its newspaper wrote (text/vietnews_test_sample.jsonl).
type Article struct {
	ID      string `json:"id"`
	Title   string `json:"title"`
	Text    string `json:"text"`
	Summary string `json:"summary"`
}

// Vietnews returns the corpus's 150 article/summary pairs, or skips.
func Vietnews(t testing.TB) []Article {
	t.Helper()
	path := filepath.Join(Corpus(t), "text", "vietnews_test_sample.jsonl")
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("opening corpus: %v", err)
	}
	defer f.Close()
	var out []Article
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var a Article
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			t.Fatalf("%s line %d: %v", path, len(out)+1, err)
		}
		out = append(out, a)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	if len(out) != 150 {
		t.Fatalf("%s: %d articles, want 150", path, len(out))
	}
	return out
}
