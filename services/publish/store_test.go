package publish

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/bantin/bantin/internal/model"
)

// boundedDigests are n digests over three sites, four tags and two bodies,
// two to an article, one every six hours from 2024-03-01. Digest 0 alone
// speaks of "cầu Đồng Quế".
func boundedDigests(t *testing.T, n int) []model.Digest {
	t.Helper()
	start := mustTime(t, "2024-03-01T01:00:00Z")
	sites := []string{"baobacgiang.vn", "baoquangninh.vn", "baodanang.vn"}
	tags := []string{"Kinh tế", "Đầu tư công", "Giáo dục", "Y tế"}
	bodies := []string{"HĐND huyện", "UBND tỉnh"}
	var out []model.Digest
	for i := range n {
		at := start.Add(time.Duration(i) * 6 * time.Hour)
		d := model.Digest{
			SchemaVersion: model.SchemaVersion,
			ID:            fmt.Sprintf("d%03d", i),
			ReportID:      fmt.Sprintf("r%03d", i),
			Title:         fmt.Sprintf("Báo cáo số %d của %s về kế hoạch năm 2024", i, bodies[i%2]),
			Summary:       fmt.Sprintf("Kỳ họp thứ %d thông qua %d dự án đầu tư công; thu ngân sách đạt %d tỷ đồng.", i, 3+i%7, 100+i),
			Bullets: []model.Bullet{
				{Text: fmt.Sprintf("Giải ngân %d%% vốn được giao.", 50+i), Page: 1},
				{Text: "Tăng cường kiểm tra, giám sát."},
			},
			Figures:  []model.Figure{{Text: fmt.Sprintf("%d tỷ đồng", 100+i), Value: float64(100 + i), Unit: "tỷ đồng", Page: 1}},
			Language: "vi",
			Source: model.Source{
				ArticleURL:     fmt.Sprintf("https://%s/tin/%d.html", sites[i%3], i/2),
				ArticleTitle:   fmt.Sprintf("Kỳ họp thứ %d", i/2),
				PublishedAt:    at,
				Tags:           []string{tags[i%4]},
				AttachmentURL:  fmt.Sprintf("https://%s/files/bao-cao-%03d.pdf", sites[i%3], i),
				AttachmentName: fmt.Sprintf("bao-cao-%03d.pdf", i),
				Site:           sites[i%3],
			},
			Backend:   "extractive",
			CreatedAt: at.Add(time.Hour),
			Version:   1,
		}
		if i == 0 {
			d.Bullets = append(d.Bullets, model.Bullet{Text: "Khởi công cầu Đồng Quế trong quý II.", Page: 2})
		}
		out = append(out, d)
	}
	return out
}

