// Package llm is bantin's LLM summarize backend: it asks any
// OpenAI-compatible chat completions endpoint (OpenAI, Azure OpenAI, vLLM,
// Ollama, llama.cpp server) for a digest of a report, in JSON, with a
// Vietnamese prompt from a template users can override.
//
// A report larger than the model's context budget is summarised map-reduce
// over page-aligned chunks that carry "[tr. N]" page markers, so that
// bullets cite their page. Every digest is checked against the report by
// package faithful; one that states a figure or name the report does not
// is retried once with the failures named, then replaced by the extractive
// digest flagged needs_review. Results are cached by (report, model, prompt
// version, language), so redeliveries and re-runs never pay twice. Calls
// are rate-limited and retried with jittered backoff on 429 (honouring
// Retry-After and x-ratelimit-*), 5xx and timeouts; 400 context too long
// and 401 are permanent errors, which the worker dead-letters.
package llm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	openai "github.com/sashabaranov/go-openai"
	"golang.org/x/time/rate"

	"github.com/bantin/bantin/internal/model"
	"github.com/bantin/bantin/internal/vntext"
	"github.com/bantin/bantin/services/summarize"
	"github.com/bantin/bantin/services/summarize/faithful"
)

// Config configures the LLM backend. Zero values take the defaults.
type Config struct {
	// BaseURL is the API base, ending in /v1 for OpenAI-compatible servers
	// ("http://vllm:8000/v1", "http://localhost:11434/v1"); for Azure the
	// resource endpoint ("https://NAME.openai.azure.com").
	BaseURL string
	// Model is the model name (for Azure, the deployment name).
	Model string
	// APIKey is sent as a bearer token (Azure: api-key). Local servers
	// usually need none.
	APIKey string
	// Azure selects Azure OpenAI; AzureAPIVersion defaults to 2024-06-01.
	Azure           bool
	AzureAPIVersion string
	// Temperature is sent as given, 0 included.
	Temperature float64
	// ResponseFormat is auto (json_schema, stepping down to json_object
	// and plain text when the server rejects it), json_schema, json_object
	// or text.
	ResponseFormat string
	// PromptFile overrides the built-in prompt template.
	PromptFile string
	// Language of the digest: vi (default) or en.
	Language string
	// ContextTokens is the model's context window (default 8192);
	// MaxOutputTokens what a reply may use (default 1024).
	ContextTokens   int
	MaxOutputTokens int
	// CallTimeout bounds one HTTP call (default 2m).
	CallTimeout time.Duration
	// MaxAttempts bounds the attempts of one call (default 4).
	MaxAttempts int
	// RetryBase is the first backoff (default 1s); MaxRetryWait caps any
	// wait, Retry-After included (default 60s).
	RetryBase    time.Duration
	MaxRetryWait time.Duration
	// Concurrency bounds calls in flight (default 4); RequestsPerMinute and
	// TokensPerMinute, when set, rate-limit them.
	Concurrency       int
	RequestsPerMinute int
	TokensPerMinute   int
	// NoFallback makes an endpoint that keeps failing an error (the worker
	// retries the report later) instead of an extractive digest flagged
	// needs_review.
	NoFallback bool
	// HTTPClient is the client for the endpoint (default: no overall
	// timeout; CallTimeout applies per call).
	HTTPClient *http.Client
}

// Cache stores finished digests by key. Implementations must be safe for
// concurrent use; a miss is (nil, false, nil).
type Cache interface {
	Get(ctx context.Context, key string) ([]byte, bool, error)
	Put(ctx context.Context, key string, value []byte) error
}

// Fallback is the summariser used when the LLM's digest fails the check or
// the endpoint is unavailable: the extractive one.
type Fallback interface {
	Summarize(ctx context.Context, r *model.Report) (*model.Digest, error)
}

// Deps are the backend's collaborators; all optional but Fallback.
type Deps struct {
	Cache    Cache
	Fallback Fallback
	Log      *slog.Logger
	Registry prometheus.Registerer
}

