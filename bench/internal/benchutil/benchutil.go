// Package benchutil holds what bantin's benchmark commands share: medians
// of repeated runs, a description of the machine and its load, checks for
// the external tools a baseline needs, and the corpus location.
package benchutil

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/bantin/bantin/internal/model"
)

// Median returns the median of xs (the mean of the middle two for an even
// count), or 0 for none.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Machine describes the CPU, core count, Go version and current load
// average, for the header of every benchmark's output.
func Machine() string {
	cpu := "unknown CPU"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	return fmt.Sprintf("%s, %d cores, %s %s/%s, load average %s", cpu, runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH, LoadAvg())
}

// LoadAvg is the 1, 5 and 15 minute load average from /proc/loadavg.
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// NeedTools returns an error naming the Debian package of the first tool in
// tools (name → package) that is not on PATH.
func NeedTools(tools map[string]string) error {
	names := make([]string, 0, len(tools))
	for n := range tools {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			return fmt.Errorf("%s not found on PATH: install the Debian package %s (apt-get install %s)", n, tools[n], tools[n])
		}
	}
	return nil
}

// CorpusDir is the shared corpus: $BANTIN_CORPUS, else ../shared/corpus
// relative to the working directory (the layout of a checkout next to it).
func CorpusDir() string {
	if d := os.Getenv("BANTIN_CORPUS"); d != "" {
		return d
	}
	return "../shared/corpus"
}

// Article is one line of the corpus' VietNews sample.
type Article struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Text  string `json:"text"`
	// Paras, when set, is the text already split into paragraphs with
	// their pages (extracted documents).
	Paras []model.Paragraph `json:"-"`
}

// VietNews reads text/vietnews_test_sample.jsonl of the corpus.
func VietNews(corpus string) ([]Article, error) {
	p := corpus + "/text/vietnews_test_sample.jsonl"
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("opening the VietNews sample: %w (set BANTIN_CORPUS to the shared corpus directory)", err)
	}
	defer f.Close()
	var out []Article
	dec := json.NewDecoder(f)
	for {
		var a Article
		if err := dec.Decode(&a); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("reading %s: %w", p, err)
		}
		out = append(out, a)
	}
	return out, nil
}

// Paragraphs splits text into page-1 paragraphs at line breaks.
func Paragraphs(text string) []model.Paragraph {
	var ps []model.Paragraph
	for _, line := range strings.Split(text, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			ps = append(ps, model.Paragraph{Page: 1, Text: line})
		}
	}
	return ps
}

// Parallel calls f(0) … f(n-1) on conc goroutines, each taking the next
// index as it finishes the last, as a worker pool would. It returns the
// first error; the goroutine that met it stops, the others go on to the
// end.
func Parallel(n, conc int, f func(i int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, conc)
	for range max(conc, 1) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}
