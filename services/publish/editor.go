package publish

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/bantin/bantin/internal/model"
)

// BucketReview is the key-value bucket of editors' decisions (key: digest
// id, value: ReviewRecord JSON) that every publish replica watches.
const BucketReview = "PUBLISH_REVIEW"

const (
	sessionCookie   = "bantin_editor"
	sessionLifetime = 12 * time.Hour
)

// editorForm is what a digest page shows a signed-in editor.
type editorForm struct {
	Action, CSRF, StatusLabel string
	Title, Summary, Bullets   string
	Version                   int
	Approved                  bool
}

// reviewBucket opens (creating if needed) the review bucket.
func (s *Service) reviewBucket(ctx context.Context) (jetstream.KeyValue, error) {
	s.reviewOnce.Do(func() {
		s.reviewKV, s.reviewErr = s.bus.JS.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      BucketReview,
			Description: "bantin editors' decisions on digests (review mode)",
			Storage:     jetstream.FileStorage,
			Replicas:    s.bus.Topology.Replicas,
			History:     5,
		})
		if s.reviewErr != nil {
			s.reviewErr = fmt.Errorf("creating key-value bucket %s: %w", BucketReview, s.reviewErr)
		}
	})
	return s.reviewKV, s.reviewErr
}

// watchReviews applies every decision in the bucket, now and as editors
// make them on any replica.
func (s *Service) watchReviews(ctx context.Context) error {
	kv, err := s.reviewBucket(ctx)
	if err != nil {
		return err
	}
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("watching %s: %w", BucketReview, err)
	}
	defer w.Stop() //nolint:errcheck // stopping a watcher on shutdown
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-w.Updates():
			if !ok {
				return nil
			}
			if e == nil {
				s.reviewCaughtUp.Store(true)
				continue
			}
			if e.Operation() != jetstream.KeyValuePut {
				s.index.SetReview(e.Key(), ReviewRecord{})
				continue
			}
			var rec ReviewRecord
			if err := json.Unmarshal(e.Value(), &rec); err != nil {
				s.log.Warn("skipping a review decision that does not decode", "key", e.Key(), "err", err)
				continue
			}
			s.index.SetReview(e.Key(), rec)
		}
	}
}

// registerReview mounts the editors' pages.
func (s *Service) registerReview(mux *http.ServeMux) {
	mux.HandleFunc("GET /review", s.handleReviewList)
	mux.HandleFunc("POST /review/login", s.handleLogin)
	mux.HandleFunc("POST /review/logout", s.editorOnly(s.handleLogout))
	mux.HandleFunc("GET /review/{id}", s.handleReviewDigest)
	mux.HandleFunc("POST /review/{id}/{action}", s.editorOnly(s.handleDecision))
}

// sign is the HMAC-SHA256 of msg under the editor token, in hex. Sessions
// and CSRF tokens are signed rather than stored, so every replica accepts
// what any replica issued.
func (s *Service) sign(msg string) string {
	m := hmac.New(sha256.New, []byte(s.cfg.EditorToken))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

// session returns the editor's session cookie value when r carries a valid
// one.
func (s *Service) session(r *http.Request) (string, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return "", false
	}
	exp, mac, ok := strings.Cut(c.Value, ".")
	if !ok {
		return "", false
	}
	n, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || time.Now().Unix() > n {
		return "", false
	}
	if !hmac.Equal([]byte(mac), []byte(s.sign("session|"+exp))) {
		return "", false
	}
	return c.Value, true
}

// csrfToken is the form token of a session.
func (s *Service) csrfToken(session string) string { return s.sign("csrf|" + session)[:32] }

// loginCSRF is the form token of the sign-in form, tied to nothing but the
// hour, so a cross-site page cannot sign a reader in as an editor without
// having read the form.
func (s *Service) loginCSRF(t time.Time) string {
	return s.sign("login|" + strconv.FormatInt(t.Unix()/3600, 10))[:32]
}

// sameOrigin rejects cross-site form posts: browsers send Sec-Fetch-Site or
// Origin with every POST.
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin" || site == "none"
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		return err == nil && u.Host == r.Host
	}
	return true
}

