package ingest

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestParseRobotsCrawlDelay(t *testing.T) {
	tests := []struct {
		name, txt string
		want      time.Duration
	}{
		{name: "star group", txt: "User-agent: *\nCrawl-delay: 10\nDisallow: /x/\n", want: 10 * time.Second},
		{name: "own group over the star group", txt: "User-agent: *\nCrawl-delay: 10\n\nUser-agent: bantin\nCrawl-delay: 2\n", want: 2 * time.Second},
		{name: "own group without a delay", txt: "User-agent: *\nCrawl-delay: 10\n\nUser-agent: bantin\nDisallow: /x/\n", want: 0},
		{name: "another agent's delay", txt: "User-agent: slowbot\nCrawl-delay: 30\n\nUser-agent: *\nDisallow: /x/\n", want: 0},
		{name: "group of several agents", txt: "User-agent: googlebot\nUser-agent: bantin\ncrawl-delay: 3 # seconds\n", want: 3 * time.Second},
		{name: "fraction", txt: "User-agent: *\nCrawl-delay: 0.5\n", want: 500 * time.Millisecond},
		{name: "not a number", txt: "User-agent: *\nCrawl-delay: soon\n", want: 0},
		{name: "negative", txt: "User-agent: *\nCrawl-delay: -5\n", want: 0},
		{name: "before any group", txt: "Crawl-delay: 5\nUser-agent: *\nDisallow: /x/\n", want: 0},
		{name: "absurd, parsed as is", txt: "User-agent: *\nCrawl-delay: 86400\n", want: 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseRobots(tt.txt, "bantin").crawlDelay; got != tt.want {
				t.Errorf("Crawl-delay = %v, want %v", got, tt.want)
			}
		})
	}
}

// timedSite wraps a testSite and records when each request arrived.
type timedSite struct {
	site *testSite
	mu   sync.Mutex
	hits []timedHit
}

type timedHit struct {
	path string
	at   time.Time
}

func (s *timedSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	s.mu.Lock()
	s.hits = append(s.hits, timedHit{path: r.URL.Path, at: at})
	s.mu.Unlock()
	s.site.ServeHTTP(w, r)
}

func (s *timedSite) take() []timedHit {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.hits
	s.hits = nil
	return out
}

// minGap returns the shortest time between two consecutive arrivals.
func minGap(hits []timedHit) time.Duration {
	gap := time.Duration(1<<63 - 1)
	for i := 1; i < len(hits); i++ {
		gap = min(gap, hits[i].at.Sub(hits[i-1].at))
	}
	return gap
}

// TestPollHonoursCrawlDelay polls a site whose robots.txt sets a
// Crawl-delay (or not) and checks, from the arrival times the server
// recorded, the least spacing of the requests to the host: at least the
// Crawl-delay, or the configured rate's interval when that is stricter
// or robots.txt names none.
func TestPollHonoursCrawlDelay(t *testing.T) {
	// The rate limiter spaces the starts of requests; their arrival at the
	// server can be closer by the difference of two requests' latencies
	// (a new connection for the first, scheduling on a busy machine: one
	// request started 300 ms late under a load average of 8 made the next
	// arrive 0.7 s after it). The allowance still tells the rate's spacing
	// from none (requests 170 µs apart) and, for a 0.5/s rate, from a
	// Crawl-delay of 1 s. The Crawl-delay is counted from the end of the
	// previous request, so it needs no such allowance.
	const rateJitter = 400 * time.Millisecond
	tests := []struct {
		name      string
		robots    string
		hostRate  float64
		wantDelay time.Duration // Crawl-delay in force after the poll
		wantGap   time.Duration // least spacing of the arrivals
	}{
		{name: "Crawl-delay 1 s over a fast configured rate", robots: "User-agent: *\nCrawl-delay: 1\n", hostRate: 50, wantDelay: time.Second, wantGap: time.Second},
		{name: "own group's Crawl-delay", robots: "User-agent: *\nCrawl-delay: 20\n\nUser-agent: bantin\nCrawl-delay: 1.5\n", hostRate: 50, wantDelay: 1500 * time.Millisecond, wantGap: 1500 * time.Millisecond},
		{name: "no Crawl-delay: the configured rate", robots: "User-agent: *\nDisallow: /mat/\n", hostRate: 1, wantGap: time.Second - rateJitter},
		{name: "another agent's Crawl-delay: the configured rate", robots: "User-agent: slowbot\nCrawl-delay: 30\n", hostRate: 1, wantGap: time.Second - rateJitter},
		{name: "configured rate stricter than the Crawl-delay", robots: "User-agent: *\nCrawl-delay: 1\n", hostRate: 0.5, wantDelay: time.Second, wantGap: 2*time.Second - rateJitter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			site := &timedSite{site: &testSite{pages: map[string][]byte{}}}
			srv := httptest.NewServer(site)
			defer srv.Close()
			site.site.set("/robots.txt", []byte(tt.robots))
			site.site.set("/tin-tuc/ky-hop", listingPage("/tin-tuc/ky-hop-thu-12.html"))
			site.site.set("/tin-tuc/ky-hop-thu-12.html", articlePage("Khai mạc kỳ họp thứ 12 HĐND tỉnh", "08:30 05/12/2023",
				"Sáng 5/12, HĐND tỉnh khai mạc kỳ họp thứ 12 để xem xét báo cáo tình hình kinh tế - xã hội năm 2023.", "/files/bao-cao.pdf"))
			site.site.set("/files/bao-cao.pdf", demoPDF(t, "bao-cao-kt-xh-2023.pdf"))

			s, _ := testService(t, Config{HostRate: tt.hostRate, AllowPrivateNetworks: true})
			st, err := s.PollOnce(context.Background(), Source{Name: "crawl-delay", Listings: []string{srv.URL + "/tin-tuc/ky-hop"}})
			if err != nil {
				t.Fatal(err)
			}
			hits := site.take()
			var paths []string
			for _, h := range hits {
				paths = append(paths, h.path)
			}
			// robots.txt, the listing, the article and its attachment.
			if st.New != 1 || len(hits) != 4 {
				t.Fatalf("poll: %+v, requests %v; want 1 new report from 4 requests", st, paths)
			}
			if got := minGap(hits); got < tt.wantGap {
				t.Errorf("requests %v arrived as little as %v apart; want at least %v", paths, got, tt.wantGap)
			}
			u, _ := url.Parse(srv.URL)
			if got := s.reader.fetch.crawlDelay(u.Host); got != tt.wantDelay {
				t.Errorf("Crawl-delay in force = %v, want %v", got, tt.wantDelay)
			}
			for i := 1; i < len(hits); i++ {
				t.Logf("%s → %s: %v", paths[i-1], paths[i], hits[i].at.Sub(hits[i-1].at).Round(time.Millisecond))
			}
		})
	}
}

