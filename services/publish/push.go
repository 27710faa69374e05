package publish

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/bantin/bantin/internal/bus"
	"github.com/bantin/bantin/internal/model"
)

const (
	// ConsumerPush is the durable consumer on DIGESTS that publish replicas
	// share for webhooks and WebSub, so each push happens once.
	ConsumerPush = "publish-push"
	// BucketDeliveries records every (subscriber, digest version) delivered,
	// so a redelivered message is not pushed twice.
	BucketDeliveries = "PUBLISH_DELIVERIES"

	defaultDeliveryTimeout = 15 * time.Second
	// deliveryAttempts are the quick retries within one handling of a
	// message; after them the message is retried later with backoff.
	deliveryAttempts = 3
	// maxPushDeliveries bounds how often one digest is retried before it is
	// dead-lettered with the failing subscribers.
	maxPushDeliveries = 12

	// pushAckWait is the push consumer's AckWait: how soon a digest whose
	// delivery or ack was lost (a consumer leader lost with a node) is
	// delivered again. Handlers send InProgress every pushKeepAlive while
	// they work, so a slow webhook does not reach it.
	pushAckWait   = 5 * time.Second
	pushKeepAlive = pushAckWait / 4
	// pushConcurrency is how many digests one replica pushes at a time;
	// versions of one digest are pushed in stream order.
	pushConcurrency = 4
	// pushPullWait bounds one pull request, so that a pull lost with a
	// consumer leader is replaced within seconds.
	pushPullWait = 2 * time.Second
	// busTryTimeout bounds one delivery-record read or write or one ack;
	// busTries bounds the tries, 100 ms–2 s apart (about 25 s in all),
	// which outlast a JetStream leader election (4–8 s).
	busTryTimeout = 2 * time.Second
	busTries      = 8
	// earlierPushAckWait is the AckWait earlier releases set on the push
	// consumer; a consumer still at it is brought down to pushAckWait,
	// any other value is an operator's and kept.
	earlierPushAckWait = 2 * time.Minute
)

// SignatureHeader carries "sha256=<hex HMAC-SHA256 of the body>" on webhook
// deliveries when the subscription has a secret.
const SignatureHeader = "X-Bantin-Signature"

// Webhook is one push subscription.
type Webhook struct {
	// Name identifies the subscription in logs, metrics and the delivery
	// record; it must be unique.
	Name string `json:"name"`
	URL  string `json:"url"`
	// Format is "json" (default), "slack" (also Mattermost) or "teams".
	Format string `json:"format,omitempty"`
	// Topics limits deliveries to digests in one of these topics, written
	// kind/slug as in feed URLs: "site/baobacgiang.vn", "body/hdnd",
	// "tag/kinh-te". Sites limits them to these sites. Empty means all.
	Topics []string `json:"topics,omitempty"`
	Sites  []string `json:"sites,omitempty"`
	// SecretEnv or SecretFile name where the HMAC secret is; the default
	// is the environment variable BANTIN_WEBHOOK_SECRET.
	SecretEnv  string `json:"secret_env,omitempty"`
	SecretFile string `json:"secret_file,omitempty"`
	// Secret is the resolved secret; never read from the file itself.
	Secret string `json:"-"`
}

