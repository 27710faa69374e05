package vntext

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/bantin/bantin/internal/model"
)

// Figures returns the figures in text, in order of appearance, one per
// occurrence: numbers with a unit ("13,45%", "181,9 nghìn tỷ đồng", "3,2 tỷ
// USD", "1.200 ha", "4.500 lao động", "1,5 lần", "4,5 triệu
// đồng/người/tháng") and plain large counts ("32.100"). Text is the exact
// substring of text (the number and its unit); Value is the number parsed by
// ParseNumber, without the multiplier applied ("181,9 nghìn tỷ đồng" has
// Value 181.9 and Unit "nghìn tỷ đồng"); Unit is the unit phrase as written,
// with its white space collapsed, and empty for plain counts.
//
// Unit words are matched in lower case only, abbreviations ("USD", "MW",
// "kWh") in any case. A unit may be on the line after its number, since PDF
// text wraps anywhere (Text then holds the line break verbatim), unless the
// number stands alone on its line, like a page number.
//
// Not figures: dates ("01/12/2023", "ngày 5", "tháng 11", "năm 2023"),
// times ("15:34", "23h"), years alone ("2023"), document numbers ("Số
// 125/BC-UBND", "30-NQ/TW", "Điều 5", "khoản 2", "Kỳ họp thứ 15"), list
// numbering ("1.", "a)"), codes glued to letters ("COVID-19", "F0"), ranges
// joined by a hyphen ("5-7%"), and small numbers without a unit. A sign is
// not part of the figure: "giảm 2,5%" and "-2,5%" both give "2,5%", Value 2.5.
func Figures(text string) []model.Figure {
	var out []model.Figure
	for i := 0; i < len(text); {
		k := strings.IndexFunc(text[i:], func(r rune) bool { return r >= '0' && r <= '9' })
		if k < 0 {
			break
		}
		start := i + k
		f, next, ok := figureAt(text, start)
		if ok {
			out = append(out, f)
		}
		i = next
	}
	return out
}

// FiguresIn returns the figures of the paragraphs, in order, each with the
// page of its paragraph. A figure whose Text was already found is dropped, so
// each Text appears once, with the first page it is on.
func FiguresIn(paras []model.Paragraph) []model.Figure {
	var out []model.Figure
	seen := make(map[string]bool)
	for _, p := range paras {
		for _, f := range Figures(p.Text) {
			if seen[f.Text] {
				continue
			}
			seen[f.Text] = true
			f.Page = p.Page
			out = append(out, f)
		}
	}
	return out
}

// figureAt tries to read a figure whose number starts at text[start], a
// digit. next is where scanning should resume.
func figureAt(text string, start int) (f model.Figure, next int, ok bool) {
	// The number: digits, with '.' or ',' only between digits.
	end := start
	for end < len(text) && (isASCIIDigit(text[end]) ||
		((text[end] == '.' || text[end] == ',') && end+1 < len(text) && isASCIIDigit(text[end+1]))) {
		end++
	}
	next = end
	num := text[start:end]
	if !numberBoundaryBefore(text, start) || !numberBoundaryAfter(text, end) {
		return f, next, false
	}
	v, grouped, ok := parseNumber(num)
	if !ok {
		return f, next, false
	}
	prev := strings.ToLower(wordBefore(text, start))
	if referenceWords[prev] {
		return f, next, false
	}
	unitStart, unitEnd, hasUnit := matchUnit(text, end)
	if hasUnit && strings.ContainsFunc(text[end:unitStart], isLineBreak) && startsLine(text, start) {
		hasUnit = false // a page number alone on its line, then the next line
	}
	if !hasUnit {
		// A plain count: large enough to matter, not a year, not a code.
		if prev == "số" || num[0] == '0' || v < 1000 || (!grouped && len(num) == 4 && v <= 2100) {
			return f, next, false
		}
		if p, _ := utf8.DecodeLastRuneInString(text[:start]); p == '-' || p == '–' {
			return f, next, false // "NN -7719": a plate or code
		}
		return model.Figure{Text: num, Value: v}, next, true
	}
	if len(num) > 1 && num[0] == '0' && !strings.ContainsAny(num, ".,") && len(num) > 3 {
		return f, next, false // a phone number or code, not "05 dự án"
	}
	return model.Figure{
		Text:  text[start:unitEnd],
		Value: v,
		Unit:  collapseSpace(text[unitStart:unitEnd]),
	}, unitEnd, true
}

