package benchutil

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want float64
	}{
		{name: "empty", in: nil, want: 0},
		{name: "one", in: []float64{3}, want: 3},
		{name: "odd, unsorted", in: []float64{5, 1, 3}, want: 3},
		{name: "even", in: []float64{4, 1, 3, 2}, want: 2.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]float64(nil), tt.in...)
			if got := Median(in); got != tt.want {
				t.Errorf("Median(%v) = %v, want %v", tt.in, got, tt.want)
			}
			for i := range in {
				if in[i] != tt.in[i] {
					t.Fatalf("Median reordered its input: %v", in)
				}
			}
		})
	}
}

func TestMaxInWindow(t *testing.T) {
	at := func(ms ...int) []time.Time {
		base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		var out []time.Time
		for _, m := range ms {
			out = append(out, base.Add(time.Duration(m)*time.Millisecond))
		}
		return out
	}
	tests := []struct {
		name string
		ts   []time.Time
		w    time.Duration
		want int
	}{
		{name: "none", ts: nil, w: time.Second, want: 0},
		{name: "spread", ts: at(0, 1000, 2000, 3000), w: time.Second, want: 1},
		{name: "burst", ts: at(0, 10, 20, 1500, 1600), w: time.Second, want: 3},
		{name: "window is half-open", ts: at(0, 999, 1000), w: time.Second, want: 2},
		{name: "late cluster", ts: at(0, 5000, 5100, 5200, 5300), w: time.Second, want: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MaxInWindow(tt.ts, tt.w); got != tt.want {
				t.Errorf("MaxInWindow = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestNeedTools(t *testing.T) {
	if err := NeedTools(map[string]string{"sh": "dash"}); err != nil {
		t.Fatalf("sh should be found: %v", err)
	}
	err := NeedTools(map[string]string{"sh": "dash", "bantin-no-such-tool": "bantin-pkg"})
	if err == nil || !strings.Contains(err.Error(), "apt-get install bantin-pkg") {
		t.Fatalf("want an error naming the Debian package, got %v", err)
	}
}

func TestParallel(t *testing.T) {
	for _, conc := range []int{1, 3, 8} {
		var mu sync.Mutex
		seen := map[int]int{}
		err := Parallel(50, conc, func(i int) error {
			mu.Lock()
			seen[i]++
			mu.Unlock()
			return nil
		})
		if err != nil {
			t.Fatalf("conc %d: %v", conc, err)
		}
		if len(seen) != 50 {
			t.Errorf("conc %d: %d indexes called, want 50", conc, len(seen))
		}
		for i, n := range seen {
			if n != 1 || i < 0 || i >= 50 {
				t.Errorf("conc %d: index %d called %d times", conc, i, n)
			}
		}
	}
	boom := errors.New("boom")
	if err := Parallel(10, 2, func(i int) error {
		if i == 3 {
			return boom
		}
		return nil
	}); !errors.Is(err, boom) {
		t.Errorf("Parallel returned %v, want the error of index 3", err)
	}
}
