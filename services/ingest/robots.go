package ingest

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// maxCrawlDelay caps a robots.txt Crawl-delay: a larger one (a day, say,
// or a typo) is lowered to it with a warning naming the host, so that a
// site cannot stall its source's polls for hours.
const maxCrawlDelay = 60 * time.Second

// robotsRules is the part of a robots.txt (RFC 9309) that applies to
// bantin: the group naming our product token, else the "*" group.
type robotsRules struct {
	rules []robotsRule
	// crawlDelay is the group's Crawl-delay (not in RFC 9309, but widely
	// served): the least time between two requests to the host. 0: none.
	crawlDelay time.Duration
	// disallowAll is set when robots.txt could not be read because of a
	// server error: RFC 9309 says to assume complete disallow then.
	disallowAll bool
}

type robotsRule struct {
	allow   bool
	pattern string
}

// parseRobots reads robots.txt for the user-agent token agent ("bantin").
func parseRobots(body string, agent string) *robotsRules {
	agent = strings.ToLower(agent)
	type group struct {
		agents []string
		rules  []robotsRule
		delay  time.Duration
	}
	var groups []*group
	var cur *group
	lastWasAgent := false
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 64<<10), 512<<10)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		key = strings.ToLower(strings.TrimSpace(key))
		val = strings.TrimSpace(val)
		switch key {
		case "user-agent":
			if !lastWasAgent || cur == nil {
				cur = &group{}
				groups = append(groups, cur)
			}
			cur.agents = append(cur.agents, strings.ToLower(val))
			lastWasAgent = true
		case "allow", "disallow":
			lastWasAgent = false
			if cur == nil {
				continue
			}
			if val == "" { // "Disallow:" allows everything
				continue
			}
			cur.rules = append(cur.rules, robotsRule{allow: key == "allow", pattern: val})
		case "crawl-delay":
			lastWasAgent = false
			if cur == nil {
				continue
			}
			cur.delay = max(cur.delay, parseCrawlDelay(val))
		default:
			lastWasAgent = false
		}
	}
	var mine, star robotsRules
	found := false
	for _, g := range groups {
		for _, a := range g.agents {
			switch {
			case a == "*":
				star.rules = append(star.rules, g.rules...)
				star.crawlDelay = max(star.crawlDelay, g.delay)
			case a != "" && strings.HasPrefix(agent, a):
				mine.rules = append(mine.rules, g.rules...)
				mine.crawlDelay = max(mine.crawlDelay, g.delay)
				found = true
			}
		}
	}
	if found {
		return &mine
	}
	return &star
}