// Summarizer is the LLM backend. It is safe for concurrent use.
type Summarizer struct {
	cfg      Config
	client   chatClient
	prompt   *prompt
	cache    Cache
	fallback Fallback
	log      *slog.Logger
	format   formatState
	sem      chan struct{}
	rpm, tpm *rate.Limiter
	m        metrics
}

var _ summarize.Summarizer = (*Summarizer)(nil)

type metrics struct {
	calls     *prometheus.CounterVec
	tokens    *prometheus.CounterVec
	cacheHits prometheus.Counter
	retries   prometheus.Counter
	outcomes  *prometheus.CounterVec
	latency   prometheus.Histogram
}

// New returns the LLM backend for cfg.
func New(cfg Config, deps Deps) (*Summarizer, error) {
	if cfg.BaseURL == "" {
		return nil, errors.New("llm: a base URL is required (--llm-base-url, e.g. http://localhost:11434/v1)")
	}
	if cfg.Model == "" {
		return nil, errors.New("llm: a model is required (--llm-model)")
	}
	if deps.Fallback == nil {
		return nil, errors.New("llm: a fallback summariser is required")
	}
	switch cfg.Language {
	case "":
		cfg.Language = "vi"
	case "vi", "en":
	default:
		return nil, fmt.Errorf("llm: digest language %q: want vi or en", cfg.Language)
	}
	if cfg.Temperature < 0 || cfg.Temperature > 2 {
		return nil, fmt.Errorf("llm: temperature %v: want 0..2", cfg.Temperature)
	}
	f, err := parseFormat(cfg.ResponseFormat)
	if err != nil {
		return nil, fmt.Errorf("llm: %w", err)
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&cfg.ContextTokens, 8192)
	def(&cfg.MaxOutputTokens, 1024)
	def(&cfg.MaxAttempts, 4)
	def(&cfg.Concurrency, 4)
	defDur(&cfg.CallTimeout, 2*time.Minute)
	defDur(&cfg.RetryBase, time.Second)
	defDur(&cfg.MaxRetryWait, time.Minute)
	if cfg.ContextTokens < cfg.MaxOutputTokens+1024 {
		return nil, fmt.Errorf("llm: context of %d tokens leaves no room for a report after %d output tokens", cfg.ContextTokens, cfg.MaxOutputTokens)
	}
	p, err := loadPrompt(cfg.PromptFile)
	if err != nil {
		return nil, fmt.Errorf("llm: %w", err)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	var oc openai.ClientConfig
	if cfg.Azure {
		oc = openai.DefaultAzureConfig(cfg.APIKey, cfg.BaseURL)
		if cfg.AzureAPIVersion == "" {
			cfg.AzureAPIVersion = "2024-06-01"
		}
		oc.APIVersion = cfg.AzureAPIVersion
		oc.AzureModelMapperFunc = func(m string) string { return m } // the model is the deployment
	} else {
		oc = openai.DefaultConfig(cfg.APIKey)
		oc.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	}
	oc.HTTPClient = &doer{client: hc, temperature: float32(cfg.Temperature)}
	log := deps.Log
	if log == nil {
		log = slog.Default()
	}
	s := &Summarizer{
		cfg: cfg, client: openai.NewClientWithConfig(oc), prompt: p,
		cache: deps.Cache, fallback: deps.Fallback,
		log: log.With("backend", "llm", "model", cfg.Model),
		sem: make(chan struct{}, cfg.Concurrency),
		m: metrics{
			calls: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "bantin_llm_calls_total", Help: "Chat completion calls, by outcome (ok, error, timeout, permanent, format_rejected, cancelled).",
			}, []string{"outcome"}),
			tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "bantin_llm_tokens_total", Help: "Tokens used, by direction (in, out), as reported by the endpoint.",
			}, []string{"direction"}),
			cacheHits: prometheus.NewCounter(prometheus.CounterOpts{
				Name: "bantin_llm_cache_hits_total", Help: "Reports whose digest came from the LLM cache.",
			}),
			retries: prometheus.NewCounter(prometheus.CounterOpts{
				Name: "bantin_llm_retries_total", Help: "Chat completion calls retried after 429, 5xx, timeouts or network errors.",
			}),
			outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "bantin_llm_digests_total", Help: "LLM digests, by outcome (faithful, faithful_after_retry, fallback_unfaithful, fallback_unavailable, cached).",
			}, []string{"outcome"}),
			latency: prometheus.NewHistogram(prometheus.HistogramOpts{
				Name: "bantin_llm_call_duration_seconds", Help: "Latency of one chat completion call.",
				Buckets: prometheus.ExponentialBuckets(0.05, 2.5, 10),
			}),
		},
	}
	s.format.Store(int32(f))
	if cfg.RequestsPerMinute > 0 {
		// A token bucket lets through burst + rate·60 s in any minute, so
		// the rate leaves room for the burst: no 60-s window ever holds
		// more than RequestsPerMinute calls (bench/llm checks it).
		burst := max(1, cfg.RequestsPerMinute/60)
		s.rpm = rate.NewLimiter(rate.Limit(float64(max(1, cfg.RequestsPerMinute-burst))/60), burst)
	}
	if cfg.TokensPerMinute > 0 {
		// As for requests: the burst (a quarter of the minute's tokens, so
		// one large prompt can pass) plus the refill of 60 s is the budget.
		burst := max(1, cfg.TokensPerMinute/4)
		s.tpm = rate.NewLimiter(rate.Limit(float64(max(1, cfg.TokensPerMinute-burst))/60), burst)
	}
	if deps.Registry != nil {
		for _, c := range []prometheus.Collector{s.m.calls, s.m.tokens, s.m.cacheHits, s.m.retries, s.m.outcomes, s.m.latency} {
			if err := deps.Registry.Register(c); err != nil {
				return nil, fmt.Errorf("registering LLM metrics: %w", err)
			}
		}
	}
	return s, nil
}

