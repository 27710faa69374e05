package cli

import (
	"context"
	"flag"
	"os"

	"github.com/bantin/bantin/internal/bus"
)

// natsAuthOptions are the NATS credentials and TLS files. Passwords and
// tokens come from the environment or a file only (BANTIN_NATS_PASSWORD,
// BANTIN_NATS_TOKEN, or their _FILE twins), never from a flag.
type natsAuthOptions struct {
	creds, nkey, user      string
	tlsCA, tlsCert, tlsKey string
}

func natsAuthFlags(fs *flag.FlagSet, o *options) {
	a := &o.natsAuth
	fs.StringVar(&a.creds, "nats-creds", "", "NATS .creds file (user JWT and nkey seed, as nsc writes it)")
	fs.StringVar(&a.nkey, "nats-nkey", "", "file holding a NATS nkey user seed (SU…)")
	fs.StringVar(&a.user, "nats-user", "", "NATS user name; the password comes from BANTIN_NATS_PASSWORD or BANTIN_NATS_PASSWORD_FILE (a token from BANTIN_NATS_TOKEN or BANTIN_NATS_TOKEN_FILE)")
	fs.StringVar(&a.tlsCA, "nats-tls-ca", "", "PEM file of CAs that sign the NATS server's certificate")
	fs.StringVar(&a.tlsCert, "nats-tls-cert", "", "client certificate (PEM) for NATS mutual TLS; needs --nats-tls-key")
	fs.StringVar(&a.tlsKey, "nats-tls-key", "", "client key (PEM) for NATS mutual TLS")
}

// connectOptions builds the bus connection options for an external server,
// reading secrets from the environment.
func (o *options) connectOptions(name string) (bus.ConnectOptions, error) {
	a := o.natsAuth
	co := bus.ConnectOptions{Name: name, CredsFile: a.creds, NKeyFile: a.nkey, User: a.user,
		TLSCA: a.tlsCA, TLSCert: a.tlsCert, TLSKey: a.tlsKey}
	if a.user != "" {
		pw, err := secretFromEnv("BANTIN_NATS_PASSWORD")
		if err != nil {
			return co, err
		}
		co.Password = pw
	}
	if os.Getenv("BANTIN_NATS_TOKEN") != "" || os.Getenv("BANTIN_NATS_TOKEN_FILE") != "" {
		tok, err := secretFromEnv("BANTIN_NATS_TOKEN")
		if err != nil {
			return co, err
		}
		co.Token = tok
	}
	return co, nil
}

// connect opens the bus at url with the NATS authentication flags.
func (o *options) connect(ctx context.Context, url, name string) (*bus.Bus, error) {
	co, err := o.connectOptions(name)
	if err != nil {
		return nil, err
	}
	return bus.ConnectWith(ctx, url, co, o.topology(), o.log)
}
