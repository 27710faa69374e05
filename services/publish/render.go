package publish

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// rendition is one rendered representation, ready to serve: the bytes, their
// gzipped twin and the validators for conditional GET.
type rendition struct {
	contentType string
	body        []byte
	etag        string
	// gz is body gzipped, with its own ETag as a strong validator must
	// differ between content codings; nil when not worth compressing.
	gz     []byte
	gzETag string
	// lastModified is zero when unknown.
	lastModified time.Time
}

// size is what r holds in memory: its bodies, plain and gzipped, and a
// fixed allowance for the rest (validators, headers, the cache's entry).
func (r *rendition) size() int64 {
	return int64(len(r.body)+len(r.gz)) + renditionOverhead
}

// renditionOverhead is what a rendition and its cache entry hold beyond
// the bodies, rounded up.
const renditionOverhead = 512

// newRendition computes the validators of body and, when compress is set,
// gzips it.
func newRendition(contentType string, body []byte, lastModified time.Time, compress bool) (*rendition, error) {
	sum := sha256.Sum256(body)
	tag := hex.EncodeToString(sum[:16])
	r := &rendition{
		contentType:  contentType,
		body:         body,
		etag:         `"` + tag + `"`,
		lastModified: lastModified.UTC().Truncate(time.Second),
	}
	if compress {
		var b bytes.Buffer
		zw, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
		if err != nil {
			return nil, fmt.Errorf("creating gzip writer: %w", err)
		}
		if _, err := zw.Write(body); err != nil {
			return nil, fmt.Errorf("compressing: %w", err)
		}
		if err := zw.Close(); err != nil {
			return nil, fmt.Errorf("compressing: %w", err)
		}
		r.gz = b.Bytes()
		r.gzETag = `"` + tag + `-gzip"`
	}
	return r, nil
}

// renditionCache holds the latest rendition of one output of the Index and
// renders it again only when the Index has changed since.
type renditionCache struct {
	name        string
	contentType string
	render      func(*feedView) ([]byte, error)
	// view builds the view to render; the Index's current view when nil.
	view func() (*feedView, error)
	// onRender, when set, is told the size of every new rendition, with
	// mu held (so in the order they were made).
	onRender func(size int64)

	mu  sync.Mutex
	gen uint64
	cur *rendition
	// renders counts renderings, for tests.
	renders int
}

// get returns the rendition of the Index as it is now.
func (c *renditionCache) get(x *Index) (*rendition, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur != nil && c.gen == x.generation() {
		return c.cur, nil
	}
	view := c.view
	if view == nil {
		view = x.currentView
	}
	v, err := view()
	if err != nil {
		return nil, err
	}
	body, err := c.render(v)
	if err != nil {
		return nil, fmt.Errorf("rendering %s: %w", c.name, err)
	}
	r, err := newRendition(c.contentType, body, v.updated, true)
	if err != nil {
		return nil, fmt.Errorf("rendering %s: %w", c.name, err)
	}
	c.cur, c.gen = r, v.gen
	c.renders++
	if c.onRender != nil {
		c.onRender(r.size())
	}
	return r, nil
}

// serveCached serves the current rendition of c.
func (x *Index) serveCached(w http.ResponseWriter, r *http.Request, c *renditionCache) {
	rd, err := c.get(x)
	if err != nil {
		x.log.Error("rendering failed", "output", c.name, "err", err)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=60")
	notMod := serveRendition(w, r, rd, http.StatusOK)
	if x.onServe != nil {
		x.onServe(c.name, notMod)
	}
}

// serveRendition writes rd with status, or 304 Not Modified when the
// request's preconditions say the client already has it. It negotiates gzip
// when rd has a gzipped twin. It reports whether it answered 304.
func serveRendition(w http.ResponseWriter, r *http.Request, rd *rendition, status int) bool {
	h := w.Header()
	body, etag := rd.body, rd.etag
	if rd.gz != nil {
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			body, etag = rd.gz, rd.gzETag
			h.Set("Content-Encoding", "gzip")
		}
	}
	if !rd.lastModified.IsZero() {
		h.Set("Last-Modified", rd.lastModified.Format(http.TimeFormat))
	}
	if status == http.StatusOK {
		if matched, ok := notModified(r, rd); ok {
			if matched == "" {
				matched = etag
			}
			h.Set("ETag", matched)
			h.Del("Content-Encoding")
			w.WriteHeader(http.StatusNotModified)
			return true
		}
	}
	h.Set("ETag", etag)
	h.Set("Content-Type", rd.contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body) // the client went away; nothing to do
	}
	return false
}

// notModified evaluates If-None-Match, and If-Modified-Since when that is
// absent (RFC 9110 section 13.2.2). A tag matches either coding of rd, and
// the matched tag is returned so the 304 names what the client holds; it is
// "" for "*" or a date match.
func notModified(r *http.Request, rd *rendition) (string, bool) {
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		for _, t := range strings.Split(inm, ",") {
			t = strings.TrimPrefix(strings.TrimSpace(t), "W/") // weak comparison
			switch {
			case t == "*":
				return "", true
			case t == rd.etag:
				return rd.etag, true
			case rd.gz != nil && t == rd.gzETag:
				return rd.gzETag, true
			}
		}
		return "", false
	}
	if ims := r.Header.Get("If-Modified-Since"); ims != "" && !rd.lastModified.IsZero() {
		t, err := http.ParseTime(ims)
		if err == nil && !rd.lastModified.After(t) {
			return "", true
		}
	}
	return "", false
}

// qvalue is one element of an Accept or Accept-Encoding header.
type qvalue struct {
	value string
	q     float64
}

// parseQList parses a header like "gzip;q=0.8, br" or
// "text/html, application/json;q=0.9" into lower-case values and weights.
func parseQList(header string) []qvalue {
	var out []qvalue
	for _, part := range strings.Split(header, ",") {
		value, params, _ := strings.Cut(part, ";")
		value = strings.ToLower(strings.TrimSpace(value))
		if value == "" {
			continue
		}
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(p, "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		out = append(out, qvalue{value: value, q: q})
	}
	return out
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip.
func acceptsGzip(header string) bool {
	gz, star := -1.0, -1.0
	for _, e := range parseQList(header) {
		switch e.value {
		case "gzip", "x-gzip":
			gz = max(gz, e.q)
		case "*":
			star = max(star, e.q)
		}
	}
	if gz >= 0 {
		return gz > 0
	}
	return star > 0
}

// prefersJSON reports whether an Accept header ranks application/json above
// HTML. Only explicit mentions count: a browser's "*/*" is not a request for
// JSON, and a client that lists both equally gets the page.
func prefersJSON(header string) bool {
	var jsonQ, htmlQ float64
	for _, e := range parseQList(header) {
		switch e.value {
		case "application/json":
			jsonQ = max(jsonQ, e.q)
		case "text/html", "application/xhtml+xml":
			htmlQ = max(htmlQ, e.q)
		}
	}
	return jsonQ > htmlQ
}
