package extractive

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/bantin/bantin/internal/model"
	"github.com/bantin/bantin/internal/vntext"
)

// boilerPrefixes start lines that are form, not content, compared folded
// (lower case, no diacritics): recipients, signature blocks, legal bases,
// closing formulas, and the bylines and cross-links of news pages.
var boilerPrefixes = []string{
	"noi nhan", "kinh gui", "luu:", "luu vt", "- luu", "nhu tren", "- nhu tren",
	"(da ky", "da ky", "(ky", "ky ten", "nguoi ky", "thoi gian ky", "tm.", "t/m", "tm ", "kt.", "tl.",
	"tuq.", "q. chu tich", "v/v", "can cu ", "tren day la", "kinh trinh", "tran trong",
	"email:", "e-mail:", "dien thoai:", "dt:", "website:", "fax:", "xem them", "nguon:", "anh:",
	"doc them", "video:", "clip:",
}

var (
	// docNumber is a document number line: "Số: 125/BC-UBND".
	docNumber = regexp.MustCompile(`^so\s*:?\s*[0-9]*\s*/?\s*[0-9a-z]*[-/]`)
	// placeDate is a place-date line: "Bắc Giang, ngày 01 tháng 12 năm 2023",
	// also with the day and month left blank in drafts.
	placeDate = regexp.MustCompile(`^([^,]{1,40},\s*)?ngay\s*[0-9.…_ ]*\s*thang\s*[0-9.…_ ]*\s*nam\s*[0-9]{4}\s*[.;]?$`)
	// listMarker is list numbering or a bullet at the start of a sentence.
	listMarker = regexp.MustCompile(`^\s*(?:[-+•–—*·▪●○◦■□✓❖➢►]+\s*|(?:\d{1,3}(?:\.\d{1,3})*|[IVXLC]{1,5}|[a-zđ])[.)]\s+)`)
)

// isBoilerplate reports whether a sentence is part of a document's form:
// the national motto, the document number, the place-date line,
// recipients, signature blocks, tables of contents and the like.
func isBoilerplate(raw string) bool {
	f := strings.TrimSpace(vntext.Fold(raw))
	switch {
	case strings.Contains(raw, ".....") || strings.Contains(raw, "……") || strings.Contains(raw, "_____"):
		return true // a table of contents with dot leaders, or a form to fill in
	case strings.Contains(f, "cong hoa xa hoi chu nghia viet nam"),
		strings.Contains(f, "doc lap") && strings.Contains(f, "tu do") && strings.Contains(f, "hanh phuc"),
		strings.HasPrefix(f, "dang cong san viet nam") && len(f) < 40,
		placeDate.MatchString(f):
		return true
	case docNumber.MatchString(f) && len(vntext.Syllables(f)) <= 12:
		return true
	}
	for _, p := range boilerPrefixes {
		if strings.HasPrefix(f, p) {
			return true
		}
	}
	return false
}

// isHeading reports whether a sentence is a heading or an introduction to
// what follows rather than a statement: all capitals, a short line or one
// "như sau" ending with a colon, or short with no final punctuation.
func isHeading(raw string) bool {
	if allCaps(raw) {
		return true
	}
	s := strings.TrimRight(raw, "\"”’)]» ")
	last, _ := utf8.DecodeLastRuneInString(s)
	switch {
	case last == ':':
		// "… báo cáo như sau:" only announces what follows; a long line
		// such as "Đồng chí …, Chủ tịch UBND tỉnh chủ trì và kết luận:"
		// still says who decided, and is kept.
		return len(vntext.Syllables(raw)) < 15 || strings.Contains(vntext.Fold(raw), "nhu sau")
	case strings.ContainsRune(".!?…;", last):
		return false
	}
	return len(vntext.Syllables(raw)) < 12
}

// allCaps reports whether s has at least two letters and none in lower case.
func allCaps(s string) bool {
	letters := 0
	for _, r := range s {
		if unicode.IsLower(r) {
			return false
		}
		if unicode.IsLetter(r) {
			letters++
		}
	}
	return letters >= 2
}

// docTypes begin the title block of Vietnamese administrative documents
// (folded).
var docTypes = []string{
	"bao cao", "ket luan", "thong bao", "nghi quyet", "quyet dinh", "to trinh", "ke hoach",
	"chi thi", "chuong trinh", "de an", "huong dan", "bien ban", "thong cao", "cong van",
	"du thao", "tong ket", "luat ", "nghi dinh", "thong tu", "phap lenh",
}

