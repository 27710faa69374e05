package httpx

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// startServer runs a Server with g and a few routes standing in for the
// roles' handlers, and returns its base URL.
func startServer(t *testing.T, g *Guard) string {
	t.Helper()
	s := New("127.0.0.1:0", prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	ok := func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }
	s.Mux.HandleFunc("POST /api/reports", ok)
	s.Mux.HandleFunc("POST /review/login", ok)
	s.Mux.HandleFunc("GET /feeds/all.json", ok)
	if g != nil {
		s.SetGuard(*g)
	}
	addr, err := s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return "http://" + addr
}

func do(t *testing.T, method, url, auth string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestGuardRateLimitsAPIAndSignIn(t *testing.T) {
	tests := []struct {
		name, method, path string
	}{
		{name: "ingest API", method: http.MethodPost, path: "/api/reports"},
		{name: "editor sign-in", method: http.MethodPost, path: "/review/login"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := startServer(t, &Guard{Rate: 0.2, Burst: 3})
			for i := range 3 {
				if resp, body := do(t, tt.method, base+tt.path, ""); resp.StatusCode != http.StatusOK {
					t.Fatalf("request %d of the burst: %s %s", i+1, resp.Status, body)
				}
			}
			resp, body := do(t, tt.method, base+tt.path, "")
			if resp.StatusCode != http.StatusTooManyRequests {
				t.Fatalf("request after the burst: %s, want 429", resp.Status)
			}
			secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
			if err != nil || secs < 1 || secs > 5 {
				t.Errorf("Retry-After = %q, want 1..5 seconds at 0.2 requests/s", resp.Header.Get("Retry-After"))
			}
			if !strings.Contains(body, "Retry-After") {
				t.Errorf("body %q does not say what to do", body)
			}
		})
	}
	base := startServer(t, &Guard{Rate: 0.2, Burst: 3})
	for range 3 {
		do(t, http.MethodPost, base+"/api/reports", "")
	}
	t.Run("reads are not limited", func(t *testing.T) {
		for range 10 {
			if resp, _ := do(t, http.MethodGet, base+"/feeds/all.json", ""); resp.StatusCode != http.StatusOK {
				t.Fatalf("GET feed: %s", resp.Status)
			}
		}
	})
	t.Run("the bucket refills", func(t *testing.T) {
		time.Sleep(5100 * time.Millisecond) // one token at 0.2/s
		if resp, body := do(t, http.MethodPost, base+"/api/reports", ""); resp.StatusCode != http.StatusOK {
			t.Fatalf("after the wait: %s %s", resp.Status, body)
		}
	})
}

func TestGuardDefaultsLimit(t *testing.T) {
	base := startServer(t, nil)
	var limited int
	for range DefaultBurst + 5 {
		if resp, _ := do(t, http.MethodPost, base+"/api/reports", ""); resp.StatusCode == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited == 0 {
		t.Errorf("%d API calls at once without a 429: the default limit is off", DefaultBurst+5)
	}
}

func TestGuardAPIToken(t *testing.T) {
	const token = "api-token-5d8c1b"
	base := startServer(t, &Guard{Rate: -1, APIToken: token})
	tests := []struct {
		name, path, auth string
		want             int
	}{
		{name: "no token", path: "/api/reports", want: http.StatusUnauthorized},
		{name: "wrong token", path: "/api/reports", auth: "Bearer nope", want: http.StatusUnauthorized},
		{name: "token without Bearer", path: "/api/reports", auth: token, want: http.StatusUnauthorized},
		{name: "right token", path: "/api/reports", auth: "Bearer " + token, want: http.StatusOK},
		{name: "sign-in has its own secret", path: "/review/login", want: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, http.MethodPost, base+tt.path, tt.auth)
			if resp.StatusCode != tt.want {
				t.Fatalf("%s, want %d: %s", resp.Status, tt.want, body)
			}
			if strings.Contains(body, token) {
				t.Errorf("the answer shows the token: %s", body)
			}
			if tt.want == http.StatusUnauthorized && !strings.Contains(body, "BANTIN_API_TOKEN") {
				t.Errorf("401 body %q does not say which token", body)
			}
		})
	}
}
