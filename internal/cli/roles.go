package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/bantin/bantin/internal/bus"
	"github.com/bantin/bantin/internal/httpx"
	"github.com/bantin/bantin/services/ingest"
	"github.com/bantin/bantin/services/publish"
	"github.com/bantin/bantin/services/summarize"
)

// options holds every flag of every command; each command registers the
// ones it uses.
type options struct {
	natsURL     string
	natsListen  string
	natsMonitor string
	natsAuth    natsAuthOptions // credentials and TLS (natsauth.go)
	httpAddr    string
	apiRate     float64
	apiBurst    int
	dataDir     string
	baseURL     string
	replicas    int
	concurrency int
	ackWait     time.Duration
	maxDeliver  int

	maxFileSize  int64
	fetchTimeout time.Duration
	parseTimeout time.Duration
	allowPrivate bool // ingest: turn off the SSRF guard

	ingestRole ingestRoleOptions // ingest role: --sources, --watch (sources.go)

	format string // digest: text or json

	llm llmOptions // summariser choice and LLM backend (llm.go)

	isolation isolationOptions // parsing in a child process (extractchild.go)
	ocr       ocrOptions       // OCR role (ocr.go)

	review       bool   // publish: hold digests for editors
	websubHub    string // publish: external WebSub hub to ping
	builtinHub   bool   // publish: serve a WebSub hub at /websub
	webhooksFile string // publish: JSON list of webhook subscriptions
	// publish: memory bounds of the index and the rendered outputs, and
	// how often the index follows DIGESTS' retention.
	cacheDigests     int
	outputCacheBytes int64
	retentionCheck   time.Duration

	logFormat, logLevel string
	log                 *slog.Logger
	stdout, stderr      io.Writer
}

func natsFlags(fs *flag.FlagSet, o *options, embedded bool) {
	if embedded {
		fs.StringVar(&o.natsURL, "nats", "", "NATS server URL; empty starts an embedded nats-server with JetStream under --data")
		fs.StringVar(&o.natsListen, "nats-listen", "127.0.0.1:4222", "client address of the embedded nats-server, for `bantin submit` and other processes (port 0 picks one)")
		fs.StringVar(&o.natsMonitor, "nats-monitor", "", "monitoring address of the embedded nats-server (/varz, /jsz), e.g. 127.0.0.1:8222; empty disables it")
	} else {
		fs.StringVar(&o.natsURL, "nats", "nats://127.0.0.1:4222", "NATS server URL (a JetStream-enabled server or cluster)")
	}
	natsAuthFlags(fs, o)
	fs.IntVar(&o.replicas, "replicas", 1, "replicas of bantin's streams, buckets and consumers (3 on a JetStream cluster)")
}

func httpFlags(fs *flag.FlagSet, o *options) {
	fs.StringVar(&o.httpAddr, "http", "127.0.0.1:8080", "HTTP listen address for the API, feeds, pages, /healthz, /readyz and /metrics")
	fs.StringVar(&o.baseURL, "base-url", "", "absolute URL readers reach the feeds at, used in feed links (default http://<--http>)")
	fs.Float64Var(&o.apiRate, "api-rate", httpx.DefaultRate, "POST /api/* and editor sign-ins allowed per second per client IP after --api-burst (429 with Retry-After beyond); negative turns the limit off. POST /api/* needs \"Authorization: Bearer <token>\" when BANTIN_API_TOKEN or BANTIN_API_TOKEN_FILE is set")
	fs.IntVar(&o.apiBurst, "api-burst", httpx.DefaultBurst, "POST /api/* and editor sign-ins a client IP may send at once")
}

