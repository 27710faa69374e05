package article

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/html"
)

// vietnam returns Vietnam's time zone. Vietnam has kept UTC+07:00 without
// daylight saving since 1975, so when the system has no tzdata the fixed
// zone gives the same instants. The package does not embed time/tzdata:
// that choice (450 KB) belongs to the binary's main package.
func vietnam() *time.Location {
	if loc, err := time.LoadLocation("Asia/Ho_Chi_Minh"); err == nil {
		return loc
	}
	return time.FixedZone("ICT", 7*60*60)
}

// Vietnamese pages write dates day first: "15:34 01/12/2023",
// "01/12/2023 15:34", "Thứ Sáu, 01/12/2023 - 15:34", "15h34 ngày 1-12-2023".
// Up to 30 non-digits may separate the time from the date.
var (
	timeDateRe = regexp.MustCompile(`(?i)\b(\d{1,2})\s?[:hg]\s?(\d{2})(?::(\d{2}))?(?:\s*(am|pm)\b)?\D{0,30}?\b(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})\b`)
	dateTimeRe = regexp.MustCompile(`(?i)\b(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})\D{0,30}?\b(\d{1,2})\s?[:hg]\s?(\d{2})(?::(\d{2}))?(?:\s*(am|pm)\b)?`)
	dateRe     = regexp.MustCompile(`\b(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})\b`)
	isoRe      = regexp.MustCompile(`\b(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?`)
	// dateClassRe matches class or id names of date lines.
	dateClassRe = regexp.MustCompile(`(?i)date|time|ngay|publish|posted|created|thoigian|thoi-gian|meta|info|byline`)
)

// published returns the article's publication time: from its metadata, a
// <time> element, a date-classed element, else a short line of text that
// is a date. The element the date was read from is marked used.
func (p *page) published() time.Time {
	loc := vietnam()
	t := p.publishedIn(loc)
	if t.IsZero() {
		return t
	}
	return t.In(loc)
}

func (p *page) publishedIn(loc *time.Location) time.Time {
	for _, key := range [...]string{
		"article:published_time", "og:published_time", "datePublished",
		"pubdate", "publishdate", "publish-date", "publish_date",
		"dc.date.issued", "dcterms.issued", "dc.date", "date",
	} {
		if v := p.meta(key); v != "" {
			if t, ok := parseTime(v, loc); ok {
				return t
			}
		}
	}
	for _, n := range p.doc.Find("time, [itemprop=datePublished]").Nodes {
		if n.Data == "meta" || p.skipped(n) {
			continue
		}
		for _, v := range [...]string{attr(n, "datetime"), attr(n, "content"), text(n)} {
			if t, ok := parseTime(v, loc); ok && v != "" {
				p.used[n] = true
				return t
			}
		}
	}
	var found time.Time
	// A date-classed element first, then any short line with a date and a
	// time, then any short line that is only a date.
	for pass := range 3 {
		p.walkShort(func(n *html.Node, s string) bool {
			if pass == 0 && !dateClassRe.MatchString(attr(n, "class")+" "+attr(n, "id")) {
				return false
			}
			t, m, hasTime, ok := parseText(s, loc)
			if !ok || pass == 1 && !hasTime || pass == 2 && !onlyDate(s, m) || notPublication(s, m) {
				return false
			}
			p.used[innermost(n, m)] = true
			found = t
			return true
		})
		if !found.IsZero() {
			return found
		}
	}
	return time.Time{}
}

