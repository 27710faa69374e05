package vnlegacy

// minWords is how many words a text needs before its statistics are
// trusted to call it legacy-encoded.
const minWords = 8

// Detect reports whether text, as a reader decoded it (Windows-1252 or
// Latin-1 for the legacy bytes), is TCVN3 or VNI mojibake, and returns the
// encoding, or "" when it reads better as it is. It decodes the text both
// ways and keeps the reading with clearly more valid Vietnamese syllables.
func Detect(text string) string {
	b, ok := Bytes(text)
	if !ok {
		return "" // has characters no legacy byte decodes to: Unicode already
	}
	return DetectBytes(b)
}

// DetectBytes is Detect for raw legacy bytes.
func DetectBytes(b []byte) string {
	asIs := Count(Decode(b, ""))
	if asIs.Words < minWords {
		return ""
	}
	best, bestScore := "", score(asIs)
	for _, enc := range []string{TCVN3, VNI} {
		st := Count(Decode(b, enc))
		if s := score(st); s > bestScore+0.1 && st.Marked*10 >= st.Words {
			best, bestScore = enc, s
		}
	}
	return best
}

func score(st Stats) float64 { return st.SyllableShare() }

// Repair converts text that Detect finds legacy-encoded and returns the
// converted text and the encoding, or text unchanged and "".
func Repair(text string) (string, string) {
	enc := Detect(text)
	if enc == "" {
		return text, ""
	}
	b, _ := Bytes(text)
	return Decode(b, enc), enc
}
