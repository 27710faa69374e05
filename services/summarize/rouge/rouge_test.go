package rouge

import (
	"math"
	"testing"

	"github.com/bantin/bantin/internal/vntext"
)

func TestScore(t *testing.T) {
	ref := "Thu ngân sách tăng mạnh."
	tests := []struct {
		name       string
		cand       string
		r1, r2, rl float64
	}{
		{name: "identical, case and punctuation ignored", cand: "thu NGÂN sách tăng mạnh", r1: 1, r2: 1, rl: 1},
		{name: "disjoint", cand: "chi thường xuyên giảm"},
		{name: "prefix", cand: "thu ngân", r1: 2 * 0.4 / 1.4, r2: 2 * 0.25 / 1.25, rl: 2 * 0.4 / 1.4},
		{name: "reordered", cand: "tăng mạnh thu ngân sách", r1: 1, r2: 0.75, rl: 0.6},
		{name: "empty", cand: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Score(tt.cand, ref)
			for _, c := range []struct {
				name      string
				got, want float64
			}{{"R1", s.R1, tt.r1}, {"R2", s.R2, tt.r2}, {"RL", s.RL, tt.rl}} {
				if math.Abs(c.got-c.want) > 1e-9 {
					t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
				}
			}
		})
	}
}

func TestN(t *testing.T) {
	ref := vntext.Syllables("thu ngân sách tăng mạnh")
	tests := []struct {
		name string
		cand string
		n    int
		want float64
	}{
		{name: "identical unigrams", cand: "thu ngân sách tăng mạnh", n: 1, want: 1},
		{name: "identical bigrams", cand: "thu ngân sách tăng mạnh", n: 2, want: 1},
		{name: "disjoint", cand: "chi thường xuyên giảm", n: 1, want: 0},
		{name: "half", cand: "thu ngân", n: 1, want: 2 * 1 * 0.4 / 1.4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := N(vntext.Syllables(tt.cand), ref, tt.n)
			if d := got - tt.want; d > 1e-9 || d < -1e-9 {
				t.Errorf("N = %v, want %v", got, tt.want)
			}
		})
	}
}
