package publish

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/bantin/bantin/internal/model"
)

// pagingDigests are n digests over three sites, newest last, long enough
// that a feed page of 50 is tens of kilobytes.
func pagingDigests(t *testing.T, n int) []model.Digest {
	t.Helper()
	base, _, _ := sampleDigests(t)
	sites := []string{"baobacgiang.vn", "danang.gov.vn", "quangninh.gov.vn"}
	out := make([]model.Digest, n)
	for i := range out {
		d := base
		d.ID = fmt.Sprintf("%016x", 0x1000+i)
		d.ReportID = fmt.Sprintf("%064x", 0x1000+i)
		d.Title = fmt.Sprintf("Báo cáo số %d về kinh tế – xã hội", i)
		d.Source.Site = sites[i%len(sites)]
		d.CreatedAt = base.CreatedAt.Add(time.Duration(i) * time.Minute)
		out[i] = d
	}
	return out
}

// checkOutputCache fails unless the cache's total is within its bound and
// is the sum of what it holds.
func checkOutputCache(t *testing.T, x *Index, after string) {
	t.Helper()
	o := x.outputs
	o.mu.Lock()
	defer o.mu.Unlock()
	var sum int64
	for el := o.lru.Front(); el != nil; el = el.Next() {
		sum += el.Value.(*outputItem).size
	}
	if o.total > o.max {
		t.Fatalf("after %s: output cache holds %d bytes, over its bound of %d", after, o.total, o.max)
	}
	if sum != o.total || len(o.byKey) != o.lru.Len() {
		t.Fatalf("after %s: output cache accounts %d bytes in %d keys, holds %d bytes in %d items", after, o.total, len(o.byKey), sum, o.lru.Len())
	}
}

// gunzipped is body decompressed.
func gunzipped(t *testing.T, body []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("reading gzip: %v", err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("reading gzip: %v", err)
	}
	return plain
}

