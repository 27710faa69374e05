package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bantin/bantin/internal/bus"
	"github.com/bantin/bantin/services/summarize"
	"github.com/bantin/bantin/services/summarize/extractive"
	"github.com/bantin/bantin/services/summarize/llm"
)

// llmOptions are the flags of the LLM backend. The API key is not a flag:
// it comes from BANTIN_LLM_API_KEY or the file named by
// BANTIN_LLM_API_KEY_FILE, so it never shows in a process list.
type llmOptions struct {
	baseURL, model, responseFormat, promptFile, language string
	temperature                                          float64
	azure                                                bool
	azureAPIVersion                                      string
	contextTokens, maxOutputTokens                       int
	maxAttempts, concurrency, rpm, tpm                   int
	callTimeout                                          time.Duration
	noFallback                                           bool
}

// Environment variables of the LLM API key.
const (
	envLLMKey     = "BANTIN_LLM_API_KEY"
	envLLMKeyFile = "BANTIN_LLM_API_KEY_FILE"
)

func llmFlags(fs *flag.FlagSet, o *options) {
	l := &o.llm
	fs.StringVar(&l.baseURL, "llm-base-url", "", "OpenAI-compatible API base URL; setting it selects the LLM summariser (else extractive). "+
		"E.g. https://api.openai.com/v1, http://localhost:11434/v1 (Ollama), http://vllm:8000/v1; for Azure the resource endpoint with --llm-azure. "+
		"Key from "+envLLMKey+" or "+envLLMKeyFile)
	fs.StringVar(&l.model, "llm-model", "", "model name (Azure: deployment name), e.g. gpt-4o-mini, qwen2.5:7b-instruct")
	fs.Float64Var(&l.temperature, "llm-temperature", 0, "sampling temperature sent to the model, 0 included (0..2)")
	fs.StringVar(&l.responseFormat, "llm-response-format", "auto", "how to ask for JSON: auto (json_schema, stepping down when the server rejects it), json_schema, json_object or text")
	fs.StringVar(&l.promptFile, "llm-prompt", "", "prompt template file overriding the built-in Vietnamese one (see services/summarize/llm/prompts/meeting.tmpl)")
	fs.StringVar(&l.language, "llm-language", "vi", "digest language: vi or en")
	fs.BoolVar(&l.azure, "llm-azure", false, "the endpoint is Azure OpenAI")
	fs.StringVar(&l.azureAPIVersion, "llm-azure-api-version", "2024-06-01", "Azure OpenAI api-version")
	fs.IntVar(&l.contextTokens, "llm-context-tokens", 8192, "the model's context window in tokens; longer reports are summarised map-reduce")
	fs.IntVar(&l.maxOutputTokens, "llm-max-output-tokens", 1024, "tokens one reply may use")
	fs.DurationVar(&l.callTimeout, "llm-call-timeout", 2*time.Minute, "deadline of one call to the model")
	fs.IntVar(&l.maxAttempts, "llm-max-attempts", 4, "attempts of one call on 429, 5xx and timeouts")
	fs.IntVar(&l.concurrency, "llm-concurrency", 4, "calls in flight at once, per process")
	fs.IntVar(&l.rpm, "llm-rpm", 0, "requests per minute allowed (0: no limit)")
	fs.IntVar(&l.tpm, "llm-tpm", 0, "tokens per minute allowed (0: no limit)")
	fs.BoolVar(&l.noFallback, "llm-no-fallback", false, "when the endpoint keeps failing, retry the report later instead of publishing the extractive digest flagged for review")
}

// llmKey reads the API key from the environment or its file.
func llmKey() (string, error) {
	if p := os.Getenv(envLLMKeyFile); p != "" {
		b, err := os.ReadFile(p)
		if err != nil {
			return "", fmt.Errorf("reading %s: %w", envLLMKeyFile, err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	return os.Getenv(envLLMKey), nil
}

// newSummarizer builds the summariser the flags choose: the LLM backend
// when --llm-base-url is set (with the LLM_CACHE bucket when b is not nil),
// else the extractive one.
func (o *options) newSummarizer(ctx context.Context, b *bus.Bus, reg prometheus.Registerer) (summarize.Summarizer, error) {
	ext := extractive.New(extractive.Config{})
	l := o.llm
	if l.baseURL == "" {
		return ext, nil
	}
	if l.model == "" {
		return nil, errors.New("--llm-base-url is set but --llm-model is not: name the model (e.g. --llm-model gpt-4o-mini)")
	}
	key, err := llmKey()
	if err != nil {
		return nil, err
	}
	deps := llm.Deps{Fallback: ext, Log: o.log, Registry: reg}
	if b != nil {
		c, err := b.LLMCache(ctx)
		if err != nil {
			return nil, err
		}
		deps.Cache = c
	}
	s, err := llm.New(llm.Config{
		BaseURL: l.baseURL, Model: l.model, APIKey: key, Temperature: l.temperature,
		Azure: l.azure, AzureAPIVersion: l.azureAPIVersion, ResponseFormat: l.responseFormat,
		PromptFile: l.promptFile, Language: l.language,
		ContextTokens: l.contextTokens, MaxOutputTokens: l.maxOutputTokens,
		CallTimeout: l.callTimeout, MaxAttempts: l.maxAttempts, Concurrency: l.concurrency,
		RequestsPerMinute: l.rpm, TokensPerMinute: l.tpm, NoFallback: l.noFallback,
	}, deps)
	if err != nil {
		return nil, err
	}
	o.log.Info("summarising with an LLM", "base_url", l.baseURL, "model", l.model, "prompt_version", s.PromptVersion(), "key_set", key != "")
	return s, nil
}
