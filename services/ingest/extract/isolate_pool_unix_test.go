//go:build unix

package extract

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// BenchmarkIsolation extracts one 6-page corpus PDF
// (vi-14-hoi-thao-tcqckt-vinacert.pdf) in process, in a warm Pool child
// and in a child per document, one at a time: the per-document cost of
// each kind of isolation. Besides ns/op it reports cpu-ns/op: user and
// system time of the test process and of the children it waited for (a
// fresh pool per run, closed before the count), steadier than wall time
// on a busy machine.
func BenchmarkIsolation(b *testing.B) {
	dir := os.Getenv("BANTIN_CORPUS")
	if dir == "" {
		b.Skip("BANTIN_CORPUS not set; point it at shared/corpus")
	}
	data, err := os.ReadFile(filepath.Join(dir, "pdf", "vi-14-hoi-thao-tcqckt-vinacert.pdf"))
	if err != nil {
		b.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	iso := Isolated{Exe: exe, Env: []string{childEnv + "=extract"}, MaxMemory: 2 << 30, Workers: 1}
	for _, name := range []string{"in process", "pool", "child per document"} {
		b.Run(name, func(b *testing.B) {
			var x extractor = iso
			var pool *Pool
			switch name {
			case "in process":
				x = extractorFunc(Extract)
			case "pool":
				pool = NewPool(iso)
				x = pool
			}
			cpu0 := cpuNanos()
			n := 0
			for b.Loop() {
				if _, err := x.Extract(context.Background(), data); err != nil {
					b.Fatal(err)
				}
				n++
			}
			if pool != nil {
				pool.Close()
			}
			b.ReportMetric(float64(cpuNanos()-cpu0)/float64(n), "cpu-ns/op")
		})
	}
}

// cpuNanos returns the user and system time of this process and of the
// children it has waited for.
func cpuNanos() int64 {
	var self, kids syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids)
	return self.Utime.Nano() + self.Stime.Nano() + kids.Utime.Nano() + kids.Stime.Nano()
}

// extractorFunc makes a function an extractor.
type extractorFunc func(ctx context.Context, data []byte) (*Document, error)

func (f extractorFunc) Extract(ctx context.Context, data []byte) (*Document, error) {
	return f(ctx, data)
}
