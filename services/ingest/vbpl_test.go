package ingest

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/bantin/bantin/internal/testenv"
)

// TestIngestVBPLPagesThroughHTTP serves the saved vbpl.vn pages of the
// corpus and checks that ingest fetches what their
// javascript:downloadfile('NAME','/PATH') links hide, in page order: the
// .doc and the .P1/.P2/.P3 parts of one law, and files whose names have
// spaces.
func TestIngestVBPLPagesThroughHTTP(t *testing.T) {
	dir := testenv.Corpus(t)
	pdf := demoPDF(t, "bao-cao-kt-xh-2023.pdf")
	tests := []struct {
		name, file, page string
		wantPaths        []string // requests after the page, in order
		wantNames        []string
	}{
		{
			name: "Bộ luật Tố tụng hình sự, parts P1-P3",
			file: "vbpl-thuoctinh-luat-101-2015-QH13.html",
			page: "/TW/Pages/vbpq-thuoctinh.aspx",
			wantPaths: []string{
				"/TW/Lists/vbpq/Attachments/96172/101.2015.QH13.doc",
				"/FileData/TW/Lists/vbpq/Attachments/96172/VanBanGoc_101.2015.QH13.P1.pdf",
				"/FileData/TW/Lists/vbpq/Attachments/96172/VanBanGoc_101.2015.QH13.P2.pdf",
				"/FileData/TW/Lists/vbpq/Attachments/96172/VanBanGoc_101.2015.QH13.P3.pdf",
			},
			wantNames: []string{"101.2015.QH13.doc", "101.2015.QH13.P1.pdf", "101.2015.QH13.P2.pdf", "101.2015.QH13.P3.pdf"},
		},
		{
			name: "Hiến pháp 2013, names with spaces",
			file: "vbpl-toanvan-hien-phap-2013.html",
			page: "/TW/Pages/vbpq-toanvan.aspx",
			wantPaths: []string{
				"/FileData/TW/Lists/vbpq/Attachments/32801/VanBanGoc_Hien phap 2013.pdf",
				"/TW/Lists/vbpq/Attachments/32801/Hien phap nam 2013.doc",
			},
			wantNames: []string{"Hien phap 2013.pdf", "Hien phap nam 2013.doc"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := os.ReadFile(filepath.Join(dir, "html", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			var got []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				got = append(got, r.URL.Path)
				mu.Unlock()
				switch {
				case r.URL.Path == tt.page:
					w.Header().Set("Content-Type", "text/html; charset=utf-8")
					w.Write(page)
				case strings.HasSuffix(r.URL.Path, ".pdf"):
					// Each part its own bytes, so each is its own report.
					w.Write(append(bytes.Clone(pdf), "\n%"+r.URL.Path+"\n"...))
				default:
					http.NotFound(w, r)
				}
			}))
			defer srv.Close()
			s, _ := testService(t, Config{AllowPrivateNetworks: true})
			res, err := s.IngestURL(context.Background(), srv.URL+tt.page+"?ItemID=1")
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == 0 || got[0] != tt.page || !slices.Equal(got[1:], tt.wantPaths) {
				t.Errorf("requests:\n  %s\nwant the page, then:\n  %s", strings.Join(got, "\n  "), strings.Join(tt.wantPaths, "\n  "))
			}
			var names []string
			for _, r := range res.Reports {
				names = append(names, r.Name)
				if strings.HasSuffix(r.Name, ".pdf") && r.Outcome != OutcomeQueued {
					t.Errorf("%s: %s (%s), want queued", r.Name, r.Outcome, r.Error)
				}
				if strings.HasSuffix(r.Name, ".doc") && (r.Outcome != OutcomeDead || r.Reason != "fetch_failed" || !strings.Contains(r.Error, "404")) {
					t.Errorf("%s: %s %q, want a dead letter saying the server answered 404", r.Name, r.Outcome, r.Error)
				}
			}
			if !slices.Equal(names, tt.wantNames) {
				t.Errorf("reports %v, want %v", names, tt.wantNames)
			}
		})
	}
}
