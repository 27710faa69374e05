// Package httpx is the HTTP plumbing every role shares: one ServeMux with
// /healthz, /readyz and /metrics, request metrics, and a server whose
// lifecycle follows a context.
package httpx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// ReadyFunc reports whether a role can serve; a non-nil error makes
// /readyz answer 503 with the error's text.
type ReadyFunc func(ctx context.Context) error

// Server is the HTTP server of one bantin process, shared by its roles.
type Server struct {
	Mux *http.ServeMux

	addr     string
	log      *slog.Logger
	reg      *prometheus.Registry
	requests *prometheus.CounterVec

	mu     sync.Mutex
	checks map[string]ReadyFunc
	ln     net.Listener
	guard  *Guard
}

// New returns a server for addr with health, readiness and metrics
// endpoints. reg is the registry /metrics serves.
func New(addr string, reg *prometheus.Registry, log *slog.Logger) *Server {
	s := &Server{
		Mux:    http.NewServeMux(),
		addr:   addr,
		log:    log,
		reg:    reg,
		checks: map[string]ReadyFunc{},
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bantin_http_requests_total",
			Help: "HTTP requests served, by route pattern and status code.",
		}, []string{"route", "code"}),
	}
	reg.MustRegister(s.requests)
	s.Mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	s.Mux.HandleFunc("GET /readyz", s.ready)
	s.Mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	return s
}

// AddReadiness registers a named readiness check.
func (s *Server) AddReadiness(name string, f ReadyFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks[name] = f
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	s.mu.Lock()
	checks := make(map[string]ReadyFunc, len(s.checks))
	for k, v := range s.checks {
		checks[k] = v
	}
	s.mu.Unlock()
	var errs []error
	for name, f := range checks {
		if err := f(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := errors.Join(errs...); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, err)
		return
	}
	fmt.Fprintln(w, "ready")
}

// Listen binds the address now, so callers learn the real port (":0") and
// bind errors before anything else starts.
func (s *Server) Listen() (string, error) {
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return "", fmt.Errorf("listening on %s: %w (pass another --http address)", s.addr, err)
	}
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	return ln.Addr().String(), nil
}

// Run serves until ctx is done, then shuts down gracefully within 10s.
func (s *Server) Run(ctx context.Context) error {
	s.mu.Lock()
	ln, guard := s.ln, Guard{}
	if s.guard != nil {
		guard = *s.guard
	}
	s.mu.Unlock()
	if ln == nil {
		if _, err := s.Listen(); err != nil {
			return err
		}
		ln = s.ln
	}
	srv := &http.Server{
		Handler:           s.instrument(guard.Wrap(s.Mux)),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("http server listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("serving http: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutting down http server: %w", err)
	}
	return nil
}

func (s *Server) instrument(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(sw, r)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		s.requests.WithLabelValues(route, strconv.Itoa(sw.code)).Inc()
	})
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// WriteError answers with a plain-text error and logs server errors.
func WriteError(w http.ResponseWriter, log *slog.Logger, code int, err error) {
	if code >= 500 {
		log.Error("request failed", "code", code, "err", err)
	}
	writeErrorBody(w, code, err)
}

func writeErrorBody(w http.ResponseWriter, code int, err error) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	fmt.Fprintf(w, "{\"error\":%q}\n", err.Error())
}
