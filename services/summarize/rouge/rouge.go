// Package rouge scores summaries against reference summaries with ROUGE-N
// and ROUGE-L F1 over syllables (vntext.Syllables: NFC, lower case,
// punctuation dropped), the unit Vietnamese summarisation is evaluated in.
package rouge

import (
	"strings"

	"github.com/bantin/bantin/internal/vntext"
)

// Scores are the F1 of ROUGE-1, ROUGE-2 and ROUGE-L.
type Scores struct{ R1, R2, RL float64 }

// Score compares candidate with reference.
func Score(candidate, reference string) Scores {
	c, r := vntext.Syllables(candidate), vntext.Syllables(reference)
	return Scores{R1: N(c, r, 1), R2: N(c, r, 2), RL: L(c, r)}
}

// N is the F1 of n-gram overlap with clipped counts.
func N(cand, ref []string, n int) float64 {
	grams := func(s []string) map[string]int {
		m := make(map[string]int)
		for i := 0; i+n <= len(s); i++ {
			m[strings.Join(s[i:i+n], " ")]++
		}
		return m
	}
	c, r := grams(cand), grams(ref)
	var overlap, nc, nr int
	for g, k := range c {
		nc += k
		overlap += min(k, r[g])
	}
	for _, k := range r {
		nr += k
	}
	return f1(overlap, nc, nr)
}

// L is the F1 of the longest common subsequence.
func L(cand, ref []string) float64 {
	if len(cand) == 0 || len(ref) == 0 {
		return 0
	}
	prev := make([]int, len(ref)+1)
	cur := make([]int, len(ref)+1)
	for i := range cand {
		for j := range ref {
			if cand[i] == ref[j] {
				cur[j+1] = prev[j] + 1
			} else {
				cur[j+1] = max(prev[j+1], cur[j])
			}
		}
		prev, cur = cur, prev
	}
	return f1(prev[len(ref)], len(cand), len(ref))
}

func f1(overlap, nc, nr int) float64 {
	if overlap == 0 || nc == 0 || nr == 0 {
		return 0
	}
	p, r := float64(overlap)/float64(nc), float64(overlap)/float64(nr)
	return 2 * p * r / (p + r)
}