// editorOnly wraps a form handler: signed in, same origin, valid CSRF token.
func (s *Service) editorOnly(h func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		sess, ok := s.session(r)
		if !ok {
			http.Error(w, "sign in at /review first", http.StatusUnauthorized)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		if !sameOrigin(r) || !hmac.Equal([]byte(r.PostFormValue("csrf")), []byte(s.csrfToken(sess))) {
			http.Error(w, "form expired or sent from another site: reload the page and try again", http.StatusForbidden)
			return
		}
		h(w, r, sess)
	}
}

// basePath is the path of BaseURL: redirects stay on the host the editor
// reached, whatever name a proxy gives it.
func (s *Service) basePath() string {
	u, err := url.Parse(s.index.baseURL)
	if err != nil {
		return ""
	}
	return strings.TrimRight(u.Path, "/")
}

func (s *Service) baseData() pageData {
	d := s.index.newPageData()
	d.LoginURL = s.index.baseURL + "/review/login"
	d.LogoutURL = s.index.baseURL + "/review/logout"
	return d
}

func (s *Service) serveLogin(w http.ResponseWriter, r *http.Request, status int, msg string) {
	data := s.baseData()
	data.CSRF = s.loginCSRF(time.Now())
	data.Intro = msg
	w.Header().Set("Cache-Control", "no-store")
	s.index.servePage(w, r, s.index.tmpl.login, data, time.Time{}, status)
}

func (s *Service) handleLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<16)
	now := time.Now()
	csrf := []byte(r.PostFormValue("csrf"))
	if !sameOrigin(r) || (!hmac.Equal(csrf, []byte(s.loginCSRF(now))) && !hmac.Equal(csrf, []byte(s.loginCSRF(now.Add(-time.Hour))))) {
		s.serveLogin(w, r, http.StatusForbidden, "Biểu mẫu đã hết hạn, hãy thử lại.")
		return
	}
	if subtle.ConstantTimeCompare([]byte(r.PostFormValue("token")), []byte(s.cfg.EditorToken)) != 1 {
		s.log.Warn("editor sign-in failed", "remote", r.RemoteAddr)
		s.serveLogin(w, r, http.StatusUnauthorized, "Mã biên tập không đúng.")
		return
	}
	exp := strconv.FormatInt(now.Add(sessionLifetime).Unix(), 10)
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: exp + "." + s.sign("session|"+exp), Path: "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: strings.HasPrefix(s.cfg.BaseURL, "https://"),
		MaxAge: int(sessionLifetime / time.Second),
	})
	http.Redirect(w, r, s.basePath()+"/review", http.StatusSeeOther)
}

func (s *Service) handleLogout(w http.ResponseWriter, r *http.Request, _ string) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, s.basePath()+"/", http.StatusSeeOther)
}

// handleReviewList lists the drafts.
func (s *Service) handleReviewList(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.session(r)
	if !ok {
		s.serveLogin(w, r, http.StatusOK, "")
		return
	}
	data := s.baseData()
	data.CSRF = s.csrfToken(sess)
	for _, d := range s.index.Drafts(200) {
		v, err := s.index.newDigestView(d)
		if err != nil {
			s.index.fail(w, err)
			return
		}
		v.PageURL = s.index.baseURL + "/review/" + url.PathEscape(d.ID)
		data.Entries = append(data.Entries, v)
	}
	w.Header().Set("Cache-Control", "no-store")
	s.index.servePage(w, r, s.index.tmpl.review, data, time.Time{}, http.StatusOK)
}