// title finds the document's own title: the all-caps document type line
// ("BÁO CÁO", "THÔNG BÁO KẾT LUẬN") and the lines that continue it, in
// sentence case. Reports without one get r.Title().
func title(r *model.Report) string {
	lines := headLines(r.Paragraphs, 30)
	for i, l := range lines {
		f := vntext.Fold(l)
		typeSyl := 0
		for _, t := range docTypes {
			if strings.HasPrefix(f, t) {
				typeSyl = len(strings.Fields(t))
			}
		}
		if typeSyl == 0 || !allCaps(l) {
			continue
		}
		parts := []string{l}
		for _, next := range lines[i+1:] {
			if len(parts) == 4 || !continuesTitle(next) {
				break
			}
			parts = append(parts, next)
		}
		t := joinTitle(parts)
		if len(vntext.Syllables(t)) <= typeSyl {
			break // "Báo cáo" alone says nothing
		}
		return t
	}
	return r.Title()
}

// headLines returns the first n non-empty lines of the paragraphs, trimmed
// and with white space collapsed.
func headLines(paras []model.Paragraph, n int) []string {
	var out []string
	for _, p := range paras {
		for l := range strings.SplitSeq(p.Text, "\n") {
			l = strings.Join(strings.Fields(l), " ")
			if l == "" {
				continue
			}
			if out = append(out, l); len(out) == n {
				return out
			}
		}
	}
	return out
}

// continuesTitle reports whether a line after the document type is still
// part of the title.
func continuesTitle(l string) bool {
	f := vntext.Fold(l)
	if isBoilerplate(l) || listMarker.MatchString(l) || strings.HasPrefix(f, "thuc hien") || strings.HasPrefix(f, "so ") {
		return false
	}
	syl := vntext.Syllables(l)
	if len(syl) == 0 || len(syl) > 30 {
		return false
	}
	last, _ := utf8.DecodeLastRuneInString(l)
	return !strings.ContainsRune(".:;!?", last)
}

// acronyms keep their capitals when a title is put in sentence case.
var acronyms = map[string]bool{
	"UBND": true, "HĐND": true, "MTTQ": true, "GRDP": true, "GDP": true, "FDI": true, "ODA": true,
	"USD": true, "CP": true, "NQ": true, "TW": true, "TU": true, "BCH": true, "KT-XH": true,
	"ĐBQH": true, "OCOP": true, "PCI": true, "PAPI": true, "SIPAS": true, "THPT": true, "THCS": true,
	"BHXH": true, "BHYT": true, "CNTT": true, "COVID-19": true, "TP": true, "TX": true, "KCN": true,
	"CCN": true, "NTM": true, "ĐTM": true, "PCCC": true, "ATGT": true, "XHCN": true, "VN": true,
	"HTX": true, "QĐ": true, "TTg": true, "BC": true, "KH": true, "TB": true, "CT": true,
}

// properPhrases are capitalised inside sentence-case titles.
var properPhrases = [][]string{
	{"Việt", "Nam"}, {"Đảng"}, {"Tỉnh", "ủy"}, {"Tỉnh", "uỷ"}, {"Thành", "ủy"}, {"Thành", "uỷ"},
	{"Huyện", "ủy"}, {"Huyện", "uỷ"}, {"Quốc", "hội"}, {"Chính", "phủ"}, {"Ban", "Chấp", "hành"},
	{"Hội", "đồng", "nhân", "dân"}, {"Ủy", "ban", "nhân", "dân"}, {"Uỷ", "ban", "nhân", "dân"},
	{"Mặt", "trận", "Tổ", "quốc"}, {"Bộ", "Chính", "trị"}, {"Ban", "Thường", "vụ"},
	{"Hồ", "Chí", "Minh"}, {"Nhà", "nước"}, {"Thường", "trực"},
}

// adminWords are followed by a place name: "tỉnh Bắc Giang", "thành phố
// Bắc Giang", "Tỉnh ủy Bắc Giang".
var adminWords = map[string]bool{
	"tỉnh": true, "huyện": true, "xã": true, "phường": true, "quận": true, "trấn": true,
	"phố": true, "tp": true, "ủy": true, "uỷ": true,
}

// adminBefore is the word that must precede an ambiguous admin word.
var adminBefore = map[string]string{"phố": "thành", "trấn": "thị"}