// walkShort calls f, in document order, with each element outside
// boilerplate whose text is at most 150 bytes and holds a four-digit
// number (a year), until f returns true.
func (p *page) walkShort(f func(*html.Node, string) bool) {
	var walk func(*html.Node) bool
	walk = func(n *html.Node) bool {
		if p.skip[n] {
			return false
		}
		if n.Type == html.ElementNode {
			if s, ok := shortText(n, 150); ok && hasYear(s) && f(n, clean(s)) {
				return true
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if walk(c) {
				return true
			}
		}
		return false
	}
	walk(p.root)
}

// hasYear reports whether s has four digits in a row: no date without one.
func hasYear(s string) bool {
	run := 0
	for i := 0; i < len(s); i++ {
		if '0' <= s[i] && s[i] <= '9' {
			if run++; run == 4 {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}

// innermost returns the deepest element under n whose text still holds m.
func innermost(n *html.Node, m string) *html.Node {
	for {
		next := (*html.Node)(nil)
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type == html.ElementNode && strings.Contains(clean(nodeText(c)), m) {
				next = c
				break
			}
		}
		if next == nil {
			return n
		}
		n = next
	}
}

// notPublication reports whether the label before date m in line s says
// it is some other date: when a decree takes effect or a deadline.
func notPublication(s, m string) bool {
	before, _, _ := strings.Cut(s, m)
	f := fold(before)
	for _, w := range [...]string{"hieu luc", "het han", "han chot", "thoi han", "ngay sinh", "den ngay", "truoc ngay"} {
		if strings.Contains(f, w) {
			return true
		}
	}
	return false
}

// onlyDate reports whether line s is just the date m with at most a
// weekday and a label such as "Ngày đăng:" or "Cập nhật:".
func onlyDate(s, m string) bool {
	rest := fold(strings.Replace(s, m, " ", 1))
	for _, w := range [...]string{
		"thu hai", "thu ba", "thu tu", "thu nam", "thu sau", "thu bay",
		"chu nhat", "ngay dang", "dang ngay", "ngay cap nhat", "cap nhat",
		"ngay xuat ban", "xuat ban", "ngay ban hanh", "ngay", "dang luc",
		"posted", "published", "date", "gmt+7", "(gmt+7)",
	} {
		rest = strings.ReplaceAll(rest, w, " ")
	}
	return countLetters(rest) <= 2
}

// parseTime parses a machine-readable timestamp (ISO 8601 in its common
// variants) or, failing that, a Vietnamese date line. Times without a zone
// are Vietnam time.
func parseTime(s string, loc *time.Location) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	for _, layout := range [...]string{
		time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05.999999999Z0700",
		"2006-01-02T15:04Z07:00", "2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05 -0700",
		time.RFC1123Z, time.RFC1123,
	} {
		if t, err := time.Parse(layout, s); err == nil && plausible(t) {
			return t, true
		}
	}
	for _, layout := range [...]string{
		"2006-01-02T15:04:05", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05",
		"2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02", "2006/01/02 15:04:05",
		"2006/01/02 15:04", "2006/01/02",
	} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil && plausible(t) {
			return t, true
		}
	}
	t, _, _, ok := parseText(s, loc)
	return t, ok
}

// parseText finds the first date in text s, with its time when one is
// written next to it. It returns the time, the matched text and whether
// a time of day was found.
func parseText(s string, loc *time.Location) (t time.Time, match string, hasTime, ok bool) {
	type cand struct {
		start int
		t     time.Time
		m     string
		timed bool
	}
	var best *cand
	consider := func(c cand) {
		if best == nil || c.start < best.start || c.start == best.start && c.timed && !best.timed {
			best = &c
		}
	}
	if m := timeDateRe.FindStringSubmatchIndex(s); m != nil {
		g := groups(s, m)
		if t, ok := mkTime(g[7], g[6], g[5], g[1], g[2], g[3], g[4], loc); ok {
			consider(cand{m[0], t, s[m[0]:m[1]], true})
		}
	}
	if m := dateTimeRe.FindStringSubmatchIndex(s); m != nil {
		g := groups(s, m)
		if t, ok := mkTime(g[3], g[2], g[1], g[4], g[5], g[6], g[7], loc); ok {
			consider(cand{m[0], t, s[m[0]:m[1]], true})
		}
	}
	if m := dateRe.FindStringSubmatchIndex(s); m != nil {
		g := groups(s, m)
		if t, ok := mkTime(g[3], g[2], g[1], "", "", "", "", loc); ok {
			consider(cand{m[0], t, s[m[0]:m[1]], false})
		}
	}
	if m := isoRe.FindStringSubmatchIndex(s); m != nil {
		g := groups(s, m)
		if t, ok := mkTime(g[1], g[2], g[3], g[4], g[5], g[6], "", loc); ok {
			consider(cand{m[0], t, s[m[0]:m[1]], g[4] != ""})
		}
	}
	if best == nil {
		return time.Time{}, "", false, false
	}
	return best.t, best.m, best.timed, true
}

// groups returns the submatches of m in s, "" for groups that did not
// take part.
func groups(s string, m []int) []string {
	g := make([]string, len(m)/2)
	for i := range g {
		if m[2*i] >= 0 {
			g[i] = s[m[2*i]:m[2*i+1]]
		}
	}
	return g
}

// mkTime builds a time from decimal strings, rejecting impossible dates
// ("31/02/2023") and years outside the web's.
func mkTime(year, month, day, hour, minute, second, ampm string, loc *time.Location) (time.Time, bool) {
	num := func(s string) int {
		n, err := strconv.Atoi(s)
		if err != nil {
			return 0
		}
		return n
	}
	y, mo, d := num(year), num(month), num(day)
	h, mi, se := num(hour), num(minute), num(second)
	switch strings.ToLower(ampm) {
	case "pm":
		if h < 12 {
			h += 12
		}
	case "am":
		if h == 12 {
			h = 0
		}
	}
	if mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, se, 0, loc)
	if t.Day() != d || !plausible(t) {
		return time.Time{}, false
	}
	return t, true
}

// plausible reports whether t can be when a web page was published.
func plausible(t time.Time) bool {
	return t.Year() >= 1990 && t.Year() <= 2100
}
