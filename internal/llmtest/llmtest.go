// Package llmtest is an OpenAI-compatible chat completions server for
// tests: POST /v1/chat/completions answers like the real API (response
// JSON with usage, errors as {"error":{"message","type","code"}}, 429 with
// Retry-After and x-ratelimit-* headers, 400 context_length_exceeded, 401
// invalid_api_key), honours or rejects response_format json_schema and
// json_object, and can be slow or hang. What it answers is scripted per
// test by a Handler; every request is recorded and counted.
//
// It is the one stand-in bantin's tests allow: the LLM.
package llmtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Message is one chat message of a request.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// ResponseFormat is a request's response_format.
type ResponseFormat struct {
	Type       string          `json:"type"`
	JSONSchema json.RawMessage `json:"json_schema,omitempty"`
}

// Request is a chat completion request as the server received it.
type Request struct {
	// N is the 1-based number of the request.
	N        int
	Model    string    `json:"model"`
	Messages []Message `json:"messages"`
	// Temperature is nil when the request did not carry the field.
	Temperature    *float64        `json:"temperature"`
	MaxTokens      int             `json:"max_tokens"`
	ResponseFormat *ResponseFormat `json:"response_format"`
	// Raw is the request body.
	Raw    json.RawMessage `json:"-"`
	Header http.Header     `json:"-"`
}

// Prompt returns the content of the request's messages joined by newlines.
func (r Request) Prompt() string {
	var parts []string
	for _, m := range r.Messages {
		parts = append(parts, m.Content)
	}
	return strings.Join(parts, "\n")
}

// Reply is what the server answers one request with.
type Reply struct {
	// Content is the assistant message, for a 200 answer.
	Content string
	// Status is the HTTP status; 0 means 200, or the error's natural status.
	Status int
	// Err, when set, is answered as {"error": …}.
	Err *APIError
	// Header is added to the response (Retry-After, x-ratelimit-*…).
	Header map[string]string
	// Delay is latency before the answer.
	Delay time.Duration
	// Hang keeps the request open until the client gives up (or the server
	// closes).
	Hang bool
	// RawBody, when set, is written verbatim instead of JSON.
	RawBody string
}

// APIError is the error object of an OpenAI error response.
type APIError struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    any     `json:"code"`
}

// Handler decides the reply to a request.
type Handler func(Request) Reply

// Options configure a Server beyond its handler.
type Options struct {
	// APIKey, when set, is required as "Authorization: Bearer <key>"; other
	// requests get 401 invalid_api_key.
	APIKey string
	// NoJSONSchema makes the server reject response_format json_schema with
	// 400, like servers that only know json_object.
	NoJSONSchema bool
	// NoResponseFormat rejects any response_format with 400.
	NoResponseFormat bool
	// ContextTokens, when set, answers prompts estimated longer than this
	// with 400 context_length_exceeded.
	ContextTokens int
	// Latency is added to every answer.
	Latency time.Duration
}

// Server is a running test server. Close it when done.
type Server struct {
	srv  *httptest.Server
	h    Handler
	opts Options

	mu       sync.Mutex
	requests []Request
	closed   chan struct{}
}

// New starts a server that answers with h.
func New(h Handler, opts Options) *Server {
	s := &Server{h: h, opts: opts, closed: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.chat)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, &APIError{Message: "Invalid URL (" + r.Method + " " + r.URL.Path + ")", Type: "invalid_request_error"}, nil)
	})
	s.srv = httptest.NewServer(mux)
	return s
}

// URL is the API base URL, ending in /v1, for --llm-base-url.
func (s *Server) URL() string { return s.srv.URL + "/v1" }

// Close unblocks hanging requests and stops the server.
func (s *Server) Close() {
	s.mu.Lock()
	select {
	case <-s.closed:
	default:
		close(s.closed)
	}
	s.mu.Unlock()
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	copy(out, s.requests)
	return out
}

// Count is how many chat completion requests the server received.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// EstimateTokens estimates the tokens of text the way the server does for
// ContextTokens: one per three characters, rounded up.
func EstimateTokens(text string) int { return (utf8.RuneCountInString(text) + 2) / 3 }

