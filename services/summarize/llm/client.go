package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/bantin/bantin/services/summarize"
)

// chatClient is the one go-openai method the backend calls.
type chatClient interface {
	CreateChatCompletion(ctx context.Context, req openai.ChatCompletionRequest) (openai.ChatCompletionResponse, error)
}

// headerKey carries a *http.Header through go-openai into the doer, which
// stores the response headers there: go-openai's errors drop them, and
// Retry-After and x-ratelimit-* live there.
type headerKey struct{}

// doer is the HTTP client go-openai uses. It makes the configured
// temperature reach the server (go-openai omits temperature 0, which a
// server then replaces by its default, often 0.7 or 1) and records the
// response headers for the retry logic.
type doer struct {
	client      *http.Client
	temperature float32
}

func (d *doer) Do(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/chat/completions") {
		body, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("reading request body: %w", err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err == nil {
			t, _ := json.Marshal(d.temperature)
			m["temperature"] = t
			if nb, err := json.Marshal(m); err == nil {
				body = nb
			}
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	resp, err := d.client.Do(req)
	if resp != nil {
		if h, ok := req.Context().Value(headerKey{}).(*http.Header); ok {
			*h = resp.Header.Clone()
		}
	}
	return resp, err
}

// format is how the backend asks for JSON; it steps down when a server
// rejects a response_format.
type format int32

const (
	formatJSONSchema format = iota
	formatJSONObject
	formatText
)

func (f format) String() string {
	return [...]string{"json_schema", "json_object", "text"}[f]
}

func parseFormat(s string) (format, error) {
	switch s {
	case "", "auto", "json_schema":
		return formatJSONSchema, nil
	case "json_object":
		return formatJSONObject, nil
	case "text":
		return formatText, nil
	}
	return 0, fmt.Errorf("response format %q: want auto, json_schema, json_object or text", s)
}

// unavailableError says the endpoint kept failing after every retry.
type unavailableError struct {
	attempts int
	err      error
}

func (e *unavailableError) Error() string {
	return fmt.Sprintf("LLM endpoint failing after %d attempts: %v", e.attempts, e.err)
}
func (e *unavailableError) Unwrap() error { return e.err }

// callResult is a successful completion.
type callResult struct {
	content   string
	tokensIn  int
	tokensOut int
}

// complete sends one chat completion, with the rate limits, the
// concurrency limit, a per-call deadline and retries with jittered backoff
// on 429, 5xx, timeouts and network errors. Permanent failures come back as
// *summarize.PermanentError.
func (s *Summarizer) complete(ctx context.Context, system, user string) (callResult, error) {
	est := estimateTokens(system) + estimateTokens(user) + s.cfg.MaxOutputTokens
	var last error
	for attempt := 1; ; attempt++ {
		if err := s.waitLimits(ctx, est); err != nil {
			return callResult{}, err
		}
		f := format(s.format.Load())
		req := s.request(system, user, f)
		var hdr http.Header
		cctx, cancel := context.WithTimeout(context.WithValue(ctx, headerKey{}, &hdr), s.cfg.CallTimeout)
		start := time.Now()
		select {
		case s.sem <- struct{}{}:
		case <-ctx.Done():
			cancel()
			return callResult{}, ctx.Err()
		}
		resp, err := s.client.CreateChatCompletion(cctx, req)
		err = redactKey(err, s.cfg.APIKey)
		<-s.sem
		timedOut := errors.Is(cctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
		cancel()
		s.m.latency.Observe(time.Since(start).Seconds())
		if err == nil {
			if len(resp.Choices) == 0 {
				err = errors.New("the response has no choices")
			} else {
				s.m.calls.WithLabelValues("ok").Inc()
				s.m.tokens.WithLabelValues("in").Add(float64(resp.Usage.PromptTokens))
				s.m.tokens.WithLabelValues("out").Add(float64(resp.Usage.CompletionTokens))
				return callResult{content: resp.Choices[0].Message.Content, tokensIn: resp.Usage.PromptTokens, tokensOut: resp.Usage.CompletionTokens}, nil
			}
		}
		if ctx.Err() != nil {
			s.m.calls.WithLabelValues("cancelled").Inc()
			return callResult{}, fmt.Errorf("calling %s: %w", s.cfg.Model, ctx.Err())
		}
		status, code, param, msg := classify(err)
		switch {
		case timedOut:
			err = fmt.Errorf("no answer within %s: %w", s.cfg.CallTimeout, err)
			s.m.calls.WithLabelValues("timeout").Inc()
		case status == http.StatusBadRequest && (code == "context_length_exceeded" || strings.Contains(msg, "maximum context length")):
			s.m.calls.WithLabelValues("permanent").Inc()
			return callResult{}, &summarize.PermanentError{Reason: "context_too_long", Err: fmt.Errorf("the report does not fit model %s even in chunks (lower --llm-context-tokens to the model's real context size): %w", s.cfg.Model, err)}
		case status == http.StatusBadRequest && f < formatText && (param == "response_format" || strings.Contains(msg, "response_format") || strings.Contains(msg, "json_schema")):
			// The server does not know this response format: step down and
			// try again at once; this is not a failure of the endpoint.
			s.format.CompareAndSwap(int32(f), int32(f+1))
			s.log.Info("server rejected the response format; stepping down", "format", f.String(), "next", (f + 1).String(), "err", err)
			s.m.calls.WithLabelValues("format_rejected").Inc()
			attempt--
			continue
		case status == http.StatusUnauthorized || status == http.StatusForbidden:
			s.m.calls.WithLabelValues("permanent").Inc()
			return callResult{}, &summarize.PermanentError{Reason: "llm_unauthorized", Err: fmt.Errorf("the LLM endpoint refused the key (set BANTIN_LLM_API_KEY or BANTIN_LLM_API_KEY_FILE): %w", err)}
		case status == http.StatusNotFound:
			s.m.calls.WithLabelValues("permanent").Inc()
			return callResult{}, &summarize.PermanentError{Reason: "llm_not_found", Err: fmt.Errorf("model %q or endpoint %s not found (check --llm-model and --llm-base-url, which ends in /v1): %w", s.cfg.Model, s.cfg.BaseURL, err)}
		case status >= 400 && status < 500 && status != http.StatusTooManyRequests && status != http.StatusRequestTimeout && status != http.StatusConflict:
			s.m.calls.WithLabelValues("permanent").Inc()
			return callResult{}, &summarize.PermanentError{Reason: "llm_bad_request", Err: fmt.Errorf("the LLM endpoint rejected the request: %w", err)}
		default:
			s.m.calls.WithLabelValues("error").Inc()
		}
		last = err
		if attempt >= s.cfg.MaxAttempts {
			return callResult{}, &unavailableError{attempts: attempt, err: last}
		}
		delay := s.backoff(attempt, status, hdr)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < delay {
			return callResult{}, &unavailableError{attempts: attempt, err: fmt.Errorf("%w (the next retry in %s would pass the deadline)", last, delay.Round(time.Millisecond))}
		}
		s.m.retries.Inc()
		s.log.Warn("LLM call failed; retrying", "attempt", attempt, "status", status, "delay", delay.Round(time.Millisecond), "err", err)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return callResult{}, fmt.Errorf("calling %s: %w", s.cfg.Model, ctx.Err())
		}
	}
}

// classify pulls the HTTP status and the error code out of a go-openai error.
func classify(err error) (status int, code, param, msg string) {
	var apiErr *openai.APIError
	var reqErr *openai.RequestError
	var netErr net.Error
	switch {
	case errors.As(err, &apiErr):
		if apiErr.Param != nil {
			param = *apiErr.Param
		}
		if c, ok := apiErr.Code.(string); ok {
			code = c
		}
		return apiErr.HTTPStatusCode, code, param, apiErr.Message
	case errors.As(err, &reqErr):
		return reqErr.HTTPStatusCode, "", "", string(reqErr.Body)
	case errors.As(err, &netErr):
		return 0, "", "", netErr.Error()
	}
	return 0, "", "", err.Error()
}

// backoff is the wait before retry attempt+1: what Retry-After or the
// x-ratelimit-reset-* headers ask for on a 429, else exponential from
// RetryBase with full jitter, capped at MaxRetryWait.
func (s *Summarizer) backoff(attempt, status int, h http.Header) time.Duration {
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		if d, ok := headerWait(h); ok {
			// A little jitter so that workers told the same time do not
			// return at once.
			return min(d+time.Duration(rand.Int64N(int64(d/10)+1)), s.cfg.MaxRetryWait)
		}
	}
	ceil := s.cfg.RetryBase << min(attempt-1, 10)
	ceil = min(ceil, s.cfg.MaxRetryWait)
	return ceil/2 + time.Duration(rand.Int64N(int64(ceil/2)+1))
}

// headerWait reads Retry-After (seconds or an HTTP date), retry-after-ms,
// and x-ratelimit-reset-requests/-tokens ("1s", "6m0s", "20ms") when the
// matching x-ratelimit-remaining-* is 0.
func headerWait(h http.Header) (time.Duration, bool) {
	if h == nil {
		return 0, false
	}
	if v := h.Get("retry-after-ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms >= 0 {
			return time.Duration(ms * float64(time.Millisecond)), true
		}
	}
	if v := h.Get("Retry-After"); v != "" {
		if secs, err := strconv.ParseFloat(v, 64); err == nil && secs >= 0 {
			return time.Duration(secs * float64(time.Second)), true
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(time.Until(t), 0), true
		}
	}
	var wait time.Duration
	found := false
	for _, kind := range []string{"requests", "tokens"} {
		if h.Get("x-ratelimit-remaining-"+kind) != "0" {
			continue
		}
		if d, err := time.ParseDuration(h.Get("x-ratelimit-reset-" + kind)); err == nil {
			wait, found = max(wait, d), true
		}
	}
	return wait, found
}

