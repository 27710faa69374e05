// Package demo serves bantin's bundled sample meeting — a Vietnamese
// provincial news article with its attached report — on loopback, so that
// `bantin demo` exercises the real crawl path end to end.
package demo

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"time"
)

//go:embed sample/*.html sample/*.pdf
var sample embed.FS

// ArticlePath is the sample article's path on the demo site.
const ArticlePath = "/article.html"

// Files returns the sample site's files.
func Files() fs.FS {
	sub, err := fs.Sub(sample, "sample")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return sub
}

// Site is the sample site served on loopback.
type Site struct {
	// URL is the site's root, e.g. http://127.0.0.1:43121.
	URL string
	srv *http.Server
	ln  net.Listener
}

// ArticleURL is the sample article's URL.
func (s *Site) ArticleURL() string { return s.URL + ArticlePath }

// Start serves the sample site on a free loopback port.
func Start() (*Site, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening for the demo site: %w", err)
	}
	s := &Site{
		URL: "http://" + ln.Addr().String(),
		srv: &http.Server{Handler: http.FileServerFS(Files()), ReadHeaderTimeout: 5 * time.Second},
		ln:  ln,
	}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = err // the demo fails visibly when its crawl fails
		}
	}()
	return s, nil
}

// Close stops the site.
func (s *Site) Close(ctx context.Context) error {
	return s.srv.Shutdown(ctx)
}
