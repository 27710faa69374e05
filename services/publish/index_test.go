package publish

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bantin/bantin/internal/model"
)

func TestPut(t *testing.T) {
	base, _, _ := sampleDigests(t)
	later := base.CreatedAt.Add(time.Hour)
	revise := func(version int, updated time.Time, title string) model.Digest {
		d := base
		d.Version, d.UpdatedAt, d.Title = version, updated, title
		return d
	}
	tests := []struct {
		name      string
		puts      []model.Digest
		want      []bool
		wantTitle string
	}{
		{
			name:      "same digest twice",
			puts:      []model.Digest{base, base},
			want:      []bool{true, false},
			wantTitle: base.Title,
		},
		{
			name:      "higher version replaces",
			puts:      []model.Digest{base, revise(2, time.Time{}, "v2")},
			want:      []bool{true, true},
			wantTitle: "v2",
		},
		{
			name:      "lower version after higher is ignored",
			puts:      []model.Digest{revise(3, time.Time{}, "v3"), revise(2, later, "v2")},
			want:      []bool{true, false},
			wantTitle: "v3",
		},
		{
			name:      "same version later update replaces",
			puts:      []model.Digest{base, revise(1, later, "later")},
			want:      []bool{true, true},
			wantTitle: "later",
		},
		{
			name:      "same version earlier update is ignored",
			puts:      []model.Digest{revise(1, later, "later"), revise(1, base.CreatedAt, "earlier")},
			want:      []bool{true, false},
			wantTitle: "later",
		},
		{
			name:      "same version and update time keeps the first",
			puts:      []model.Digest{base, revise(1, time.Time{}, "other text")},
			want:      []bool{true, false},
			wantTitle: base.Title,
		},
		{
			name:      "replayed history ends at the newest",
			puts:      []model.Digest{base, revise(2, later, "v2"), base, revise(2, later, "v2")},
			want:      []bool{true, true, false, false},
			wantTitle: "v2",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := NewIndex(IndexOptions{BaseURL: goldenBaseURL})
			var got []bool
			for _, d := range tt.puts {
				got = append(got, x.Put(d))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Put results = %v, want %v", got, tt.want)
			}
			if x.Len() != 1 {
				t.Errorf("Len = %d, want 1", x.Len())
			}
			d, ok := x.Get(base.ID)
			if !ok || d.Title != tt.wantTitle {
				t.Errorf("Get = %q, %v; want %q, true", d.Title, ok, tt.wantTitle)
			}
		})
	}
}

func TestPutIgnoresDigestWithoutID(t *testing.T) {
	x := NewIndex(IndexOptions{})
	if x.Put(model.Digest{Title: "không có id"}) {
		t.Error("Put of a digest without ID = true, want false")
	}
	if x.Len() != 0 {
		t.Errorf("Len = %d, want 0", x.Len())
	}
}

func TestGetIsolation(t *testing.T) {
	d, _, _ := sampleDigests(t)
	x := NewIndex(IndexOptions{})
	x.Put(d)
	d.Bullets[0].Text = "changed by the caller after Put"
	d.Source.Tags[0] = "changed"

	got, ok := x.Get(d.ID)
	if !ok {
		t.Fatal("Get: not found")
	}
	if got.Bullets[0].Text == d.Bullets[0].Text || got.Source.Tags[0] == "changed" {
		t.Error("the caller's slices are shared with the Index after Put")
	}
	got.Figures[0].Text = "changed by a reader"
	again, _ := x.Get(d.ID)
	if again.Figures[0].Text == "changed by a reader" {
		t.Error("slices returned by Get are shared with the Index")
	}
	if _, ok := x.Get("khong-co"); ok {
		t.Error("Get of an unknown id: found")
	}
}

