package extract

import (
	"bytes"
	"fmt"
	"strconv"
)

// maxRebuiltObjects bounds the cross-reference table rebuildXref writes.
const maxRebuiltObjects = 1 << 20

// repairEnvelope fixes, on a copy, the two things around a PDF's body that
// ledongthuc/pdf is strict about and other readers are not: the header
// must be "%PDF-1.0" to "%PDF-1.7" followed by a newline (it rejects
// "%PDF-2.0" and "%PDF-1.3 "), and the file must end with %%EOF (it rejects
// trailing junk such as NUL padding or an appended HTML error page).
func repairEnvelope(data []byte) ([]byte, []string) {
	var notes []string
	out := data
	copied := false
	own := func() {
		if !copied {
			out = bytes.Clone(data)
			copied = true
		}
	}
	if len(out) >= 9 {
		v := out[5:8]
		okVersion := v[0] == '1' && v[1] == '.' && v[2] >= '0' && v[2] <= '7'
		okEnd := out[8] == '\n' || out[8] == '\r'
		if !okVersion || !okEnd {
			own()
			notes = append(notes, fmt.Sprintf("header %q read as %%PDF-1.7", bytes.TrimRight(data[:min(len(data), 9)], "\r\n")))
			copy(out[5:8], "1.7")
			out[8] = '\n'
		}
	}
	if i := bytes.LastIndex(out, []byte("%%EOF")); i >= 0 {
		end := i + len("%%EOF")
		if rest := bytes.TrimRight(out[end:], "\r\n\t \x00"); len(rest) > 0 {
			notes = append(notes, fmt.Sprintf("ignored %d bytes after the last %%%%EOF", len(out)-end))
			out = out[:end]
		}
	}
	return out, notes
}

// breakXrefLoop follows the chain of cross-reference sections from the
// last startxref through their /Prev entries. If the chain loops, which
// makes ledongthuc/pdf read forever, it renames the /Prev that closes the
// loop (same length, so no offset moves) on a copy of data.
func breakXrefLoop(data []byte) ([]byte, string) {
	i := bytes.LastIndex(data, []byte("startxref"))
	if i < 0 {
		return data, ""
	}
	off, ok := readInt(data, i+len("startxref"))
	if !ok {
		return data, ""
	}
	seen := map[int]bool{}
	for steps := 0; steps < 10_000; steps++ {
		if off <= 0 || off >= len(data) {
			return data, ""
		}
		seen[off] = true
		pos, prev, ok := findPrev(data, off)
		if !ok {
			return data, ""
		}
		if seen[prev] {
			out := bytes.Clone(data)
			copy(out[pos:], "/Xrev")
			return out, fmt.Sprintf("cross-reference chain loops back to offset %d; the loop was cut", prev)
		}
		off = prev
	}
	return data, ""
}

// findPrev finds the /Prev entry of the cross-reference section at off: in
// the trailer dictionary after a classic table, or in the dictionary of a
// cross-reference stream.
func findPrev(data []byte, off int) (pos, prev int, ok bool) {
	sec := data[off:]
	var dict []byte
	base := off
	if bytes.HasPrefix(bytes.TrimLeft(sec, " \r\n\t"), []byte("xref")) {
		t := bytes.Index(sec, []byte("trailer"))
		if t < 0 {
			return 0, 0, false
		}
		base += t
		dict = sec[t:]
		if e := bytes.Index(dict, []byte("startxref")); e >= 0 {
			dict = dict[:e]
		}
	} else {
		dict = sec
		if e := bytes.Index(dict, []byte("stream")); e >= 0 {
			dict = dict[:e]
		}
	}
	p := bytes.Index(dict, []byte("/Prev"))
	if p < 0 {
		return 0, 0, false
	}
	prev, ok = readInt(dict, p+len("/Prev"))
	return base + p, prev, ok
}

// readInt reads the unsigned integer after optional white space at data[i:].
func readInt(data []byte, i int) (int, bool) {
	for i < len(data) && isPDFSpace(data[i]) {
		i++
	}
	j := i
	for j < len(data) && j-i < 12 && data[j] >= '0' && data[j] <= '9' {
		j++
	}
	n, err := strconv.Atoi(string(data[i:j]))
	return n, err == nil
}