// numberBoundaryBefore reports whether a number may start at text[start]:
// not glued to a word or code ("F0", "COVID-19", "30-NQ/TW", "TP.5"), not the
// second half of a date, time or fraction ("1/12", "15:34").
func numberBoundaryBefore(text string, start int) bool {
	if start == 0 {
		return true
	}
	p, size := utf8.DecodeLastRuneInString(text[:start])
	switch {
	case unicode.IsLetter(p), unicode.IsDigit(p), unicode.Is(unicode.Mn, p):
		return false
	case p == '/', p == ':', p == '_', p == '#', p == '№', p == '\\', p == '@', p == '^':
		return false
	case p == '.', p == ',', p == '-', p == '–', p == '‐':
		pp, _ := utf8.DecodeLastRuneInString(text[:start-size])
		return !(unicode.IsLetter(pp) || unicode.IsDigit(pp) || pp == '.' || pp == '/')
	}
	return true
}

// numberBoundaryAfter reports whether the number ending at text[end] is not
// the first part of a date, time, range, fraction or code ("1/12", "15:34",
// "5-7", "30-NQ", "15h30").
func numberBoundaryAfter(text string, end int) bool {
	if end == len(text) {
		return true
	}
	r, size := utf8.DecodeRuneInString(text[end:])
	switch r {
	case '/', '\\', '_', '@':
		return false
	case ':', '-', '–', '‐', '.', ',':
		n, _ := utf8.DecodeRuneInString(text[end+size:])
		return !(unicode.IsDigit(n) || unicode.IsLetter(n))
	}
	if unicode.IsDigit(r) {
		return false
	}
	if unicode.IsLetter(r) {
		// Only a unit may be glued to the number: "35km", "500đ", "12ha".
		_, _, ok := matchUnit(text, end)
		return ok
	}
	return true
}

// startsLine reports whether only horizontal white space precedes
// text[start] on its line.
func startsLine(text string, start int) bool {
	for i := start; i > 0; {
		r, size := utf8.DecodeLastRuneInString(text[:i])
		if isLineBreak(r) {
			return true
		}
		if !isHSpace(r) && r != '\r' {
			return false
		}
		i -= size
	}
	return true
}

// wordBefore returns the word (letters only) just before text[start],
// skipping white space and a colon or opening bracket: "năm" for "năm
// 2023", "Số" for "Số: 125".
func wordBefore(text string, start int) string {
	i := start
	for i > 0 {
		r, size := utf8.DecodeLastRuneInString(text[:i])
		if !(unicode.IsSpace(r) || r == ':' || r == '(') {
			break
		}
		i -= size
	}
	end := i
	for i > 0 {
		r, size := utf8.DecodeLastRuneInString(text[:i])
		if !(unicode.IsLetter(r) || unicode.Is(unicode.Mn, r)) {
			break
		}
		i -= size
	}
	return text[i:end]
}

// referenceWords, just before a number, make it a date, an ordinal, a
// reference to part of a document, an address or a time, never a figure.
var referenceWords = map[string]bool{
	"năm": true, "tháng": true, "ngày": true, "giờ": true, "lúc": true, "quý": true,
	"điều": true, "khoản": true, "điểm": true, "chương": true, "mục": true, "phần": true,
	"lục": true, "tiết": true, "thứ": true, "khóa": true, "khoá": true, "kỳ": true, "đợt": true,
	"lần": true, "vòng": true, "cấp": true, "tầng": true, "phòng": true, "lô": true,
	"quận": true, "phường": true, "thôn": true, "ấp": true, "xóm": true, "tổ": true, "khu": true,
	"km": true, "ql": true, "lộ": true, "đường": true, "ngõ": true, "ngách": true, "hẻm": true,
	"nhà": true, "kiệt": true, "đội": true, "nhóm": true, "loại": true, "hạng": true, "top": true,
	"sn": true, "bks": true, "mã": true, "hiệu": true, "version": true, "phiên": true,
	"luật": true, "covid": true, "quyết": true, "định": true, "cáo": true, "luận": true,
}