// LoadWebhooks reads a JSON array of Webhook from path and resolves each
// secret with getenv and the file system.
func LoadWebhooks(path string, getenv func(string) string) ([]Webhook, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading webhooks file: %w", err)
	}
	var hooks []Webhook
	if err := json.Unmarshal(data, &hooks); err != nil {
		return nil, fmt.Errorf("decoding webhooks file %s (a JSON array of {name, url, format, topics, sites, secret_env, secret_file}): %w", path, err)
	}
	seen := map[string]bool{}
	for i := range hooks {
		h := &hooks[i]
		if err := h.check(); err != nil {
			return nil, fmt.Errorf("webhook %d in %s: %w", i+1, path, err)
		}
		if seen[h.Name] {
			return nil, fmt.Errorf("webhook %q appears twice in %s: names must be unique", h.Name, path)
		}
		seen[h.Name] = true
		switch {
		case h.SecretFile != "":
			b, err := os.ReadFile(h.SecretFile)
			if err != nil {
				return nil, fmt.Errorf("reading secret of webhook %q: %w", h.Name, err)
			}
			h.Secret = strings.TrimSpace(string(b))
		case h.SecretEnv != "":
			h.Secret = getenv(h.SecretEnv)
			if h.Secret == "" {
				return nil, fmt.Errorf("webhook %q: environment variable %s is empty", h.Name, h.SecretEnv)
			}
		default:
			h.Secret = getenv("BANTIN_WEBHOOK_SECRET")
		}
	}
	return hooks, nil
}

func (h *Webhook) check() error {
	if h.Name == "" {
		return errors.New("name is required")
	}
	u, err := url.Parse(h.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("url %q must be an absolute http(s) URL", h.URL)
	}
	switch h.Format {
	case "", "json", "slack", "mattermost", "teams":
	default:
		return fmt.Errorf("format %q: use json, slack, mattermost or teams", h.Format)
	}
	for _, t := range h.Topics {
		kind, slug, ok := strings.Cut(t, "/")
		if !ok || slug == "" || (kind != KindSite && kind != KindBody && kind != KindTag) {
			return fmt.Errorf("topic %q: write site/<host>, body/<slug> or tag/<slug>", t)
		}
	}
	return nil
}

// wants reports whether the subscription takes d.
func (h *Webhook) wants(d *model.Digest) bool {
	if len(h.Sites) > 0 && !slices.ContainsFunc(h.Sites, func(s string) bool { return siteSlug(s) == siteSlug(d.Source.Site) }) {
		return false
	}
	if len(h.Topics) == 0 {
		return true
	}
	for _, t := range digestTopics(d) {
		if slices.Contains(h.Topics, t.Kind+"/"+t.Slug) {
			return true
		}
	}
	return false
}

// digestTopics are the site, body and tag topics of d.
func digestTopics(d *model.Digest) []topic {
	var out []topic
	if s := siteSlug(d.Source.Site); s != "" {
		out = append(out, topic{KindSite, s})
	}
	for _, b := range detectBodies(d) {
		out = append(out, topic{KindBody, b})
	}
	for _, tag := range d.Source.Tags {
		if s := slugify(tag); s != "" && !slices.Contains(out, topic{KindTag, s}) {
			out = append(out, topic{KindTag, s})
		}
	}
	return out
}

// pusher delivers each new digest version to the webhooks and the WebSub
// hub, from the durable consumer the replicas share.
type pusher struct {
	s      *Service
	hooks  []Webhook
	hubURL string
	client *http.Client
	// backoff is the first pause between quick retries; reviewPoll is how
	// soon a draft is looked at again in review mode.
	backoff, reviewPoll time.Duration
	// busTimeout bounds one request to JetStream (busTryTimeout); keepAlive
	// is how often a message in hand is reported in progress (a quarter of
	// the consumer's AckWait).
	busTimeout, keepAlive time.Duration
	// busWait is the first pause between tries of a request to JetStream.
	busWait time.Duration

	// mu guards last: per digest id, closed when the newest handling of
	// that digest taken so far is done, so versions go out in order.
	mu   sync.Mutex
	last map[string]chan struct{}

	deliveries *prometheus.CounterVec
	failures   *prometheus.CounterVec
}

