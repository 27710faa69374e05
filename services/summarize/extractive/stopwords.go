package extractive

import "strings"

// stopWords are Vietnamese function syllables (lower case, NFC) that say
// nothing about what a sentence is about: particles, pronouns,
// prepositions, conjunctions, copulas and auxiliaries, and the calendar
// words that every report repeats ("năm", "tháng", "so với cùng kỳ").
var stopWords = func() map[string]bool {
	m := make(map[string]bool)
	for _, w := range strings.Fields(`
		à á ạ ai anh ấy bà bác bằng bao bên bị bởi bỗng các cả cái cần càng cháu chỉ
		chị chiếc cho chớ chú chứ chưa chúng có còn cô của cũng cùng dạ đã đang đâu để
		đến đều đó đây đi được em gì gồm hay hết hơn hiện họ hoặc khá khi không kia kỳ là
		lại làm lên lúc luôn mà mình mỗi một mới nào này nay nên nếu ngay ngoài nhau nhé
		nhiều như nhưng những nơi nữa ở ông phải qua quá ra rằng rất rồi sau sẽ so sự tại
		tất theo thì thế thêm thôi thuộc tôi trên trong trước từ từng tới vẫn vào vậy về vì
		việc với vừa xong xuống năm tháng ngày nay hôm giờ cùng kỳ đối này ấy kể cách
		đồng thời tuy nhiên bởi vậy do đó tức thì trở nên tính biết cho
		the of and
	`) {
		m[w] = true
	}
	return m
}()
