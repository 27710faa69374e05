package extract

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
)

// fixTrailerSize finds a classic cross-reference table whose trailer
// /Size is smaller than the table: poppler's pdfunite writes the number of
// objects there, not the highest object number plus one, and ledongthuc/pdf
// cuts the table at /Size, so the catalog and most pages vanish. It returns
// data read with the right /Size (the bytes are not copied: the new number
// is spliced in, and nothing after the trailer is addressed by offset) and
// a note, or ok false when the file has no such table or a /Prev chain.
func fixTrailerSize(data []byte) (r io.ReaderAt, size int64, note string, ok bool) {
	i := bytes.LastIndex(data, []byte("startxref"))
	if i < 0 {
		return nil, 0, "", false
	}
	off, ok := readInt(data, i+len("startxref"))
	if !ok || off <= 0 || off >= i {
		return nil, 0, "", false
	}
	p := off
	skipSpace := func() {
		for p < len(data) && isPDFSpace(data[p]) {
			p++
		}
	}
	if !bytes.HasPrefix(data[p:], []byte("xref")) {
		return nil, 0, "", false // a cross-reference stream: /Size is read as written
	}
	p += len("xref")
	end := 0 // highest object number in the table, plus one
	for sections := 0; ; sections++ {
		skipSpace()
		if bytes.HasPrefix(data[p:], []byte("trailer")) {
			break
		}
		if sections > 100_000 {
			return nil, 0, "", false
		}
		first, ok1 := readInt(data, p)
		p = skipDigits(data, p)
		count, ok2 := readInt(data, p)
		p = skipDigits(data, p)
		if !ok1 || !ok2 || count < 0 || count > maxRebuiltObjects {
			return nil, 0, "", false
		}
		skipSpace()
		// Entries are 20 bytes each; check the next subsection or the
		// trailer follows, else give up.
		next := p + 20*count
		if next > i {
			return nil, 0, "", false
		}
		if count > 0 && !bytes.HasSuffix(bytes.TrimRight(data[p:next], " \r\n"), []byte("n")) && !bytes.HasSuffix(bytes.TrimRight(data[p:next], " \r\n"), []byte("f")) {
			return nil, 0, "", false
		}
		p = next
		end = max(end, first+count)
	}
	trailer := data[p:i]
	if bytes.Contains(trailer, []byte("/Prev")) {
		return nil, 0, "", false
	}
	s := bytes.Index(trailer, []byte("/Size"))
	if s < 0 {
		return nil, 0, "", false
	}
	at := p + s + len("/Size")
	for at < i && isPDFSpace(data[at]) {
		at++
	}
	n, ok := readInt(data, at)
	if !ok || n >= end {
		return nil, 0, "", false
	}
	digitsEnd := skipDigits(data, at)
	repl := []byte(strconv.Itoa(end))
	sr := splicedReader{parts: [][]byte{data[:at], repl, data[digitsEnd:]}}
	size = int64(at + len(repl) + len(data) - digitsEnd)
	return sr, size, fmt.Sprintf("trailer /Size %d is smaller than the cross-reference table (%d entries); read as %d", n, end, end), true
}

// skipDigits returns the index after the optional white space and digits
// at data[i:].
func skipDigits(data []byte, i int) int {
	for i < len(data) && isPDFSpace(data[i]) {
		i++
	}
	for i < len(data) && data[i] >= '0' && data[i] <= '9' {
		i++
	}
	return i
}

// splicedReader reads the concatenation of its parts without copying them.
type splicedReader struct {
	parts [][]byte
}

// ReadAt implements io.ReaderAt.
func (s splicedReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("splicedReader.ReadAt: negative offset %d", off)
	}
	n := 0
	for _, part := range s.parts {
		if len(p) == 0 {
			break
		}
		if off >= int64(len(part)) {
			off -= int64(len(part))
			continue
		}
		k := copy(p, part[off:])
		n += k
		p = p[k:]
		off = 0
	}
	if len(p) > 0 {
		return n, io.EOF
	}
	return n, nil
}