// handleReviewDigest shows a digest, draft or not, with the editor's forms.
func (s *Service) handleReviewDigest(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.session(r)
	if !ok {
		s.serveLogin(w, r, http.StatusOK, "")
		return
	}
	d, ok := s.index.Get(r.PathValue("id"))
	if !ok {
		s.index.servePage(w, r, s.index.tmpl.notFound, s.baseData(), time.Time{}, http.StatusNotFound)
		return
	}
	v, err := s.index.newDigestView(d)
	if err != nil {
		s.index.fail(w, err)
		return
	}
	data := s.baseData()
	data.CSRF = s.csrfToken(sess)
	data.Entry = &v
	rec, _ := s.index.Review(d.ID)
	form := &editorForm{
		Action: s.index.baseURL + "/review/" + url.PathEscape(d.ID), CSRF: data.CSRF,
		Title: d.Title, Summary: d.Summary, Version: d.Version,
		Approved: rec.Status == ReviewApproved, StatusLabel: "chờ duyệt",
	}
	switch rec.Status {
	case ReviewApproved:
		form.StatusLabel = "đã đăng"
	case ReviewRejected:
		form.StatusLabel = "không đăng"
	}
	var bullets []string
	for _, b := range d.Bullets {
		if b.Page > 0 {
			bullets = append(bullets, fmt.Sprintf("%s (tr. %d)", b.Text, b.Page))
		} else {
			bullets = append(bullets, b.Text)
		}
	}
	form.Bullets = strings.Join(bullets, "\n")
	data.Editor = form
	w.Header().Set("Cache-Control", "no-store")
	s.index.servePage(w, r, s.index.tmpl.digest, data, time.Time{}, http.StatusOK)
}

// pageCitation is a bullet's trailing page citation as the edit form writes it.
var pageCitation = regexp.MustCompile(`\s*\(tr\.\s*(\d+)\)\s*$`)

// handleDecision applies approve, reject or edit.
func (s *Service) handleDecision(w http.ResponseWriter, r *http.Request, _ string) {
	ctx := r.Context()
	id := r.PathValue("id")
	d, ok := s.index.Get(id)
	if !ok {
		http.Error(w, "no digest "+id, http.StatusNotFound)
		return
	}
	if v, err := strconv.Atoi(r.PostFormValue("version")); err != nil || v != d.Version {
		http.Error(w, "the digest changed since the page was loaded: reload it and decide again", http.StatusConflict)
		return
	}
	prev, _ := s.index.Review(id)
	rec := ReviewRecord{Version: d.Version, FirstVersion: prev.FirstVersion, DecidedAt: time.Now().UTC().Truncate(time.Second)}
	switch r.PathValue("action") {
	case "approve":
		rec.Status = ReviewApproved
	case "reject":
		rec.Status = ReviewRejected
	case "edit":
		edited, err := editDigest(d, r.PostFormValue("title"), r.PostFormValue("summary"), r.PostFormValue("bullets"), rec.DecidedAt)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err := s.bus.PublishDigest(ctx, &edited); err != nil {
			s.index.fail(w, fmt.Errorf("publishing the edited digest: %w", err))
			return
		}
		s.index.Put(edited)
		rec.Status, rec.Version = ReviewApproved, edited.Version
	default:
		http.NotFound(w, r)
		return
	}
	if rec.Status == ReviewApproved && rec.FirstVersion == 0 {
		rec.FirstVersion = rec.Version
	}
	if err := s.putReview(ctx, id, rec); err != nil {
		s.index.fail(w, err)
		return
	}
	s.log.Info("editor decision", "digest", id, "status", rec.Status, "version", rec.Version)
	http.Redirect(w, r, s.basePath()+"/review", http.StatusSeeOther)
}

func (s *Service) putReview(ctx context.Context, id string, rec ReviewRecord) error {
	kv, err := s.reviewBucket(ctx)
	if err != nil {
		return err
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encoding review of %s: %w", id, err)
	}
	if _, err := kv.Put(ctx, id, b); err != nil {
		return fmt.Errorf("recording review of %s: %w", id, err)
	}
	s.index.SetReview(id, rec)
	return nil
}

// editDigest returns d revised by an editor: the next version, updated at.
func editDigest(d model.Digest, title, summary, bullets string, at time.Time) (model.Digest, error) {
	title, summary = strings.TrimSpace(title), strings.TrimSpace(summary)
	if title == "" || summary == "" {
		return d, errors.New("a digest needs a title and a summary")
	}
	d.Title, d.Summary = title, summary
	d.Bullets = nil
	for line := range strings.SplitSeq(bullets, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		b := model.Bullet{Text: line}
		if m := pageCitation.FindStringSubmatchIndex(line); m != nil {
			b.Page, _ = strconv.Atoi(line[m[2]:m[3]])
			b.Text = line[:m[0]]
		}
		d.Bullets = append(d.Bullets, b)
	}
	d.Version++
	d.UpdatedAt = at
	d.NeedsReview, d.ReviewReason = false, ""
	return d, nil
}
