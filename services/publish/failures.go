package publish

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/bantin/bantin/internal/model"
)

// MaxFailures is how many dead letters the Index keeps for /failures.
const MaxFailures = 500

// PutFailure records a dead letter read from the DEADLETTER stream. Only
// the newest MaxFailures are kept. A dead letter with the same stream
// Sequence as one already kept is ignored, so replaying is harmless.
func (x *Index) PutFailure(dl model.DeadLetter) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	if dl.Sequence != 0 && slices.ContainsFunc(x.failures, func(f model.DeadLetter) bool { return f.Sequence == dl.Sequence }) {
		return false
	}
	x.failures = append(x.failures, dl)
	if len(x.failures) > MaxFailures {
		x.failures = slices.Delete(x.failures, 0, len(x.failures)-MaxFailures)
	}
	x.gen++
	return true
}

// failureView is a dead letter as pages and feeds show it.
type failureView struct {
	ID, Name, Stage, Reason, Error, URL string
	Attempts                            int
	Time                                time.Time
}

// failureViews returns the kept failures, newest first.
func (x *Index) failureViews() []failureView {
	x.mu.RLock()
	defer x.mu.RUnlock()
	out := make([]failureView, 0, len(x.failures))
	for i := len(x.failures) - 1; i >= 0; i-- {
		dl := x.failures[i]
		f := failureView{
			Name:     firstNonEmpty(dl.Name, dl.Source.AttachmentName, dl.Source.ArticleTitle, dl.ReportID, "(không tên)"),
			Stage:    dl.Stage,
			Reason:   dl.Reason,
			Error:    dl.Error,
			URL:      firstNonEmpty(webURL(dl.Source.AttachmentURL), webURL(dl.Source.ArticleURL)),
			Attempts: dl.Attempts,
			Time:     dl.Time.UTC(),
		}
		id := strconv.FormatUint(dl.Sequence, 10)
		if dl.Sequence == 0 {
			sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%s\x00%s", dl.Stage, dl.ReportID, dl.Name, dl.Time.UTC().Format(time.RFC3339Nano)))
			id = hex.EncodeToString(sum[:8])
		}
		f.ID = "urn:bantin:failure:" + id
		out = append(out, f)
	}
	return out
}

// buildFailuresView adapts the failures for the Atom feed.
func (x *Index) buildFailuresView() (*feedView, error) {
	gen := x.generation()
	t := topic{Kind: KindFailures}
	v := &feedView{gen: gen, topic: t, limit: x.maxEntries, title: x.title + " · " + x.topicLabel(t)}
	fs := x.failureViews()
	if len(fs) > x.maxEntries {
		fs = fs[:x.maxEntries]
	}
	for i := range fs {
		f := &fs[i]
		e := digestView{
			URN:       f.ID,
			Title:     f.Name + ": " + f.Reason,
			PageURL:   x.baseURL + "/failures",
			Link:      x.baseURL + "/failures",
			Author:    "bantin " + f.Stage,
			Published: f.Time,
			Updated:   f.Time,
		}
		if f.Stage != "" {
			e.Categories = []string{f.Stage}
		}
		var b bytes.Buffer
		if err := x.tmpl.failure.Execute(&b, f); err != nil {
			return nil, fmt.Errorf("rendering failure %s: %w", f.ID, err)
		}
		e.ContentHTML = b.String()
		v.entries = append(v.entries, e)
		if e.Updated.After(v.updated) {
			v.updated = e.Updated
		}
	}
	return v, nil
}

// handleFailures serves /failures.
func (x *Index) handleFailures(w http.ResponseWriter, r *http.Request) {
	data := x.topicPageData(topic{Kind: KindFailures}, "")
	data.Feeds = slices.Delete(data.Feeds, 1, 3) // failures come in Atom only
	data.Feeds[0].Title = x.title + " · lỗi (Atom)"
	data.FeedsLabel = "các lỗi"
	data.Failures = x.failureViews()
	var lastMod time.Time
	if len(data.Failures) > 0 {
		lastMod = data.Failures[0].Time
	}
	x.servePage(w, r, x.tmpl.failures, data, lastMod, http.StatusOK)
}
