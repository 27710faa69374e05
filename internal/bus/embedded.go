package bus

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// EmbeddedOptions configures an in-process nats-server.
type EmbeddedOptions struct {
	// StoreDir is where JetStream keeps its files; it survives restarts.
	StoreDir string
	// Listen is host:port for clients; port 0 picks a free one, "" means
	// 127.0.0.1:0. Other bantin processes (bantin submit) connect here.
	Listen string
	// MonitorListen, when set, serves the monitoring endpoints (/varz, /jsz).
	MonitorListen string
}

// StartEmbedded starts a nats-server with JetStream on file storage and
// waits until it accepts connections. Call Shutdown on the result.
func StartEmbedded(opts EmbeddedOptions, log *slog.Logger) (*server.Server, error) {
	host, port, err := splitListen(opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("parsing embedded NATS address %q: %w", opts.Listen, err)
	}
	sopts := &server.Options{
		ServerName: "bantin-embedded",
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   opts.StoreDir,
		NoSigs:     true,
		// The default 1 MiB max payload is kept; large texts go to the object store.
	}
	if port == 0 {
		sopts.Port = server.RANDOM_PORT
	}
	if opts.MonitorListen != "" {
		mh, mp, err := splitListen(opts.MonitorListen)
		if err != nil {
			return nil, fmt.Errorf("parsing NATS monitor address %q: %w", opts.MonitorListen, err)
		}
		sopts.HTTPHost, sopts.HTTPPort = mh, mp
	}
	s, err := server.NewServer(sopts)
	if err != nil {
		return nil, fmt.Errorf("configuring embedded NATS: %w", err)
	}
	s.SetLoggerV2(slogAdapter{log.With("component", "nats-server")}, false, false, false)
	go s.Start()
	if !s.ReadyForConnections(15 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("embedded NATS did not start listening on %s:%d within 15s (is the port taken? pass --nats-listen 127.0.0.1:0)", host, port)
	}
	log.Info("embedded nats-server started", "url", s.ClientURL(), "store", opts.StoreDir)
	return s, nil
}

func splitListen(addr string) (string, int, error) {
	if addr == "" {
		return "127.0.0.1", 0, nil
	}
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, fmt.Errorf("port %q: %w", p, err)
	}
	if host == "" {
		host = "0.0.0.0"
	}
	return host, port, nil
}

// slogAdapter routes nats-server's log lines into slog.
type slogAdapter struct{ log *slog.Logger }

func (a slogAdapter) Noticef(format string, v ...any) { a.log.Debug(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Warnf(format string, v ...any)   { a.log.Warn(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Fatalf(format string, v ...any)  { a.log.Error(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Errorf(format string, v ...any)  { a.log.Error(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Debugf(format string, v ...any)  { a.log.Debug(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Tracef(format string, v ...any)  {}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