// rebuildXref appends to a copy of data a fresh cross-reference table built
// by scanning for "N G obj", and a trailer pointing at the catalog, as
// pdftotext and qpdf do for files whose table is missing or wrong. Objects
// inside object streams cannot be found this way, so files that need them
// stay unreadable.
func rebuildXref(data []byte) ([]byte, bool) {
	type entry struct{ off, gen int }
	objs := map[int]entry{}
	maxNum := 0
	catalog := -1
	for i := 0; ; {
		k := bytes.Index(data[i:], []byte("obj"))
		if k < 0 {
			break
		}
		at := i + k
		i = at + 3
		if i < len(data) && !isPDFSpace(data[i]) && !bytes.ContainsRune([]byte("<[(/%"), rune(data[i])) {
			continue // "objstm", "object"
		}
		num, gen, start, ok := objHeader(data, at)
		if !ok || num <= 0 || num >= maxRebuiltObjects {
			continue
		}
		objs[num] = entry{start, gen} // the last definition wins, as with incremental updates
		maxNum = max(maxNum, num)
		end := bytes.Index(data[i:min(len(data), i+4096)], []byte("endobj"))
		if end < 0 {
			end = min(len(data)-i, 4096)
		}
		body := data[i : i+end]
		if t := bytes.Index(body, []byte("/Type")); t >= 0 {
			rest := bytes.TrimLeft(body[t+5:], " \r\n\t")
			if bytes.HasPrefix(rest, []byte("/Catalog")) {
				catalog = num
			}
		}
	}
	if catalog < 0 || len(objs) == 0 {
		return nil, false
	}
	root := fmt.Sprintf("%d %d R", catalog, objs[catalog].gen)

	var b bytes.Buffer
	b.Grow(len(data) + 20*(maxNum+1) + 256)
	b.Write(data)
	b.WriteString("\n")
	xrefAt := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n", maxNum+1)
	b.WriteString("0000000000 65535 f \n")
	for n := 1; n <= maxNum; n++ {
		if e, ok := objs[n]; ok {
			fmt.Fprintf(&b, "%010d %05d n \n", e.off, e.gen)
		} else {
			b.WriteString("0000000000 00000 f \n")
		}
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root %s", maxNum+1, root)
	if ref := lastRef(data, "/Info"); ref != "" {
		b.WriteString(" /Info " + ref)
	}
	if ref := lastRef(data, "/Encrypt"); ref != "" {
		b.WriteString(" /Encrypt " + ref)
		if id := lastArray(data, "/ID"); id != "" {
			b.WriteString(" /ID " + id)
		}
	}
	fmt.Fprintf(&b, " >>\nstartxref\n%d\n%%%%EOF\n", xrefAt)
	return b.Bytes(), true
}

// objHeader parses "N G " backwards from the "obj" keyword at at and
// returns the object number, generation and the offset of N.
func objHeader(data []byte, at int) (num, gen, start int, ok bool) {
	j := at
	back := func() (int, int, bool) { // digits ending before j, after white space
		for j > 0 && isPDFSpace(data[j-1]) {
			j--
		}
		end := j
		for j > 0 && end-j < 10 && data[j-1] >= '0' && data[j-1] <= '9' {
			j--
		}
		if j == end {
			return 0, 0, false
		}
		n, err := strconv.Atoi(string(data[j:end]))
		return n, j, err == nil
	}
	if j == 0 || !isPDFSpace(data[j-1]) {
		return 0, 0, 0, false
	}
	gen, _, ok = back()
	if !ok {
		return 0, 0, 0, false
	}
	num, start, ok = back()
	if !ok || (start > 0 && !isPDFSpace(data[start-1]) && data[start-1] != '>') {
		return 0, 0, 0, false
	}
	return num, gen, start, true
}

// lastRef returns the "N G R" after the last occurrence of key, or "".
func lastRef(data []byte, key string) string {
	i := bytes.LastIndex(data, []byte(key))
	if i < 0 {
		return ""
	}
	p := i + len(key)
	n, ok1 := readInt(data, p)
	for p < len(data) && isPDFSpace(data[p]) {
		p++
	}
	for p < len(data) && data[p] >= '0' && data[p] <= '9' {
		p++
	}
	g, ok2 := readInt(data, p)
	for p < len(data) && isPDFSpace(data[p]) {
		p++
	}
	for p < len(data) && data[p] >= '0' && data[p] <= '9' {
		p++
	}
	for p < len(data) && isPDFSpace(data[p]) {
		p++
	}
	if !ok1 || !ok2 || p >= len(data) || data[p] != 'R' {
		return ""
	}
	return fmt.Sprintf("%d %d R", n, g)
}

// lastArray returns the "[ … ]" after the last occurrence of key, or "".
func lastArray(data []byte, key string) string {
	i := bytes.LastIndex(data, []byte(key))
	if i < 0 {
		return ""
	}
	rest := bytes.TrimLeft(data[i+len(key):], " \r\n\t")
	if !bytes.HasPrefix(rest, []byte("[")) {
		return ""
	}
	e := bytes.IndexByte(rest, ']')
	if e < 0 || e > 512 {
		return ""
	}
	return string(rest[:e+1])
}
