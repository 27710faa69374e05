package publish

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"encoding/json"
	"encoding/xml"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"
	"golang.org/x/text/unicode/norm"

	"github.com/bantin/bantin/internal/model"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// feedFormats are the three feeds, with what gofeed calls them.
var feedFormats = []struct {
	name, path, feedType, contentType string
}{
	{name: "atom", path: "/feeds/all.atom", feedType: "atom", contentType: "application/atom+xml; charset=utf-8"},
	{name: "rss", path: "/feeds/all.rss", feedType: "rss", contentType: "application/rss+xml; charset=utf-8"},
	{name: "json", path: "/feeds/all.json", feedType: "json", contentType: "application/feed+json; charset=utf-8"},
}

// parseFeed fetches a feed the way a reader does, letting the client
// negotiate gzip, and parses it with gofeed.
func parseFeed(t *testing.T, url string) *gofeed.Feed {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading %s: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	f, err := gofeed.NewParser().ParseString(string(body))
	if err != nil {
		t.Fatalf("parsing %s: %v\n%s", url, err, body)
	}
	return f
}

func TestFeedsParse(t *testing.T) {
	for _, ff := range feedFormats {
		t.Run(ff.name, func(t *testing.T) {
			x, srv := newServer(t, IndexOptions{Title: "bantin"})
			bacGiang, quangNinh, daNang := sampleDigests(t)
			for _, d := range []model.Digest{bacGiang, quangNinh, daNang} {
				x.Put(d)
			}
			want := []model.Digest{quangNinh, bacGiang, daNang}

			f := parseFeed(t, srv.URL+ff.path)
			if f.FeedType != ff.feedType {
				t.Errorf("feed type = %q, want %q", f.FeedType, ff.feedType)
			}
			if f.Title != "bantin" {
				t.Errorf("feed title = %q, want bantin", f.Title)
			}
			if len(f.Items) != len(want) {
				t.Fatalf("feed has %d items, want %d", len(f.Items), len(want))
			}
			for i, it := range f.Items {
				d := want[i]
				if it.Title != d.Title {
					t.Errorf("item %d title = %q, want %q", i, it.Title, d.Title)
				}
				if !norm.NFC.IsNormalString(d.Title) || !norm.NFC.IsNormalString(it.Title) {
					t.Errorf("item %d title is not NFC: %q", i, it.Title)
				}
				if it.GUID != "urn:bantin:digest:"+d.ID {
					t.Errorf("item %d id = %q, want urn:bantin:digest:%s", i, it.GUID, d.ID)
				}
				page := srv.URL + "/digests/" + d.ID
				wantLink := cmp.Or(d.Source.ArticleURL, page)
				if it.Link != wantLink {
					t.Errorf("item %d link = %q, want %q", i, it.Link, wantLink)
				}
				var enclosures []string
				for _, e := range it.Enclosures {
					enclosures = append(enclosures, e.URL)
					if e.Type == "" {
						t.Errorf("item %d enclosure %s has no type", i, e.URL)
					}
				}
				if d.Source.AttachmentURL != "" && !slices.Equal(enclosures, []string{d.Source.AttachmentURL}) {
					t.Errorf("item %d enclosures = %v, want [%s]", i, enclosures, d.Source.AttachmentURL)
				}
				if d.Source.AttachmentURL == "" && len(enclosures) != 0 {
					t.Errorf("item %d enclosures = %v, want none", i, enclosures)
				}

				// The content links to the digest page, the article and
				// the attachment, and carries the text with page citations.
				// RSS carries the HTML in description, the others in content.
				content := cmp.Or(it.Content, it.Description)
				var hrefs []string
				for _, n := range htmlElements(t, content) {
					if n.Data == "a" {
						hrefs = append(hrefs, attr(n, "href"))
					}
				}
				for _, u := range []string{page, d.Source.ArticleURL, d.Source.AttachmentURL} {
					if u != "" && !slices.Contains(hrefs, u) {
						t.Errorf("item %d content links %v, missing %s", i, hrefs, u)
					}
				}
				text := htmlText(t, content)
				if !strings.Contains(text, d.Summary) {
					t.Errorf("item %d content %q lacks the summary", i, text)
				}
				for _, b := range d.Bullets {
					want := b.Text
					if b.Page > 0 {
						want += " (tr. " + strconv.Itoa(b.Page) + ")"
					}
					if !strings.Contains(text, want) {
						t.Errorf("item %d content %q lacks bullet %q", i, text, want)
					}
				}
				for _, fg := range d.Figures {
					if !strings.Contains(text, fg.Text) {
						t.Errorf("item %d content %q lacks figure %q", i, text, fg.Text)
					}
				}

				for _, c := range append(slices.Clone(d.Source.Tags), d.Source.Site) {
					if !slices.Contains(it.Categories, c) {
						t.Errorf("item %d categories %v lack %q", i, it.Categories, c)
					}
				}
				var authors []string
				for _, a := range append([]*gofeed.Person{it.Author}, it.Authors...) {
					if a != nil {
						authors = append(authors, a.Name)
					}
				}
				if wantAuthor := cmp.Or(d.Source.Author, d.Source.Site); !slices.Contains(authors, wantAuthor) {
					t.Errorf("item %d authors = %q, want %q", i, authors, wantAuthor)
				}
				published := d.Source.PublishedAt
				if published.IsZero() {
					published = d.CreatedAt
				}
				if it.PublishedParsed == nil || !it.PublishedParsed.Equal(published) {
					t.Errorf("item %d published = %v, want %v", i, it.PublishedParsed, published)
				}
			}

			// A new digest re-renders the feed; the ids of the others stay.
			newer := bacGiang
			newer.ID = "ffffeeee00001111"
			newer.Source.PublishedAt = quangNinh.CreatedAt.Add(time.Hour)
			x.Put(newer)
			again := parseFeed(t, srv.URL+ff.path)
			if len(again.Items) != 4 || again.Items[0].GUID != "urn:bantin:digest:"+newer.ID {
				t.Fatalf("after Put, items = %d, first %q", len(again.Items), again.Items[0].GUID)
			}
			for i, it := range f.Items {
				if again.Items[i+1].GUID != it.GUID {
					t.Errorf("item id changed across renders: %q then %q", it.GUID, again.Items[i+1].GUID)
				}
			}
		})
	}
}