func newPusher(s *Service, hooks []Webhook, hubURL string, client *http.Client) (*pusher, error) {
	for i := range hooks {
		if err := hooks[i].check(); err != nil {
			return nil, fmt.Errorf("webhook %q: %w", hooks[i].Name, err)
		}
	}
	return &pusher{
		s: s, hooks: hooks, hubURL: hubURL, client: client,
		backoff: time.Second, reviewPoll: 5 * time.Second,
		busTimeout: busTryTimeout, keepAlive: pushKeepAlive, busWait: 100 * time.Millisecond,
		last: map[string]chan struct{}{},
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bantin_publish_deliveries_total",
			Help: "Pushes delivered, by kind (webhook, websub).",
		}, []string{"kind"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bantin_publish_delivery_failures_total",
			Help: "Failed push attempts, by kind (webhook, websub).",
		}, []string{"kind"}),
	}, nil
}

// pushConsumerConfig is the durable pull consumer on DIGESTS the
// replicas share for pushes.
func pushConsumerConfig(replicas int) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       ConsumerPush,
		Description:   "bantin publish: webhooks and WebSub, once per digest version",
		FilterSubject: model.SubjectDigestPrefix + ">",
		// A new deployment pushes what comes next, not the whole history.
		DeliverPolicy: jetstream.DeliverNewPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       pushAckWait,
		MaxAckPending: 64,
		Replicas:      replicas,
	}
}

// run pulls from the push consumer, as many digests as there are free
// handlers, until ctx is done; in-flight pushes finish first.
func (p *pusher) run(ctx context.Context) error {
	b := p.s.bus
	kv, err := b.JS.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      BucketDeliveries,
		Description: "bantin pushes done: subscriber and digest version",
		Storage:     jetstream.FileStorage,
		Replicas:    b.Topology.Replicas,
		TTL:         90 * 24 * time.Hour,
	})
	if err != nil {
		return fmt.Errorf("creating key-value bucket %s: %w", BucketDeliveries, err)
	}
	// An operator's AckWait, MaxAckPending or MaxDeliver on the consumer
	// is kept.
	cons, err := b.EnsureConsumer(ctx, model.StreamDigests, pushConsumerConfig(b.Topology.Replicas),
		jetstream.ConsumerConfig{AckWait: earlierPushAckWait})
	if err != nil {
		return err
	}
	if aw := cons.CachedInfo().Config.AckWait; aw > 0 {
		p.keepAlive = aw / 4 // an operator's AckWait, kept, may be shorter
	}
	p.s.pushReady.Store(true)

	var wg sync.WaitGroup
	defer wg.Wait()
	// Versions of one digest are pushed in stream order: queue runs in
	// arrival order, before the push's goroutine starts.
	bus.Puller{Consumer: cons, Handlers: pushConcurrency, Wait: pushPullWait,
		Name: model.StreamDigests + "/" + ConsumerPush, Log: p.s.log}.
		Run(ctx, &wg, func(msg jetstream.Msg) func() {
			done, prev := p.queue(msg)
			return func() {
				defer p.finish(msg, done)
				p.handle(ctx, kv, msg, prev)
			}
		})
	return nil
}

// digestID is the id in a digest message, "" when it has none.
func digestID(msg jetstream.Msg) string {
	var d struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(msg.Data(), &d)
	return d.ID
}

// queue puts msg behind the handling of any earlier message of the same
// digest taken by this replica (an earlier version, or this very one
// redelivered while still in hand): done is closed when msg's handling
// ends, prev (nil if none) when the one before ends.
func (p *pusher) queue(msg jetstream.Msg) (done, prev chan struct{}) {
	id := digestID(msg)
	done = make(chan struct{})
	p.mu.Lock()
	defer p.mu.Unlock()
	prev = p.last[id]
	p.last[id] = done
	return done, prev
}

// finish ends msg's turn in its digest's queue.
func (p *pusher) finish(msg jetstream.Msg, done chan struct{}) {
	id := digestID(msg)
	p.mu.Lock()
	if p.last[id] == done {
		delete(p.last, id)
	}
	p.mu.Unlock()
	close(done)
}

