package main

import (
	"math"
	"testing"
)

func TestSimilarity(t *testing.T) {
	long := "Luật này quy định về tổ chức và hoạt động thanh tra; nhiệm vụ, quyền hạn của cơ quan thanh tra."
	tests := []struct {
		name string
		a, b []string
		want float64
	}{
		{name: "identical", a: []string{long, "Điều 1"}, b: []string{long, "Điều 1"}, want: 1},
		{name: "both empty", a: []string{""}, b: []string{""}, want: 1},
		{name: "one empty", a: []string{""}, b: []string{"abcd"}, want: 0},
		{name: "one substitution in ten", a: []string{"abcdefghij"}, b: []string{"abcdefghiX"}, want: 0.9},
		{name: "insertion", a: []string{"kitten"}, b: []string{"sitting"}, want: 1 - 3.0/7},
		{name: "text moved to the next page within a block", a: []string{"một hai ba bốn", ""}, b: []string{"một hai", "ba bốn"}, want: 1},
		{name: "diacritics count", a: []string{"Hợp tác quốc tế"}, b: []string{"Hp tác quc t"}, want: 1 - 3.0/15},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := similarity(tt.a, tt.b); math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("similarity(%q, %q) = %.4f, want %.4f", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

func TestBoundedLevenshteinMatchesPlain(t *testing.T) {
	pairs := [][2]string{
		{"báo cáo tình hình kinh tế xã hội tháng mười năm hai nghìn", "bao cao tinh hinh kinh te xa hoi thang muoi nam hai nghin"},
		{"ngày 12/5/2025 Ủy ban nhân dân tỉnh họp phiên thường kỳ tháng năm", "Ủy ban nhân dân tỉnh họp phiên thường kỳ tháng năm ngày 12/5/2025"},
		{"abc", "xyzxyzxyzxyz"},
	}
	for _, p := range pairs {
		a, b := []rune(p[0]), []rune(p[1])
		plain := levenshtein(a, b)
		band := max(len(a), len(b))/10 + abs(len(a)-len(b)) + 16
		if got := boundedLevenshtein(a, b); got < plain || plain <= band && got != plain {
			t.Errorf("bounded %d, plain %d for %q / %q", got, plain, p[0], p[1])
		}
	}
}