func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	var req Request
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 32<<20))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		writeError(w, http.StatusBadRequest, &APIError{Message: "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly.)", Type: "invalid_request_error"}, nil)
		return
	}
	if err := json.Unmarshal(raw, &req); err != nil {
		writeError(w, http.StatusBadRequest, &APIError{Message: "Invalid request body: " + err.Error(), Type: "invalid_request_error"}, nil)
		return
	}
	req.Raw, req.Header = raw, r.Header.Clone()
	s.mu.Lock()
	req.N = len(s.requests) + 1
	s.requests = append(s.requests, req)
	s.mu.Unlock()

	if s.opts.Latency > 0 {
		if !s.sleep(r, s.opts.Latency) {
			return
		}
	}
	if s.opts.APIKey != "" && r.Header.Get("Authorization") != "Bearer "+s.opts.APIKey {
		writeError(w, http.StatusUnauthorized, &APIError{Message: "Incorrect API key provided. You can find your API key in your account settings.", Type: "invalid_request_error", Code: "invalid_api_key"}, nil)
		return
	}
	if req.Model == "" {
		param := "model"
		writeError(w, http.StatusBadRequest, &APIError{Message: "you must provide a model parameter", Type: "invalid_request_error", Param: &param}, nil)
		return
	}
	if rf := req.ResponseFormat; rf != nil {
		param := "response_format"
		switch {
		case s.opts.NoResponseFormat:
			writeError(w, http.StatusBadRequest, &APIError{Message: "Unrecognized request argument supplied: response_format", Type: "invalid_request_error", Param: &param}, nil)
			return
		case rf.Type == "json_schema" && s.opts.NoJSONSchema:
			writeError(w, http.StatusBadRequest, &APIError{Message: "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model.", Type: "invalid_request_error", Param: &param}, nil)
			return
		case rf.Type == "json_schema" && len(rf.JSONSchema) == 0:
			writeError(w, http.StatusBadRequest, &APIError{Message: "Missing required parameter: 'response_format.json_schema'.", Type: "invalid_request_error", Param: &param, Code: "missing_required_parameter"}, nil)
			return
		case rf.Type == "json_object" && !strings.Contains(strings.ToLower(req.Prompt()), "json"):
			writeError(w, http.StatusBadRequest, &APIError{Message: "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.", Type: "invalid_request_error", Param: &param}, nil)
			return
		}
	}
	promptTokens := EstimateTokens(req.Prompt())
	if s.opts.ContextTokens > 0 && promptTokens+req.MaxTokens > s.opts.ContextTokens {
		param := "messages"
		writeError(w, http.StatusBadRequest, &APIError{
			Message: fmt.Sprintf("This model's maximum context length is %d tokens. However, your messages resulted in %d tokens. Please reduce the length of the messages.", s.opts.ContextTokens, promptTokens+req.MaxTokens),
			Type:    "invalid_request_error", Param: &param, Code: "context_length_exceeded",
		}, nil)
		return
	}

	rep := s.h(req)
	if rep.Delay > 0 && !s.sleep(r, rep.Delay) {
		return
	}
	if rep.Hang {
		select {
		case <-r.Context().Done():
		case <-s.closed:
		}
		return
	}
	for k, v := range rep.Header {
		w.Header().Set(k, v)
	}
	if rep.RawBody != "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(cmpStatus(rep.Status, http.StatusOK))
		_, _ = w.Write([]byte(rep.RawBody))
		return
	}
	if rep.Err != nil {
		writeError(w, cmpStatus(rep.Status, statusOf(rep.Err)), rep.Err, nil)
		return
	}
	completion := EstimateTokens(rep.Content)
	setRateHeaders(w.Header(), 10000, 9999-req.N, 200000, 200000-promptTokens)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(cmpStatus(rep.Status, http.StatusOK))
	_ = json.NewEncoder(w).Encode(map[string]any{
		"id":      "chatcmpl-test" + strconv.Itoa(req.N),
		"object":  "chat.completion",
		"created": time.Now().Unix(),
		"model":   req.Model,
		"choices": []map[string]any{{
			"index":         0,
			"message":       map[string]any{"role": "assistant", "content": rep.Content},
			"finish_reason": "stop",
		}},
		"usage": map[string]int{"prompt_tokens": promptTokens, "completion_tokens": completion, "total_tokens": promptTokens + completion},
	})
}