// Unit phrases, lower case; a space matches any run of horizontal white
// space. Each list is tried longest first.
var (
	multiplierUnits = longestFirst([]string{
		"nghìn tỷ", "ngàn tỷ", "nghìn tỉ", "ngàn tỉ", "triệu tỷ",
		"trăm nghìn", "trăm ngàn", "chục nghìn", "chục ngàn",
		"nghìn", "ngàn", "triệu", "tỷ", "tỉ",
	})
	baseUnits = longestFirst([]string{
		// money
		"đồng", "đ", "vnđ", "vnd", "usd", "đô la mỹ", "đô la", "euro", "eur", "yên",
		"nhân dân tệ", "bảng anh",
		// area, length, volume, mass, energy
		"ha", "héc-ta", "hécta", "hecta", "km2", "km²", "km", "ki-lô-mét", "kilômét", "m2", "m²", "m3", "m³",
		"m", "mét vuông", "mét khối", "mét", "cm", "mm", "kg", "kilôgam", "ki-lô-gam", "kilogam",
		"tấn", "tạ", "yến", "lít",
		"mw", "mwh", "mwp", "kw", "kwh", "kwp", "gw", "gwh", "kv", "mva", "°c", "độ c", "teu",
		"sào", "mẫu", "gam", "gram",
		// people, organisations, places, things counted in reports
		"lao động", "việc làm", "doanh nghiệp", "dự án", "công trình", "hạng mục",
		"lượt khách", "lượt người", "lượt", "khách", "du khách",
		"hộ gia đình", "hộ nghèo", "hộ cận nghèo", "hộ", "nhân khẩu", "người", "người dân",
		"xã", "phường", "thị trấn", "huyện", "thôn", "bản", "tổ dân phố", "khu dân cư",
		"hợp tác xã", "tổ hợp tác", "cơ sở", "chi nhánh", "đơn vị", "tổ chức", "cơ quan",
		"trường", "trường học", "lớp", "học sinh", "sinh viên", "giáo viên", "thí sinh",
		"bệnh nhân", "giường bệnh", "giường", "ca", "ca mắc", "trường hợp", "bệnh viện", "trạm y tế",
		"vụ", "vụ việc", "vụ án", "đối tượng", "bị can", "bị cáo",
		"cán bộ", "công chức", "viên chức", "đảng viên", "hội viên", "đoàn viên", "chi bộ",
		"đại biểu", "thành viên", "lao động nông thôn",
		"căn hộ", "căn nhà", "căn", "ngôi nhà", "nhà", "phòng", "con", "cây", "chiếc", "xe",
		"ô tô", "xe máy", "phương tiện", "tàu", "chuyến", "chuyến bay",
		"sản phẩm", "sản phẩm ocop", "tiêu chí", "chỉ tiêu", "mô hình", "hồ sơ", "thủ tục",
		"thủ tục hành chính", "văn bản", "cuộc", "cuộc họp", "buổi", "tin", "bài", "ý kiến",
		"kiến nghị", "đơn", "giấy phép", "suất", "phần quà", "suất quà", "cổ phần", "cổ phiếu",
		"tuổi", "lần", "điểm", "bậc",
	})
)

// foldUnits are abbreviations matched in any case ("USD", "usd", "Kwh");
// unit words are matched in lower case only, so that "4.1 Cơ sở" (a section
// number and its heading) is not "4,1 cơ sở".
var foldUnits = map[string]bool{
	"usd": true, "vnđ": true, "vnd": true, "eur": true, "euro": true, "mw": true, "mwh": true,
	"mwp": true, "kw": true, "kwh": true, "kwp": true, "gw": true, "gwh": true, "kv": true,
	"mva": true, "teu": true, "km": true, "km2": true, "km²": true, "kg": true, "°c": true,
}

// perMax is how many "/unit" parts may follow a unit: "đồng/người/tháng".
const perMax = 3

func longestFirst(units []string) []string {
	out := slices.Clone(units)
	slices.SortStableFunc(out, func(a, b string) int {
		return utf8.RuneCountInString(b) - utf8.RuneCountInString(a)
	})
	return out
}

// isHSpace reports whether r is white space within a line.
func isHSpace(r rune) bool { return unicode.IsSpace(r) && !isLineBreak(r) && r != '\r' }

