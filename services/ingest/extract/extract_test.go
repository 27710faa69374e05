package extract

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bantin/bantin/internal/model"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "NFD becomes NFC", in: "Ho\u0300a", want: "Hòa"},
		{name: "two stacked marks", in: "Vie\u0323\u0302t Nam", want: "Việt Nam"},
		{name: "already NFC", in: "Quốc hội", want: "Quốc hội"},
		{name: "tabs and NBSP collapse", in: "Điều\t\u00a0 5.\u2003Phạm vi", want: "Điều 5. Phạm vi"},
		{name: "trimmed", in: "  \t tiêu đề \u00a0", want: "tiêu đề"},
		{name: "newlines kept without their spaces", in: "dòng một  \n   dòng hai", want: "dòng một\ndòng hai"},
		{name: "CRLF", in: "a\r\nb", want: "a\nb"},
		{name: "lone CR", in: "a\rb", want: "a b"},
		{name: "invisible characters dropped", in: "Hà\u00adNội\u200b\ufeff", want: "HàNội"},
		{name: "control characters dropped", in: "a\x00b\x07c", want: "abc"},
		{name: "empty", in: " \n\t ", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Normalize(tt.in); got != tt.want {
				t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestParagraphs(t *testing.T) {
	long1 := "Thủ trưởng cơ quan thanh tra có trách nhiệm báo cáo kịp thời cho"
	long2 := "Thủ tướng Chính phủ về kết quả thanh tra và kiến nghị các biện pháp"
	tests := []struct {
		name  string
		lines []string
		want  []string
	}{
		{
			name:  "lower-case line continues",
			lines: []string{"Căn cứ Hiến pháp nước Cộng hòa xã hội chủ nghĩa Việt Nam đã được sửa", "đổi, bổ sung một số điều;"},
			want:  []string{"Căn cứ Hiến pháp nước Cộng hòa xã hội chủ nghĩa Việt Nam đã được sửa đổi, bổ sung một số điều;"},
		},
		{
			name:  "Vietnamese lower-case initials đ ư ơ",
			lines: []string{"Nhà nước bảo đảm", "đầu tư và chính sách", "ưu đãi cho người", "ở vùng khó khăn."},
			want:  []string{"Nhà nước bảo đảm đầu tư và chính sách ưu đãi cho người ở vùng khó khăn."},
		},
		{
			name:  "sentence end breaks",
			lines: []string{"Luật này quy định về tổ chức.", "hoạt động thanh tra."},
			want:  []string{"Luật này quy định về tổ chức.", "hoạt động thanh tra."},
		},
		{
			name:  "headings stand alone",
			lines: []string{"Chương I", "NHỮNG QUY ĐỊNH CHUNG", "Điều 1. Phạm vi điều chỉnh", "Luật này quy định về tổ chức và hoạt động thanh tra."},
			want:  []string{"Chương I", "NHỮNG QUY ĐỊNH CHUNG", "Điều 1. Phạm vi điều chỉnh", "Luật này quy định về tổ chức và hoạt động thanh tra."},
		},
		{
			name:  "wrapped heading continues in lower case",
			lines: []string{"Điều 12. Quyền và nghĩa vụ của cơ quan thanh tra trong", "việc thực hiện kết luận thanh tra"},
			want:  []string{"Điều 12. Quyền và nghĩa vụ của cơ quan thanh tra trong việc thực hiện kết luận thanh tra"},
		},
		{
			name: "list items start paragraphs",
			lines: []string{
				"Trong Luật này, các từ ngữ dưới đây được hiểu như sau",
				"1. Thanh tra là hoạt động xem xét, đánh giá của cơ",
				"quan thanh tra",
				"1.2. Mục nhỏ",
				"a) Yếu kém về năng lực quản lý",
				"đ) Mục đ",
				"II. Phần hai",
				"- gạch đầu dòng",
				"+ dấu cộng",
				"• chấm tròn",
			},
			want: []string{
				"Trong Luật này, các từ ngữ dưới đây được hiểu như sau",
				"1. Thanh tra là hoạt động xem xét, đánh giá của cơ quan thanh tra",
				"1.2. Mục nhỏ",
				"a) Yếu kém về năng lực quản lý",
				"đ) Mục đ",
				"II. Phần hai",
				"- gạch đầu dòng",
				"+ dấu cộng",
				"• chấm tròn",
			},
		},
		{
			name:  "full line continues into a capital",
			lines: []string{long1, long2, "xử lý theo quy định."},
			want:  []string{long1 + " " + long2 + " xử lý theo quy định."},
		},
		{
			name:  "short line does not continue into a capital",
			lines: []string{long1 + ".", "Nguyễn Hữu Dũng", "Chủ tịch HDQT-VinaCert"},
			want:  []string{long1 + ".", "Nguyễn Hữu Dũng", "Chủ tịch HDQT-VinaCert"},
		},
		{
			name:  "lower case after an opening quote continues",
			lines: []string{"Việt Nam dùng khái niệm", "“mua bán người”, còn các văn bản quốc tế"},
			want:  []string{"Việt Nam dùng khái niệm “mua bán người”, còn các văn bản quốc tế"},
		},
		{
			name:  "Phần is a heading only as a part number",
			lines: []string{"Phần thứ hai", "Phần lớn các quốc gia đã ký kết."},
			want:  []string{"Phần thứ hai", "Phần lớn các quốc gia đã ký kết."},
		},
		{
			name:  "blank line breaks",
			lines: []string{"dòng một", "", "dòng hai"},
			want:  []string{"dòng một", "dòng hai"},
		},
		{
			name:  "rules and stray marks separate",
			lines: []string{"nội dung chính", "_______", "∗", "chú thích"},
			want:  []string{"nội dung chính", "chú thích"},
		},
		{
			name:  "broken English word is rejoined",
			lines: []string{"the infor-", "mation society"},
			want:  []string{"the information society"},
		},
		{
			name:  "Vietnamese hyphen is kept",
			lines: []string{"phát triển kinh tế-", "xã hội bền vững"},
			want:  []string{"phát triển kinh tế-xã hội bền vững"},
		},
		{
			name:  "spaced dash joins with a space",
			lines: []string{"Độc lập -", "tự do"},
			want:  []string{"Độc lập - tự do"},
		},
		{
			name:  "page numbers at the edges are dropped",
			lines: []string{"- 3 -", "nội dung trang ba", "Trang 3"},
			want:  []string{"nội dung trang ba"},
		},
		{
			name:  "numbers inside the page are kept",
			lines: []string{long1 + ".", "Chỉ tiêu", "Số lượng", "2025", "Tổng cộng", long2 + ".", "Hết."},
			want:  []string{long1 + ".", "Chỉ tiêu", "Số lượng", "2025", "Tổng cộng", long2 + ".", "Hết."},
		},
		{
			name:  "lines are normalised",
			lines: []string{"  Ho\u0300a   bi\u0300nh\t"},
			want:  []string{"Hòa bình"},
		},
		{
			name:  "nothing",
			lines: []string{"", "  ", "7"},
			want:  nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Paragraphs(tt.lines, 4)
			var texts []string
			for _, p := range got {
				if p.Page != 4 {
					t.Errorf("paragraph %q has page %d, want 4", p.Text, p.Page)
				}
				texts = append(texts, p.Text)
			}
			if !reflect.DeepEqual(texts, tt.want) {
				t.Errorf("Paragraphs() =\n%q\nwant\n%q", texts, tt.want)
			}
		})
	}
}

func TestIsPageNumber(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"3", true}, {"- 3 -", true}, {"– 12 –", true}, {"Trang 3", true}, {"trang 3/12", true},
		{"Page 3 of 12", true}, {"3/37", true}, {"12345", false}, {"3.", false}, {"Điều 3", false},
		{"2025/QH15", false}, {"", false}, {"a) 3", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := isPageNumber(tt.in); got != tt.want {
				t.Errorf("isPageNumber(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestAppendPage(t *testing.T) {
	tests := []struct {
		name       string
		prev, next []model.Paragraph
		want       []model.Paragraph
	}{
		{
			name: "sentence runs over the page break",
			prev: []model.Paragraph{{Page: 2, Text: "tiến hành thanh tra, tiếp công"}},
			next: []model.Paragraph{{Page: 3, Text: "dân, giải quyết khiếu nại."}, {Page: 3, Text: "Điều 6."}},
			want: []model.Paragraph{{Page: 2, Text: "tiến hành thanh tra, tiếp công dân, giải quyết khiếu nại."}, {Page: 3, Text: "Điều 6."}},
		},
		{
			name: "finished sentence",
			prev: []model.Paragraph{{Page: 2, Text: "hết câu."}},
			next: []model.Paragraph{{Page: 3, Text: "câu mới"}},
			want: []model.Paragraph{{Page: 2, Text: "hết câu."}, {Page: 3, Text: "câu mới"}},
		},
		{
			name: "capital after the break",
			prev: []model.Paragraph{{Page: 2, Text: "chưa hết"}},
			next: []model.Paragraph{{Page: 3, Text: "Tạp chí Khoa học"}},
			want: []model.Paragraph{{Page: 2, Text: "chưa hết"}, {Page: 3, Text: "Tạp chí Khoa học"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := appendPage(tt.prev, tt.next); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("appendPage() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// zipFile builds an in-memory zip archive.
func zipFile(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, name := range []string{"[Content_Types].xml", "word/document.xml", "docProps/core.xml", "xl/workbook.xml"} {
		body, ok := files[name]
		if !ok {
			continue
		}
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// oleFile is the start of an OLE2 compound file with a directory entry
// named stream.
func oleFile(stream string) []byte {
	b := []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}
	b = append(b, make([]byte, 504)...)
	for _, c := range stream {
		b = append(b, byte(c), 0)
	}
	return append(b, make([]byte, 64)...)
}

func TestDetect(t *testing.T) {
	docx := zipFile(t, map[string]string{"[Content_Types].xml": "<Types/>", "word/document.xml": "<w:document/>"})
	xlsx := zipFile(t, map[string]string{"[Content_Types].xml": "<Types/>", "xl/workbook.xml": "<workbook/>"})
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{name: "pdf", data: []byte("%PDF-1.7\n%âãÏÓ\n1 0 obj"), want: "pdf"},
		{name: "pdf after junk", data: append(bytes.Repeat([]byte{' '}, 100), "%PDF-1.4\n"...), want: "pdf"},
		{name: "docx", data: docx, want: "docx"},
		{name: "truncated docx", data: docx[:len(docx)-30], want: "docx"},
		{name: "xlsx is not docx", data: xlsx, want: ""},
		{name: "doc", data: oleFile("WordDocument"), want: "doc"},
		{name: "xls is not doc", data: oleFile("Workbook"), want: ""},
		{name: "html doctype", data: []byte("\n  <!DOCTYPE html><html><body>x</body></html>"), want: "html"},
		{name: "html tag with BOM", data: []byte("\xEF\xBB\xBF<HTML lang=vi>"), want: "html"},
		{name: "xhtml", data: []byte(`<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml">`), want: "html"},
		{name: "html error page", data: []byte("<head><title>404</title></head>"), want: "html"},
		{name: "utf-8 text", data: []byte("Báo cáo tình hình kinh tế - xã hội\n"), want: "text"},
		{name: "utf-16 text", data: []byte("\xFF\xFEB\x00\xE1\x00o\x00"), want: "text"},
		{name: "windows-1258 text", data: []byte("Vi\xea\xf2t Nam\r\n"), want: "text"},
		{name: "png", data: []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), want: ""},
		{name: "binary", data: []byte{0x00, 0x01, 0x02, 0x03}, want: ""},
		{name: "empty", data: nil, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Detect(tt.data); got != tt.want {
				t.Errorf("Detect() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestExtractDispatch(t *testing.T) {
	tests := []struct {
		name    string
		data    []byte
		err     error
		message string
		format  string
	}{
		{name: "html", data: []byte("<!doctype html><p>x"), err: ErrUnsupported, message: "article parser"},
		{name: "doc", data: oleFile("WordDocument"), err: ErrUnsupported, message: "install the Debian package antiword"},
		{name: "png", data: []byte("\x89PNG\r\n\x1a\n\x00\x00"), err: ErrUnsupported, message: "PNG image"},
		{name: "empty", data: nil, err: ErrUnsupported, message: "empty"},
		{name: "text", data: []byte("Báo cáo\n\nnội dung"), format: "text"},
		{name: "corrupt pdf", data: []byte("%PDF-1.4\n1 0 obj <<>> endobj\n"), err: ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := ExtractWith(context.Background(), tt.data, Options{}) // no tools: .doc is unsupported
			if tt.err == nil {
				if err != nil || doc.Format != tt.format {
					t.Fatalf("Extract() = %+v, %v; want format %q", doc, err, tt.format)
				}
				return
			}
			if !errors.Is(err, tt.err) || !strings.Contains(err.Error(), tt.message) {
				t.Fatalf("Extract() error = %v, want %v with %q", err, tt.err, tt.message)
			}
		})
	}
}

func TestText(t *testing.T) {
	tests := []struct {
		name    string
		data    []byte
		want    []string
		warning string
	}{
		{
			name: "paragraphs on blank lines, wrapped lines joined",
			data: []byte("BÁO CÁO\r\n\r\nTình hình kinh tế\r\ntháng 6 tăng 7,5%.\r\n\r\n\r\nDự kiến quý III."),
			want: []string{"BÁO CÁO", "Tình hình kinh tế tháng 6 tăng 7,5%.", "Dự kiến quý III."},
		},
		{name: "UTF-8 BOM", data: []byte("\xEF\xBB\xBFQuốc hội"), want: []string{"Quốc hội"}},
		{name: "old Mac line ends", data: []byte("Quốc hội.\r\rKỳ họp thứ 9."), want: []string{"Quốc hội.", "Kỳ họp thứ 9."}},
		{name: "UTF-16LE", data: []byte("\xFF\xFEH\x00\xE0\x00 \x00N\x00\xD9\x1Ei\x00"), want: []string{"Hà Nội"}, warning: "UTF-16LE"},
		{name: "UTF-16BE", data: []byte("\xFE\xFF\x00H\x00\xE0"), want: []string{"Hà"}, warning: "UTF-16BE"},
		{name: "Windows-1258 with combining tone marks", data: []byte("Vi\xea\xf2t Nam"), want: []string{"Việt Nam"}, warning: "Windows-1258"},
		{name: "NFD input", data: []byte("Ho\u0300a Bi\u0300nh"), want: []string{"Hòa Bình"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := Text(tt.data)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range doc.Paragraphs {
				if p.Page != 0 {
					t.Errorf("page %d, want 0", p.Page)
				}
				got = append(got, p.Text)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("paragraphs = %q, want %q", got, tt.want)
			}
			if doc.Format != "text" || doc.Extractor != "text" || doc.Pages != 0 {
				t.Errorf("Format, Extractor, Pages = %q, %q, %d", doc.Format, doc.Extractor, doc.Pages)
			}
			if tt.warning != "" && (len(doc.Warnings) != 1 || !strings.Contains(doc.Warnings[0], tt.warning)) {
				t.Errorf("warnings = %q, want one with %q", doc.Warnings, tt.warning)
			}
		})
	}
	t.Run("empty", func(t *testing.T) {
		if _, err := Text([]byte(" \n\n ")); !errors.Is(err, ErrNoText) {
			t.Errorf("err = %v, want ErrNoText", err)
		}
	})
}

const docxBody = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"
 xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006">
<w:body>
<w:p><w:r><w:t>BÁO CÁO</w:t></w:r></w:p>
<w:p><w:r><w:t xml:space="preserve">Tình hình </w:t></w:r><w:r><w:t>kinh tế</w:t></w:r><w:r><w:tab/><w:t>6 tháng</w:t></w:r><w:del><w:r><w:delText>bị xóa</w:delText></w:r></w:del></w:p>
<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText>PAGE</w:instrText></w:r><w:r><w:t>Ho&#x300;a</w:t></w:r></w:p>
<w:tbl>
<w:tr><w:tc><w:p><w:r><w:t>Chỉ tiêu</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>2025</w:t></w:r></w:p></w:tc></w:tr>
<w:tr><w:tc><w:p><w:r><w:t>GRDP</w:t></w:r></w:p><w:p><w:r><w:t>(giá so sánh)</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>7,5%</w:t></w:r></w:p></w:tc></w:tr>
</w:tbl>
<w:p><w:r><mc:AlternateContent><mc:Choice><w:drawing><w:txbxContent><w:p><w:r><w:t>Hộp chữ</w:t></w:r></w:p></w:txbxContent></w:drawing></mc:Choice><mc:Fallback><w:pict><w:txbxContent><w:p><w:r><w:t>Hộp chữ</w:t></w:r></w:p></w:txbxContent></w:pict></mc:Fallback></mc:AlternateContent></w:r></w:p>
<w:p/>
</w:body></w:document>`

const docxCore = `<?xml version="1.0" encoding="UTF-8"?>
<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Báo cáo 6 tháng</dc:title></cp:coreProperties>`

func TestDOCX(t *testing.T) {
	data := zipFile(t, map[string]string{
		"[Content_Types].xml": "<Types/>",
		"word/document.xml":   docxBody,
		"docProps/core.xml":   docxCore,
	})
	doc, err := Extract(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range doc.Paragraphs {
		got = append(got, p.Text)
	}
	want := []string{"BÁO CÁO", "Tình hình kinh tế 6 tháng", "Hòa", "Chỉ tiêu | 2025", "GRDP (giá so sánh) | 7,5%", "Hộp chữ"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("paragraphs = %q, want %q", got, want)
	}
	if doc.Format != "docx" || doc.Title != "Báo cáo 6 tháng" {
		t.Errorf("Format, Title = %q, %q", doc.Format, doc.Title)
	}

	t.Run("no text", func(t *testing.T) {
		empty := zipFile(t, map[string]string{"word/document.xml": `<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p/></w:body></w:document>`})
		if _, err := DOCX(context.Background(), empty); !errors.Is(err, ErrNoText) {
			t.Errorf("err = %v, want ErrNoText", err)
		}
	})
	t.Run("broken xml", func(t *testing.T) {
		bad := zipFile(t, map[string]string{"word/document.xml": `<w:document><w:body>`})
		if _, err := DOCX(context.Background(), bad); !errors.Is(err, ErrCorrupt) {
			t.Errorf("err = %v, want ErrCorrupt", err)
		}
	})
	t.Run("too large", func(t *testing.T) {
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range zr.File {
			if f.Name == "word/document.xml" {
				if _, err := readZipFile(f, 100); !errors.Is(err, ErrUnsupported) {
					t.Errorf("err = %v, want ErrUnsupported", err)
				}
			}
		}
	})
}

func TestParseCMap(t *testing.T) {
	const src = `/CIDInit /ProcSet findresource begin 12 dict begin begincmap
/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def
1 begincodespacerange <0000> <FFFF> endcodespacerange
3 beginbfchar
<0003> <0020>
<0024> <1EA1>
<0025> <00660069>
endbfchar
2 beginbfrange
<0030> <0032> <0041>
<0040> <0041> [<01B0> <01A1>]
endbfrange
endcmap CMapName currentdict /CMap defineresource pop end end`
	m := parseCMap([]byte(src))
	tests := []struct {
		code string
		want string
		ok   bool
	}{
		{"\x00\x03", " ", true},
		{"\x00\x24", "ạ", true},
		{"\x00\x25", "fi", true},
		{"\x00\x30", "A", true},
		{"\x00\x32", "C", true},
		{"\x00\x40", "ư", true},
		{"\x00\x41", "ơ", true},
		{"\x00\x33", "", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%x", tt.code), func(t *testing.T) {
			got, ok := m.lookup(tt.code)
			if got != tt.want || ok != tt.ok {
				t.Errorf("lookup = %q, %v; want %q, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
	if n := m.codeLen("\x00\x24\x00"); n != 2 {
		t.Errorf("codeLen = %d, want 2", n)
	}
}

func TestGlyphNameText(t *testing.T) {
	tests := []struct {
		name, want string
		ok         bool
	}{
		{"uni1EA1", "ạ", true}, {"u1EA1", "ạ", true}, {"uni00410042", "AB", true},
		{"uni1EA1.sc", "ạ", true}, {"A", "", false}, {"uniXYZW", "", false}, {"g123", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := glyphNameText(tt.name)
			if got != tt.want || ok != tt.ok {
				t.Errorf("glyphNameText(%q) = %q, %v; want %q, %v", tt.name, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// text places s as glyphs 5 units wide in size 10 from x on baseline y,
// with no space glyphs: spaces must come from the gaps.
func text(x, y float64, s string) []glyph {
	var gs []glyph
	for _, r := range s {
		if r != ' ' {
			gs = append(gs, glyph{x0: x, x1: x + 5, y: y, size: 10, text: string(r)})
		}
		x += 5
	}
	return gs
}

func TestLineText(t *testing.T) {
	tests := []struct {
		name   string
		glyphs []glyph
		want   string
	}{
		{name: "spaces from gaps", glyphs: text(0, 0, "Một số ý kiến"), want: "Một số ý kiến"},
		{name: "kerning is not a space", glyphs: []glyph{{x0: 0, x1: 5, size: 10, text: "Q"}, {x0: 5.5, x1: 10, size: 10, text: "U"}}, want: "QU"},
		{name: "fake bold drawn twice", glyphs: append(text(0, 0, "ab"), text(0.3, 0, "ab")...), want: "ab"},
		{name: "space glyphs", glyphs: []glyph{{x0: 0, x1: 5, size: 10, text: "a"}, {x0: 5, x1: 6, size: 10, text: " ", space: true}, {x0: 6, x1: 10, size: 10, text: "b"}}, want: "a b"},
		{name: "combining mark after a gap", glyphs: []glyph{{x0: 0, x1: 5, size: 10, text: "a"}, {x0: 8, x1: 8, size: 10, text: "\u0300"}}, want: "a\u0300"},
		{name: "out of order", glyphs: append(text(30, 0, "sau"), text(0, 0, "trước")...), want: "trước sau"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := lineText(tt.glyphs); got != tt.want {
				t.Errorf("lineText() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPageTextLayout(t *testing.T) {
	var twoColumns []glyph
	left := []string{"cột trái dòng một là", "cột trái dòng hai là", "cột trái dòng ba hết"}
	right := []string{"cột phải dòng một là", "cột phải dòng hai là", "cột phải dòng ba hết"}
	for i := range left {
		y := 700 - 12*float64(i)
		twoColumns = append(twoColumns, text(50, y, left[i])...)
		twoColumns = append(twoColumns, text(165, y, right[i])...) // a 1.5-em gutter
	}

	var table []glyph
	rows := [][2]string{{"Chỉ tiêu tăng trưởng", "7,5%"}, {"Thu ngân sách nhà nước", "8,1%"}, {"Vốn đầu tư phát triển", "9,0%"}}
	for i, r := range rows {
		y := 500 - 14*float64(i)
		table = append(table, text(50, y, r[0])...)
		table = append(table, text(300, y, r[1])...)
	}

	var header []glyph
	header = append(header, text(60, 800, "QUỐC HỘI")...)
	header = append(header, text(250, 800, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")...)
	header = append(header, text(270, 786, "Độc lập - Tự do - Hạnh phúc")...)
	header = append(header, text(50, 760, "Luật này quy định về tổ chức và hoạt động thanh tra của cơ quan")...)

	tests := []struct {
		name   string
		glyphs []glyph
		want   []string
	}{
		{
			name:   "two columns are read one after the other",
			glyphs: twoColumns,
			want:   append(append(slicesClone(left), ""), right...),
		},
		{
			name:   "a table is read row by row",
			glyphs: table,
			want:   []string{"Chỉ tiêu tăng trưởng 7,5%", "Thu ngân sách nhà nước 8,1%", "Vốn đầu tư phát triển 9,0%"},
		},
		{
			name:   "centred lines and a wide header row",
			glyphs: header,
			want:   []string{"QUỐC HỘI CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "", "Luật này quy định về tổ chức và hoạt động thanh tra của cơ quan"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := pageText(tt.glyphs)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("pageText() =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }

// minimalPDF writes a one-page PDF showing content with Helvetica, with a
// correct cross-reference table or none at all.
func minimalPDF(content string, xref bool) []byte {
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content)+1, content),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding /Info (x) >>",
		"<< /Title (Bao cao thu nghiem) >>",
	}
	return writePDF(objs, xref, " /Info 6 0 R")
}

// writePDF lays out objs as objects 1…n of a PDF 1.4 file with a correct
// cross-reference table (none when xref is false) and a trailer whose
// root is object 1, plus trailerExtra (such as "/Info 6 0 R").
func writePDF(objs []string, xref bool, trailerExtra string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offs := make([]int, len(objs))
	for i, o := range objs {
		offs[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	if !xref {
		b.WriteString("%%EOF\n")
		return b.Bytes()
	}
	start := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, trailerExtra, start)
	return b.Bytes()
}

func TestPDFMinimal(t *testing.T) {
	const content = "BT /F1 12 Tf 72 700 Td (Bao cao tinh hinh kinh te xa hoi) Tj 0 -14 Td (thang sau nam hai nghin) Tj ET\n" +
		"BT /F1 12 Tf 72 650 Td [(Tong)-250(san)-250(pham)] TJ ET"
	tests := []struct {
		name    string
		data    []byte
		warning string
	}{
		{name: "sound", data: minimalPDF(content, true)},
		{name: "no xref table", data: minimalPDF(content, false), warning: "rebuilt"},
		{name: "PDF 2.0 header", data: bytes.Replace(minimalPDF(content, true), []byte("%PDF-1.4"), []byte("%PDF-2.0"), 1), warning: "read as %PDF-1.7"},
		{name: "junk after EOF", data: append(minimalPDF(content, true), "<html>error</html>"...), warning: "after the last %%EOF"},
		{name: "junk before the header", data: append([]byte("\r\n\r\n"), minimalPDF(content, true)...), warning: "before the %PDF header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := PDF(context.Background(), tt.data)
			if err != nil {
				t.Fatal(err)
			}
			want := []model.Paragraph{
				{Page: 1, Text: "Bao cao tinh hinh kinh te xa hoi thang sau nam hai nghin"},
				{Page: 1, Text: "Tong san pham"},
			}
			if !reflect.DeepEqual(doc.Paragraphs, want) {
				t.Errorf("paragraphs = %+v, want %+v", doc.Paragraphs, want)
			}
			if doc.Pages != 1 {
				t.Errorf("Pages = %d", doc.Pages)
			}
			if tt.warning == "" && len(doc.Warnings) > 0 {
				t.Errorf("unexpected warnings %q", doc.Warnings)
			}
			if tt.warning != "" && !strings.Contains(strings.Join(doc.Warnings, "\n"), tt.warning) {
				t.Errorf("warnings %q, want one with %q", doc.Warnings, tt.warning)
			}
			if tt.name == "sound" && doc.Title != "Bao cao thu nghiem" {
				t.Errorf("Title = %q", doc.Title)
			}
		})
	}
}

func TestRepairEnvelopeKeepsInput(t *testing.T) {
	in := []byte("%PDF-2.0\n1 0 obj\n<<>>\nendobj\n%%EOF\n\x00\x00trailing")
	orig := bytes.Clone(in)
	out, notes := repairEnvelope(in)
	if !bytes.Equal(in, orig) {
		t.Fatal("input was modified")
	}
	if !bytes.HasPrefix(out, []byte("%PDF-1.7\n")) || !bytes.HasSuffix(out, []byte("%%EOF")) || len(notes) != 2 {
		t.Errorf("out = %q, notes = %q", out, notes)
	}
}

// FuzzExtract feeds arbitrary bytes to Extract: it must not panic, must
// return within its deadline, and must classify every failure.
func FuzzExtract(f *testing.F) {
	f.Add(minimalPDF("BT /F1 12 Tf 72 700 Td (Hello) Tj ET", true))
	f.Add(minimalPDF("BT /F1 12 Tf [(a)-300(b)] TJ ET", false))
	f.Add([]byte("%PDF-1.4\n1 0 obj <</Prev 9>> endobj\nstartxref\n9\n%%EOF"))
	f.Add([]byte("Báo cáo\n\nnội dung"))
	f.Add([]byte("<!doctype html>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		doc, err := Extract(ctx, data)
		switch {
		case err == nil:
			if doc == nil {
				t.Fatal("nil Document without an error")
			}
		case errors.Is(err, ErrNoText), errors.Is(err, ErrUnsupported), errors.Is(err, ErrCorrupt), errors.Is(err, context.DeadlineExceeded):
		default:
			t.Fatalf("unclassified error: %v", err)
		}
	})
}

// FuzzParagraphs checks that paragraphs come out normalised whatever the
// lines.
func FuzzParagraphs(f *testing.F) {
	f.Add("Căn cứ Hiến pháp\nđổi, bổ sung\n\n- 3 -\nthe infor-\nmation")
	f.Add("Ho\u0300a\u00a0\u00a0bi\u0300nh\r\n1.\n")
	f.Fuzz(func(t *testing.T, s string) {
		for _, p := range Paragraphs(strings.Split(s, "\n"), 1) {
			if p.Text == "" || p.Text != strings.TrimSpace(p.Text) || Normalize(p.Text) != p.Text {
				t.Fatalf("paragraph not normalised: %q", p.Text)
			}
		}
	})
}
