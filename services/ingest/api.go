package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"

	"github.com/bantin/bantin/internal/httpx"
	"github.com/bantin/bantin/internal/model"
)

// Register adds the ingest API to mux:
//
//	POST /api/articles  {"url": "https://…"}  crawl one article page now
//	POST /api/reports   multipart field "file": upload one report
func (s *Service) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/articles", s.postArticle)
	mux.HandleFunc("POST /api/reports", s.postReport)
}

func (s *Service) postArticle(w http.ResponseWriter, r *http.Request) {
	var req struct {
		URL string `json:"url"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil || req.URL == "" {
		httpx.WriteError(w, s.log, http.StatusBadRequest, errors.New(`send JSON like {"url": "https://…/bai-viet.html"}`))
		return
	}
	res, err := s.IngestURL(r.Context(), req.URL)
	if errors.Is(err, ErrForbiddenAddress) {
		// Nothing was sent to the address: the guard refuses before connecting.
		httpx.WriteError(w, s.log, http.StatusForbidden, err)
		return
	}
	if err != nil {
		httpx.WriteError(w, s.log, http.StatusBadGateway, err)
		return
	}
	writeJSON(w, http.StatusAccepted, res)
}

func (s *Service) postReport(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxFileSize+1<<20)
	f, hdr, err := r.FormFile("file")
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			httpx.WriteError(w, s.log, http.StatusRequestEntityTooLarge, fmt.Errorf("upload larger than %d bytes (--max-file-size)", s.cfg.MaxFileSize))
			return
		}
		httpx.WriteError(w, s.log, http.StatusBadRequest, fmt.Errorf(`send the report as multipart/form-data in the field "file": %w`, err))
		return
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, s.cfg.MaxFileSize+1))
	if err != nil {
		httpx.WriteError(w, s.log, http.StatusBadRequest, fmt.Errorf("reading upload: %w", err))
		return
	}
	if int64(len(raw)) > s.cfg.MaxFileSize {
		httpx.WriteError(w, s.log, http.StatusRequestEntityTooLarge, fmt.Errorf("upload larger than %d bytes (--max-file-size)", s.cfg.MaxFileSize))
		return
	}
	res := s.IngestBytes(r.Context(), raw, model.Source{Site: "upload", AttachmentName: filepath.Base(hdr.Filename)})
	code := http.StatusAccepted
	if res.Outcome == OutcomeDead {
		code = http.StatusUnprocessableEntity
	}
	writeJSON(w, code, res)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
