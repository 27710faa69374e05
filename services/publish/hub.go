package publish

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// BucketWebSub holds the built-in WebSub hub's verified subscriptions, so
// every replica delivers to them.
const BucketWebSub = "PUBLISH_WEBSUB"

const (
	defaultLease = 10 * 24 * time.Hour
	maxLease     = 30 * 24 * time.Hour
)

// hub is a built-in WebSub (W3C) hub for this server's own feeds: it
// verifies subscribers' intent and delivers each changed feed, signed with
// the subscriber's secret in X-Hub-Signature.
type hub struct {
	s      *Service
	client *http.Client

	mu  sync.Mutex
	kv  jetstream.KeyValue
	ctx context.Context
	wg  sync.WaitGroup
}

// hubSubscription is one verified subscription.
type hubSubscription struct {
	Callback string    `json:"callback"`
	Topic    string    `json:"topic"`
	Secret   string    `json:"secret,omitempty"`
	Expires  time.Time `json:"expires"`
}

func newHub(s *Service, client *http.Client) *hub { return &hub{s: s, client: client} }

// run opens the bucket and keeps verification going until ctx is done.
func (h *hub) run(ctx context.Context) error {
	kv, err := h.s.bus.JS.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      BucketWebSub,
		Description: "bantin built-in WebSub hub subscriptions",
		Storage:     jetstream.FileStorage,
		Replicas:    h.s.bus.Topology.Replicas,
	})
	if err != nil {
		return fmt.Errorf("creating key-value bucket %s: %w", BucketWebSub, err)
	}
	h.mu.Lock()
	h.kv, h.ctx = kv, ctx
	h.mu.Unlock()
	<-ctx.Done()
	h.wg.Wait()
	return nil
}

func (h *hub) bucket() (jetstream.KeyValue, context.Context) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.kv, h.ctx
}

// handleSubscribe takes a subscription request and verifies it afterwards
// (WebSub section 5.1, 5.3).
func (h *hub) handleSubscribe(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<16)
	mode := r.PostFormValue("hub.mode")
	topic, callback := r.PostFormValue("hub.topic"), r.PostFormValue("hub.callback")
	secret := r.PostFormValue("hub.secret")
	kv, ctx := h.bucket()
	switch {
	case kv == nil:
		http.Error(w, "hub starting, retry shortly", http.StatusServiceUnavailable)
		return
	case mode != "subscribe" && mode != "unsubscribe":
		http.Error(w, "hub.mode must be subscribe or unsubscribe", http.StatusBadRequest)
		return
	case webURL(callback) == "":
		http.Error(w, "hub.callback must be an absolute http(s) URL", http.StatusBadRequest)
		return
	case len(secret) > 199:
		http.Error(w, "hub.secret must be shorter than 200 bytes", http.StatusBadRequest)
		return
	}
	if _, _, ok := h.s.index.parseFeedURL(topic); !ok {
		http.Error(w, "hub.topic must be one of this server's feeds", http.StatusBadRequest)
		return
	}
	lease := defaultLease
	if s := r.PostFormValue("hub.lease_seconds"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			lease = min(time.Duration(n)*time.Second, maxLease)
		}
	}
	sub := hubSubscription{Callback: callback, Topic: topic, Secret: secret}
	w.WriteHeader(http.StatusAccepted)
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		if err := h.verify(ctx, kv, mode, sub, lease); err != nil {
			h.s.log.Warn("websub subscription not verified", "callback", callback, "topic", topic, "err", err)
		}
	}()
}

// subKey names a subscription in the bucket.
func subKey(callback, topic string) string {
	sum := sha256.Sum256([]byte(callback + "\x00" + topic))
	return hex.EncodeToString(sum[:16])
}