func TestLatest(t *testing.T) {
	bacGiang, quangNinh, daNang := sampleDigests(t)
	x := NewIndex(IndexOptions{})
	for _, d := range []model.Digest{daNang, bacGiang, quangNinh} {
		x.Put(d)
	}
	// Same time as bacGiang: ties are broken by ID, smaller first.
	twinA, twinB := bacGiang, bacGiang
	twinA.ID, twinB.ID = "0000aaaa", "ffff0000"
	x.Put(twinB)
	x.Put(twinA)

	ids := func(ds []model.Digest) []string {
		var out []string
		for _, d := range ds {
			out = append(out, d.ID)
		}
		return out
	}
	// quangNinh has no PublishedAt, so its CreatedAt (the newest) counts.
	want := []string{quangNinh.ID, twinA.ID, bacGiang.ID, twinB.ID, daNang.ID}
	if got := ids(x.Latest(10)); !slices.Equal(got, want) {
		t.Errorf("Latest(10) = %v, want %v", got, want)
	}
	if got := ids(x.Latest(2)); !slices.Equal(got, want[:2]) {
		t.Errorf("Latest(2) = %v, want %v", got, want[:2])
	}
	if got := x.Latest(0); got != nil {
		t.Errorf("Latest(0) = %v, want nil", got)
	}

	// A revision that moves the article's date moves the digest.
	moved := daNang
	moved.Version++
	moved.Source.PublishedAt = quangNinh.CreatedAt.Add(time.Minute)
	if !x.Put(moved) {
		t.Fatal("Put of a revision = false")
	}
	want = []string{daNang.ID, quangNinh.ID, twinA.ID, bacGiang.ID, twinB.ID}
	if got := ids(x.Latest(10)); !slices.Equal(got, want) {
		t.Errorf("after a revision, Latest(10) = %v, want %v", got, want)
	}
	if x.Len() != 5 {
		t.Errorf("Len = %d, want 5", x.Len())
	}
}

// TestLatestMatchesSort replays a shuffled history with revisions that move
// digests back and forth, reading now and then, and compares Latest with a
// plain sort of the final state.
func TestLatestMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2023, 12, 1, 0, 0, 0, 0, time.UTC)
	var history []model.Digest
	for i := range 300 {
		for v := 1; v <= 1+rng.IntN(3); v++ {
			d := model.Digest{ID: fmt.Sprintf("d%03d", i), Version: v, CreatedAt: base}
			// Few distinct times, so that ties on time are common.
			if rng.IntN(4) > 0 {
				d.Source.PublishedAt = base.Add(time.Duration(rng.IntN(20)) * time.Hour)
			}
			history = append(history, d)
		}
	}
	rng.Shuffle(len(history), func(i, j int) { history[i], history[j] = history[j], history[i] })

	x := NewIndex(IndexOptions{})
	final := map[string]model.Digest{}
	for i, d := range history {
		x.Put(d)
		if old, ok := final[d.ID]; !ok || d.Version > old.Version {
			final[d.ID] = d
		}
		if i%17 == 0 {
			x.Latest(5)
		}
	}
	var want []string
	for _, d := range final {
		want = append(want, d.ID)
	}
	slices.SortFunc(want, func(a, b string) int {
		return -compareKeys(keyOf(new(final[a])), keyOf(new(final[b])))
	})
	var got []string
	for _, d := range x.Latest(len(final) + 1) {
		got = append(got, d.ID)
		if d.Version != final[d.ID].Version {
			t.Errorf("%s: version %d, want %d", d.ID, d.Version, final[d.ID].Version)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("Latest = %v\nwant     %v", got, want)
	}
}

func TestMaxEntries(t *testing.T) {
	x, srv := newServer(t, IndexOptions{MaxEntries: 2})
	bacGiang, quangNinh, daNang := sampleDigests(t)
	for _, d := range []model.Digest{bacGiang, quangNinh, daNang} {
		x.Put(d)
	}
	f := parseFeed(t, srv.URL+"/feeds/all.json")
	if len(f.Items) != 2 {
		t.Errorf("feed has %d items, want 2", len(f.Items))
	}
}

// TestConcurrentUse is for the race detector: writers and readers at once.
func TestConcurrentUse(t *testing.T) {
	x, srv := newServer(t, IndexOptions{})
	base, _, _ := sampleDigests(t)
	client := srv.Client()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 25 {
				d := base
				d.ID = fmt.Sprintf("w%d-%02d", w, i)
				d.Source.PublishedAt = base.Source.PublishedAt.Add(time.Duration(i) * time.Minute)
				x.Put(d)
				x.Latest(5)
			}
		})
		wg.Go(func() {
			for _, p := range []string{"/feeds/all.atom", "/feeds/all.rss", "/feeds/all.json", "/"} {
				for range 5 {
					resp, err := client.Get(srv.URL + p)
					if err != nil {
						t.Errorf("GET %s: %v", p, err)
						return
					}
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						t.Errorf("GET %s: %s", p, resp.Status)
					}
				}
			}
		})
	}
	wg.Wait()
	if x.Len() != 100 {
		t.Errorf("Len = %d, want 100", x.Len())
	}
}
