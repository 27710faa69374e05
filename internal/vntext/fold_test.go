package vntext

import (
	"slices"
	"testing"
)

func TestFold(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "title case", in: "Kế Hoạch", want: "ke hoach"},
		{name: "đ", in: "Đảng bộ đồng lòng", want: "dang bo dong long"},
		{name: "horn and breve", in: "Ủy ban nhân dân tỉnh Bắc Giang", want: "uy ban nhan dan tinh bac giang"},
		{name: "all caps", in: "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", want: "cong hoa xa hoi chu nghia viet nam"},
		{name: "decomposed input", in: "Nghi\u0323 quyê\u0301t", want: "nghi quyet"},
		{name: "old and new tone placement agree", in: "hoà hòa thuỷ thủy", want: "hoa hoa thuy thuy"},
		{name: "punctuation and digits kept", in: "Số: 125/BC-UBND, 7,52%", want: "so: 125/bc-ubnd, 7,52%"},
		{name: "eth stand-in", in: "Ðà Nẵng", want: "da nang"},
		{name: "empty", in: "", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Fold(tt.in); got != tt.want {
				t.Errorf("Fold(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestSyllables(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{name: "sentence", in: "Kế hoạch phát triển, năm 2023.", want: []string{"kế", "hoạch", "phát", "triển", "năm", "2023"}},
		{name: "numbers stay whole", in: "GRDP tăng 7,52%; thu 18.245,6 tỷ.", want: []string{"grdp", "tăng", "7,52", "thu", "18.245,6", "tỷ"}},
		{name: "hyphens and slashes split", in: "kinh tế - xã hội 125/BC-UBND", want: []string{"kinh", "tế", "xã", "hội", "125", "bc", "ubnd"}},
		{name: "decomposed input is composed", in: "Nghi\u0323 quyê\u0301t", want: []string{"nghị", "quyết"}},
		{name: "quotes dropped", in: "“Hello” (TP. HCM)", want: []string{"hello", "tp", "hcm"}},
		{name: "empty", in: " … ", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Syllables(tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("Syllables(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