// TestBoundedIndexReadsDigestsAgain runs a replica that may keep only 3
// digests in full next to one that keeps all, over a real JetStream stream:
// every feed, page and search result must be byte-identical, the small one
// must have read digests again from the stream, and never hold more than 3.
func TestBoundedIndexReadsDigestsAgain(t *testing.T) {
	ns := startNATS(t)
	b := connect(t, ns)
	ds := boundedDigests(t, 24)
	for _, d := range ds {
		publishDigest(t, b, d)
	}
	// A correction of an old digest: the index must serve version 2.
	rev := ds[1]
	rev.Version, rev.UpdatedAt, rev.Summary = 2, rev.CreatedAt.Add(time.Hour), "Tóm tắt đã đính chính: thu ngân sách đạt 99 tỷ đồng."
	publishDigest(t, b, rev)
	ds[1] = rev

	const bound = 3
	small := startReplica(t, ns, Config{BaseURL: goldenBaseURL, MaxEntries: 4, CacheSize: bound})
	whole := startReplica(t, ns, Config{BaseURL: goldenBaseURL, MaxEntries: 4, CacheSize: 1000})
	for _, r := range []*replica{small, whole} {
		waitFor(t, "every digest", func() bool { return hasVersion(r.s.Index(), ds[1].ID, 2) && r.s.Index().Len() == len(ds) })
	}
	held := func(when string) {
		t.Helper()
		if n := small.s.Index().inMemory(); n > bound {
			t.Fatalf("%s: %d digests in memory, more than the bound %d", when, n, bound)
		}
	}
	held("after catching up")

	paths := []string{
		"/", "/feeds/all.atom", "/feeds/all.rss?page=2", "/feeds/all.json?page=5", "/feeds/all.atom?limit=2&page=11",
		"/feeds/daily.atom", "/feeds/daily.json?page=1", "/feeds/site/baobacgiang.vn.rss", "/feeds/body/hdnd.atom?page=1",
		"/feeds/tag/dau-tu-cong.json", "/feeds/day/2024-03-02.atom",
		"/topics/site/baodanang.vn?page=1", "/topics/tag/kinh-te", "/topics/body/ubnd", "/topics/day/2024-03-01",
		"/meetings/" + meetingKey(&ds[0]), "/meetings/" + meetingKey(&ds[1]),
		"/search?q=" + url.QueryEscape("dong que"), "/search?q=" + url.QueryEscape("kỳ họp thứ 3"), "/search?q=ke+hoach+bao+cao",
	}
	for _, d := range ds {
		paths = append(paths, "/digests/"+d.ID)
	}
	for _, path := range paths {
		t.Run(path, func(t *testing.T) {
			resp1, body1 := get(t, small.url+path)
			resp2, body2 := get(t, whole.url+path)
			if resp1.StatusCode != http.StatusOK || resp2.StatusCode != http.StatusOK {
				t.Fatalf("status %s and %s", resp1.Status, resp2.Status)
			}
			if string(body1) != string(body2) {
				t.Errorf("the bounded replica serves other bytes:\n%s\n--- than the whole one:\n%s", body1, body2)
			}
			held(path)
		})
	}

	t.Run("content", func(t *testing.T) {
		for _, d := range ds {
			_, body := get(t, small.url+"/digests/"+d.ID, "Accept", "application/json")
			want, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			var got model.Digest
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("%s: %v", d.ID, err)
			}
			if gotJSON, _ := json.Marshal(got); string(gotJSON) != string(want) {
				t.Errorf("%s: served\n%s\nwant\n%s", d.ID, gotJSON, want)
			}
			held(d.ID)
		}
		_, body := get(t, small.url+"/search?q="+url.QueryEscape("DONG QUE"))
		if !strings.Contains(string(body), "/digests/d000") || strings.Contains(string(body), "/digests/d001") {
			t.Errorf("searching the oldest digest's bullet without diacritics: %s", body)
		}
		if got, ok := small.s.Index().Get(ds[1].ID); !ok || got.Version != 2 || got.Summary != ds[1].Summary {
			t.Errorf("Get(%s) = v%d %q, %v; want the correction", ds[1].ID, got.Version, got.Summary, ok)
		}
		held("Get")
	})

	if small.s.Index().loads.Load() == 0 {
		t.Error("the bounded replica read no digest again from the stream")
	}
	if n := whole.s.Index().loads.Load(); n != 0 {
		t.Errorf("the replica that keeps every digest read %d again", n)
	}
}

func TestContainsSyllables(t *testing.T) {
	// Ids 1 and 200 encode as 01 and C8 01: the one-byte id must not be
	// found inside the two-byte one.
	enc := func(ids ...uint64) []byte {
		var b []byte
		for _, id := range ids {
			b = binary.AppendUvarint(b, id)
		}
		return b
	}
	tests := []struct {
		name       string
		text, run  []byte
		wantResult bool
	}{
		{name: "inside a longer id", text: enc(200), run: enc(1), wantResult: false},
		{name: "after a longer id", text: enc(200, 1), run: enc(1), wantResult: true},
		{name: "phrase", text: enc(5, 300, 7, 9), run: enc(300, 7), wantResult: true},
		{name: "words apart", text: enc(5, 300, 8, 7), run: enc(300, 7), wantResult: false},
		{name: "first syllable", text: enc(20000, 3), run: enc(20000), wantResult: true},
		{name: "tail of a three-byte id", text: enc(20000), run: enc(20000 >> 7), wantResult: false},
		{name: "second occurrence aligned", text: enc(129, 1), run: enc(1), wantResult: true},
		{name: "empty text", text: nil, run: enc(1), wantResult: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := containsSyllables(tt.text, tt.run); got != tt.wantResult {
				t.Errorf("containsSyllables(% x, % x) = %v, want %v", tt.text, tt.run, got, tt.wantResult)
			}
		})
	}
}