// handle pushes one digest version to every subscriber that wants it,
// once its digest's earlier message (prev) is done; the message is kept in
// progress throughout.
func (p *pusher) handle(ctx context.Context, kv jetstream.KeyValue, msg jetstream.Msg, prev chan struct{}) {
	log := p.s.log
	stop := p.keepInProgress(msg)
	defer stop()
	if prev != nil {
		<-prev
	}
	var d model.Digest
	if err := json.Unmarshal(msg.Data(), &d); err != nil || d.ID == "" {
		_ = msg.Term()
		return
	}
	meta, _ := msg.Metadata()
	if p.s.cfg.Review {
		if !p.s.reviewCaughtUp.Load() {
			_ = msg.NakWithDelay(p.reviewPoll)
			return
		}
		rec, ok := p.s.index.Review(d.ID)
		switch {
		case !ok:
			_ = msg.NakWithDelay(p.reviewPoll) // still a draft
			return
		case rec.Status != ReviewApproved || d.Version < rec.Version:
			p.ack(context.WithoutCancel(ctx), msg, &d) // rejected, or superseded by an editor's version
			return
		}
	}
	// Work that started finishes even during shutdown, so that what was
	// delivered is recorded.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	var failed []string
	busFailed := false
	note := func(sub string, err error) {
		failed = append(failed, sub)
		var be *busError
		busFailed = busFailed || errors.As(err, &be)
	}
	for i := range p.hooks {
		h := &p.hooks[i]
		if !h.wants(&d) {
			continue
		}
		if err := p.once(wctx, kv, "webhook."+keyToken(h.Name), &d, func() error { return p.deliverWebhook(wctx, h, &d) }); err != nil {
			note(h.Name, err)
			log.Warn("webhook delivery failed", "webhook", h.Name, "digest", d.ID, "err", err)
		}
	}
	if p.hubURL != "" {
		if err := p.once(wctx, kv, "websub", &d, func() error { return p.pingHub(wctx, &d) }); err != nil {
			note("websub", err)
			log.Warn("websub delivery failed", "hub", p.hubURL, "digest", d.ID, "err", err)
		}
	}
	if len(failed) == 0 {
		p.ack(wctx, msg, &d)
		return
	}
	n := 1
	if meta != nil {
		n = int(meta.NumDelivered)
	}
	if busFailed {
		// NATS, not a subscriber, failed: try again soon, and never
		// dead-letter a digest for it.
		_ = msg.NakWithDelay(min(time.Second<<min(n, 5), 30*time.Second))
		return
	}
	if n >= maxPushDeliveries {
		_ = p.s.bus.PublishDead(wctx, model.DeadLetter{
			Stage: "publish", Reason: "delivery_failed", ReportID: d.ReportID, Name: d.Title, Source: d.Source, Attempts: n,
			Error: fmt.Sprintf("pushing digest %s v%d failed %d times for %s; check the subscribers' URLs and logs", d.ID, d.Version, n, strings.Join(failed, ", ")),
		})
		_ = msg.Term()
		return
	}
	_ = msg.NakWithDelay(min(10*time.Second<<min(n, 6), 10*time.Minute))
}

// keepInProgress reports msg in progress every keepAlive until stop is
// called, so that a slow delivery or a wait behind another version of the
// digest does not outlast the consumer's short AckWait.
func (p *pusher) keepInProgress(msg jetstream.Msg) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(p.keepAlive)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				_ = msg.InProgress()
			}
		}
	}()
	return func() { close(quit); <-done }
}

// ack acknowledges msg and waits for JetStream to confirm it, asking again
// when the confirmation does not come (a consumer leader lost with its
// node): an ack lost there would have the digest delivered again after
// AckWait (not pushed again: its deliveries are recorded).
func (p *pusher) ack(ctx context.Context, msg jetstream.Msg, d *model.Digest) {
	err := p.retryBus(ctx, func(ctx context.Context) error {
		err := msg.DoubleAck(ctx)
		if errors.Is(err, jetstream.ErrMsgAlreadyAckd) {
			return nil
		}
		return err
	})
	if err != nil {
		p.s.log.Warn("acking a pushed digest; it will come again and be recognised as pushed", "digest", d.ID, "version", d.Version, "err", err)
	}
}

