package llm

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"unicode/utf8"
)

//go:embed prompts/meeting.tmpl
var defaultPrompt string

// prompt is a parsed prompt template and its version.
type prompt struct {
	tmpl    *template.Template
	version string
}

// promptData is what the templates see.
type promptData struct {
	Language    string
	Title, Text string
	Mode        string // digest, map, reduce
	Part, Parts int
	Feedback    []string
}

var versionLine = regexp.MustCompile(`(?m)^\s*version:\s*(\S+)\s*$`)

// loadPrompt parses the template in path, or the built-in one when path is
// empty. A template without a "version:" line gets a version from its hash,
// so that editing it never serves digests cached under the old prompt.
func loadPrompt(path string) (*prompt, error) {
	src := defaultPrompt
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading prompt template: %w", err)
		}
		src = string(b)
	}
	t, err := template.New("prompt").Option("missingkey=error").Parse(src)
	if err != nil {
		return nil, fmt.Errorf("parsing prompt template %s: %w", path, err)
	}
	for _, name := range []string{"system", "user"} {
		if t.Lookup(name) == nil {
			return nil, fmt.Errorf("prompt template %s: it must define the templates \"system\" and \"user\"", path)
		}
	}
	sum := sha256.Sum256([]byte(src))
	version := "sha256-" + hex.EncodeToString(sum[:6])
	if m := versionLine.FindStringSubmatch(src); m != nil {
		version = m[1]
		if path != "" {
			version += "+" + hex.EncodeToString(sum[:4])
		}
	}
	return &prompt{tmpl: t, version: version}, nil
}

func (p *prompt) render(d promptData) (system, user string, err error) {
	var sb, ub bytes.Buffer
	if err := p.tmpl.ExecuteTemplate(&sb, "system", d); err != nil {
		return "", "", fmt.Errorf("rendering the system prompt: %w", err)
	}
	if err := p.tmpl.ExecuteTemplate(&ub, "user", d); err != nil {
		return "", "", fmt.Errorf("rendering the user prompt: %w", err)
	}
	return sb.String(), ub.String(), nil
}

// answer is the model's digest as parsed from its reply.
type answer struct {
	Headline string
	Summary  string
	Bullets  []cited
	Figures  []cited
}

// cited is a text and the page it cites (0 if none).
type cited struct {
	Text string
	Page int
}

// errNoJSON says a reply holds no digest JSON.
var errNoJSON = errors.New("no JSON object in the reply")

var (
	thinkBlock = regexp.MustCompile(`(?is)<(think|thinking|reasoning)>.*?</(think|thinking|reasoning)>`)
	pageCite   = regexp.MustCompile(`\s*[\(\[]\s*(?:tr\.?|trang|p\.?|page)\s*(\d+)\s*[\)\]]\s*$`)
)

// parseAnswer reads the digest out of a reply that may be bare JSON, JSON
// in a code fence or in prose, and may start with a reasoning model's
// <think>…</think> block.
func parseAnswer(reply string) (*answer, error) {
	s := thinkBlock.ReplaceAllString(reply, "")
	if i := strings.Index(s, "</think>"); i >= 0 {
		s = s[i+len("</think>"):] // the opening tag was in the prompt's prefill
	}
	var raw struct {
		Headline string            `json:"headline"`
		Title    string            `json:"title"`
		Summary  string            `json:"summary"`
		Bullets  []json.RawMessage `json:"bullets"`
		Figures  []json.RawMessage `json:"figures"`
	}
	found := false
	for off, tries := 0, 0; tries < 20; tries++ {
		i := strings.IndexByte(s[off:], '{')
		if i < 0 {
			break
		}
		off += i
		raw.Bullets, raw.Figures = nil, nil
		dec := json.NewDecoder(strings.NewReader(s[off:]))
		if err := dec.Decode(&raw); err == nil && (raw.Summary != "" || len(raw.Bullets) > 0) {
			found = true
			break
		}
		off++
	}
	if !found {
		return nil, fmt.Errorf("%w: %q", errNoJSON, truncate(s, 200))
	}
	a := &answer{Headline: strings.TrimSpace(raw.Headline), Summary: strings.TrimSpace(raw.Summary)}
	if a.Headline == "" {
		a.Headline = strings.TrimSpace(raw.Title)
	}
	for _, b := range raw.Bullets {
		if c, ok := parseCited(b); ok {
			a.Bullets = append(a.Bullets, c)
		}
	}
	for _, f := range raw.Figures {
		if c, ok := parseCited(f); ok {
			a.Figures = append(a.Figures, c)
		}
	}
	return a, nil
}

// parseCited reads {"text", "page"} or a bare string; a trailing "(tr. N)"
// in the text becomes the page.
func parseCited(raw json.RawMessage) (cited, bool) {
	var c cited
	var obj struct {
		Text string          `json:"text"`
		Page json.RawMessage `json:"page"`
	}
	if err := json.Unmarshal(raw, &obj); err == nil {
		c.Text = obj.Text
		var n json.Number
		if json.Unmarshal(obj.Page, &n) == nil {
			if v, err := strconv.Atoi(n.String()); err == nil {
				c.Page = v
			}
		} else {
			var s string
			if json.Unmarshal(obj.Page, &s) == nil {
				c.Page, _ = strconv.Atoi(strings.TrimSpace(s))
			}
		}
	} else if err := json.Unmarshal(raw, &c.Text); err != nil {
		return c, false
	}
	c.Text = strings.TrimSpace(c.Text)
	if m := pageCite.FindStringSubmatch(c.Text); m != nil {
		if c.Page == 0 {
			c.Page, _ = strconv.Atoi(m[1])
		}
		c.Text = strings.TrimSpace(c.Text[:len(c.Text)-len(m[0])])
	}
	c.Text = strings.TrimLeft(c.Text, "-•* ")
	return c, c.Text != "" && c.Page >= 0
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
