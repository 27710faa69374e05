package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// ErrTooLarge is returned when a download exceeds the size cap.
var ErrTooLarge = errors.New("file too large")

// Politeness defaults: requests per second and requests at once, per host.
const (
	DefaultHostRate        = 2.0
	DefaultHostConcurrency = 2
)

// fetched is one downloaded resource.
type fetched struct {
	URL         string // final URL after redirects
	Body        []byte
	ContentType string
	Name        string // file name from Content-Disposition or the URL path
	// NotModified is set when a conditional request was answered 304;
	// Body is then empty.
	NotModified bool
	// ETag and LastModified are the validators to send next time.
	ETag, LastModified string
}

// validators make a request conditional.
type validators struct {
	ETag, LastModified string
}

// fetcher downloads pages and attachments with a size cap, timeouts on
// connect, headers and body, a per-host rate and concurrency limit and,
// unless private networks are allowed, a guard against internal addresses.
type fetcher struct {
	client       *http.Client
	dialer       *guardedDialer
	maxBytes     int64
	userAgent    string
	allowPrivate bool

	rate        rate.Limit
	concurrency int
	mu          sync.Mutex
	hosts       map[string]*hostSlot
}

// hostSlot is the politeness state of one host: the configured rate and
// concurrency, and the host's robots.txt Crawl-delay. Both apply, so the
// stricter wins.
type hostSlot struct {
	limiter *rate.Limiter
	sem     chan struct{}
	// turn lets one request at a time through while a Crawl-delay is set.
	turn chan struct{}

	mu sync.Mutex
	// delay is the Crawl-delay: a request starts no sooner than delay
	// after the previous one to the host ended. 0: none.
	delay time.Duration
	// lastEnd is when the last request to the host ended.
	lastEnd time.Time
}

// enter waits until a request to the host may start and returns the
// function that ends it.
func (s *hostSlot) enter(ctx context.Context) (func(), error) {
	if err := s.limiter.Wait(ctx); err != nil {
		return nil, fmt.Errorf("waiting for the per-host rate limit: %w", err)
	}
	s.mu.Lock()
	serial := s.delay > 0
	s.mu.Unlock()
	if serial {
		select {
		case s.turn <- struct{}{}:
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the host's robots.txt Crawl-delay: %w", ctx.Err())
		}
		s.mu.Lock()
		wait := time.Until(s.lastEnd.Add(s.delay))
		s.mu.Unlock()
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				<-s.turn
				return nil, fmt.Errorf("waiting for the host's robots.txt Crawl-delay: %w", ctx.Err())
			}
		}
	}
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		if serial {
			<-s.turn
		}
		return nil, ctx.Err()
	}
	return func() {
		<-s.sem
		s.mu.Lock()
		s.lastEnd = time.Now()
		s.mu.Unlock()
		if serial {
			<-s.turn
		}
	}, nil
}

func newFetcher(cfg Config) *fetcher {
	cfg = cfg.withDefaults()
	connect := min(cfg.FetchTimeout, 15*time.Second)
	dialer := newGuardedDialer(connect, cfg.Resolver, cfg.AllowPrivateNetworks)
	tr := &http.Transport{
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   connect,
		ResponseHeaderTimeout: cfg.FetchTimeout,
		ExpectContinueTimeout: time.Second,
	}
	if cfg.AllowPrivateNetworks {
		// A proxy would connect on our behalf, past the guard: only
		// honoured when the guard is off.
		tr.Proxy = http.ProxyFromEnvironment
	}
	f := &fetcher{
		dialer:       dialer,
		maxBytes:     cfg.MaxFileSize,
		userAgent:    cfg.UserAgent,
		allowPrivate: cfg.AllowPrivateNetworks,
		rate:         rate.Limit(cfg.HostRate),
		concurrency:  cfg.HostConcurrency,
		hosts:        map[string]*hostSlot{},
	}
	if f.rate <= 0 {
		f.rate = DefaultHostRate
	}
	if f.concurrency <= 0 {
		f.concurrency = DefaultHostConcurrency
	}
	f.client = &http.Client{
		Transport: tr,
		Timeout:   cfg.FetchTimeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 10 {
				return errors.New("stopped after 10 redirects")
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return fmt.Errorf("redirect to %q: not an http(s) URL", req.URL.Redacted())
			}
			return f.dialer.checkURL(req.URL)
		},
	}
	return f
}

// slot returns host's politeness state.
func (f *fetcher) slot(host string) *hostSlot {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.hosts[host]
	if s == nil {
		burst := max(1, int(f.rate))
		s = &hostSlot{limiter: rate.NewLimiter(f.rate, burst), sem: make(chan struct{}, f.concurrency), turn: make(chan struct{}, 1)}
		f.hosts[host] = s
	}
	return s
}

