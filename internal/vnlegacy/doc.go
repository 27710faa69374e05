// Package vnlegacy converts Vietnamese text typed in the pre-Unicode font
// encodings that many provincial reports still use, TCVN3 (TCVN 5712:1993,
// table VN3, the ".VnTime"/".VnArial" fonts, also called ABC) and VNI
// Windows (the "VNI-Times" fonts), to NFC Unicode, and tells such text
// apart from Unicode text: by the font name when there is one, by the
// text's own syllable statistics when there is not.
//
// It also has a compact validator of Vietnamese syllables (onset, rhyme and
// tone rules), used both to detect legacy text and to judge the quality of
// an extracted text layer.
package vnlegacy