// Atom (RFC 4287) as far as the tests check it.
type specAtom struct {
	XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string   `xml:"http://www.w3.org/2005/Atom id"`
	Title   string   `xml:"http://www.w3.org/2005/Atom title"`
	Updated string   `xml:"http://www.w3.org/2005/Atom updated"`
	Author  []struct {
		Name string `xml:"http://www.w3.org/2005/Atom name"`
	} `xml:"http://www.w3.org/2005/Atom author"`
	Links []struct {
		Rel  string `xml:"rel,attr"`
		Href string `xml:"href,attr"`
	} `xml:"http://www.w3.org/2005/Atom link"`
	Entries []struct {
		ID      string `xml:"http://www.w3.org/2005/Atom id"`
		Title   string `xml:"http://www.w3.org/2005/Atom title"`
		Updated string `xml:"http://www.w3.org/2005/Atom updated"`
		Author  []struct {
			Name string `xml:"http://www.w3.org/2005/Atom name"`
		} `xml:"http://www.w3.org/2005/Atom author"`
		Links []struct {
			Rel   string `xml:"rel,attr"`
			Href  string `xml:"href,attr"`
			Title string `xml:"title,attr"`
		} `xml:"http://www.w3.org/2005/Atom link"`
		Content struct {
			Type string `xml:"type,attr"`
			Body string `xml:",chardata"`
		} `xml:"http://www.w3.org/2005/Atom content"`
	} `xml:"http://www.w3.org/2005/Atom entry"`
}