// busError is a delivery-record read or write that failed after retries:
// NATS, not the subscriber, is at fault.
type busError struct{ err error }

func (e *busError) Error() string { return e.err.Error() }
func (e *busError) Unwrap() error { return e.err }

// retryBus runs try with a busTimeout deadline of its own, again while it
// fails and ctx lasts, up to busTries times, waiting busWait (100 ms),
// then twice as long each time up to 20 × busWait: a request lost while JetStream elects a new
// leader costs a try, not the whole handling.
func (p *pusher) retryBus(ctx context.Context, try func(context.Context) error) error {
	wait := p.busWait
	for attempt := 1; ; attempt++ {
		tctx, cancel := context.WithTimeout(ctx, p.busTimeout)
		err := try(tctx)
		cancel()
		if err == nil || attempt >= busTries || ctx.Err() != nil || errors.Is(err, nats.ErrConnectionClosed) {
			if err != nil && attempt > 1 {
				err = fmt.Errorf("after %d tries: %w", attempt, err)
			}
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (after %d tries: %w)", ctx.Err(), attempt, err)
		case <-t.C:
		}
		wait = min(2*wait, 20*p.busWait)
	}
}

// once runs deliver unless the delivery of d's version to sub is recorded,
// with quick retries, and records it when it succeeds.
func (p *pusher) once(ctx context.Context, kv jetstream.KeyValue, sub string, d *model.Digest, deliver func() error) error {
	key := sub + "." + keyToken(d.ID) + ".v" + strconv.Itoa(d.Version)
	recorded := false
	if err := p.retryBus(ctx, func(ctx context.Context) error {
		_, err := kv.Get(ctx, key)
		switch {
		case err == nil:
			recorded = true
		case errors.Is(err, jetstream.ErrKeyNotFound):
		default:
			return err
		}
		return nil
	}); err != nil {
		return &busError{fmt.Errorf("checking delivery record %s in %s: %w", key, BucketDeliveries, err)}
	}
	if recorded {
		return nil
	}
	kind, _, _ := strings.Cut(sub, ".")
	var err error
	for attempt := range deliveryAttempts {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(p.backoff << (attempt - 1)):
			}
		}
		if err = deliver(); err == nil {
			break
		}
		p.failures.WithLabelValues(kind).Inc()
	}
	if err != nil {
		return err
	}
	p.deliveries.WithLabelValues(kind).Inc()
	at := []byte(time.Now().UTC().Format(time.RFC3339))
	if err := p.retryBus(ctx, func(ctx context.Context) error {
		_, err := kv.Put(ctx, key, at)
		return err
	}); err != nil {
		return &busError{fmt.Errorf("recording delivery %s in %s (it may be pushed again): %w", key, BucketDeliveries, err)}
	}
	return nil
}

