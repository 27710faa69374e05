package vntext

import (
	"slices"
	"testing"

	"golang.org/x/text/unicode/norm"
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

// TestFoldLatinMatchesSlow checks the fast path against the NFD/NFC
// definition rune by rune over the Latin blocks it claims, and on mixed
// strings, in both normalisation forms.
func TestFoldLatinMatchesSlow(t *testing.T) {
	var runes []rune
	for r := rune(0); r < 0x370; r++ {
		runes = append(runes, r)
	}
	for r := rune(0x1E00); r <= 0x1EFF; r++ {
		runes = append(runes, r)
	}
	for r := rune(0x2000); r <= 0x206F; r++ {
		runes = append(runes, r)
	}
	for _, r := range runes {
		for _, s := range []string{string(r), "A" + string(r) + "b", string(r) + "\u0301", norm.NFD.String(string(r))} {
			got, ok := foldLatin(s)
			if !ok {
				t.Fatalf("foldLatin(%q) declined a Latin string", s)
			}
			if want := foldSlow(s); got != want {
				t.Errorf("foldLatin(%q) = %q, foldSlow = %q", s, got, want)
			}
		}
	}
	tests := []struct {
		name, in string
		fast     bool
	}{
		{name: "vietnamese", in: "Nghị quyết HĐND tỉnh Bắc Giang về Kế hoạch đầu tư công năm 2025", fast: true},
		{name: "nfd vietnamese", in: norm.NFD.String("Đảng bộ Quận Hải Châu"), fast: true},
		{name: "hangul", in: "Hà Nội 서울", fast: false},
		{name: "greek", in: "Ωμέγα và ệ", fast: false},
		{name: "invalid utf8", in: "a\xffb", fast: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := foldLatin(tt.in)
			if ok != tt.fast {
				t.Fatalf("foldLatin(%q) ok = %v, want %v", tt.in, ok, tt.fast)
			}
			if want := foldSlow(tt.in); Fold(tt.in) != want || (ok && got != want) {
				t.Errorf("Fold(%q) = %q, want %q", tt.in, Fold(tt.in), want)
			}
		})
	}
}

func BenchmarkFold(b *testing.B) {
	s := "Hội đồng nhân dân tỉnh Bắc Giang thông qua Nghị quyết về Kế hoạch đầu tư công trung hạn giai đoạn 2021–2025, tổng vốn 18.245,6 tỷ đồng."
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			Fold(s)
		}
	})
	b.Run("nfd-nfc", func(b *testing.B) {
		for b.Loop() {
			foldSlow(s)
		}
	})
}