// TestLexiconMatchesFoldedText checks that searching encoded syllables finds
// exactly what searching the folded text with spaces around did, over a
// vocabulary large enough for one-, two- and three-byte ids.
func TestLexiconMatchesFoldedText(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	vocab := make([]string, 20000)
	for i := range vocab {
		vocab[i] = fmt.Sprintf("w%d", i)
	}
	// Rare words get small ids first, so that common ones have long ids
	// that can hide the short ones.
	lex := lexicon{ids: map[string]uint64{}}
	lex.encode(nil, vocab, true)
	pick := func() string {
		if rng.IntN(2) == 0 {
			return vocab[rng.IntN(200)]
		}
		return vocab[rng.IntN(len(vocab))]
	}
	for range 3000 {
		text := make([]string, 1+rng.IntN(30))
		for i := range text {
			text[i] = pick()
		}
		var run []string
		if rng.IntN(2) == 0 {
			at := rng.IntN(len(text))
			run = text[at : at+min(1+rng.IntN(3), len(text)-at)]
		} else {
			run = []string{pick()}
		}
		et, _ := lex.encode(nil, text, false)
		er, _ := lex.encode(nil, run, false)
		want := strings.Contains(" "+strings.Join(text, " ")+" ", " "+strings.Join(run, " ")+" ")
		if got := containsSyllables(et, er); got != want {
			t.Fatalf("text %v, run %v: got %v, want %v", text, run, got, want)
		}
	}
}

func TestFullStoreEvictsLeastRecentlyUsed(t *testing.T) {
	d := func(id string) model.Digest { return model.Digest{ID: id} }
	s := newFullStore(2)
	s.add(1, d("a"), false)
	s.add(2, d("b"), false)
	s.add(0, d("k"), true) // kept for good, not counted against the bound
	if _, ok := s.get("a", 1); !ok {
		t.Fatal("a is missing")
	}
	s.add(3, d("c"), false) // evicts b, the least recently used
	tests := []struct {
		name   string
		id     string
		seq    uint64
		wantOK bool
	}{
		{name: "recently read", id: "a", seq: 1, wantOK: true},
		{name: "evicted", id: "b", seq: 2, wantOK: false},
		{name: "newest", id: "c", seq: 3, wantOK: true},
		{name: "kept", id: "k", seq: 0, wantOK: true},
		{name: "other revision", id: "c", seq: 4, wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, ok := s.get(tt.id, tt.seq); ok != tt.wantOK {
				t.Errorf("get(%s, %d) found %v, want %v", tt.id, tt.seq, ok, tt.wantOK)
			}
		})
	}
	if cached, kept := s.counts(); cached != 2 || kept != 1 {
		t.Errorf("counts = %d cached, %d kept; want 2, 1", cached, kept)
	}
	s.add(9, d("k"), false) // the stream's copy of k: it may leave memory now
	if cached, kept := s.counts(); cached != 2 || kept != 0 {
		t.Errorf("after k got a sequence: counts = %d cached, %d kept; want 2, 0", cached, kept)
	}
}

// TestIndexWithoutLoaderKeepsEverything: with no way to read digests again,
// the bound does not apply and nothing is lost.
func TestIndexWithoutLoaderKeepsEverything(t *testing.T) {
	ds := boundedDigests(t, 10)
	x := NewIndex(IndexOptions{BaseURL: goldenBaseURL, CacheSize: 2})
	for i, d := range ds {
		x.PutAt(d, uint64(i+1))
	}
	if n := x.inMemory(); n != len(ds) {
		t.Errorf("%d digests in memory, want all %d", n, len(ds))
	}
	if got := x.Latest(100); len(got) != len(ds) || got[len(got)-1].ID != ds[0].ID {
		t.Errorf("Latest returned %d digests", len(got))
	}
}

// TestEditedDigestLeavesMemory: a digest Put without a sequence (an
// editor's edit) stays in memory until the stream's copy of the same
// revision arrives, and then counts against the bound like any other.
func TestEditedDigestLeavesMemory(t *testing.T) {
	ds := boundedDigests(t, 4)
	x := NewIndex(IndexOptions{BaseURL: goldenBaseURL, CacheSize: 2, Loader: func(context.Context, uint64) (model.Digest, error) {
		t.Error("the loader was called: every digest asked for should be in memory")
		return model.Digest{}, fmt.Errorf("not expected")
	}})
	x.Put(ds[0])
	for i, d := range ds[1:] {
		x.PutAt(d, uint64(i+2))
	}
	if cached, kept := x.full.counts(); cached != 2 || kept != 1 {
		t.Fatalf("counts = %d cached, %d kept; want 2, 1", cached, kept)
	}
	if x.PutAt(ds[0], 1) {
		t.Error("the stream's copy of the same revision changed the index")
	}
	if cached, kept := x.full.counts(); cached != 2 || kept != 0 {
		t.Errorf("after the stream's copy: counts = %d cached, %d kept; want 2, 0", cached, kept)
	}
	if d, ok := x.Get(ds[0].ID); !ok || d.Title != ds[0].Title {
		t.Errorf("Get(%s) = %q, %v", ds[0].ID, d.Title, ok)
	}
}