// verify asks the subscriber to echo a challenge, and records or removes
// the subscription when it does.
func (h *hub) verify(ctx context.Context, kv jetstream.KeyValue, mode string, sub hubSubscription, lease time.Duration) error {
	challenge := rand.Text()
	u, err := url.Parse(sub.Callback)
	if err != nil {
		return fmt.Errorf("parsing callback: %w", err)
	}
	q := u.Query()
	q.Set("hub.mode", mode)
	q.Set("hub.topic", sub.Topic)
	q.Set("hub.challenge", challenge)
	if mode == "subscribe" {
		q.Set("hub.lease_seconds", strconv.Itoa(int(lease/time.Second)))
	}
	u.RawQuery = q.Encode()
	vctx, cancel := context.WithTimeout(ctx, defaultDeliveryTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(vctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("building verification request: %w", err)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return fmt.Errorf("verifying intent: %w", err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 || string(body) != challenge {
		return fmt.Errorf("subscriber did not confirm: %s", resp.Status)
	}
	key := subKey(sub.Callback, sub.Topic)
	if mode == "unsubscribe" {
		if err := kv.Delete(ctx, key); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
			return fmt.Errorf("removing subscription: %w", err)
		}
		return nil
	}
	sub.Expires = time.Now().Add(lease).UTC()
	b, err := json.Marshal(sub)
	if err != nil {
		return fmt.Errorf("encoding subscription: %w", err)
	}
	if _, err := kv.Put(ctx, key, b); err != nil {
		return fmt.Errorf("storing subscription: %w", err)
	}
	h.s.log.Info("websub subscription verified", "callback", sub.Callback, "topic", sub.Topic)
	return nil
}

// distribute delivers each changed feed in topics to its subscribers.
func (h *hub) distribute(ctx context.Context, topics []string) error {
	kv, _ := h.bucket()
	if kv == nil {
		return errors.New("built-in hub not started")
	}
	lister, err := kv.ListKeys(ctx)
	if err != nil {
		return fmt.Errorf("listing websub subscriptions: %w", err)
	}
	var keys []string
	for k := range lister.Keys() {
		keys = append(keys, k)
	}
	var errs []error
	for _, k := range keys {
		e, err := kv.Get(ctx, k)
		if err != nil {
			continue // removed meanwhile
		}
		var sub hubSubscription
		if err := json.Unmarshal(e.Value(), &sub); err != nil || !slices.Contains(topics, sub.Topic) {
			continue
		}
		if time.Now().After(sub.Expires) {
			_ = kv.Delete(ctx, k)
			continue
		}
		if err := h.deliver(ctx, sub); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// deliver posts the current feed of sub.Topic to its callback.
func (h *hub) deliver(ctx context.Context, sub hubSubscription) error {
	x := h.s.index
	t, ext, _ := x.parseFeedURL(sub.Topic)
	rd, err := x.output(t, ext, 0, x.maxEntries).get(x)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.Callback, bytes.NewReader(rd.body))
	if err != nil {
		return fmt.Errorf("building content distribution: %w", err)
	}
	req.Header.Set("Content-Type", rd.contentType)
	req.Header.Add("Link", "<"+x.hub+">; rel=\"hub\"")
	req.Header.Add("Link", "<"+sub.Topic+">; rel=\"self\"")
	if sub.Secret != "" {
		m := hmac.New(sha256.New, []byte(sub.Secret))
		m.Write(rd.body)
		req.Header.Set("X-Hub-Signature", "sha256="+hex.EncodeToString(m.Sum(nil)))
	}
	if err := h.s.push.do(req); err != nil {
		// 410 Gone ends the subscription (WebSub 7).
		if strings.Contains(err.Error(), "410 Gone") {
			if kv, _ := h.bucket(); kv != nil {
				_ = kv.Delete(ctx, subKey(sub.Callback, sub.Topic))
			}
			return nil
		}
		return err
	}
	return nil
}

// parseFeedURL maps one of this server's feed URLs to its topic and format.
func (x *Index) parseFeedURL(u string) (topic, string, bool) {
	rest, ok := strings.CutPrefix(u, x.baseURL+"/feeds/")
	if !ok {
		return topic{}, "", false
	}
	kind, file, nested := strings.Cut(rest, "/")
	if !nested {
		file, kind = kind, ""
	}
	name, ext, ok := cutExt(file)
	if !ok || (ext != "atom" && ext != "rss" && ext != "json") {
		return topic{}, "", false
	}
	if kind == "" {
		if name != KindAll && name != KindDaily {
			return topic{}, "", false
		}
		return topic{Kind: name}, ext, true
	}
	t := topic{Kind: kind, Slug: name}
	if kind != KindSite && kind != KindBody && kind != KindTag {
		return topic{}, "", false
	}
	return t, ext, true
}
