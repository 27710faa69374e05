package ingest

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// robotsRules is the part of a robots.txt (RFC 9309) that applies to
// bantin: the group naming our product token, else the "*" group.
type robotsRules struct {
	rules []robotsRule
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
		default:
			lastWasAgent = false
		}
	}
	var mine, star []robotsRule
	found := false
	for _, g := range groups {
		for _, a := range g.agents {
			switch {
			case a == "*":
				star = append(star, g.rules...)
			case a != "" && strings.HasPrefix(agent, a):
				mine = append(mine, g.rules...)
				found = true
			}
		}
	}
	if found {
		return &robotsRules{rules: mine}
	}
	return &robotsRules{rules: star}
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

// robotsCache fetches and keeps each host's robots.txt for an hour.
type robotsCache struct {
	fetch *fetcher
	agent string
	ttl   time.Duration

	mu    sync.Mutex
	hosts map[string]robotsEntry
}

type robotsEntry struct {
	rules   *robotsRules
	fetched time.Time
}

func newRobotsCache(f *fetcher, agent string) *robotsCache {
	return &robotsCache{fetch: f, agent: agent, ttl: time.Hour, hosts: map[string]robotsEntry{}}
}

// allowed reports whether u may be fetched under its host's robots.txt.
func (c *robotsCache) allowed(ctx context.Context, u *url.URL) bool {
	key := u.Scheme + "://" + u.Host
	c.mu.Lock()
	e, ok := c.hosts[key]
	c.mu.Unlock()
	if !ok || time.Since(e.fetched) > c.ttl {
		e = robotsEntry{rules: c.load(ctx, key), fetched: time.Now()}
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
