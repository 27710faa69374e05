package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// ConnectOptions say how to reach and authenticate to NATS. At most one of
// CredsFile, NKeyFile, User (with Password) and Token may be set; the TLS
// files combine with any of them. Secrets are read from files or handed in
// by the caller from the environment, never from flags, and never logged.
type ConnectOptions struct {
	// Name identifies the client in the server's monitoring ("bantin-ingest").
	Name string
	// CredsFile is a .creds file (user JWT and nkey seed), as `nsc` writes.
	CredsFile string
	// NKeyFile holds an nkey user seed ("SU…").
	NKeyFile string
	// User and Password authenticate with a user name and password.
	User, Password string
	// Token authenticates with a token.
	Token string
	// TLSCA is a PEM file of CAs to trust for the server's certificate;
	// TLSCert and TLSKey a client certificate for mutual TLS.
	TLSCA, TLSCert, TLSKey string
	// ReconnectWait is the pause between reconnect attempts (default 1s).
	ReconnectWait time.Duration
}

// Secrets returns the secret values of o, so that tests and log filters can
// check none of them leaks.
func (o ConnectOptions) Secrets() []string {
	var out []string
	for _, s := range []string{o.Password, o.Token} {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func (o ConnectOptions) check() error {
	n := 0
	for _, set := range []bool{o.CredsFile != "", o.NKeyFile != "", o.User != "" || o.Password != "", o.Token != ""} {
		if set {
			n++
		}
	}
	if n > 1 {
		return errors.New("NATS authentication: give only one of a .creds file, an nkey seed file, user and password, or a token")
	}
	if o.Password != "" && o.User == "" {
		return errors.New("NATS authentication: a password needs --nats-user")
	}
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return errors.New("NATS TLS: --nats-tls-cert and --nats-tls-key go together")
	}
	for _, f := range []string{o.CredsFile, o.NKeyFile, o.TLSCA, o.TLSCert, o.TLSKey} {
		if f == "" {
			continue
		}
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("NATS connection file: %w", err)
		}
	}
	return nil
}

// natsOptions turns o into nats.go options; log receives connection events
// (never credentials: URLs are redacted).
func (o ConnectOptions) natsOptions(log *slog.Logger) ([]nats.Option, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	wait := o.ReconnectWait
	if wait <= 0 {
		wait = time.Second
	}
	opts := []nats.Option{
		nats.Name(o.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(wait),
		// A server restarting under load: buffer publishes while
		// reconnecting instead of failing them (JetStream publishes are
		// also retried by their callers with the same Msg-Id).
		nats.ReconnectBufSize(8 << 20),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "err", redactErr(err, o))
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { log.Info("nats reconnected", "url", c.ConnectedUrlRedacted()) }),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			log.Warn("nats error", "err", redactErr(err, o))
		}),
	}
	switch {
	case o.CredsFile != "":
		opts = append(opts, nats.UserCredentials(o.CredsFile))
	case o.NKeyFile != "":
		opt, err := nats.NkeyOptionFromSeed(o.NKeyFile)
		if err != nil {
			return nil, fmt.Errorf("reading nkey seed file %s: %w (it must hold a user seed starting with SU)", o.NKeyFile, err)
		}
		opts = append(opts, opt)
	case o.User != "":
		opts = append(opts, nats.UserInfo(o.User, o.Password))
	case o.Token != "":
		opts = append(opts, nats.Token(o.Token))
	}
	if o.TLSCA != "" {
		opts = append(opts, nats.RootCAs(o.TLSCA))
	}
	if o.TLSCert != "" {
		opts = append(opts, nats.ClientCert(o.TLSCert, o.TLSKey))
	}
	return opts, nil
}

// redactErr replaces any secret of o in err's text.
func redactErr(err error, o ConnectOptions) string {
	msg := err.Error()
	for _, s := range o.Secrets() {
		msg = strings.ReplaceAll(msg, s, "[redacted]")
	}
	return msg
}

// Dial connects to the NATS server(s) at url (comma-separated for a
// cluster) with o, without touching JetStream.
func Dial(url string, o ConnectOptions, log *slog.Logger) (*nats.Conn, error) {
	if log == nil {
		log = slog.Default()
	}
	opts, err := o.natsOptions(log)
	if err != nil {
		return nil, err
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("connecting to NATS at %s: %s (is the server running, and are the credentials and TLS files right? drop --nats to use the embedded server)", redactURL(url), redactErr(err, o))
	}
	return nc, nil
}

// redactURL drops user information from NATS URLs.
func redactURL(url string) string {
	parts := strings.Split(url, ",")
	for i, p := range parts {
		if at := strings.LastIndex(p, "@"); at >= 0 {
			scheme := ""
			if s := strings.Index(p, "://"); s >= 0 && s < at {
				scheme = p[:s+3]
			}
			parts[i] = scheme + "[redacted]@" + p[at+1:]
		}
	}
	return strings.Join(parts, ",")
}

// ConnectWith dials url with o and returns a Bus after making sure the
// topology exists.
func ConnectWith(ctx context.Context, url string, o ConnectOptions, topo Topology, log *slog.Logger) (*Bus, error) {
	nc, err := Dial(url, o, log)
	if err != nil {
		return nil, err
	}
	b, err := Open(ctx, nc, topo)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return b, nil
}