// parseCrawlDelay reads a Crawl-delay value in seconds ("10", "0.5");
// anything else (negative, not a number) is no delay.
func parseCrawlDelay(val string) time.Duration {
	f, err := strconv.ParseFloat(val, 64)
	if err != nil || math.IsNaN(f) || f <= 0 {
		return 0
	}
	if f > float64(math.MaxInt64/int64(time.Second)) {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(f * float64(time.Second))
}

// allowed reports whether the path and query of u may be fetched: the
// longest matching rule wins, Allow on a tie; no match allows.
func (r *robotsRules) allowed(u *url.URL) bool {
	if r == nil {
		return true
	}
	if r.disallowAll {
		return false
	}
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	if u.RawQuery != "" {
		p += "?" + u.RawQuery
	}
	if p == "/robots.txt" {
		return true
	}
	best, allow := -1, true
	for _, rule := range r.rules {
		if n := robotsMatch(rule.pattern, p); n >= 0 && (n > best || n == best && rule.allow) {
			best, allow = n, rule.allow
		}
	}
	return allow
}

// robotsMatch matches path p against a robots.txt pattern with '*' (any
// run) and a trailing '$' (end), returning the pattern's length as the
// match's weight, or -1.
func robotsMatch(pattern, p string) int {
	weight := len(pattern)
	anchored := strings.HasSuffix(pattern, "$")
	pattern = strings.TrimSuffix(pattern, "$")
	pattern = normalizeRobotsPath(pattern)
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(p, parts[0]) {
		return -1
	}
	rest := p[len(parts[0]):]
	for i, part := range parts[1:] {
		last := i == len(parts)-2
		if last && anchored {
			if !strings.HasSuffix(rest, part) {
				return -1
			}
			return weight
		}
		j := strings.Index(rest, part)
		if j < 0 {
			return -1
		}
		rest = rest[j+len(part):]
	}
	if anchored && rest != "" && len(parts) == 1 {
		return -1
	}
	return weight
}

// normalizeRobotsPath percent-encodes non-ASCII bytes of a pattern, as
// URL paths are compared escaped.
func normalizeRobotsPath(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 || c == ' ' {
			b.WriteString("%" + strings.ToUpper(string("0123456789abcdef"[c>>4])+string("0123456789abcdef"[c&15])))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// robotsCache fetches and keeps each host's robots.txt for an hour, and
// hands each host's Crawl-delay (capped at maxCrawlDelay) to the fetcher's
// per-host limit.
type robotsCache struct {
	fetch *fetcher
	agent string
	ttl   time.Duration
	log   *slog.Logger
	// delays, when set, is the gauge of the Crawl-delay in force per host.
	delays *prometheus.GaugeVec

	mu    sync.Mutex
	hosts map[string]robotsEntry
}

type robotsEntry struct {
	rules   *robotsRules
	fetched time.Time
}

func newRobotsCache(f *fetcher, agent string, log *slog.Logger, delays *prometheus.GaugeVec) *robotsCache {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &robotsCache{fetch: f, agent: agent, ttl: time.Hour, log: log, delays: delays, hosts: map[string]robotsEntry{}}
}

// allowed reports whether u may be fetched under its host's robots.txt.
func (c *robotsCache) allowed(ctx context.Context, u *url.URL) bool {
	key := u.Scheme + "://" + u.Host
	c.mu.Lock()
	e, ok := c.hosts[key]
	c.mu.Unlock()
	if !ok || time.Since(e.fetched) > c.ttl {
		e = robotsEntry{rules: c.load(ctx, key), fetched: time.Now()}
		c.applyCrawlDelay(u.Host, e.rules)
		c.mu.Lock()
		c.hosts[key] = e
		c.mu.Unlock()
	}
	return e.rules.allowed(u)
}

// load fetches robots.txt: 4xx means no rules, a server error or an
// unreachable server means stay away for now.
func (c *robotsCache) load(ctx context.Context, origin string) *robotsRules {
	got, err := c.fetch.fetch(ctx, origin+"/robots.txt", validators{}, 2)
	var se *statusError
	switch {
	case err == nil:
		return parseRobots(string(got.Body), c.agent)
	case errors.As(err, &se) && se.code >= 400 && se.code < 500 && se.code != http.StatusTooManyRequests:
		return &robotsRules{}
	}
	return &robotsRules{disallowAll: true}
}

// applyCrawlDelay sets host's Crawl-delay on the fetcher, capped at
// maxCrawlDelay. A robots.txt that could not be read keeps the delay in
// force (nothing is fetched from the host then anyway).
func (c *robotsCache) applyCrawlDelay(host string, rules *robotsRules) {
	if rules.disallowAll {
		return
	}
	d := rules.crawlDelay
	if d > maxCrawlDelay {
		c.log.Warn("robots.txt asks for a Crawl-delay over the cap; using the cap",
			"host", host, "crawl_delay", d.String(), "applied", maxCrawlDelay.String())
		d = maxCrawlDelay
	}
	c.fetch.setCrawlDelay(host, d)
	if c.delays != nil {
		c.delays.WithLabelValues(host).Set(d.Seconds())
	}
	if d > 0 {
		c.log.Debug("honouring robots.txt Crawl-delay", "host", host, "crawl_delay", d.String())
	}
}