// waitLimits waits for the requests- and tokens-per-minute budgets.
func (s *Summarizer) waitLimits(ctx context.Context, tokens int) error {
	if s.rpm != nil {
		if err := s.rpm.Wait(ctx); err != nil {
			return fmt.Errorf("waiting for the requests-per-minute limit: %w", err)
		}
	}
	if s.tpm != nil {
		if err := s.tpm.WaitN(ctx, min(tokens, s.tpm.Burst())); err != nil {
			return fmt.Errorf("waiting for the tokens-per-minute limit: %w", err)
		}
	}
	return nil
}

// request builds the chat completion request in format f.
func (s *Summarizer) request(system, user string, f format) openai.ChatCompletionRequest {
	req := openai.ChatCompletionRequest{
		Model: s.cfg.Model,
		Messages: []openai.ChatCompletionMessage{
			{Role: openai.ChatMessageRoleSystem, Content: system},
			{Role: openai.ChatMessageRoleUser, Content: user},
		},
		Temperature: float32(s.cfg.Temperature),
		MaxTokens:   s.cfg.MaxOutputTokens,
	}
	switch f {
	case formatJSONSchema:
		req.ResponseFormat = &openai.ChatCompletionResponseFormat{
			Type: openai.ChatCompletionResponseFormatTypeJSONSchema,
			JSONSchema: &openai.ChatCompletionResponseFormatJSONSchema{
				Name:   "digest",
				Schema: json.RawMessage(digestSchema),
				Strict: true,
			},
		}
	case formatJSONObject:
		req.ResponseFormat = &openai.ChatCompletionResponseFormat{Type: openai.ChatCompletionResponseFormatTypeJSONObject}
	}
	return req
}

// digestSchema is the JSON schema of the model's answer (strict mode: every
// property required, no others).
const digestSchema = `{
  "type": "object",
  "properties": {
    "headline": {"type": "string"},
    "summary": {"type": "string"},
    "bullets": {"type": "array", "items": {
      "type": "object",
      "properties": {"text": {"type": "string"}, "page": {"type": "integer"}},
      "required": ["text", "page"], "additionalProperties": false}},
    "figures": {"type": "array", "items": {
      "type": "object",
      "properties": {"text": {"type": "string"}, "page": {"type": "integer"}},
      "required": ["text", "page"], "additionalProperties": false}}
  },
  "required": ["headline", "summary", "bullets", "figures"],
  "additionalProperties": false
}`

// formatState is the current response format, shared by concurrent calls.
type formatState = atomic.Int32

// redactKey hides the API key in err's text: a proxy or a local server may
// echo the key in its error message, and the message goes to logs, dead
// letters and the public /failures page. The original error stays
// reachable with errors.As, for classifying it.
func redactKey(err error, key string) error {
	if err == nil || len(key) < 4 || !strings.Contains(err.Error(), key) {
		return err
	}
	return &redactedError{msg: strings.ReplaceAll(err.Error(), key, "[redacted]"), err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