func ingestFlags(fs *flag.FlagSet, o *options) {
	fs.Int64Var(&o.maxFileSize, "max-file-size", ingest.DefaultMaxFileSize, "largest attachment or upload accepted, in bytes")
	fs.DurationVar(&o.fetchTimeout, "fetch-timeout", ingest.DefaultFetchTimeout, "timeout of one download")
	fs.DurationVar(&o.parseTimeout, "parse-timeout", ingest.DefaultParseTimeout, "timeout of extracting the text of one document")
	isolationFlags(fs, o)
	fs.BoolVar(&o.allowPrivate, "allow-private-networks", false, "fetch from loopback, private, link-local and metadata addresses too (tests, intranets); off, such URLs and redirects to them are refused")
}

func summarizeFlags(fs *flag.FlagSet, o *options) {
	fs.IntVar(&o.concurrency, "concurrency", 2, "reports one summarize worker handles at once")
	fs.DurationVar(&o.ackWait, "ack-wait", bus.DefaultAckWait, "how long a worker may hold a report before JetStream redelivers it")
	fs.IntVar(&o.maxDeliver, "max-deliver", bus.DefaultMaxDeliver, "deliveries of one report before it is dead-lettered")
	llmFlags(fs, o)
}

func publishFlags(fs *flag.FlagSet, o *options) {
	fs.BoolVar(&o.review, "review", false, "hold digests as drafts until an editor approves them at /review (token from BANTIN_EDITOR_TOKEN or BANTIN_EDITOR_TOKEN_FILE)")
	fs.StringVar(&o.websubHub, "websub-hub", "", "WebSub hub URL that feeds advertise and that is pinged on every change")
	fs.BoolVar(&o.builtinHub, "websub-builtin-hub", false, "serve a WebSub hub at /websub that verifies subscribers and delivers signed content")
	fs.IntVar(&o.cacheDigests, "cache-digests", 0, "full digests publish keeps in memory, least recently used out first; the others are read again from DIGESTS when a page needs them (0: 50 × the feed size + 500)")
	fs.Int64Var(&o.outputCacheBytes, "output-cache-bytes", publish.DefaultOutputCacheBytes, "bytes of rendered topic feeds and pages publish keeps for conditional GET, least recently used out first")
	fs.DurationVar(&o.retentionCheck, "retention-check", publish.DefaultRetentionCheck, "how often publish drops from its index the digests DIGESTS no longer holds (after the MaxAge, MaxMsgs or MaxBytes an operator set on it)")
	fs.StringVar(&o.webhooksFile, "webhooks-file", "", "JSON file of webhook subscriptions [{name, url, format: json|slack|mattermost|teams, topics, sites, secret_env, secret_file}]; default secret from BANTIN_WEBHOOK_SECRET")
}

// publishConfig builds the publish role's settings; secrets come from the
// environment or files only.
func (o *options) publishConfig(baseURL string) (publish.Config, error) {
	cfg := publish.Config{BaseURL: baseURL, Review: o.review, WebSubHub: o.websubHub, BuiltinHub: o.builtinHub,
		CacheSize: o.cacheDigests, OutputCacheBytes: o.outputCacheBytes, RetentionCheck: o.retentionCheck}
	if o.review {
		tok, err := secretFromEnv("BANTIN_EDITOR_TOKEN")
		if err != nil {
			return cfg, err
		}
		cfg.EditorToken = tok
	}
	if o.webhooksFile != "" {
		hooks, err := publish.LoadWebhooks(o.webhooksFile, os.Getenv)
		if err != nil {
			return cfg, err
		}
		cfg.Webhooks = hooks
	}
	return cfg, nil
}