// Name returns "llm:<model>".
func (s *Summarizer) Name() string { return "llm:" + s.cfg.Model }

// PromptVersion is the version of the prompt in use, part of the cache key.
func (s *Summarizer) PromptVersion() string { return s.prompt.version }

// CacheKey is the key of r's digest in the cache: the report id and a hash
// of the model, prompt version and language (KV keys allow few characters).
func (s *Summarizer) CacheKey(reportID string) string {
	h := sha256.Sum256([]byte(s.cfg.Model + "\x00" + s.prompt.version + "\x00" + s.cfg.Language))
	return reportID + "." + hex.EncodeToString(h[:8])
}

// Summarize writes the digest of r; see the package documentation.
func (s *Summarizer) Summarize(ctx context.Context, r *model.Report) (*model.Digest, error) {
	if len(r.Paragraphs) == 0 {
		if r.TextRef != "" {
			return nil, fmt.Errorf("summarizing report %s: paragraphs are stored under %s and were not loaded", r.ID, r.TextRef)
		}
		return nil, &summarize.PermanentError{Reason: "no_text", Err: fmt.Errorf("summarizing report %s: the report has no text", r.ID)}
	}
	key := s.CacheKey(r.ID)
	if s.cache != nil {
		if b, ok, err := s.cache.Get(ctx, key); err != nil {
			s.log.Warn("reading the LLM cache", "report_id", r.ID, "err", err)
		} else if ok {
			var d model.Digest
			if err := json.Unmarshal(b, &d); err == nil {
				s.m.cacheHits.Inc()
				s.m.outcomes.WithLabelValues("cached").Inc()
				return &d, nil
			}
		}
	}
	d, err := s.digest(ctx, r)
	if err != nil {
		return nil, err
	}
	if s.cache != nil {
		if b, err := json.Marshal(d); err == nil {
			if err := s.cache.Put(context.WithoutCancel(ctx), key, b); err != nil {
				s.log.Warn("writing the LLM cache", "report_id", r.ID, "err", err)
			}
		}
	}
	return d, nil
}

