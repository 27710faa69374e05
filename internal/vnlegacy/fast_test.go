package vnlegacy

import (
	"strings"
	"testing"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

func toneOfSlow(s string) (rune, string) {
	var tone rune
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		switch r {
		case grave, acute, tilde, hook, dotBelow:
			if tone != 0 {
				return -1, ""
			}
			tone = r
		default:
			b.WriteRune(r)
		}
	}
	return tone, norm.NFC.String(b.String())
}

func markedSlow(w string) bool {
	for _, r := range norm.NFD.String(strings.ToLower(w)) {
		if r == 'đ' || (r >= 0x300 && r <= 0x323) {
			return true
		}
	}
	return false
}

func TestFastPathsMatchSlow(t *testing.T) {
	var words []string
	for r := rune(0); r < 0x2100; r++ {
		if !unicode.IsPrint(r) {
			continue
		}
		words = append(words, string(r), "ng"+string(r)+"n", string(r)+"\u0301", "a"+string(r), string(r)+"ể")
	}
	words = append(words, strings.Fields("Hợp tác quốc tế nghiêng ngả Đường ĐẠI HỘI thế kỷ a\u0301 e\u0302\u0301 ươ ưở gìn")...)
	for _, w := range words {
		for _, s := range []string{w, strings.ToLower(w)} {
			t1, s1 := toneOf(s)
			t2, s2 := toneOfSlow(s)
			if t1 != t2 || s1 != s2 {
				t.Fatalf("toneOf(%q) = %q %q, slow %q %q", s, t1, s1, t2, s2)
			}
			if marked(s) != markedSlow(s) {
				t.Fatalf("marked(%q) = %v, slow %v", s, marked(s), markedSlow(s))
			}
		}
	}
}