// sleep waits d unless the client goes away first.
func (s *Server) sleep(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
	case <-s.closed:
	}
	return false
}

func cmpStatus(s, def int) int {
	if s == 0 {
		return def
	}
	return s
}

func statusOf(e *APIError) int {
	switch e.Code {
	case "rate_limit_exceeded":
		return http.StatusTooManyRequests
	case "invalid_api_key":
		return http.StatusUnauthorized
	}
	if e.Type == "server_error" {
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

func setRateHeaders(h http.Header, limReq, remReq, limTok, remTok int) {
	h.Set("x-ratelimit-limit-requests", strconv.Itoa(limReq))
	h.Set("x-ratelimit-remaining-requests", strconv.Itoa(max(remReq, 0)))
	h.Set("x-ratelimit-reset-requests", "6ms")
	h.Set("x-ratelimit-limit-tokens", strconv.Itoa(limTok))
	h.Set("x-ratelimit-remaining-tokens", strconv.Itoa(max(remTok, 0)))
	h.Set("x-ratelimit-reset-tokens", "0s")
}

func writeError(w http.ResponseWriter, status int, e *APIError, header map[string]string) {
	for k, v := range header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": e})
}

// Sequence answers the n-th request with the n-th reply, and every later
// request with the last one.
func Sequence(replies ...Reply) Handler {
	return func(r Request) Reply {
		return replies[min(r.N, len(replies))-1]
	}
}

// Text answers with content.
func Text(content string) Reply { return Reply{Content: content} }

// JSON answers with v encoded as JSON.
func JSON(v any) Reply {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("llmtest.JSON: %v", err))
	}
	return Reply{Content: string(b)}
}

// RateLimited is a 429 rate_limit_exceeded with Retry-After (whole
// seconds) and the x-ratelimit-* headers of an exhausted quota.
func RateLimited(retryAfter time.Duration) Reply {
	secs := int((retryAfter + time.Second - 1) / time.Second)
	return Reply{
		Status: http.StatusTooManyRequests,
		Err:    &APIError{Message: "Rate limit reached for requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in " + retryAfter.String() + ".", Type: "requests", Code: "rate_limit_exceeded"},
		Header: map[string]string{
			"Retry-After":                    strconv.Itoa(secs),
			"x-ratelimit-limit-requests":     "3",
			"x-ratelimit-remaining-requests": "0",
			"x-ratelimit-reset-requests":     retryAfter.String(),
		},
	}
}

// ServerError is a 500 server_error.
func ServerError() Reply {
	return Reply{Status: http.StatusInternalServerError, Err: &APIError{Message: "The server had an error while processing your request. Sorry about that!", Type: "server_error"}}
}

// Overloaded is a 503 with a non-JSON body, as proxies send.
func Overloaded() Reply {
	return Reply{Status: http.StatusServiceUnavailable, RawBody: "upstream connect error or disconnect/reset before headers"}
}

// Hang never answers.
func Hang() Reply { return Reply{Hang: true} }

// ContextTooLong is the 400 context_length_exceeded of a prompt of tokens.
func ContextTooLong(limit, tokens int) Reply {
	param := "messages"
	return Reply{Status: http.StatusBadRequest, Err: &APIError{
		Message: fmt.Sprintf("This model's maximum context length is %d tokens. However, your messages resulted in %d tokens. Please reduce the length of the messages.", limit, tokens),
		Type:    "invalid_request_error", Param: &param, Code: "context_length_exceeded",
	}}
}

// Unauthorized is the 401 invalid_api_key.
func Unauthorized() Reply {
	return Reply{Status: http.StatusUnauthorized, Err: &APIError{Message: "Incorrect API key provided: sk-test***. You can find your API key in your account settings.", Type: "invalid_request_error", Code: "invalid_api_key"}}
}