// notName words cannot start or continue a place name after adminWords.
var notName = map[string]bool{
	"năm": true, "tháng": true, "ngày": true, "về": true, "trong": true, "của": true, "và": true,
	"với": true, "đến": true, "giai": true, "đoạn": true, "khóa": true, "khoá": true, "lần": true,
	"kỳ": true, "nhiệm": true, "thứ": true, "tại": true, "các": true, "những": true, "đã": true,
	"sẽ": true, "hiện": true, "nay": true, "ban": true, "nhân": true, "dân": true, "ủy": true,
	"uỷ": true, "đoàn": true, "quý": true, "đầu": true, "cuối": true, "trên": true, "địa": true,
	"bàn": true, "là": true, "hội": true, "có": true, "được": true, "như": true, "nhằm": true,
}

// joinTitle joins title lines into one sentence-case title: all-caps lines
// are lowered, keeping acronyms, Roman numerals, proper phrases and place
// names after "tỉnh", "huyện"…; mixed-case lines are kept, their first word
// lowered when it is an ordinary capitalised word.
func joinTitle(parts []string) string {
	var toks []string
	for i, p := range parts {
		fields := strings.Fields(p)
		caps := allCaps(p)
		for j, tok := range fields {
			switch {
			case caps:
				tok = lowerToken(tok)
			case i > 0 && j == 0 && isOrdinaryCapitalised(tok):
				tok = strings.ToLower(tok)
			}
			toks = append(toks, tok)
		}
	}
	restoreProper(toks)
	if len(toks) == 0 {
		return ""
	}
	r, size := utf8.DecodeRuneInString(toks[0])
	toks[0] = string(unicode.ToUpper(r)) + toks[0][size:]
	return strings.Join(toks, " ")
}

// core returns a token without surrounding punctuation, and where it is.
func core(tok string) (string, int, int) {
	start := strings.IndexFunc(tok, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) })
	if start < 0 {
		return "", 0, 0
	}
	end := strings.LastIndexFunc(tok, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) })
	_, size := utf8.DecodeRuneInString(tok[end:])
	return tok[start : end+size], start, end + size
}

func lowerToken(tok string) string {
	c, _, _ := core(tok)
	if acronyms[c] || (len(c) >= 2 && strings.Trim(c, "IVXLC") == "") || strings.ContainsAny(c, "0123456789") {
		return tok
	}
	return strings.ToLower(tok)
}

// isOrdinaryCapitalised reports whether tok is a capitalised ordinary word
// ("Tình"), not an acronym ("GRDP") nor part of a proper phrase.
func isOrdinaryCapitalised(tok string) bool {
	c, _, _ := core(tok)
	r, size := utf8.DecodeRuneInString(c)
	if !unicode.IsUpper(r) || (allCaps(c) && utf8.RuneCountInString(c) > 1) {
		return false
	}
	for _, ph := range properPhrases {
		if ph[0] == c {
			return false
		}
	}
	return c[size:] == strings.ToLower(c[size:])
}

// restoreProper capitalises proper phrases and place names in lowered
// title tokens.
func restoreProper(toks []string) {
	for i := 0; i < len(toks); i++ {
		for _, ph := range properPhrases {
			if i+len(ph) > len(toks) {
				continue
			}
			match := true
			for k, w := range ph {
				c, _, _ := core(toks[i+k])
				if strings.ToLower(c) != strings.ToLower(w) {
					match = false
					break
				}
			}
			if match {
				for k, w := range ph {
					c, s, e := core(toks[i+k])
					if c != "" {
						toks[i+k] = toks[i+k][:s] + w + toks[i+k][e:]
					}
				}
			}
		}
	}
	for i := 0; i < len(toks); i++ {
		c, _, e := core(toks[i])
		lc := strings.ToLower(c)
		if !adminWords[lc] || e < len(toks[i]) {
			continue
		}
		if before := adminBefore[lc]; before != "" && (i == 0 || strings.ToLower(toks[i-1]) != before) {
			continue // "phố" names a place only in "thành phố"
		}
		for k := i + 1; k < len(toks) && k <= i+2; k++ {
			c, s, e := core(toks[k])
			if c == "" || notName[strings.ToLower(c)] || strings.ContainsAny(c, "0123456789") {
				break
			}
			r, size := utf8.DecodeRuneInString(c)
			tok := toks[k]
			toks[k] = tok[:s] + string(unicode.ToUpper(r)) + c[size:] + tok[e:]
			if e < len(tok) {
				break // punctuation ends the name: "tỉnh Bắc Giang,"
			}
		}
	}
}