// RSS 2.0 as far as the tests check it.
type specRSS struct {
	XMLName xml.Name `xml:"rss"`
	Version string   `xml:"version,attr"`
	Channel struct {
		Title string `xml:"title"`
		// Links are the channel's link and atom:link, told apart by
		// namespace.
		Links []struct {
			XMLName xml.Name
			Value   string `xml:",chardata"`
			Href    string `xml:"href,attr"`
		} `xml:"link"`
		Description string `xml:"description"`
		Items       []struct {
			Title       string `xml:"title"`
			Link        string `xml:"link"`
			Description string `xml:"description"`
			GUID        struct {
				IsPermaLink string `xml:"isPermaLink,attr"`
				Value       string `xml:",chardata"`
			} `xml:"guid"`
			PubDate   string `xml:"pubDate"`
			Enclosure *struct {
				URL    string `xml:"url,attr"`
				Length string `xml:"length,attr"`
				Type   string `xml:"type,attr"`
			} `xml:"enclosure"`
		} `xml:"item"`
	} `xml:"channel"`
}

// JSON Feed 1.1 as far as the tests check it.
type specJSONFeed struct {
	Version string `json:"version"`
	Title   string `json:"title"`
	FeedURL string `json:"feed_url"`
	Items   []struct {
		ID          string `json:"id"`
		URL         string `json:"url"`
		Title       string `json:"title"`
		ContentHTML string `json:"content_html"`
		Attachments []struct {
			URL      string `json:"url"`
			MIMEType string `json:"mime_type"`
		} `json:"attachments"`
	} `json:"items"`
}

func TestFeedsSpec(t *testing.T) {
	x, srv := newServer(t, IndexOptions{})
	bacGiang, quangNinh, daNang := sampleDigests(t)
	for _, d := range []model.Digest{bacGiang, quangNinh, daNang} {
		x.Put(d)
	}

	t.Run("atom", func(t *testing.T) {
		_, body := get(t, srv.URL+"/feeds/all.atom")
		var f specAtom
		if err := xml.Unmarshal(body, &f); err != nil {
			t.Fatalf("decoding Atom: %v", err)
		}
		if f.ID == "" || f.Title == "" {
			t.Errorf("feed id %q, title %q: both required", f.ID, f.Title)
		}
		updated := mustTime(t, f.Updated)
		// The feed changed last when daNang was revised... unless an
		// entry was created later: quangNinh's CreatedAt is the newest.
		if !updated.Equal(quangNinh.CreatedAt) {
			t.Errorf("feed updated = %v, want the newest entry's %v", updated, quangNinh.CreatedAt)
		}
		hasSelf := false
		for _, l := range f.Links {
			hasSelf = hasSelf || (l.Rel == "self" && l.Href == srv.URL+"/feeds/all.atom")
		}
		if !hasSelf {
			t.Errorf("feed links %+v lack rel=self", f.Links)
		}
		if len(f.Entries) != 3 {
			t.Fatalf("%d entries, want 3", len(f.Entries))
		}
		for i, e := range f.Entries {
			if e.ID == "" || e.Title == "" || e.Updated == "" {
				t.Errorf("entry %d: id %q, title %q, updated %q: all required", i, e.ID, e.Title, e.Updated)
			}
			if _, err := time.Parse(time.RFC3339, e.Updated); err != nil {
				t.Errorf("entry %d updated: %v", i, err)
			}
			if len(e.Author) == 0 && len(f.Author) == 0 {
				t.Errorf("entry %d has no author, nor does the feed", i)
			}
			if e.Content.Type != "html" {
				t.Errorf("entry %d content type = %q, want html", i, e.Content.Type)
			}
			rels := map[string]int{}
			for _, l := range e.Links {
				rels[l.Rel]++
			}
			if rels["alternate"] != 1 {
				t.Errorf("entry %d has %d alternate links, want 1", i, rels["alternate"])
			}
		}
		// bacGiang: article, digest page and attachment.
		var links []string
		for _, l := range f.Entries[1].Links {
			links = append(links, l.Rel+" "+l.Href)
		}
		wantLinks := []string{
			"alternate " + bacGiang.Source.ArticleURL,
			"related " + srv.URL + "/digests/" + bacGiang.ID,
			"related " + bacGiang.Source.AttachmentURL,
			"enclosure " + bacGiang.Source.AttachmentURL,
		}
		if !slices.Equal(links, wantLinks) {
			t.Errorf("entry links = %q, want %q", links, wantLinks)
		}
	})

	t.Run("rss", func(t *testing.T) {
		_, body := get(t, srv.URL+"/feeds/all.rss")
		var f specRSS
		if err := xml.Unmarshal(body, &f); err != nil {
			t.Fatalf("decoding RSS: %v", err)
		}
		if f.Version != "2.0" {
			t.Errorf("version = %q, want 2.0", f.Version)
		}
		c := f.Channel
		var link, self string
		for _, l := range c.Links {
			switch l.XMLName.Space {
			case "":
				link = l.Value
			case "http://www.w3.org/2005/Atom":
				self = l.Href
			}
		}
		if c.Title == "" || link == "" || c.Description == "" {
			t.Errorf("channel title %q, link %q, description %q: all required", c.Title, link, c.Description)
		}
		if self != srv.URL+"/feeds/all.rss" {
			t.Errorf("atom:link self = %q, want the feed's URL", self)
		}
		if len(c.Items) != 3 {
			t.Fatalf("%d items, want 3", len(c.Items))
		}
		for i, it := range c.Items {
			if it.Title == "" && it.Description == "" {
				t.Errorf("item %d has neither title nor description", i)
			}
			if it.GUID.IsPermaLink != "false" || it.GUID.Value == "" {
				t.Errorf("item %d guid = %+v, want an id with isPermaLink=false", i, it.GUID)
			}
			if _, err := time.Parse(time.RFC1123Z, it.PubDate); err != nil {
				t.Errorf("item %d pubDate: %v", i, err)
			}
			if e := it.Enclosure; e != nil && (e.URL == "" || e.Length == "" || e.Type == "") {
				t.Errorf("item %d enclosure %+v: url, length and type are required", i, *e)
			}
		}
		if e := c.Items[1].Enclosure; e == nil || e.Type != "application/pdf" {
			t.Errorf("bacGiang enclosure = %+v, want a PDF", e)
		}
	})

	t.Run("json", func(t *testing.T) {
		_, body := get(t, srv.URL+"/feeds/all.json")
		var f specJSONFeed
		if err := json.Unmarshal(body, &f); err != nil {
			t.Fatalf("decoding JSON Feed: %v", err)
		}
		if f.Version != "https://jsonfeed.org/version/1.1" {
			t.Errorf("version = %q", f.Version)
		}
		if f.Title == "" || f.Items == nil {
			t.Errorf("title %q, items %v: both required", f.Title, f.Items)
		}
		if f.FeedURL != srv.URL+"/feeds/all.json" {
			t.Errorf("feed_url = %q", f.FeedURL)
		}
		if len(f.Items) != 3 {
			t.Fatalf("%d items, want 3", len(f.Items))
		}
		for i, it := range f.Items {
			if it.ID == "" || it.ContentHTML == "" {
				t.Errorf("item %d: id %q, content_html %q: both required", i, it.ID, it.ContentHTML)
			}
			for _, a := range it.Attachments {
				if a.URL == "" || a.MIMEType == "" {
					t.Errorf("item %d attachment %+v: url and mime_type are required", i, a)
				}
			}
		}
	})
}

