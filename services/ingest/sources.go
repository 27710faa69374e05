package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/andybalholm/cascadia"
	"go.yaml.in/yaml/v3"
)

// Defaults of a polled source.
const (
	DefaultPollInterval = 15 * time.Minute
	DefaultRecheckFor   = 72 * time.Hour
	DefaultMaxArticles  = 50
)

// Source is one site that ingest polls: listing pages and feeds whose
// articles (and their attachments) become reports. It is one entry of the
// sources file (--sources FILE, see examples/sources.yaml).
type Source struct {
	// Name labels the source in metrics and logs; default: the host of
	// its first listing or feed.
	Name string `yaml:"name"`
	// Listings are pages that link to articles (a category page).
	Listings []string `yaml:"listings"`
	// Feeds are RSS or Atom feeds whose items are articles; enclosures
	// that are documents are attachments.
	Feeds []string `yaml:"feeds"`
	// Interval between polls; default 15m.
	Interval time.Duration `yaml:"interval"`
	// RecheckFor is how long an article is checked again on every poll
	// (conditional GET) for new or changed attachments; default 72h.
	RecheckFor time.Duration `yaml:"recheck_for"`
	// MaxArticles bounds the article links taken from one listing or
	// feed per poll, in page order; default 50.
	MaxArticles int `yaml:"max_articles"`
	// LinkPattern, a regular expression, selects the article links of a
	// listing page when the generic detection is not enough.
	LinkPattern string `yaml:"link_pattern"`
	// Selectors are CSS selectors for sites the generic reading gets wrong.
	Selectors Selectors `yaml:"selectors"`

	linkRe *regexp.Regexp
}

// Selectors are optional CSS selectors (goquery/cascadia syntax).
type Selectors struct {
	// Links selects article links on listing pages.
	Links string `yaml:"links"`
	// Title, Date and Body select an article's headline, its date line
	// ("15:34 01/12/2023") and its body text.
	Title string `yaml:"title"`
	Date  string `yaml:"date"`
	Body  string `yaml:"body"`
	// Attachments selects the attachment links (or blocks holding them).
	Attachments string `yaml:"attachments"`
}

// sourcesFile is the YAML document of --sources.
type sourcesFile struct {
	// Defaults apply to every source that does not set its own.
	Defaults struct {
		Interval    time.Duration `yaml:"interval"`
		RecheckFor  time.Duration `yaml:"recheck_for"`
		MaxArticles int           `yaml:"max_articles"`
	} `yaml:"defaults"`
	Sources []Source `yaml:"sources"`
}

// LoadSources reads and checks a sources file.
func LoadSources(path string) ([]Source, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading sources file: %w", err)
	}
	srcs, err := ParseSources(raw)
	if err != nil {
		return nil, fmt.Errorf("sources file %s: %w", path, err)
	}
	return srcs, nil
}

// ParseSources reads a sources document (YAML). Unknown keys are errors,
// so that a misspelt "listing:" does not silently poll nothing.
func ParseSources(raw []byte) ([]Source, error) {
	var f sourcesFile
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("reading YAML: %w", err)
	}
	if len(f.Sources) == 0 {
		return nil, errors.New(`no sources: list them under "sources:", each with "listings:" or "feeds:" (see examples/sources.yaml)`)
	}
	names := map[string]bool{}
	for i := range f.Sources {
		s := &f.Sources[i]
		if s.Interval == 0 {
			s.Interval = f.Defaults.Interval
		}
		if s.RecheckFor == 0 {
			s.RecheckFor = f.Defaults.RecheckFor
		}
		if s.MaxArticles == 0 {
			s.MaxArticles = f.Defaults.MaxArticles
		}
		if err := s.check(); err != nil {
			return nil, fmt.Errorf("source %d (%s): %w", i+1, s.Name, err)
		}
		if names[s.Name] {
			return nil, fmt.Errorf("source %d: the name %q is used twice; give each source its own name", i+1, s.Name)
		}
		names[s.Name] = true
	}
	return f.Sources, nil
}

// check fills defaults and validates s.
func (s *Source) check() error {
	if len(s.Listings)+len(s.Feeds) == 0 {
		return errors.New(`give at least one URL under "listings:" or "feeds:"`)
	}
	for _, u := range append(append([]string{}, s.Listings...), s.Feeds...) {
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return fmt.Errorf("%q is not an absolute http(s) URL", u)
		}
		if s.Name == "" {
			s.Name = strings.TrimPrefix(strings.ToLower(pu.Hostname()), "www.")
		}
	}
	if s.Interval == 0 {
		s.Interval = DefaultPollInterval
	}
	if s.Interval < time.Second {
		return fmt.Errorf("interval %s is too short; poll at most once a second (e.g. interval: 10m)", s.Interval)
	}
	if s.RecheckFor <= 0 {
		s.RecheckFor = DefaultRecheckFor
	}
	if s.MaxArticles <= 0 {
		s.MaxArticles = DefaultMaxArticles
	}
	if s.LinkPattern != "" {
		re, err := regexp.Compile(s.LinkPattern)
		if err != nil {
			return fmt.Errorf("link_pattern: %w", err)
		}
		s.linkRe = re
	}
	for key, sel := range map[string]string{
		"links": s.Selectors.Links, "title": s.Selectors.Title, "date": s.Selectors.Date,
		"body": s.Selectors.Body, "attachments": s.Selectors.Attachments,
	} {
		if sel == "" {
			continue
		}
		if _, err := cascadia.Compile(sel); err != nil {
			return fmt.Errorf("selectors.%s %q: %w", key, sel, err)
		}
	}
	return nil
}