func TestOutputCacheBoundedByBytes(t *testing.T) {
	digests := pagingDigests(t, 400)
	site := siteSlug(digests[0].Source.Site)
	// Pages past the first of everything, and every page of a site, in
	// each format and two limits: all cached in the topic output cache.
	var paths []string
	for page := 1; page <= 7; page++ {
		for _, ext := range []string{"atom", "rss", "json"} {
			paths = append(paths, fmt.Sprintf("/feeds/all.%s?page=%d", ext, page))
		}
	}
	for page := range 3 {
		for _, ext := range []string{"atom", "rss", "json"} {
			paths = append(paths, fmt.Sprintf("/feeds/site/%s.%s?page=%d", site, ext, page))
			paths = append(paths, fmt.Sprintf("/feeds/site/%s.%s?page=%d&limit=10", site, ext, page))
		}
		paths = append(paths, fmt.Sprintf("/topics/site/%s?page=%d", site, page))
	}
	// The first path's key, to check it was evicted before it is asked
	// for again.
	first := outputKey{topic: topic{Kind: KindAll}, format: "atom", page: 1, limit: DefaultMaxEntries}

	tests := []struct {
		name  string
		bound int64
		// evicts says whether paging through paths must evict.
		evicts bool
	}{
		{name: "default bound keeps every page", bound: 0, evicts: false},
		{name: "a few pages", bound: 256 << 10, evicts: true},
		{name: "smaller than one page", bound: 4 << 10, evicts: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, srv := newServer(t, IndexOptions{OutputCacheBytes: tt.bound})
			for _, d := range digests {
				x.Put(d)
			}
			type seen struct {
				body       []byte
				etag, gzET string
			}
			got := make(map[string]seen)
			for _, p := range paths {
				resp, body := get(t, srv.URL+p)
				if resp.StatusCode != http.StatusOK || len(body) == 0 {
					t.Fatalf("GET %s: %d, %d bytes", p, resp.StatusCode, len(body))
				}
				checkOutputCache(t, x, "GET "+p)
				zresp, zbody := get(t, srv.URL+p, "Accept-Encoding", "gzip")
				if zresp.Header.Get("Content-Encoding") != "gzip" || !bytes.Equal(gunzipped(t, zbody), body) {
					t.Fatalf("GET %s gzipped: Content-Encoding %q, body differs from the plain one", p, zresp.Header.Get("Content-Encoding"))
				}
				checkOutputCache(t, x, "GET "+p+" gzipped")
				got[p] = seen{body: body, etag: resp.Header.Get("ETag"), gzET: zresp.Header.Get("ETag")}
			}
			total, n := x.outputs.bytes()
			t.Logf("%d outputs paged through; cache holds %d of them, %d bytes; %d evictions", len(paths), n, total, x.outputs.evictions)
			if evicted := x.outputs.evictions > 0; evicted != tt.evicts {
				t.Fatalf("evictions = %d, want some: %v", x.outputs.evictions, tt.evicts)
			}
			if tt.evicts && x.outputs.has(first) {
				t.Fatalf("%v still cached after paging through %d outputs with a bound of %d bytes", first, len(paths), tt.bound)
			}
			// Evicted or not, every output answers a client's validators
			// and renders again to the same bytes.
			for _, p := range paths {
				want := got[p]
				for _, etag := range []string{want.etag, want.gzET} {
					resp, body := get(t, srv.URL+p, "If-None-Match", etag)
					if resp.StatusCode != http.StatusNotModified || len(body) != 0 {
						t.Errorf("GET %s with If-None-Match %s: %d with %d bytes, want 304", p, etag, resp.StatusCode, len(body))
					}
					checkOutputCache(t, x, "conditional GET "+p)
				}
				resp, body := get(t, srv.URL+p)
				if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") != want.etag || !bytes.Equal(body, want.body) {
					t.Errorf("GET %s again: %d, ETag %s (first %s), body identical: %v", p, resp.StatusCode, resp.Header.Get("ETag"), want.etag, bytes.Equal(body, want.body))
				}
				checkOutputCache(t, x, "GET "+p+" again")
			}

			// Readers paging at the same time leave the cache within
			// its bound and get the same bytes.
			var wg sync.WaitGroup
			errs := make(chan string, len(paths)*4)
			for r := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range paths {
						p := paths[(i*(r+1))%len(paths)]
						resp, body := get(t, srv.URL+p)
						if resp.StatusCode != http.StatusOK || !bytes.Equal(body, got[p].body) {
							errs <- fmt.Sprintf("concurrent GET %s: %d, body identical: %v", p, resp.StatusCode, bytes.Equal(body, got[p].body))
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for e := range errs {
				t.Error(e)
			}
			checkOutputCache(t, x, "concurrent paging")
		})
	}
}

func TestOutputCacheFollowsChanges(t *testing.T) {
	// An output re-rendered after a change is accounted at its new size,
	// not twice.
	digests := pagingDigests(t, 120)
	x, srv := newServer(t, IndexOptions{OutputCacheBytes: 1 << 20})
	for _, d := range digests[:60] {
		x.Put(d)
	}
	const p = "/feeds/all.json?page=1&limit=30"
	_, before := get(t, srv.URL+p)
	total0, n0 := x.outputs.bytes()
	for _, d := range digests[60:] {
		x.Put(d)
	}
	_, after := get(t, srv.URL+p)
	checkOutputCache(t, x, "a change")
	total1, n1 := x.outputs.bytes()
	if bytes.Equal(before, after) {
		t.Fatalf("page 1 did not change after 60 newer digests")
	}
	if n0 != 1 || n1 != 1 {
		t.Fatalf("outputs cached: %d then %d, want 1", n0, n1)
	}
	c := x.output(topic{Kind: KindAll}, "json", 1, 30)
	c.mu.Lock()
	size := c.cur.size()
	c.mu.Unlock()
	if total1 != size {
		t.Errorf("cache total went from %d to %d bytes; its one output's rendition is %d", total0, total1, size)
	}
}
