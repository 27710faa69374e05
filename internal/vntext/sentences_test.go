package vntext

import (
	"slices"
	"strings"
	"testing"
	"unicode"
)

func TestSplitSentences(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{
			name: "meeting report sentences with figures",
			in:   "Tổng sản phẩm trên địa bàn (GRDP) ước tăng 7,52% so với cùng kỳ; thu ngân sách nhà nước đạt 18.245,6 tỷ đồng, bằng 112,3% dự toán. TP. Bắc Giang dẫn đầu toàn tỉnh về thu hút đầu tư.",
			want: []string{
				"Tổng sản phẩm trên địa bàn (GRDP) ước tăng 7,52% so với cùng kỳ; thu ngân sách nhà nước đạt 18.245,6 tỷ đồng, bằng 112,3% dự toán.",
				"TP. Bắc Giang dẫn đầu toàn tỉnh về thu hút đầu tư.",
			},
		},
		{
			name: "chair of the meeting",
			in:   "Đồng chí Nguyễn Văn A, Phó Bí thư Tỉnh ủy, Chủ tịch UBND tỉnh chủ trì. Dự hội nghị có đại diện Thường trực HĐND tỉnh.",
			want: []string{
				"Đồng chí Nguyễn Văn A, Phó Bí thư Tỉnh ủy, Chủ tịch UBND tỉnh chủ trì.",
				"Dự hội nghị có đại diện Thường trực HĐND tỉnh.",
			},
		},
		{
			name: "academic titles",
			in:   "PGS. TS. Trần Văn Bình và ThS. Lê Thị Hoa trình bày tham luận. GS. Nguyễn Văn Cường, Th.S Phạm Minh, TS. Đỗ Lan cùng dự.",
			want: []string{
				"PGS. TS. Trần Văn Bình và ThS. Lê Thị Hoa trình bày tham luận.",
				"GS. Nguyễn Văn Cường, Th.S Phạm Minh, TS. Đỗ Lan cùng dự.",
			},
		},
		{
			name: "city, district and ward abbreviations",
			in:   "Hội nghị diễn ra tại Tp. Vinh. Trụ sở đặt ở số 5, P. Bến Nghé, Q. 1, TP. Hồ Chí Minh. Ban Chấp hành T.Ư Đảng và TW. Đoàn đã chỉ đạo.",
			want: []string{
				"Hội nghị diễn ra tại Tp. Vinh.",
				"Trụ sở đặt ở số 5, P. Bến Nghé, Q. 1, TP. Hồ Chí Minh.",
				"Ban Chấp hành T.Ư Đảng và TW. Đoàn đã chỉ đạo.",
			},
		},
		{
			name: "citations",
			in:   "Xem Nxb. Chính trị quốc gia, tr. 45. St. Văn kiện Đảng toàn tập, tập 5.",
			want: []string{
				"Xem Nxb. Chính trị quốc gia, tr. 45.",
				"St. Văn kiện Đảng toàn tập, tập 5.",
			},
		},
		{
			name: "initials of a person",
			in:   "Ông N.V.A. cho biết đã nộp đơn. Vợ chồng ông Th. đưa cho Huy hơn 1 tỷ đồng. Huy lừa ông Nguyễn Tấn T. 970 triệu đồng.",
			want: []string{
				"Ông N.V.A. cho biết đã nộp đơn.",
				"Vợ chồng ông Th. đưa cho Huy hơn 1 tỷ đồng.",
				"Huy lừa ông Nguyễn Tấn T. 970 triệu đồng.",
			},
		},
		{
			name: "initial then bracket or more initials",
			in:   "Nạn nhân là chị Vũ Thị Q. T. (SN 1990) ở phường Tân Thới Hoà (Q. Tân Phú). Bà Ph. Th. Hele. trở về nước.",
			want: []string{
				"Nạn nhân là chị Vũ Thị Q. T. (SN 1990) ở phường Tân Thới Hoà (Q. Tân Phú).",
				"Bà Ph. Th. Hele. trở về nước.",
			},
		},
		{
			name: "initial at the end of a sentence",
			in:   "Nam thanh niên đụng chạm vào tay chị H. Thấy vậy, chị H. dừng xe.",
			want: []string{
				"Nam thanh niên đụng chạm vào tay chị H.",
				"Thấy vậy, chị H. dừng xe.",
			},
		},
		{
			name: "v.v. inside and at the end",
			in:   "Các mặt hàng xi măng, sắt thép v.v. đều tăng giá. Vật liệu gồm cát, đá, sỏi v.v. Ngoài ra còn gạch.",
			want: []string{
				"Các mặt hàng xi măng, sắt thép v.v. đều tăng giá.",
				"Vật liệu gồm cát, đá, sỏi v.v.",
				"Ngoài ra còn gạch.",
			},
		},
		{
			name: "numbers, dates and times",
			in:   "Tỷ lệ đạt 13,45%, tổng vốn 1.234.567 đồng, hệ số 3.5 vào ngày 1/12. Phiên họp khai mạc lúc 15:34 ngày 01/12/2023. Năm 2023. Năm 2024 sẽ khác.",
			want: []string{
				"Tỷ lệ đạt 13,45%, tổng vốn 1.234.567 đồng, hệ số 3.5 vào ngày 1/12.",
				"Phiên họp khai mạc lúc 15:34 ngày 01/12/2023.",
				"Năm 2023.",
				"Năm 2024 sẽ khác.",
			},
		},
		{
			name: "list numbering at the start of lines",
			in:   "I. TÌNH HÌNH KINH TẾ\n1. Tăng trưởng kinh tế\nGRDP ước tăng 7,52%.\n2. Thu ngân sách đạt 112,3% dự toán.\na) Thu nội địa tăng.\nb) Thu xuất nhập khẩu giảm.",
			want: []string{
				"I. TÌNH HÌNH KINH TẾ",
				"1. Tăng trưởng kinh tế",
				"GRDP ước tăng 7,52%.",
				"2. Thu ngân sách đạt 112,3% dự toán.",
				"a) Thu nội địa tăng.",
				"b) Thu xuất nhập khẩu giảm.",
			},
		},
		{
			name: "inline list numbers and articles",
			in:   "Kết quả như sau: 1. Thu ngân sách tăng. 2. Chi ngân sách giảm. Điều 5. Phạm vi điều chỉnh.",
			want: []string{
				"Kết quả như sau: 1. Thu ngân sách tăng.",
				"2. Chi ngân sách giảm.",
				"Điều 5. Phạm vi điều chỉnh.",
			},
		},
		{
			name: "bullets and semicolon-ended lines",
			in:   "Nơi nhận:\n- Như trên;\n- Lưu: VT.\nCác chỉ tiêu chính:\n+ GRDP tăng 7,52%;\n+ Thu ngân sách vượt dự toán.",
			want: []string{
				"Nơi nhận:",
				"- Như trên;",
				"- Lưu: VT.",
				"Các chỉ tiêu chính:",
				"+ GRDP tăng 7,52%;",
				"+ Thu ngân sách vượt dự toán.",
			},
		},
		{
			name: "document header lines",
			in:   "UỶ BAN NHÂN DÂN\nTỈNH BẮC GIANG\nSố: 125/BC-UBND\nCỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc\nBắc Giang, ngày 01 tháng 12 năm 2023\n\nBÁO CÁO\nTình hình kinh tế - xã hội tháng 11 năm 2023\nThực hiện Chương trình công tác, UBND tỉnh báo cáo như sau:",
			want: []string{
				"UỶ BAN NHÂN DÂN TỈNH BẮC GIANG",
				"Số: 125/BC-UBND",
				"CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
				"Độc lập - Tự do - Hạnh phúc",
				"Bắc Giang, ngày 01 tháng 12 năm 2023",
				"BÁO CÁO",
				"Tình hình kinh tế - xã hội tháng 11 năm 2023",
				"Thực hiện Chương trình công tác, UBND tỉnh báo cáo như sau:",
			},
		},
		{
			name: "lines wrapped inside a sentence",
			in:   "Tổng sản phẩm trên địa bàn tỉnh ước tăng 7,52% so với cùng\nkỳ năm trước, cao hơn mức tăng của cả nước và của vùng trung du miền núi\nphía Bắc. Thu ngân sách tại TP.\nBắc Giang tăng mạnh.",
			want: []string{
				"Tổng sản phẩm trên địa bàn tỉnh ước tăng 7,52% so với cùng kỳ năm trước, cao hơn mức tăng của cả nước và của vùng trung du miền núi phía Bắc.",
				"Thu ngân sách tại TP. Bắc Giang tăng mạnh.",
			},
		},
		{
			name: "paragraph break without full stop",
			in:   "Kết luận của Thường trực Tỉnh ủy\n\nThường trực Tỉnh ủy thống nhất thông qua",
			want: []string{
				"Kết luận của Thường trực Tỉnh ủy",
				"Thường trực Tỉnh ủy thống nhất thông qua",
			},
		},
		{
			name: "quotes and brackets after the full stop",
			in:   "Ông nói: “Chúng tôi sẽ làm.” Sau đó ông rời đi. Dự án đã hoàn thành (theo báo cáo.) Bà hỏi: \"Vì sao?\" Không ai trả lời.",
			want: []string{
				"Ông nói: “Chúng tôi sẽ làm.”",
				"Sau đó ông rời đi.",
				"Dự án đã hoàn thành (theo báo cáo.)",
				"Bà hỏi: \"Vì sao?\"",
				"Không ai trả lời.",
			},
		},
		{
			name: "detached straight quote closes",
			in:   "Anh nói \" Đây là bệnh. Gia đình đã biết \" - vị lãnh đạo nói.",
			want: []string{
				"Anh nói \" Đây là bệnh.",
				"Gia đình đã biết \" - vị lãnh đạo nói.",
			},
		},
		{
			name: "question, exclamation and ellipsis",
			in:   "Vì sao chậm tiến độ? Phải làm rõ trách nhiệm! Các xã Thông Nàng, Hồng Tùng... và nhiều nơi khác đã xong… Còn lại chưa xong.",
			want: []string{
				"Vì sao chậm tiến độ?",
				"Phải làm rõ trách nhiệm!",
				"Các xã Thông Nàng, Hồng Tùng... và nhiều nơi khác đã xong…",
				"Còn lại chưa xong.",
			},
		},
		{
			name: "missing space after the full stop",
			in:   "Thu ngân sách tăng 7,5%.Chi ngân sách giảm mạnh.Đầu tư tại TP.Hồ Chí Minh tăng.",
			want: []string{
				"Thu ngân sách tăng 7,5%.",
				"Chi ngân sách giảm mạnh.",
				"Đầu tư tại TP.Hồ Chí Minh tăng.",
			},
		},
		{
			name: "white space is collapsed",
			in:   "  Thu\u00a0ngân sách\t tăng.\r\n\r\n  Chi   giảm. ",
			want: []string{"Thu ngân sách tăng.", "Chi giảm."},
		},
		{
			name: "empty",
			in:   " \n\t ",
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SplitSentences(tt.in)
			if !slices.Equal(got, tt.want) {
				t.Errorf("SplitSentences(%q)\n got: %q\nwant: %q", tt.in, got, tt.want)
			}
			checkCoverage(t, tt.in, got)
		})
	}
}

// checkCoverage asserts the invariants every split must keep: the
// sentences hold exactly the non-space text of in, in order, each trimmed,
// non-empty and with single spaces.
func checkCoverage(t *testing.T, in string, sents []string) {
	t.Helper()
	var got strings.Builder
	for _, s := range sents {
		// Per sentence: joining first could pair stray bytes of invalid
		// UTF-8 into a rune.
		got.WriteString(stripSpace(s))
	}
	if got, want := got.String(), stripSpace(in); got != want {
		t.Fatalf("sentences do not cover the input's non-space text in order:\n got: %q\nwant: %q", got, want)
	}
	for _, s := range sents {
		if s == "" || strings.TrimSpace(s) != s || strings.Contains(s, "  ") || strings.ContainsAny(s, "\n\t\r") {
			t.Fatalf("sentence not trimmed and collapsed: %q", s)
		}
	}
}

func stripSpace(s string) string {
	return strings.Join(strings.FieldsFunc(s, unicode.IsSpace), "")
}