func (s *Summarizer) digest(ctx context.Context, r *model.Report) (*model.Digest, error) {
	src := faithful.NewSource(r.Paragraphs, r.Source.ArticleTitle)
	title := r.Title()
	budget := s.cfg.ContextTokens - s.cfg.MaxOutputTokens - s.overhead(title)
	parts := chunks(r.Paragraphs, budget)

	// Map: one set of notes per chunk (no map step when the report fits).
	var input, mode string
	if len(parts) == 1 {
		input, mode = parts[0].text, "digest"
	} else {
		s.log.Info("report exceeds the context budget; summarising map-reduce", "report_id", r.ID, "chunks", len(parts), "budget_tokens", budget)
		var notes strings.Builder
		for i, c := range parts {
			a, err := s.ask(ctx, promptData{Title: title, Text: c.text, Mode: "map", Part: i + 1, Parts: len(parts)})
			if err != nil {
				return s.unavailable(ctx, r, err)
			}
			fmt.Fprintf(&notes, "Phần %d (tr. %d–%d):\n", i+1, c.first, c.last)
			if a.Summary != "" {
				fmt.Fprintf(&notes, "%s\n", a.Summary)
			}
			for _, b := range a.Bullets {
				if b.Page < c.first || b.Page > c.last {
					b.Page = pageOf(src, b.Text, c.first, c.last)
				}
				fmt.Fprintf(&notes, "- %s (tr. %d)\n", b.Text, b.Page)
			}
			notes.WriteString("\n")
		}
		input, mode = notes.String(), "reduce"
		if estimateTokens(input) > budget {
			input = truncate(input, budget*3)
		}
	}

	// Reduce (or the single call), then the check, retried once.
	var feedback []string
	var res faithful.Result
	for try := 1; try <= 2; try++ {
		a, err := s.ask(ctx, promptData{Title: title, Text: input, Mode: mode, Feedback: feedback})
		if err != nil {
			return s.unavailable(ctx, r, err)
		}
		d := s.build(r, src, a)
		res = src.Check(d)
		if res.OK() && len(d.Bullets) >= 1 && d.Summary != "" {
			if try == 1 {
				s.m.outcomes.WithLabelValues("faithful").Inc()
			} else {
				s.m.outcomes.WithLabelValues("faithful_after_retry").Inc()
			}
			return d, nil
		}
		feedback = feedback[:0]
		for _, f := range res.Failures {
			feedback = append(feedback, fmt.Sprintf("%q (%s)", f.Text, f.Where))
		}
		if len(feedback) == 0 {
			feedback = append(feedback, "bản tin thiếu phần tóm tắt hoặc các ý chính")
			res.Failures = append(res.Failures, faithful.Failure{Kind: "shape", Text: "empty summary or bullets", Where: "digest"})
		}
		s.log.Warn("LLM digest failed the faithfulness check", "report_id", r.ID, "try", try, "reason", res.Reason())
	}
	s.m.outcomes.WithLabelValues("fallback_unfaithful").Inc()
	return s.fallbackDigest(ctx, r, fmt.Sprintf("the %s digest was replaced by the extractive one: %s", s.Name(), res.Reason()))
}

// overhead estimates the prompt's own tokens, without the report.
func (s *Summarizer) overhead(title string) int {
	sys, user, err := s.prompt.render(promptData{Language: s.cfg.Language, Title: title, Mode: "reduce", Part: 99, Parts: 99, Feedback: []string{strings.Repeat("x", 600)}})
	if err != nil {
		return 1500
	}
	return estimateTokens(sys) + estimateTokens(user) + 64
}

// ask renders the prompt, calls the model and parses its answer. An
// answer that cannot be parsed is asked again once.
func (s *Summarizer) ask(ctx context.Context, d promptData) (*answer, error) {
	d.Language = s.cfg.Language
	sys, user, err := s.prompt.render(d)
	if err != nil {
		return nil, &summarize.PermanentError{Reason: "bad_prompt", Err: err}
	}
	var lastErr error
	for try := 0; try < 2; try++ {
		res, err := s.complete(ctx, sys, user)
		if err != nil {
			return nil, err
		}
		a, err := parseAnswer(res.content)
		if err == nil {
			return a, nil
		}
		lastErr = err
		s.log.Warn("LLM reply is not a digest; asking again", "err", err)
	}
	return nil, &unavailableError{attempts: 2, err: fmt.Errorf("parsing the model's reply: %w", lastErr)}
}

