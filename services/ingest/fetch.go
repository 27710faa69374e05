package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
)

// ErrTooLarge is returned when a download exceeds the size cap.
var ErrTooLarge = errors.New("file too large")

// fetched is one downloaded resource.
type fetched struct {
	URL         string // final URL after redirects
	Body        []byte
	ContentType string
	Name        string // file name from Content-Disposition or the URL path
}

// fetcher downloads pages and attachments with a size cap and a timeout.
type fetcher struct {
	client    *http.Client
	maxBytes  int64
	userAgent string
}

func newFetcher(timeout time.Duration, maxBytes int64, userAgent string) *fetcher {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = timeout
	return &fetcher{
		client:    &http.Client{Transport: tr, Timeout: timeout},
		maxBytes:  maxBytes,
		userAgent: userAgent,
	}
}

func (f *fetcher) get(ctx context.Context, rawURL string) (*fetched, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("fetching %q: not an absolute http(s) URL", rawURL)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("fetching %s: %w", rawURL, err)
	}
	req.Header.Set("User-Agent", f.userAgent)
	req.Header.Set("Accept-Language", "vi,en;q=0.5")
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching %s: %w", rawURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching %s: server answered %s", rawURL, resp.Status)
	}
	if resp.ContentLength > f.maxBytes {
		return nil, fmt.Errorf("fetching %s: %w: %d bytes, the limit is %d (--max-file-size)", rawURL, ErrTooLarge, resp.ContentLength, f.maxBytes)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, f.maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", rawURL, err)
	}
	if int64(len(body)) > f.maxBytes {
		return nil, fmt.Errorf("fetching %s: %w: more than %d bytes (--max-file-size)", rawURL, ErrTooLarge, f.maxBytes)
	}
	final := resp.Request.URL
	return &fetched{
		URL:         final.String(),
		Body:        body,
		ContentType: resp.Header.Get("Content-Type"),
		Name:        fileName(resp.Header.Get("Content-Disposition"), final),
	}, nil
}

// fileName prefers the Content-Disposition filename, else the URL's last
// path segment, unescaped ("Báo cáo.pdf", not "B%C3%A1o%20c%C3%A1o.pdf").
func fileName(disposition string, u *url.URL) string {
	if disposition != "" {
		if _, params, err := mime.ParseMediaType(disposition); err == nil && params["filename"] != "" {
			return path.Base(params["filename"])
		}
	}
	base := path.Base(u.Path)
	if base == "/" || base == "." {
		return u.Host
	}
	if s, err := url.PathUnescape(base); err == nil {
		base = s
	}
	return strings.TrimSpace(base)
}
