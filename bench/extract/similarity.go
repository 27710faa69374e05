package main

import "strings"

// blockRunes is the least length of the blocks of whole pages that are
// compared at a time. A paragraph that runs over a page break carries the
// page it starts on in bantin's text while pdftotext splits it, so
// comparing single pages would count the moved lines twice; long blocks
// make that rare while keeping the edit distance affordable.
const blockRunes = 12_000

// maxBlockRunes bounds a block; longer blocks are split.
const maxBlockRunes = 60_000

// similarity is the character-level similarity of two documents given as
// page texts: 1 − (edit distance ÷ length of the longer text), summed
// over blocks of pages and weighted by their length. 1 is identical.
func similarity(a, b []string) float64 {
	n := max(len(a), len(b))
	dist, length := 0, 0
	for i := 0; i < n; {
		end, size := i, 0
		for end < n && size < blockRunes {
			if end < len(b) {
				size += len(b[end])
			}
			end++
		}
		x := []rune(join(a, i, end))
		y := []rune(join(b, i, end))
		i = end
		for len(x) > 0 || len(y) > 0 {
			cx, cy := min(len(x), maxBlockRunes), min(len(y), maxBlockRunes)
			dist += boundedLevenshtein(x[:cx], y[:cy])
			length += max(cx, cy)
			x, y = x[cx:], y[cy:]
		}
	}
	if length == 0 {
		return 1
	}
	return 1 - float64(dist)/float64(length)
}

func join(pages []string, from, to int) string {
	if from >= len(pages) {
		return ""
	}
	return strings.Join(strings.Fields(strings.Join(pages[from:min(to, len(pages))], " ")), " ")
}

// boundedLevenshtein is the edit distance of a and b, computed in a
// diagonal band (Ukkonen) a tenth as wide as the longer text plus their
// difference in length. When the true distance is larger than the band,
// the result is larger than or equal to it (never more than the longer
// length): such texts are far apart either way.
func boundedLevenshtein(a, b []rune) int {
	if len(a) == 0 || len(b) == 0 {
		return max(len(a), len(b))
	}
	band := max(len(a), len(b))/10 + abs(len(a)-len(b)) + 16
	if band >= max(len(a), len(b)) {
		return levenshtein(a, b)
	}
	const inf = 1 << 30
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		if j <= band {
			prev[j] = j
		} else {
			prev[j] = inf
		}
	}
	for i := 1; i <= len(a); i++ {
		lo, hi := max(1, i-band), min(len(b), i+band)
		for j := range cur {
			cur[j] = inf
		}
		if i <= band {
			cur[0] = i
		}
		for j := lo; j <= hi; j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j-1]+cost, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return min(prev[len(b)], max(len(a), len(b)))
}

// levenshtein is the plain edit distance, for short texts.
func levenshtein(a, b []rune) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j-1]+cost, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