// secretFromEnv reads a secret from the variable name, or from the file
// named by name_FILE (as a Kubernetes Secret is mounted).
func secretFromEnv(name string) (string, error) {
	if v := os.Getenv(name); v != "" {
		return v, nil
	}
	if path := os.Getenv(name + "_FILE"); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("reading %s_FILE: %w", name, err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	return "", fmt.Errorf("set %s or %s_FILE", name, name)
}

func dataFlag(fs *flag.FlagSet, o *options, def string) {
	fs.StringVar(&o.dataDir, "data", def, "data directory (embedded NATS JetStream files live in <data>/nats)")
}

func (o *options) ingestConfig() ingest.Config {
	cfg := ingest.Config{MaxFileSize: o.maxFileSize, FetchTimeout: o.fetchTimeout, ParseTimeout: o.parseTimeout, AllowPrivateNetworks: o.allowPrivate}
	cfg.Isolation = o.isolation.config()
	return cfg
}

func (o *options) topology() bus.Topology {
	return bus.Topology{Replicas: o.replicas, AckWait: o.ackWait, MaxDeliver: o.maxDeliver}
}

// roles says which services a process runs.
type roles struct{ ingest, ocr, summarize, publish bool }

// stack is a running set of roles in one process.
type stack struct {
	bus      *bus.Bus
	ingest   *ingest.Service
	publish  *publish.Service
	httpAddr string // the address actually bound
	baseURL  string
	natsURL  string
}

// runRoles starts the embedded NATS server when no --nats URL is given and
// embedded is allowed, connects, starts the chosen roles and one HTTP
// server, calls after (if any) once everything listens, and on ctx's end
// shuts down in reverse order: roles drain, the connection drains, the
// embedded server stops.
func runRoles(ctx context.Context, o *options, rs roles, embedded bool, after func(ctx context.Context, st *stack) error) (err error) {
	log := o.log
	var teardown []func() error
	defer func() {
		for i := len(teardown) - 1; i >= 0; i-- {
			err = errors.Join(err, teardown[i]())
		}
	}()

	natsURL := o.natsURL
	if natsURL == "" {
		if !embedded {
			return errors.New("--nats is required for this role (e.g. --nats nats://nats:4222)")
		}
		ns, err := startEmbedded(o)
		if err != nil {
			return err
		}
		teardown = append(teardown, func() error { ns.Shutdown(); ns.WaitForShutdown(); return nil })
		natsURL = ns.ClientURL()
	}
	connect := o.connect
	if o.natsURL == "" {
		// The embedded server has no credentials to give.
		connect = func(ctx context.Context, url, name string) (*bus.Bus, error) {
			return bus.Connect(ctx, url, name, o.topology(), log)
		}
	}
	b, err := connect(ctx, natsURL, "bantin")
	if err != nil {
		return err
	}
	teardown = append(teardown, b.Close)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	srv := httpx.New(o.httpAddr, reg, log)
	guard := httpx.Guard{Rate: o.apiRate, Burst: o.apiBurst}
	if os.Getenv("BANTIN_API_TOKEN") != "" || os.Getenv("BANTIN_API_TOKEN_FILE") != "" {
		if guard.APIToken, err = secretFromEnv("BANTIN_API_TOKEN"); err != nil {
			return err
		}
		if guard.APIToken == "" {
			return errors.New("BANTIN_API_TOKEN_FILE is empty: put the API token in it, or unset it to leave POST /api/* without a token")
		}
	}
	srv.SetGuard(guard)
	addr, err := srv.Listen()
	if err != nil {
		return err
	}
	baseURL := o.baseURL
	if baseURL == "" {
		baseURL = "http://" + addr
	}
	srv.AddReadiness("nats", b.Ready)
	st := &stack{bus: b, httpAddr: addr, baseURL: baseURL, natsURL: natsURL}

	var runners []func(context.Context) error
	if rs.ingest {
		icfg, err := o.ingestRoleConfig()
		if err != nil {
			return err
		}
		s, err := ingest.New(icfg, ingest.Deps{Bus: b, Log: log, Registry: reg})
		if err != nil {
			return err
		}
		s.Register(srv.Mux)
		st.ingest = s
		runners = append(runners, s.Run)
	}
	if rs.ocr {
		run, err := o.startOCR(b, reg, srv)
		if err != nil {
			return err
		}
		runners = append(runners, run)
	}
	if rs.summarize {
		sum, err := o.newSummarizer(ctx, b, reg)
		if err != nil {
			return err
		}
		s, err := summarize.New(summarize.Config{Concurrency: o.concurrency}, summarize.Deps{
			Bus: b, Summarizer: sum, Log: log, Registry: reg,
		})
		if err != nil {
			return err
		}
		srv.AddReadiness("summarize", s.Ready)
		runners = append(runners, s.Run)
	}
	if rs.publish {
		cfg, err := o.publishConfig(baseURL)
		if err != nil {
			return err
		}
		s, err := publish.New(cfg, publish.Deps{Bus: b, Log: log, Registry: reg})
		if err != nil {
			return err
		}
		s.Register(srv.Mux)
		srv.AddReadiness("publish", s.Ready)
		st.publish = s
		runners = append(runners, s.Run)
	}
	runners = append(runners, srv.Run)
	if after != nil {
		runners = append(runners, func(ctx context.Context) error { return after(ctx, st) })
	}
	return runAll(ctx, runners)
}

// runAll runs fns until ctx is done or one fails, then cancels the rest and
// waits for all of them.
func runAll(ctx context.Context, fns []func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := fn(ctx)
			if errors.Is(err, errStop) {
				cancel()
				return
			}
			if err != nil && !errors.Is(err, context.Canceled) {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				cancel()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func startEmbedded(o *options) (*server.Server, error) {
	dir := filepath.Join(o.dataDir, "nats")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("creating data directory: %w", err)
	}
	listen := o.natsListen
	if listen != "" {
		// Say clearly when the default port is taken, e.g. by a second bantin.
		if ln, err := net.Listen("tcp", listen); err != nil {
			return nil, fmt.Errorf("embedded NATS cannot listen on %s: %w (another bantin or nats-server running? pass --nats-listen 127.0.0.1:0 or --nats URL)", listen, err)
		} else {
			ln.Close()
		}
	}
	return bus.StartEmbedded(bus.EmbeddedOptions{StoreDir: dir, Listen: listen, MonitorListen: o.natsMonitor}, o.log)
}

func allCommand() *command {
	return &command{
		name:  "all",
		short: "Run every role in one process: one machine in production.",
		long: "Starts an embedded nats-server with JetStream on file storage under --data (or uses --nats URL),\n" +
			"then ingest, ocr, summarize and publish. Digests survive restarts with the same --data.",
		flags: func(fs *flag.FlagSet, o *options) {
			natsFlags(fs, o, true)
			httpFlags(fs, o)
			dataFlag(fs, o, "data")
			ingestFlags(fs, o)
			ingestRoleFlags(fs, o)
			ocrFlags(fs, o)
			summarizeFlags(fs, o)
			publishFlags(fs, o)
		},
		run: func(ctx context.Context, o *options, args []string) error {
			if len(args) > 0 {
				return errUsage
			}
			return runRoles(ctx, o, roles{ingest: true, ocr: true, summarize: true, publish: true}, true, func(ctx context.Context, st *stack) error {
				fmt.Fprintf(o.stdout, "bantin is running: feeds at %s/feeds/all.atom, API at %s/api/, NATS at %s\n", st.baseURL, st.baseURL, st.natsURL)
				return nil
			})
		},
	}
}

func roleCommand(name, short, long string) *command {
	rs := roles{ingest: name == "ingest", summarize: name == "summarize", publish: name == "publish"}
	return &command{
		name: name, short: short, long: long,
		flags: func(fs *flag.FlagSet, o *options) {
			natsFlags(fs, o, false)
			httpFlags(fs, o)
			if rs.ingest {
				ingestFlags(fs, o)
				ingestRoleFlags(fs, o)
			}
			if rs.summarize {
				summarizeFlags(fs, o)
			}
			if rs.publish {
				publishFlags(fs, o)
			}
		},
		run: func(ctx context.Context, o *options, args []string) error {
			if len(args) > 0 {
				return errUsage
			}
			return runRoles(ctx, o, rs, false, nil)
		},
	}
}