// BenchmarkEntryBytes reports the heap a digest costs in an Index that
// keeps it in full (no Loader) and in one that keeps only its entry (a
// Loader, and a cache of one), over digests like the soak's.
func BenchmarkEntryBytes(b *testing.B) {
	const n = 5000
	ds := make([]model.Digest, n)
	start := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range ds {
		ds[i] = model.Digest{
			SchemaVersion: model.SchemaVersion,
			ID:            fmt.Sprintf("%016x%016x", i, i*7919),
			ReportID:      fmt.Sprintf("%064x", i),
			Title:         fmt.Sprintf("Báo cáo số %d/BC-UBND kết quả thực hiện nhiệm vụ phát triển kinh tế - xã hội", i+1),
			Summary: fmt.Sprintf("Tổng sản phẩm trên địa bàn ước tăng %d,%d%% so với cùng kỳ năm trước, cao hơn mức bình quân của tỉnh. Thu ngân sách nhà nước trên địa bàn đạt %d tỷ đồng, bằng %d%% dự toán được giao. Ủy ban nhân dân huyện đã giải ngân %d dự án đầu tư công.",
				5+i%4, i%10, 100+i, 90+i%20, 3+i%17),
			Bullets: []model.Bullet{
				{Text: fmt.Sprintf("Huyện tổ chức %d lớp đào tạo nghề cho lao động nông thôn, giải quyết việc làm cho %d người.", 10+i%30, 200+i)},
				{Text: fmt.Sprintf("Năm tới, huyện phấn đấu thu hút thêm %d doanh nghiệp thành lập mới.", 50+i)},
			},
			Figures:   []model.Figure{{Text: fmt.Sprintf("%d tỷ đồng", 100+i), Value: float64(100 + i), Unit: "tỷ đồng"}},
			Language:  "vi",
			Source:    model.Source{Site: "soak.test", AttachmentName: fmt.Sprintf("bao-cao-%05d.txt", i)},
			Backend:   "extractive",
			CreatedAt: start.Add(time.Duration(i) * time.Minute),
			Version:   1,
		}
	}
	raw := make([][]byte, n)
	for i := range ds {
		raw[i], _ = json.Marshal(ds[i])
	}
	// What search keeps of a digest: its folded text, as the Index kept
	// it before, against the lexicon's ids.
	var folded, encoded int
	lex := lexicon{ids: map[string]uint64{}}
	for i := range ds {
		words := searchSyllables(&ds[i])
		folded += len(strings.Join(words, " "))
		enc, _ := lex.encode(nil, words, true)
		encoded += len(enc)
	}
	b.Logf("search text: folded %d B/digest, as lexicon ids %d B/digest (%d syllables in the lexicon)", folded/n, encoded/n, len(lex.ids))
	loader := func(context.Context, uint64) (model.Digest, error) {
		return model.Digest{}, fmt.Errorf("not read here")
	}
	for _, bc := range []struct {
		name string
		opts IndexOptions
	}{
		{name: "full", opts: IndexOptions{}},
		{name: "entry", opts: IndexOptions{Loader: loader, CacheSize: 1}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var perDigest float64
			for b.Loop() {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				x := NewIndex(bc.opts)
				for i := range raw {
					// Decoded as the service does, so strings are not
					// shared with the test's digests.
					var d model.Digest
					if err := json.Unmarshal(raw[i], &d); err != nil {
						b.Fatal(err)
					}
					x.PutAt(d, uint64(i+1))
				}
				x.settle()
				runtime.GC()
				runtime.ReadMemStats(&after)
				perDigest = float64(after.HeapAlloc-before.HeapAlloc) / n
				runtime.KeepAlive(x)
			}
			b.ReportMetric(perDigest, "B/digest")
		})
	}
}
