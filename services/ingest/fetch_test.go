package ingest

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestFetchCapsSizeAndTime(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat("x", 2048))) // no Content-Length: chunked
		w.(http.Flusher).Flush()
		w.Write([]byte(strings.Repeat("x", 2048)))
	})
	mux.HandleFunc("/declared", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "999999")
		w.WriteHeader(http.StatusOK)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/gone", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	mux.HandleFunc("/B%C3%A1o%20c%C3%A1o.pdf", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("%PDF-1.4")) })
	mux.HandleFunc("/download", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Disposition", `attachment; filename="ke-hoach-2024.pdf"`)
		w.Write([]byte("%PDF-1.4"))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	f := newFetcher(Config{FetchTimeout: 300 * time.Millisecond, MaxFileSize: 3000, AllowPrivateNetworks: true, HostRate: 1000})
	ctx := context.Background()

	tests := []struct {
		name    string
		path    string
		wantErr error
		errText string
		file    string
	}{
		{name: "body over the cap", path: "/big", wantErr: ErrTooLarge},
		{name: "declared length over the cap", path: "/declared", wantErr: ErrTooLarge},
		{name: "slow server times out", path: "/slow", errText: "Timeout"},
		{name: "404 is an error", path: "/gone", errText: "404"},
		{name: "escaped Vietnamese name", path: "/B%C3%A1o%20c%C3%A1o.pdf", file: "Báo cáo.pdf"},
		{name: "Content-Disposition name", path: "/download", file: "ke-hoach-2024.pdf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.get(ctx, srv.URL+tt.path)
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
			case tt.errText != "":
				if err == nil || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.errText)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if got.Name != tt.file {
					t.Errorf("name = %q, want %q", got.Name, tt.file)
				}
			}
		})
	}
}

func TestFetchRejectsNonHTTP(t *testing.T) {
	f := newFetcher(Config{FetchTimeout: time.Second, MaxFileSize: 1000})
	for _, u := range []string{"file:///etc/passwd", "ftp://example.com/a.pdf", "/relative.pdf", "javascript:alert(1)"} {
		if _, err := f.get(context.Background(), u); err == nil {
			t.Errorf("%s: fetched, want an error", u)
		}
	}
}

func TestFileNameFallsBackToHost(t *testing.T) {
	u, _ := url.Parse("https://example.gov.vn/")
	if got := fileName("", u); got != "example.gov.vn" {
		t.Errorf("fileName = %q", got)
	}
}
