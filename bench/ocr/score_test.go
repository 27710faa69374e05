package main

import "testing"

func TestRecovered(t *testing.T) {
	tests := []struct {
		name     string
		ref, got []string
		want     float64
	}{
		{name: "all", ref: []string{"hội", "đồng", "nhân", "dân"}, got: []string{"nhân", "dân", "hội", "đồng"}, want: 1},
		{name: "half", ref: []string{"hội", "đồng", "nhân", "dân"}, got: []string{"hội", "dong", "nhân"}, want: 0.5},
		{name: "a repeat counts once per occurrence", ref: []string{"năm", "năm", "2024"}, got: []string{"năm", "2024"}, want: 2.0 / 3},
		{name: "extra words do not help", ref: []string{"tỉnh"}, got: []string{"tinh", "tính", "tĩnh"}, want: 0},
		{name: "empty reference", ref: nil, got: []string{"x"}, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := recovered(tt.ref, tt.got); got != tt.want {
				t.Errorf("recovered = %v, want %v", got, tt.want)
			}
		})
	}
}