func TestFeedsEmpty(t *testing.T) {
	_, srv := newServer(t, IndexOptions{})
	for _, ff := range feedFormats {
		t.Run(ff.name, func(t *testing.T) {
			resp, _ := get(t, srv.URL+ff.path)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %s", resp.Status)
			}
			if lm := resp.Header.Get("Last-Modified"); lm != "" {
				t.Errorf("Last-Modified = %q for an empty feed, want none", lm)
			}
			if f := parseFeed(t, srv.URL+ff.path); len(f.Items) != 0 {
				t.Errorf("%d items, want 0", len(f.Items))
			}
		})
	}
}

func TestGolden(t *testing.T) {
	x, srv := newServer(t, IndexOptions{BaseURL: goldenBaseURL})
	bacGiang, quangNinh, daNang := sampleDigests(t)
	for _, d := range []model.Digest{bacGiang, quangNinh, daNang, hostileDigest(t)} {
		x.Put(d)
	}
	for _, ff := range feedFormats {
		t.Run(ff.name, func(t *testing.T) {
			resp, body := get(t, srv.URL+ff.path)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %s", resp.Status)
			}
			golden := filepath.Join("testdata", "all."+ff.name)
			if *update {
				if err := os.WriteFile(golden, body, 0o644); err != nil {
					t.Fatalf("writing golden file: %v", err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("reading golden file (run go test -update to create it): %v", err)
			}
			if !bytes.Equal(body, want) {
				t.Errorf("%s differs from %s (run go test -update after checking the change):\n%s", ff.path, golden, firstDiff(want, body))
			}
		})
	}
}

// firstDiff describes the first line where got differs from want.
func firstDiff(want, got []byte) string {
	w, g := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + strconv.Itoa(i+1) + ":\n  want: " + wl + "\n  got:  " + gl
		}
	}
	return "no difference by line"
}