// setCrawlDelay sets host's robots.txt Crawl-delay (0 for none).
func (f *fetcher) setCrawlDelay(host string, d time.Duration) {
	s := f.slot(host)
	s.mu.Lock()
	s.delay = max(d, 0)
	s.mu.Unlock()
}

// crawlDelay returns the Crawl-delay in force for host.
func (f *fetcher) crawlDelay(host string) time.Duration {
	s := f.slot(host)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.delay
}

// get downloads rawURL once.
func (f *fetcher) get(ctx context.Context, rawURL string) (*fetched, error) {
	return f.fetch(ctx, rawURL, validators{}, 1)
}

// fetch downloads rawURL, conditionally when v is set, trying up to
// attempts times with backoff on 5xx, 429 and timeouts.
func (f *fetcher) fetch(ctx context.Context, rawURL string, v validators, attempts int) (*fetched, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("fetching %q: not an absolute http(s) URL", rawURL)
	}
	if err := f.dialer.checkURL(u); err != nil {
		return nil, fmt.Errorf("fetching %s: %w", rawURL, err)
	}
	attempts = max(attempts, 1)
	backoff := 500 * time.Millisecond
	for i := 1; ; i++ {
		got, retryAfter, err := f.once(ctx, u, v)
		if err == nil || i >= attempts || !retryable(err) || ctx.Err() != nil {
			return got, err
		}
		wait := backoff + rand.N(backoff/2)
		if retryAfter > 0 {
			wait = min(retryAfter, time.Minute)
		}
		backoff *= 2
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("fetching %s: %w", rawURL, ctx.Err())
		case <-time.After(wait):
		}
	}
}

// statusError is an HTTP answer other than 200 or 304.
type statusError struct {
	url    string
	status string
	code   int
}

func (e *statusError) Error() string {
	return fmt.Sprintf("fetching %s: server answered %s", e.url, e.status)
}

// retryable reports whether a failed fetch may succeed later.
func retryable(err error) bool {
	if errors.Is(err, ErrForbiddenAddress) || errors.Is(err, ErrTooLarge) || errors.Is(err, context.Canceled) {
		return false
	}
	var se *statusError
	if errors.As(err, &se) {
		return se.code >= 500 || se.code == http.StatusTooManyRequests || se.code == http.StatusRequestTimeout
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.ErrUnexpectedEOF)
}

// once makes one request, within the host's rate and concurrency limits.
func (f *fetcher) once(ctx context.Context, u *url.URL, v validators) (*fetched, time.Duration, error) {
	rawURL := u.String()
	end, err := f.slot(u.Host).enter(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("fetching %s: %w", rawURL, err)
	}
	defer end()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("fetching %s: %w", rawURL, err)
	}
	req.Header.Set("User-Agent", f.userAgent)
	req.Header.Set("Accept-Language", "vi,en;q=0.5")
	if v.ETag != "" {
		req.Header.Set("If-None-Match", v.ETag)
	}
	if v.LastModified != "" {
		req.Header.Set("If-Modified-Since", v.LastModified)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("fetching %s: %w", rawURL, err)
	}
	defer resp.Body.Close()
	final := resp.Request.URL
	got := &fetched{
		URL:          final.String(),
		ContentType:  resp.Header.Get("Content-Type"),
		ETag:         resp.Header.Get("ETag"),
		LastModified: resp.Header.Get("Last-Modified"),
	}
	switch {
	case resp.StatusCode == http.StatusNotModified && (v.ETag != "" || v.LastModified != ""):
		got.NotModified = true
		if got.ETag == "" {
			got.ETag = v.ETag
		}
		if got.LastModified == "" {
			got.LastModified = v.LastModified
		}
		return got, 0, nil
	case resp.StatusCode != http.StatusOK:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, retryAfter(resp.Header.Get("Retry-After")), &statusError{url: rawURL, status: resp.Status, code: resp.StatusCode}
	}
	if resp.ContentLength > f.maxBytes {
		return nil, 0, fmt.Errorf("fetching %s: %w: %d bytes, the limit is %d (--max-file-size)", rawURL, ErrTooLarge, resp.ContentLength, f.maxBytes)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, f.maxBytes+1))
	if err != nil {
		return nil, 0, fmt.Errorf("reading %s: %w", rawURL, err)
	}
	if int64(len(body)) > f.maxBytes {
		return nil, 0, fmt.Errorf("fetching %s: %w: more than %d bytes (--max-file-size)", rawURL, ErrTooLarge, f.maxBytes)
	}
	got.Body = body
	got.Name = fileName(resp.Header.Get("Content-Disposition"), final)
	return got, 0, nil
}

// retryAfter reads a Retry-After header in seconds or as a date.
func retryAfter(h string) time.Duration {
	if h == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(0, time.Until(t))
	}
	return 0
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
