package vnlegacy

import (
	"testing"
	"unicode/utf8"
)

// FuzzDecode feeds arbitrary bytes to the legacy-encoding converter in each
// encoding: it must not panic and must return valid UTF-8.
func FuzzDecode(f *testing.F) {
	f.Add([]byte("B\xb8o c\xb8o k\xd5t qu\xb6"), TCVN3)
	f.Add([]byte("Baùo caùo keát quaû"), VNI)
	f.Add([]byte{0x00, 0xff, 0x80, 0xc3}, "")
	f.Fuzz(func(t *testing.T, b []byte, enc string) {
		for _, e := range []string{TCVN3, VNI, enc} {
			if s := Decode(b, e); !utf8.ValidString(s) {
				t.Fatalf("Decode(%q, %q) is not UTF-8: %q", b, e, s)
			}
		}
	})
}

// FuzzRepair checks Repair on arbitrary text: valid UTF-8 out, and an
// encoding named only when the text was changed.
func FuzzRepair(f *testing.F) {
	f.Add("B¸o c¸o kÕt qu¶ thùc hiÖn")
	f.Add("Baùo caùo keát quaû thöïc hieän")
	f.Add("Báo cáo kết quả thực hiện nhiệm vụ năm 2023")
	f.Add("\xff\xfe")
	f.Fuzz(func(t *testing.T, text string) {
		out, enc := Repair(text)
		if utf8.ValidString(text) && !utf8.ValidString(out) {
			t.Fatalf("Repair(%q) = %q, not UTF-8", text, out)
		}
		if enc == "" && out != text {
			t.Fatalf("Repair changed %q to %q without naming an encoding", text, out)
		}
		if enc != "" && enc != TCVN3 && enc != VNI {
			t.Fatalf("Repair named unknown encoding %q", enc)
		}
	})
}
