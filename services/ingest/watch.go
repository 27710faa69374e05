package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bantin/bantin/internal/model"
)

// watchScan is how often a watched folder is scanned. A file is ingested
// once two scans in a row saw the same size and modification time, so
// files still being copied in are left alone.
const watchScan = time.Second

// Watch ingests the files dropped into dir until ctx is done. Each
// ingested file is moved to dir/done; a file that cannot be read is moved
// to dir/failed with the reason written next to it as NAME.reason.txt.
// Hidden files and partial downloads (*.part, *.tmp, *.crdownload) are
// ignored; a file whose report could not be published stays where it is
// and is tried again.
func (s *Service) Watch(ctx context.Context, dir string) error {
	for _, sub := range []string{"done", "failed"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o750); err != nil {
			return fmt.Errorf("watching %s: %w", dir, err)
		}
	}
	log := s.log.With("watch", dir)
	log.Info("watching folder for reports")
	type stamp struct {
		size int64
		mod  time.Time
	}
	last := map[string]stamp{}
	tick := time.NewTicker(watchScan)
	defer tick.Stop()
	for {
		entries, err := os.ReadDir(dir)
		if err != nil {
			log.Warn("reading watched folder", "err", err)
		}
		now := map[string]stamp{}
		for _, e := range entries {
			name := e.Name()
			if !e.Type().IsRegular() || ignoredName(name) {
				continue
			}
			fi, err := e.Info()
			if err != nil {
				continue
			}
			st := stamp{size: fi.Size(), mod: fi.ModTime()}
			now[name] = st
			if prev, ok := last[name]; !ok || prev != st {
				continue // new or still growing: look again next scan
			}
			if ctx.Err() != nil {
				break
			}
			s.watchFile(ctx, log, dir, name)
			delete(now, name)
		}
		last = now
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// ignoredName reports whether a file in the watched folder is skipped.
func ignoredName(name string) bool {
	if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "~$") {
		return true
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".part", ".tmp", ".crdownload", ".partial", ".swp":
		return true
	}
	return false
}

// watchFile ingests one file and moves it to done/ or failed/.
func (s *Service) watchFile(ctx context.Context, log *slog.Logger, dir, name string) {
	p := filepath.Join(dir, name)
	var res Result
	raw, err := os.ReadFile(p)
	if err != nil {
		res = Result{Name: name, Outcome: OutcomeDead, Reason: "read_failed", Error: err.Error()}
	} else if int64(len(raw)) > s.cfg.MaxFileSize {
		res = Result{Name: name, Outcome: OutcomeDead, Reason: "too_large",
			Error: fmt.Sprintf("%d bytes, the limit is %d (--max-file-size)", len(raw), s.cfg.MaxFileSize)}
	} else {
		res = s.IngestBytes(ctx, raw, model.Source{Site: "upload", AttachmentName: name})
	}
	if res.Outcome == OutcomeDead && res.Reason == "publish_failed" {
		log.Warn("report not published; the file stays and is tried again", "file", name, "err", res.Error)
		return
	}
	sub := "done"
	if res.Outcome == OutcomeDead {
		sub = "failed"
	}
	dst, err := moveAside(p, filepath.Join(dir, sub))
	if err != nil {
		log.Warn("moving ingested file", "file", name, "err", err)
		return
	}
	if sub == "failed" {
		reason := fmt.Sprintf("%s: %s\n", res.Reason, res.Error)
		if err := os.WriteFile(dst+".reason.txt", []byte(reason), 0o640); err != nil {
			log.Warn("writing the reason", "file", dst, "err", err)
		}
	}
	log.Info("ingested watched file", "file", name, "outcome", res.Outcome, "reason", res.Reason, "moved_to", dst)
}

// moveAside moves p into folder, adding "-1", "-2"… before the extension
// when the name is taken. It returns the new path.
func moveAside(p, folder string) (string, error) {
	base := filepath.Base(p)
	ext := filepath.Ext(base)
	stem := strings.TrimSuffix(base, ext)
	for i := 0; i < 1000; i++ {
		dst := filepath.Join(folder, base)
		if i > 0 {
			dst = filepath.Join(folder, fmt.Sprintf("%s-%d%s", stem, i, ext))
		}
		if _, err := os.Lstat(dst); err == nil {
			continue
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		if err := os.Rename(p, dst); err != nil {
			return "", fmt.Errorf("moving %s to %s: %w", p, folder, err)
		}
		return dst, nil
	}
	return "", fmt.Errorf("moving %s: too many files named %s in %s", p, base, folder)
}
