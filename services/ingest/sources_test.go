package ingest

import (
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseSources(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		wantErr string
		check   func(t *testing.T, srcs []Source)
	}{
		{
			name: "defaults and names",
			yaml: "defaults:\n  interval: 5m\nsources:\n  - listings: [https://www.hdnd.example.gov.vn/ky-hop]\n  - name: bao\n    feeds: [https://bao.example.vn/rss]\n    interval: 1h\n",
			check: func(t *testing.T, srcs []Source) {
				if len(srcs) != 2 || srcs[0].Name != "hdnd.example.gov.vn" || srcs[0].Interval != 5*time.Minute ||
					srcs[1].Interval != time.Hour || srcs[0].RecheckFor != DefaultRecheckFor || srcs[1].MaxArticles != DefaultMaxArticles {
					t.Errorf("got %+v", srcs)
				}
			},
		},
		{name: "misspelt key", yaml: "sources:\n  - listing: [https://a.vn/]\n", wantErr: "field listing not found"},
		{name: "no URLs", yaml: "sources:\n  - name: x\n", wantErr: `"listings:" or "feeds:"`},
		{name: "relative URL", yaml: "sources:\n  - listings: [/tin-tuc]\n", wantErr: "not an absolute http(s) URL"},
		{name: "bad selector", yaml: "sources:\n  - listings: [https://a.vn/]\n    selectors: {title: 'h1[['}\n", wantErr: "selectors.title"},
		{name: "bad pattern", yaml: "sources:\n  - listings: [https://a.vn/]\n    link_pattern: '(('\n", wantErr: "link_pattern"},
		{name: "duplicate names", yaml: "sources:\n  - listings: [https://a.vn/x]\n  - listings: [https://a.vn/y]\n", wantErr: "used twice"},
		{name: "empty", yaml: "", wantErr: "no sources"},
		{name: "too frequent", yaml: "sources:\n  - listings: [https://a.vn/]\n    interval: 10ms\n", wantErr: "too short"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srcs, err := ParseSources([]byte(tt.yaml))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, srcs)
		})
	}
}

func TestExampleSourcesFile(t *testing.T) {
	srcs, err := LoadSources("../../examples/sources.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(srcs) != 3 || srcs[2].Selectors.Attachments == "" || srcs[1].linkRe == nil {
		t.Errorf("example sources = %+v", srcs)
	}
	if _, err := os.Stat("../../examples/sources.yaml"); err != nil {
		t.Fatal(err)
	}
}

func TestRobots(t *testing.T) {
	const txt = `# comment
User-agent: *
Disallow: /admin/
Disallow: /*.aspx$
Allow: /admin/public/

User-agent: Bantin
User-agent: other
Disallow: /private/
Allow: /private/tin-tuc/
Disallow: /tai-lieu/*?download=

User-agent: evilbot
Disallow: /
`
	tests := []struct {
		name, agent, path string
		want              bool
	}{
		{name: "own group, not the star group", agent: "bantin", path: "/admin/x", want: true},
		{name: "own group disallow", agent: "bantin", path: "/private/a.pdf", want: false},
		{name: "longest match allows", agent: "bantin", path: "/private/tin-tuc/a.html", want: true},
		{name: "wildcard with query", agent: "bantin", path: "/tai-lieu/bc.pdf?download=1", want: false},
		{name: "wildcard no query", agent: "bantin", path: "/tai-lieu/bc.pdf", want: true},
		{name: "star group", agent: "somebot", path: "/admin/x", want: false},
		{name: "star group allow wins by length", agent: "somebot", path: "/admin/public/a", want: true},
		{name: "dollar anchor", agent: "somebot", path: "/trang/Default.aspx", want: false},
		{name: "dollar anchor, longer path", agent: "somebot", path: "/trang/Default.aspx?x=1", want: true},
		{name: "robots.txt itself", agent: "evilbot", path: "/robots.txt", want: true},
		{name: "all disallowed", agent: "evilbot", path: "/", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, _ := url.Parse("https://example.gov.vn" + tt.path)
			if got := parseRobots(txt, tt.agent).allowed(u); got != tt.want {
				t.Errorf("allowed(%s) for %s = %v, want %v", tt.path, tt.agent, got, tt.want)
			}
		})
	}
	if !parseRobots("", "bantin").allowed(&url.URL{Path: "/x"}) {
		t.Error("empty robots.txt disallows")
	}
}
