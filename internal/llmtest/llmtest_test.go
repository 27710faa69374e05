package llmtest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func post(t *testing.T, url, body string) (*http.Response, map[string]any) {
	t.Helper()
	resp, err := http.Post(url+"/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp, m
}

func TestServer(t *testing.T) {
	tests := []struct {
		name    string
		reply   Reply
		opts    Options
		body    string
		status  int
		code    string // error.code, "" for a completion
		header  string // a header that must be set
		content string
	}{
		{name: "completion", reply: Text(`{"a":1}`), body: `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, status: 200, header: "x-ratelimit-remaining-requests", content: `{"a":1}`},
		{name: "429", reply: RateLimited(2 * time.Second), body: `{"model":"m","messages":[]}`, status: 429, code: "rate_limit_exceeded", header: "Retry-After"},
		{name: "500", reply: ServerError(), body: `{"model":"m","messages":[]}`, status: 500},
		{name: "json_object needs the word json", reply: Text("{}"), body: `{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_object"}}`, status: 400},
		{name: "json_schema rejected", reply: Text("{}"), opts: Options{NoJSONSchema: true}, body: `{"model":"m","messages":[],"response_format":{"type":"json_schema","json_schema":{"name":"d","schema":{}}}}`, status: 400},
		{name: "context too long", reply: Text("{}"), opts: Options{ContextTokens: 10}, body: `{"model":"m","messages":[{"role":"user","content":"` + strings.Repeat("chữ ", 20) + `"}]}`, status: 400, code: "context_length_exceeded"},
		{name: "bad key", reply: Text("{}"), opts: Options{APIKey: "k"}, body: `{"model":"m","messages":[]}`, status: 401, code: "invalid_api_key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Sequence(tt.reply), tt.opts)
			defer s.Close()
			resp, m := post(t, s.URL(), tt.body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d (%v)", resp.StatusCode, tt.status, m)
			}
			if tt.header != "" && resp.Header.Get(tt.header) == "" {
				t.Errorf("header %s missing", tt.header)
			}
			if tt.status != 200 {
				e, ok := m["error"].(map[string]any)
				if !ok || e["message"] == "" || e["type"] == nil {
					t.Fatalf("error body %v, want {error: {message, type, code}}", m)
				}
				if tt.code != "" && e["code"] != tt.code {
					t.Errorf("code %v, want %s", e["code"], tt.code)
				}
			} else {
				msg := m["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)
				if msg["content"] != tt.content || m["usage"] == nil {
					t.Errorf("completion %v", m)
				}
			}
			if s.Count() != 1 {
				t.Errorf("count %d", s.Count())
			}
		})
	}
}
