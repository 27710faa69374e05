package proclimit

import (
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/bantin/bantin/internal/testenv"
)

// TestMemory runs a shell under the limit and reads the limit back with
// ulimit -v, and checks that a program asking for more than it allows
// fails while the same program under a generous limit runs.
func TestMemory(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no POSIX shell")
	}
	sh := testenv.Tool(t, "sh", "dash")
	name, args := Memory(64<<20, sh, []string{"-c", "ulimit -v"})
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		t.Fatalf("%s %q: %v", name, args, err)
	}
	if got := strings.TrimSpace(string(out)); got != "65536" {
		t.Errorf("ulimit -v under Memory(64 MiB) = %q, want 65536 (KiB)", got)
	}

	if name, args := Memory(0, sh, []string{"-c", "true"}); name != sh || len(args) != 2 {
		t.Errorf("Memory(0) wraps the command: %s %q", name, args)
	}

	// awk doubling a string to 128 MiB: it fails under 64 MiB and runs
	// under 1 GiB. (Not a Go program: the Go runtime's own address-space
	// reservations do not fit small limits.)
	awk := testenv.Tool(t, "awk", "mawk")
	const prog = `BEGIN { s = "x"; while (length(s) < 100000000) s = s s; print length(s) }`
	for _, tt := range []struct {
		name  string
		limit int64
		fail  bool
	}{
		{name: "under 64 MiB", limit: 64 << 20, fail: true},
		{name: "under 1 GiB", limit: 1 << 30},
	} {
		t.Run(tt.name, func(t *testing.T) {
			name, args := Memory(tt.limit, awk, []string{prog})
			out, err := exec.Command(name, args...).CombinedOutput()
			if (err != nil) != tt.fail {
				t.Errorf("a 128 MiB string under %d MiB: error %v, want failure %v\n%s", tt.limit>>20, err, tt.fail, out)
			}
		})
	}
}