func TestConditionalGET(t *testing.T) {
	for _, ff := range feedFormats {
		t.Run(ff.name, func(t *testing.T) {
			x, srv := newServer(t, IndexOptions{})
			bacGiang, quangNinh, daNang := sampleDigests(t)
			x.Put(bacGiang)
			x.Put(daNang)
			url := srv.URL + ff.path

			resp, body := get(t, url)
			etag, lastModified := resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
			if resp.StatusCode != http.StatusOK || len(body) == 0 {
				t.Fatalf("GET: %s, %d bytes", resp.Status, len(body))
			}
			if ct := resp.Header.Get("Content-Type"); ct != ff.contentType {
				t.Errorf("Content-Type = %q, want %q", ct, ff.contentType)
			}
			if len(etag) < 3 || etag[0] != '"' || etag[len(etag)-1] != '"' {
				t.Errorf("ETag = %q, want a quoted strong tag", etag)
			}
			if lm, err := http.ParseTime(lastModified); err != nil || !lm.Equal(bacGiang.CreatedAt) {
				t.Errorf("Last-Modified = %q (%v), want %v", lastModified, err, bacGiang.CreatedAt)
			}

			resp, body = get(t, url, "If-None-Match", etag)
			if resp.StatusCode != http.StatusNotModified || len(body) != 0 {
				t.Errorf("If-None-Match: %s with %d bytes, want 304 and no body", resp.Status, len(body))
			}
			if resp.Header.Get("ETag") != etag {
				t.Errorf("304 ETag = %q, want %q", resp.Header.Get("ETag"), etag)
			}
			resp, _ = get(t, url, "If-None-Match", `"other", W/`+etag)
			if resp.StatusCode != http.StatusNotModified {
				t.Errorf("If-None-Match with a list and a weak tag: %s, want 304", resp.Status)
			}
			resp, _ = get(t, url, "If-Modified-Since", lastModified)
			if resp.StatusCode != http.StatusNotModified {
				t.Errorf("If-Modified-Since: %s, want 304", resp.Status)
			}
			resp, _ = get(t, url, "If-Modified-Since", bacGiang.CreatedAt.Add(-time.Second).Format(http.TimeFormat))
			if resp.StatusCode != http.StatusOK {
				t.Errorf("If-Modified-Since before the change: %s, want 200", resp.Status)
			}

			// Putting what is already there changes nothing.
			x.Put(bacGiang)
			if resp, _ = get(t, url, "If-None-Match", etag); resp.StatusCode != http.StatusNotModified {
				t.Errorf("after a duplicate Put: %s, want 304", resp.Status)
			}

			x.Put(quangNinh)
			resp, body = get(t, url, "If-None-Match", etag, "If-Modified-Since", lastModified)
			if resp.StatusCode != http.StatusOK || len(body) == 0 {
				t.Fatalf("after Put: %s, %d bytes, want 200", resp.Status, len(body))
			}
			if newTag := resp.Header.Get("ETag"); newTag == etag || newTag == "" {
				t.Errorf("after Put, ETag = %q, want a new one (was %q)", newTag, etag)
			}
			resp, _ = get(t, url, "If-Modified-Since", lastModified)
			if resp.StatusCode != http.StatusOK {
				t.Errorf("If-Modified-Since after Put: %s, want 200", resp.Status)
			}
		})
	}
}