// unavailable handles a failed call: permanent errors and cancellation go
// to the worker; an endpoint that keeps failing yields the extractive
// digest flagged for review, unless NoFallback.
func (s *Summarizer) unavailable(ctx context.Context, r *model.Report, err error) (*model.Digest, error) {
	var perm *summarize.PermanentError
	var un *unavailableError
	if errors.As(err, &perm) || ctx.Err() != nil || !errors.As(err, &un) || s.cfg.NoFallback {
		return nil, fmt.Errorf("summarizing report %s with %s: %w", r.ID, s.Name(), err)
	}
	s.m.outcomes.WithLabelValues("fallback_unavailable").Inc()
	return s.fallbackDigest(ctx, r, fmt.Sprintf("the LLM endpoint was unavailable, so this is the extractive digest: %v", err))
}

func (s *Summarizer) fallbackDigest(ctx context.Context, r *model.Report, reason string) (*model.Digest, error) {
	d, err := s.fallback.Summarize(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("summarizing report %s with the fallback after %s: %w", r.ID, reason, err)
	}
	d.NeedsReview = true
	d.ReviewReason = strings.TrimSpace(strings.Join([]string{reason, d.ReviewReason}, " "))
	return d, nil
}

// build turns an answer into a digest, with figures parsed and page
// citations pointed at a page that holds the bullet's figures.
func (s *Summarizer) build(r *model.Report, src *faithful.Source, a *answer) *model.Digest {
	srcMeta := r.Source
	srcMeta.Tags = slices.Clone(srcMeta.Tags)
	d := &model.Digest{
		SchemaVersion: model.SchemaVersion,
		ID:            model.DigestID(r.ID),
		ReportID:      r.ID,
		Title:         a.Headline,
		Summary:       a.Summary,
		Language:      s.cfg.Language,
		Source:        srcMeta,
		Backend:       s.Name(),
		CreatedAt:     r.CreatedAt,
		Version:       1,
	}
	if d.Title == "" {
		d.Title = r.Title()
	}
	paged := r.Pages > 0 || slices.ContainsFunc(r.Paragraphs, func(p model.Paragraph) bool { return p.Page > 0 })
	for _, b := range a.Bullets[:min(len(a.Bullets), 6)] {
		if paged {
			b.Page = pageOf(src, b.Text, b.Page, b.Page)
		} else {
			b.Page = 0
		}
		d.Bullets = append(d.Bullets, model.Bullet{Text: b.Text, Page: b.Page})
	}
	for _, f := range a.Figures[:min(len(a.Figures), 8)] {
		fig := model.Figure{Text: f.Text}
		if fs := vntext.Figures(f.Text); len(fs) > 0 {
			fig.Value, fig.Unit = fs[0].Value, fs[0].Unit
		} else if v, ok := vntext.ParseNumber(f.Text); ok {
			fig.Value = v
		}
		if paged {
			fig.Page = f.Page
			if pages := src.Pages(f.Text); len(pages) > 0 && !slices.Contains(pages, f.Page) {
				fig.Page = pages[0]
			}
		}
		d.Figures = append(d.Figures, fig)
	}
	return d
}

// pageOf keeps a cited page in [first, last] when it holds every figure of
// text, else returns the first page that does (preferring [first, last]),
// else the citation unchanged.
func pageOf(src *faithful.Source, text string, first, last int) int {
	figs := vntext.Figures(text)
	if len(figs) == 0 {
		return first
	}
	var common []int
	for i, f := range figs {
		ps := src.Pages(f.Text)
		if i == 0 {
			common = ps
			continue
		}
		common = slices.DeleteFunc(common, func(p int) bool { return !slices.Contains(ps, p) })
	}
	if len(common) == 0 {
		return first
	}
	for _, p := range common {
		if p >= first && p <= last {
			return p
		}
	}
	return common[0]
}
