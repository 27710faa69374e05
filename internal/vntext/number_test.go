package vntext

import (
	"strings"
	"testing"
)

func TestParseNumber(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		want   float64
		wantOK bool
	}{
		{name: "decimal comma", in: "13,45", want: 13.45, wantOK: true},
		{name: "decimal comma one digit", in: "181,9", want: 181.9, wantOK: true},
		{name: "dot thousands", in: "1.234.567", want: 1234567, wantOK: true},
		{name: "single dot thousands", in: "1.250", want: 1250, wantOK: true},
		{name: "dot thousands and decimal comma", in: "18.245,6", want: 18245.6, wantOK: true},
		{name: "dot decimal when not a group", in: "3.5", want: 3.5, wantOK: true},
		{name: "dot decimal two digits", in: "7.52", want: 7.52, wantOK: true},
		{name: "leading zero dot is decimal", in: "0.500", want: 0.5, wantOK: true},
		{name: "english both separators", in: "1,234.5", want: 1234.5, wantOK: true},
		{name: "english comma thousands", in: "1,234,567", want: 1234567, wantOK: true},
		{name: "single comma is decimal", in: "1,250", want: 1.25, wantOK: true},
		{name: "integer", in: "2023", want: 2023, wantOK: true},
		{name: "leading zero integer", in: "05", want: 5, wantOK: true},
		{name: "signs and spaces", in: " -2,5 ", want: -2.5, wantOK: true},
		{name: "unicode minus", in: "−7", want: -7, wantOK: true},
		{name: "plus", in: "+3", want: 3, wantOK: true},
		{name: "bad groups", in: "1.23.456", wantOK: false},
		{name: "date with dots", in: "01.12.2023", wantOK: false},
		{name: "two decimal commas", in: "1,2,3", wantOK: false},
		{name: "mixed separators repeated", in: "1.234,567.8", wantOK: false},
		{name: "decimal before thousands", in: "1,5.300", wantOK: false},
		{name: "first group too long", in: "1234.567.890", wantOK: false},
		{name: "phone with dots", in: "0912.345.678", wantOK: false},
		{name: "trailing separator", in: "12.", wantOK: false},
		{name: "leading separator", in: ",5", wantOK: false},
		{name: "unit inside", in: "12%", wantOK: false},
		{name: "inner space", in: "1 234", wantOK: false},
		{name: "empty", in: "", wantOK: false},
		{name: "sign only", in: "-", wantOK: false},
		{name: "overflow", in: strings.Repeat("9", 400), wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseNumber(tt.in)
			if ok != tt.wantOK || (ok && got != tt.want) {
				t.Errorf("ParseNumber(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestFormatNumber(t *testing.T) {
	tests := []struct {
		name string
		in   float64
		want string
	}{
		{name: "decimal", in: 13.45, want: "13,45"},
		{name: "thousands and decimal", in: 18245.6, want: "18.245,6"},
		{name: "millions", in: 1234567, want: "1.234.567"},
		{name: "small", in: 7, want: "7"},
		{name: "zero", in: 0, want: "0"},
		{name: "negative", in: -2500.5, want: "-2.500,5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FormatNumber(tt.in)
			if got != tt.want {
				t.Errorf("FormatNumber(%v) = %q, want %q", tt.in, got, tt.want)
			}
			if back, ok := ParseNumber(got); !ok || back != tt.in {
				t.Errorf("ParseNumber(FormatNumber(%v)) = %v, %v", tt.in, back, ok)
			}
		})
	}
}

func TestNormalizeFigure(t *testing.T) {
	tests := []struct {
		name string
		a, b string
	}{
		{name: "space before percent", a: "13,45%", b: "13,45 %"},
		{name: "non-breaking spaces", a: "18.245,6 tỷ đồng", b: "18.245,6\u00a0tỷ\u202fđồng"},
		{name: "case of units", a: "3,2 tỷ USD", b: "3,2 Tỷ usd"},
		{name: "decomposed diacritics", a: "181,9 nghìn tỷ đồng", b: "181,9 nghi\u0300n ty\u0309 đô\u0300ng"},
		{name: "grouping", a: "1.250 triệu đồng", b: "1250 triệu đồng"},
		{name: "trailing zero", a: "7,50%", b: "7,5%"},
		{name: "glued unit", a: "35km", b: "35 km"},
		{name: "synonyms", a: "500 ngàn VNĐ", b: "500 nghìn đồng"},
		{name: "tỉ and tỷ", a: "2 tỉ đồng", b: "2 tỷ đồng"},
		{name: "square metres", a: "1.500 m²", b: "1.500 m2"},
		{name: "phần trăm", a: "15 phần trăm", b: "15%"},
		{name: "per unit", a: "4,5 triệu đ/người/tháng", b: "4,5 triệu đồng/người/tháng"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			na, nb := NormalizeFigure(tt.a), NormalizeFigure(tt.b)
			if na != nb {
				t.Errorf("NormalizeFigure(%q) = %q, NormalizeFigure(%q) = %q; want equal", tt.a, na, tt.b, nb)
			}
			if again := NormalizeFigure(na); again != na {
				t.Errorf("NormalizeFigure is not idempotent: %q → %q", na, again)
			}
		})
	}
	different := [][2]string{
		{"13,45%", "13,46%"},
		{"3,2 tỷ đồng", "3,2 triệu đồng"},
		{"1,250 ha", "1.250 ha"}, // 1.25 ha vs 1250 ha
		{"15 dự án", "15 doanh nghiệp"},
	}
	for _, d := range different {
		if NormalizeFigure(d[0]) == NormalizeFigure(d[1]) {
			t.Errorf("NormalizeFigure(%q) == NormalizeFigure(%q) = %q; want different", d[0], d[1], NormalizeFigure(d[0]))
		}
	}
	if got, want := NormalizeFigure(" 18.245,60\u00a0Tỷ  đồng "), "18.245,6 tỷ đồng"; got != want {
		t.Errorf("NormalizeFigure = %q, want %q", got, want)
	}
}