// TestCrawlDelayConcurrentFetches fetches from a host with a Crawl-delay
// from several goroutines at once: the requests still go one at a time,
// each starting the delay after the previous one ended.
func TestCrawlDelayConcurrentFetches(t *testing.T) {
	const delay = 500 * time.Millisecond
	site := &timedSite{site: &testSite{pages: map[string][]byte{}}}
	srv := httptest.NewServer(site)
	defer srv.Close()
	site.site.set("/robots.txt", []byte("User-agent: *\nCrawl-delay: 0.5\n"))
	for _, p := range []string{"/a", "/b", "/c", "/d"} {
		site.site.set(p, []byte("trang "+p))
	}
	f := newFetcher(Config{HostRate: 100, HostConcurrency: 4, AllowPrivateNetworks: true})
	rc := newRobotsCache(f, "bantin", nil, nil)
	ctx := context.Background()
	u, _ := url.Parse(srv.URL + "/a")
	if !rc.allowed(ctx, u) {
		t.Fatal("robots.txt without rules disallows /a")
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for _, p := range []string{"/a", "/b", "/c", "/d"} {
		wg.Go(func() {
			if _, err := f.get(ctx, srv.URL+p); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	hits := site.take()
	if len(hits) != 5 {
		t.Fatalf("%d requests, want robots.txt and 4 pages", len(hits))
	}
	if got := minGap(hits); got < delay {
		t.Errorf("concurrent requests arrived as little as %v apart; want at least the Crawl-delay %v", got, delay)
	}
}

// TestCrawlDelayCapped checks that an absurd Crawl-delay is lowered to
// the cap, with a warning and a gauge naming the host.
func TestCrawlDelayCapped(t *testing.T) {
	site := &timedSite{site: &testSite{pages: map[string][]byte{}}}
	srv := httptest.NewServer(site)
	defer srv.Close()
	site.site.set("/robots.txt", []byte("User-agent: *\nCrawl-delay: 86400\nDisallow: /mat/\n"))
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	gauge := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "bantin_ingest_crawl_delay_seconds", Help: "test"}, []string{"host"})
	f := newFetcher(Config{HostRate: 100, AllowPrivateNetworks: true})
	rc := newRobotsCache(f, "bantin", log, gauge)
	u, _ := url.Parse(srv.URL + "/mat/x.html")
	if rc.allowed(context.Background(), u) {
		t.Error("robots.txt's Disallow: /mat/ was not applied")
	}
	if got := f.crawlDelay(u.Host); got != maxCrawlDelay {
		t.Errorf("Crawl-delay in force = %v, want the cap %v", got, maxCrawlDelay)
	}
	if got := gaugeValue(t, gauge, u.Host); got != maxCrawlDelay.Seconds() {
		t.Errorf("bantin_ingest_crawl_delay_seconds{host=%q} = %v, want %v", u.Host, got, maxCrawlDelay.Seconds())
	}
	out := logs.String()
	if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "host="+u.Host) || !strings.Contains(out, "crawl_delay=24h0m0s") {
		t.Errorf("no warning naming the host and the delay asked for:\n%s", out)
	}
}

// gaugeValue reads the gauge of host, -1 when it is not set.
func gaugeValue(t *testing.T, g *prometheus.GaugeVec, host string) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	if err := reg.Register(g); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "host" && l.GetValue() == host {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	return -1
}
