package vnlegacy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"
)

// syllableAccuracy is the share of the white-space separated words of want
// that got has, word for word, in the same place.
func syllableAccuracy(got, want string) (float64, []string) {
	g, w := strings.Fields(got), strings.Fields(want)
	right := 0
	var wrong []string
	for i := range w {
		if i < len(g) && g[i] == w[i] {
			right++
		} else if len(wrong) < 10 {
			var gi string
			if i < len(g) {
				gi = g[i]
			}
			wrong = append(wrong, gi+" ≠ "+w[i])
		}
	}
	return float64(right) / float64(len(w)), wrong
}

// TestDecodeIndependentFixtures decodes text that independent converters
// (GNU libc iconv, the npm package vietnamese-conversion; see
// testdata/gen.sh) encoded from real news text, and wants ≥ 99% of the
// syllables right.
func TestDecodeIndependentFixtures(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("testdata", "unicode.txt"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, file, enc string
	}{
		{"tcvn3 by iconv", "tcvn3-iconv.bin", TCVN3},
		{"tcvn3 by npm vietnamese-conversion", "tcvn3-npm.bin", TCVN3},
		{"vni by npm vietnamese-conversion", "vni-npm.bin", VNI},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			acc, wrong := syllableAccuracy(Decode(raw, tt.enc), string(want))
			t.Logf("%s: %.4f of syllables right", tt.file, acc)
			if acc < 0.99 {
				t.Errorf("accuracy %.4f < 0.99; first differences: %q", acc, wrong)
			}
			if got := DetectBytes(raw); got != tt.enc {
				t.Errorf("DetectBytes = %q, want %q", got, tt.enc)
			}
			// The same bytes as a PDF or a Windows reader shows them.
			shown, _ := charmap.Windows1252.NewDecoder().Bytes(raw)
			fixed, enc := Repair(string(shown))
			if enc != tt.enc {
				t.Fatalf("Repair found %q, want %q", enc, tt.enc)
			}
			if acc2, _ := syllableAccuracy(fixed, string(want)); acc2 != acc {
				t.Errorf("Repair accuracy %.4f, Decode %.4f", acc2, acc)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name, in, enc, want string
	}{
		{"tcvn3 heading", "B\xb8o c\xb8o t\xd7nh h\xd7nh", TCVN3, "Báo cáo tình hình"},
		{"tcvn3 all shape letters", "\xa1\xa2\xa3\xa4\xa5\xa6\xa7 \xa8\xa9\xaa\xab\xac\xad\xae", TCVN3, "ĂÂÊÔƠƯĐ ăâêôơưđ"},
		{"tcvn3 tones", "\xd5 \xcb \xfe \xf9 \xee", TCVN3, "ế ậ ỵ ự ợ"},
		{"vni heading", "Ba\xf9o ca\xf9o t\xecnh h\xecnh", VNI, "Báo cáo tình hình"},
		{"vni horn and stroke", "\xd1\xd6\xd4\xd8NG \xf1\xf6\xf4\xf8ng", VNI, "ĐƯỜNG đường"},
		{"vni circumflex and breve", "qua\xe3 a\xe9 a\xeb e\xe4 o\xe0", VNI, "quẫ ắ ặ ệ ồ"},
		{"vni i and y", "t\xe6nh \xf3 \xf2 \xee \xce y\xf5", VNI, "tỉnh ĩ ị ỵ Ỵ ỹ"},
		{"vni capital marks", "BA\xd9O CA\xc1O", VNI, "BÁO CẤO"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Decode([]byte(tt.in), tt.enc); got != tt.want {
				t.Errorf("Decode(%q, %s) = %q, want %q", tt.in, tt.enc, got, tt.want)
			}
		})
	}
}

func TestFontEncoding(t *testing.T) {
	tests := []struct {
		name, font, enc string
		caps            bool
	}{
		{"vntime", ".VnTime", TCVN3, false},
		{"vntimeh bold subset", "ABCDEF+.VnTimeH,Bold", TCVN3, true},
		{"vnarial", ".VnArial-Italic", TCVN3, false},
		{"vnarialh", ".VnArialH", TCVN3, true},
		{"no dot", "VnTimes", TCVN3, false},
		{"vni times", "VNI-Times", VNI, false},
		{"vni helve bold", "QWERTY+VNI-Helve-Bold", VNI, false},
		{"times new roman", "TimesNewRomanPSMT", "", false},
		{"arial", "ABCDEF+Arial,Bold", "", false},
		{"verdana", "Verdana", "", false},
		{"vinhan (not vni)", "Vinhan", "", false},
		{"vntex latex font", "VYSVTF+VnNimbusRomanNo9L", "", false},
		{"vntex typewriter", "ZDXNVS+VNTT12", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, caps := FontEncoding(tt.font)
			if enc != tt.enc || caps != tt.caps {
				t.Errorf("FontEncoding(%q) = %q, %v; want %q, %v", tt.font, enc, caps, tt.enc, tt.caps)
			}
		})
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"unicode vietnamese", "Báo cáo tình hình kinh tế xã hội sáu tháng đầu năm của tỉnh Bắc Giang", ""},
		{"english", "The committee reviewed the report on the budget and approved the plan for next year", ""},
		{"tcvn3 as windows-1252", "B¸o c¸o t×nh h×nh kinh tÕ x· héi s¸u th¸ng ®Çu n¨m cña tØnh B¾c Giang", TCVN3},
		{"vni as windows-1252", "Baùo caùo tình hình kinh teá xaõ hoäi saùu thaùng ñaàu naêm cuûa tænh Baéc Giang", VNI},
		{"too short", "B¸o c¸o", ""},
		{"french", "Le comité a examiné le rapport sur la sécurité et a approuvé le budget de l'année prochaine", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Detect(tt.text); got != tt.want {
				t.Errorf("Detect(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestValidSyllable(t *testing.T) {
	tests := []struct {
		name string
		word string
		want bool
	}{
		{"simple", "báo", true},
		{"gi onset", "giữa", true},
		{"gì", "gì", true},
		{"qu", "quốc", true},
		{"ngh", "nghiêng", true},
		{"uyê", "khuyến", true},
		{"ươ", "đường", true},
		{"capitals", "NGHĨA", true},
		{"oa", "hoạch", true},
		{"stop final with grave", "bàt", false},
		{"two tones", "báò", false},
		{"vni mojibake", "baùo", false},
		{"tcvn3 mojibake", "b¸o", false},
		{"english consonant cluster", "string", false},
		{"abbyy garbage", "Cc)NG", false},
		{"cyrillic", "НОА", false},
		{"digit inside", "h9i", false},
		{"ng final", "trong", true},
		{"ch after i", "thích", true},
		{"no vowel", "nhm", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidSyllable(tt.word); got != tt.want {
				t.Errorf("ValidSyllable(%q) = %v, want %v", tt.word, got, tt.want)
			}
		})
	}
}

func TestCount(t *testing.T) {
	st := Count("Cc)NG НОА ХА Hc)I CHU NGHiA у1~Т NАМ, ngày 12/5/2025")
	if st.Garbled < 4 || st.Words != 9 {
		t.Errorf("Count = %+v, want 9 words (the date is a number) and ≥ 4 garbled", st)
	}
	if share := Count("Ủy ban nhân dân tỉnh họp phiên thường kỳ").SyllableShare(); share != 1 {
		t.Errorf("SyllableShare of plain Vietnamese = %.2f, want 1", share)
	}
}