func TestGzip(t *testing.T) {
	for _, ff := range feedFormats {
		t.Run(ff.name, func(t *testing.T) {
			x, srv := newServer(t, IndexOptions{})
			d, _, _ := sampleDigests(t)
			x.Put(d)
			url := srv.URL + ff.path

			plainResp, plain := get(t, url)
			if enc := plainResp.Header.Get("Content-Encoding"); enc != "" {
				t.Errorf("without Accept-Encoding, Content-Encoding = %q", enc)
			}
			resp, zipped := get(t, url, "Accept-Encoding", "br;q=1.0, gzip;q=0.8")
			if enc := resp.Header.Get("Content-Encoding"); enc != "gzip" {
				t.Fatalf("Content-Encoding = %q, want gzip", enc)
			}
			if !slices.Contains(resp.Header.Values("Vary"), "Accept-Encoding") {
				t.Errorf("Vary = %q, want Accept-Encoding", resp.Header.Values("Vary"))
			}
			if ct := resp.Header.Get("Content-Type"); ct != ff.contentType {
				t.Errorf("Content-Type = %q, want %q", ct, ff.contentType)
			}
			zr, err := gzip.NewReader(bytes.NewReader(zipped))
			if err != nil {
				t.Fatalf("gzip: %v", err)
			}
			unzipped, err := io.ReadAll(zr)
			if err != nil {
				t.Fatalf("gunzip: %v", err)
			}
			if !bytes.Equal(unzipped, plain) {
				t.Error("gunzipped body differs from the plain one")
			}
			gzTag := resp.Header.Get("ETag")
			if gzTag == "" || gzTag == plainResp.Header.Get("ETag") {
				t.Errorf("gzip ETag = %q, want one of its own (plain %q)", gzTag, plainResp.Header.Get("ETag"))
			}
			resp, _ = get(t, url, "Accept-Encoding", "gzip", "If-None-Match", gzTag)
			if resp.StatusCode != http.StatusNotModified {
				t.Errorf("If-None-Match with the gzip ETag: %s, want 304", resp.Status)
			}
			resp, _ = get(t, url, "Accept-Encoding", "gzip;q=0, identity")
			if enc := resp.Header.Get("Content-Encoding"); enc != "" {
				t.Errorf("with gzip;q=0, Content-Encoding = %q, want none", enc)
			}
		})
	}
}

func TestRenderOncePerChange(t *testing.T) {
	x, srv := newServer(t, IndexOptions{})
	bacGiang, quangNinh, _ := sampleDigests(t)
	x.Put(bacGiang)
	caches := map[string]*renditionCache{"/feeds/all.atom": x.atom, "/feeds/all.rss": x.rss, "/feeds/all.json": x.json, "/": x.home}
	fetchAll := func() {
		for path := range caches {
			for _, enc := range []string{"", "gzip"} {
				get(t, srv.URL+path, "Accept-Encoding", enc)
			}
		}
	}
	check := func(want int) {
		t.Helper()
		for path, c := range caches {
			c.mu.Lock()
			got := c.renders
			c.mu.Unlock()
			if got != want {
				t.Errorf("%s rendered %d times, want %d", path, got, want)
			}
		}
	}
	fetchAll()
	fetchAll()
	check(1)
	x.Put(bacGiang) // no change
	fetchAll()
	check(1)
	x.Put(quangNinh)
	x.Put(quangNinh)
	fetchAll()
	check(2)
}