// keyToken makes s safe as part of a KV key.
func keyToken(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// webhookPayload is the generic JSON delivery.
type webhookPayload struct {
	Event     string       `json:"event"`
	Corrected bool         `json:"corrected"`
	URL       string       `json:"url"`
	Digest    model.Digest `json:"digest"`
}

// Sign returns the value of SignatureHeader for body under secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func (p *pusher) deliverWebhook(ctx context.Context, h *Webhook, d *model.Digest) error {
	x := p.s.index
	pageURL := x.pageURL(d.ID)
	x.mu.RLock()
	corrected := x.corrected(d)
	x.mu.RUnlock()
	var payload any
	switch h.Format {
	case "slack", "mattermost":
		payload = map[string]string{"text": slackText(d, pageURL, corrected)}
	case "teams":
		payload = teamsCard(d, pageURL, corrected)
	default:
		event := "digest.published"
		if corrected {
			event = "digest.corrected"
		}
		payload = webhookPayload{Event: event, Corrected: corrected, URL: pageURL, Digest: *d}
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("encoding webhook payload: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("building webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "bantin-publish")
	req.Header.Set("X-Bantin-Delivery", d.ID+".v"+strconv.Itoa(d.Version))
	if h.Secret != "" {
		req.Header.Set(SignatureHeader, Sign(h.Secret, body))
	}
	return p.do(req)
}

func (p *pusher) do(req *http.Request) error {
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("posting to %s: %w", req.URL.Redacted(), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("posting to %s: %s", req.URL.Redacted(), resp.Status)
	}
	return nil
}

// mrkdwnEscape escapes what Slack and Mattermost treat as markup.
func mrkdwnEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func slackText(d *model.Digest, pageURL string, corrected bool) string {
	var b strings.Builder
	if corrected {
		b.WriteString("*Đính chính* ")
	}
	fmt.Fprintf(&b, "*<%s|%s>*\n%s", pageURL, mrkdwnEscape(d.Title), mrkdwnEscape(d.Summary))
	for _, bl := range d.Bullets {
		b.WriteString("\n• " + mrkdwnEscape(bl.Text))
		if bl.Page > 0 {
			fmt.Fprintf(&b, " (tr. %d)", bl.Page)
		}
	}
	if u := webURL(d.Source.ArticleURL); u != "" {
		fmt.Fprintf(&b, "\n<%s|Bài gốc>", u)
	}
	return b.String()
}

func teamsCard(d *model.Digest, pageURL string, corrected bool) map[string]any {
	title := d.Title
	if corrected {
		title = "Đính chính: " + title
	}
	var text strings.Builder
	text.WriteString(mrkdwnEscape(d.Summary))
	for _, bl := range d.Bullets {
		text.WriteString("\n\n- " + mrkdwnEscape(bl.Text))
	}
	return map[string]any{
		"@type":    "MessageCard",
		"@context": "https://schema.org/extensions",
		"summary":  title,
		"title":    mrkdwnEscape(title),
		"text":     text.String(),
		"potentialAction": []any{map[string]any{
			"@type": "OpenUri", "name": "Xem bản tin",
			"targets": []any{map[string]string{"os": "default", "uri": pageURL}},
		}},
	}
}

// feedURLsOf are the feeds that change with d, in every format.
func (x *Index) feedURLsOf(d *model.Digest) []string {
	ts := append([]topic{{Kind: KindAll}, {Kind: KindDaily}}, digestTopics(d)...)
	var out []string
	for _, t := range ts {
		for _, ext := range []string{"atom", "rss", "json"} {
			out = append(out, x.baseURL+t.feedPath(ext))
		}
	}
	return out
}

// pingHub tells the hub which feeds changed (the publish ping most hubs
// take), or with the built-in hub delivers them to its subscribers.
func (p *pusher) pingHub(ctx context.Context, d *model.Digest) error {
	if err := p.waitIndexed(ctx, d); err != nil {
		return err
	}
	topics := p.s.index.feedURLsOf(d)
	if p.s.hub != nil {
		return p.s.hub.distribute(ctx, topics)
	}
	for _, t := range topics {
		form := url.Values{"hub.mode": {"publish"}, "hub.url": {t}}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.hubURL, strings.NewReader(form.Encode()))
		if err != nil {
			return fmt.Errorf("building hub ping: %w", err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if err := p.do(req); err != nil {
			return err
		}
	}
	return nil
}

// waitIndexed waits until this replica's index holds d's version, so that
// what the hub fetches or receives has it.
func (p *pusher) waitIndexed(ctx context.Context, d *model.Digest) error {
	for {
		if v, ok := p.s.index.version(d.ID); ok && v >= d.Version {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("digest %s v%d not in the index yet: %w", d.ID, d.Version, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
