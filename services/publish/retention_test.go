package publish

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bantin/bantin/internal/model"
)

// TestIndexFollowsStreamRetention limits DIGESTS to its 10 newest
// messages as an operator would (a stream update), and checks that a
// replica drops the digests the stream lets go of: they leave feeds,
// pages and search, the ones still held are served, and digests arriving
// later push the oldest out, so the index is bounded by the stream.
func TestIndexFollowsStreamRetention(t *testing.T) {
	ns := startNATS(t)
	b := connect(t, ns)
	ds := boundedDigests(t, 30)
	for _, d := range ds[:24] {
		publishDigest(t, b, d)
	}
	const keep = 10
	ctx := context.Background()
	stream, err := b.JS.Stream(ctx, model.StreamDigests)
	if err != nil {
		t.Fatal(err)
	}
	cfg := stream.CachedInfo().Config
	cfg.MaxMsgs = keep
	if _, err := b.JS.UpdateStream(ctx, cfg); err != nil {
		t.Fatalf("limiting %s to %d messages: %v", model.StreamDigests, keep, err)
	}

	r := startReplica(t, ns, Config{BaseURL: goldenBaseURL, CacheSize: 3, RetentionCheck: 20 * time.Millisecond})
	held := func(from int) {
		t.Helper()
		waitFor(t, "the index to hold the stream's digests only", func() bool {
			_, ok := r.s.Index().Get(ds[from-1].ID)
			return r.s.Index().Len() == keep && !ok
		})
		for i, d := range ds[:from+keep] {
			resp, _ := get(t, r.url+"/digests/"+d.ID)
			want := http.StatusOK
			if i < from {
				want = http.StatusNotFound
			}
			if resp.StatusCode != want {
				t.Errorf("digest %d (%s): %s, want %d", i, d.ID, resp.Status, want)
			}
		}
		_, feed := get(t, r.url+"/feeds/all.atom")
		if n := strings.Count(string(feed), "<entry>"); n != keep {
			t.Errorf("all.atom has %d entries, want the %d the stream holds", n, keep)
		}
		for i, d := range ds[:from+keep] {
			if in := strings.Contains(string(feed), d.ID); in != (i >= from) {
				t.Errorf("digest %d (%s) in the feed: %v, want %v", i, d.ID, in, i >= from)
			}
		}
	}
	held(24 - keep)

	// "cầu Đồng Quế" is only in digest 0, which the stream let go of.
	_, page := get(t, r.url+"/search?q="+url.QueryEscape("dong que"))
	if strings.Contains(string(page), ds[0].ID) {
		t.Errorf("search still finds digest 0, which DIGESTS no longer holds")
	}

	for _, d := range ds[24:] {
		publishDigest(t, b, d)
	}
	held(30 - keep)
	if n := r.s.Index().inMemory(); n > 3 {
		t.Errorf("%d digests in memory, more than the cache size 3", n)
	}
}

// TestDropBeforeKeepsUnsequenced checks that digests Put without a stream
// sequence (an editor's edit not yet read back) survive a drop.
func TestDropBeforeKeepsUnsequenced(t *testing.T) {
	x := NewIndex(IndexOptions{BaseURL: goldenBaseURL, Loader: func(context.Context, uint64) (model.Digest, error) {
		t.Fatal("nothing should be read again")
		return model.Digest{}, nil
	}})
	ds := boundedDigests(t, 5)
	for i, d := range ds[:4] {
		x.PutAt(d, uint64(i+1))
	}
	x.Put(ds[4])
	if n := x.DropBefore(3); n != 2 {
		t.Fatalf("DropBefore(3) dropped %d digests, want 2 (sequences 1 and 2)", n)
	}
	var got []string
	for _, d := range x.Latest(10) {
		got = append(got, d.ID)
	}
	if want := []string{ds[4].ID, ds[3].ID, ds[2].ID}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("after the drop the index holds %v, want %v", got, want)
	}
	if n := x.DropBefore(3); n != 0 {
		t.Errorf("a second DropBefore(3) dropped %d", n)
	}
}