func TestFeedsEscaping(t *testing.T) {
	x, srv := newServer(t, IndexOptions{})
	evil := hostileDigest(t)
	x.Put(evil)

	for _, ff := range feedFormats {
		t.Run(ff.name, func(t *testing.T) {
			_, body := get(t, srv.URL+ff.path)
			for _, bad := range []string{"<script", "<![CDATA[", "javascript:"} {
				if bytes.Contains(bytes.ToLower(body), []byte(strings.ToLower(bad))) {
					t.Errorf("feed contains %q:\n%s", bad, body)
				}
			}

			// Every HTML payload, once its outer encoding is decoded,
			// holds the markup as text, not as elements.
			var payloads []string
			switch ff.name {
			case "atom":
				var f specAtom
				if err := xml.Unmarshal(body, &f); err != nil {
					t.Fatalf("decoding: %v", err)
				}
				payloads = append(payloads, f.Entries[0].Content.Body)
				assertNoXMLScript(t, body)
			case "rss":
				var f specRSS
				if err := xml.Unmarshal(body, &f); err != nil {
					t.Fatalf("decoding: %v", err)
				}
				payloads = append(payloads, f.Channel.Items[0].Description)
				assertNoXMLScript(t, body)
			case "json":
				var f specJSONFeed
				if err := json.Unmarshal(body, &f); err != nil {
					t.Fatalf("decoding: %v", err)
				}
				payloads = append(payloads, f.Items[0].ContentHTML)
			}
			for _, p := range payloads {
				assertNoScriptElement(t, "content", p)
				text := htmlText(t, p)
				for _, want := range []string{evil.Summary, evil.Bullets[0].Text, evil.Figures[0].Text} {
					if !strings.Contains(text, want) {
						t.Errorf("content text %q lacks %q", text, want)
					}
				}
			}

			f := parseFeed(t, srv.URL+ff.path)
			if got := f.Items[0].Title; got != evil.Title {
				t.Errorf("title = %q, want %q", got, evil.Title)
			}
			if got := f.Items[0].Link; got != srv.URL+"/digests/"+evil.ID {
				t.Errorf("link = %q, want the digest page instead of a javascript: URL", got)
			}
		})
	}
}

// assertNoXMLScript fails when an XML document has a script element.
func assertNoXMLScript(t *testing.T, body []byte) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("tokenizing XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && strings.EqualFold(se.Name.Local, "script") {
			t.Errorf("XML has a <script> element")
		}
	}
}

// FuzzFeeds puts a digest with arbitrary text and checks that every feed is
// still well-formed and that the text never becomes markup.
func FuzzFeeds(f *testing.F) {
	for _, s := range []string{
		"Kinh tế – xã hội tỉnh Bắc Giang",
		"<script>alert(1)</script>",
		"]]><![CDATA[<b>x</b>]]>",
		"a\x00b\x1fc\uFFFE",
		"\xff\xfe invalid utf-8",
		"&amp; &lt; &#x3c;script&#x3e;",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		x := NewIndex(IndexOptions{BaseURL: goldenBaseURL})
		d := model.Digest{
			ID:        "fuzz",
			Title:     s,
			Summary:   s,
			Bullets:   []model.Bullet{{Text: s, Page: 1}},
			Figures:   []model.Figure{{Text: s}},
			Source:    model.Source{Author: s, Tags: []string{s}, AttachmentURL: "https://example.vn/" + s, AttachmentName: s, Site: "example.vn"},
			CreatedAt: time.Unix(1700000000, 0),
			Version:   1,
		}
		x.Put(d)
		for _, c := range []*renditionCache{x.atom, x.rss, x.json} {
			rd, err := c.get(x)
			if err != nil {
				t.Fatalf("rendering %s: %v", c.name, err)
			}
			var content string
			switch c {
			case x.atom:
				var f specAtom
				if err := xml.Unmarshal(rd.body, &f); err != nil || len(f.Entries) != 1 {
					t.Fatalf("atom does not parse (%v):\n%s", err, rd.body)
				}
				assertNoXMLScript(t, rd.body)
				content = f.Entries[0].Content.Body
			case x.rss:
				var f specRSS
				if err := xml.Unmarshal(rd.body, &f); err != nil || len(f.Channel.Items) != 1 {
					t.Fatalf("rss does not parse (%v):\n%s", err, rd.body)
				}
				assertNoXMLScript(t, rd.body)
				content = f.Channel.Items[0].Description
			case x.json:
				var f specJSONFeed
				if err := json.Unmarshal(rd.body, &f); err != nil || len(f.Items) != 1 {
					t.Fatalf("json feed does not parse (%v):\n%s", err, rd.body)
				}
				content = f.Items[0].ContentHTML
			}
			for _, n := range htmlElements(t, content) {
				switch n.Data {
				case "html", "head", "body", "p", "ul", "li", "strong", "a":
				default:
					t.Errorf("%s content has a <%s> element: %q", c.name, n.Data, content)
				}
			}
		}
	})
}