// matchUnit reads the unit after a number ending at text[end]: '%', a
// multiplier ("nghìn tỷ"), a unit ("đồng", "ha", "lao động"), or a multiplier
// and a unit ("triệu đồng", "nghìn lượt khách"), then "/unit" parts
// ("đồng/người/tháng"). It returns where the unit starts and ends.
func matchUnit(text string, end int) (uStart, uEnd int, ok bool) {
	p := skipGap(text, end)
	if p-end > 8 { // a gap, not a space
		return 0, 0, false
	}
	if p < len(text) && (text[p] == '%' || strings.HasPrefix(text[p:], "‰")) {
		_, size := utf8.DecodeRuneInString(text[p:])
		return p, p + size, true
	}
	if r, _ := utf8.DecodeRuneInString(text[p:]); !unicode.IsLetter(r) && r != '°' {
		return 0, 0, false
	}
	if e, ok := matchPhrase(text, p, "phần trăm", false); ok {
		return p, e, true
	}
	uEnd = -1
	if e, ok := matchAny(text, p, multiplierUnits); ok {
		uEnd = e
		if q := skipGap(text, e); q > e {
			if e2, ok := matchAny(text, q, baseUnits); ok {
				uEnd = e2
			}
		}
	} else if e, ok := matchAny(text, p, baseUnits); ok {
		uEnd = e
	}
	if uEnd < 0 {
		return 0, 0, false
	}
	if r, _ := utf8.DecodeRuneInString(text[uEnd:]); r == ')' && utf8.RuneCountInString(text[p:uEnd]) == 1 {
		return 0, 0, false // "9 đ) Thanh tra …": a list letter, not đồng
	}
	// "/người/tháng", "/kg", "/ha": per-unit parts made of letters.
	for n := 0; n < perMax && uEnd < len(text) && text[uEnd] == '/'; n++ {
		q := uEnd + 1
		for q < len(text) {
			r, size := utf8.DecodeRuneInString(text[q:])
			if !(unicode.IsLetter(r) || unicode.Is(unicode.Mn, r) || (q > uEnd+1 && unicode.IsDigit(r))) {
				break
			}
			q += size
		}
		if q == uEnd+1 || q-uEnd > 24 {
			break
		}
		if q < len(text) {
			if r, _ := utf8.DecodeRuneInString(text[q:]); unicode.IsDigit(r) || r == '-' {
				break
			}
		}
		uEnd = q
	}
	return p, uEnd, true
}

func matchAny(text string, p int, phrases []string) (int, bool) {
	for _, ph := range phrases {
		if e, ok := matchPhrase(text, p, ph, foldUnits[ph]); ok {
			return e, true
		}
	}
	return 0, false
}

// skipGap skips the white space between a number and its unit, or between
// the words of a unit: spaces and at most one line break, since extracted
// PDF text wraps lines anywhere ("từ 100.000.000\nđồng").
func skipGap(text string, p int) int {
	breaks := 0
	for p < len(text) {
		r, size := utf8.DecodeRuneInString(text[p:])
		switch {
		case isHSpace(r) || r == '\r':
		case isLineBreak(r) && breaks == 0:
			breaks++
		default:
			return p
		}
		p += size
	}
	return p
}

// matchPhrase matches the lower-case phrase at text[p:], in any case when
// fold is set, with a space in the phrase matching the white space that
// skipGap skips. The match must end at a word boundary. It returns where
// the match ends.
func matchPhrase(text string, p int, phrase string, fold bool) (int, bool) {
	i := p
	for _, pr := range phrase {
		if i >= len(text) {
			return 0, false
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		if pr == ' ' {
			j := skipGap(text, i)
			if j == i {
				return 0, false
			}
			i = j
			continue
		}
		if fold {
			r = unicode.ToLower(r)
		}
		if r != pr {
			return 0, false
		}
		i += size
	}
	if i < len(text) {
		r, _ := utf8.DecodeRuneInString(text[i:])
		if unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || r == '²' || r == '³' {
			return 0, false
		}
		if r == '-' || r == '‐' {
			// "xã-phường" is not a unit boundary; "ha - " is.
			if n, _ := utf8.DecodeRuneInString(text[i+1:]); unicode.IsLetter(n) {
				return 0, false
			}
		}
	}
	return i, true
}
