package bus

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
)

// startServer runs a nats-server with opts on a random loopback port.
func startServer(t *testing.T, opts *server.Options) *server.Server {
	t.Helper()
	opts.Host, opts.Port, opts.NoSigs, opts.NoLog = "127.0.0.1", server.RANDOM_PORT, true, true
	if opts.JetStream {
		opts.StoreDir = t.TempDir()
	}
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	return s
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// testPKI makes a CA, a server certificate for 127.0.0.1 and a client
// certificate, and returns their PEM files.
func testPKI(t *testing.T) (caFile, serverCert, serverKey, clientCert, clientKey string) {
	t.Helper()
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	pemOf := func(typ string, der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}) }
	keyPEM := func(k *ecdsa.PrivateKey) []byte {
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return pemOf("EC PRIVATE KEY", der)
	}
	caKey := newKey()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bantin test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	issue := func(serial int64, usage x509.ExtKeyUsage) ([]byte, []byte) {
		k := newKey()
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "bantin"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return pemOf("CERTIFICATE", der), keyPEM(k)
	}
	sc, sk := issue(2, x509.ExtKeyUsageServerAuth)
	cc, ck := issue(3, x509.ExtKeyUsageClientAuth)
	return writeFile(t, "ca.pem", pemOf("CERTIFICATE", caDER)), writeFile(t, "server.pem", sc), writeFile(t, "server-key.pem", sk),
		writeFile(t, "client.pem", cc), writeFile(t, "client-key.pem", ck)
}

// operatorServer configures decentralised auth (operator, account, user
// JWTs) and returns the options and a .creds file for the user.
func operatorServer(t *testing.T) (*server.Options, string) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	okp, err := nkeys.CreateOperator()
	must(err)
	opub, _ := okp.PublicKey()
	oc := jwt.NewOperatorClaims(opub)
	ojwt, err := oc.Encode(okp)
	must(err)
	oclaims, err := jwt.DecodeOperatorClaims(ojwt)
	must(err)

	akp, _ := nkeys.CreateAccount()
	apub, _ := akp.PublicKey()
	ac := jwt.NewAccountClaims(apub)
	ajwt, err := ac.Encode(okp)
	must(err)

	ukp, _ := nkeys.CreateUser()
	upub, _ := ukp.PublicKey()
	uc := jwt.NewUserClaims(upub)
	uc.IssuerAccount = apub
	ujwt, err := uc.Encode(akp)
	must(err)
	seed, _ := ukp.Seed()
	creds, err := jwt.FormatUserConfig(ujwt, seed)
	must(err)

	res := &server.MemAccResolver{}
	must(res.Store(apub, ajwt))
	return &server.Options{TrustedOperators: []*jwt.OperatorClaims{oclaims}, AccountResolver: res}, writeFile(t, "user.creds", creds)
}

func TestConnectAuthentication(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	ukp, _ := nkeys.CreateUser()
	upub, _ := ukp.PublicKey()
	useed, _ := ukp.Seed()
	nkeyFile := writeFile(t, "user.nk", useed)
	opOpts, credsFile := operatorServer(t)
	caFile, sCert, sKey, cCert, cKey := testPKI(t)
	tlsServer := func(verify bool) *server.Options {
		tc, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: sCert, KeyFile: sKey, CaFile: caFile, Verify: verify, Timeout: 2})
		if err != nil {
			t.Fatal(err)
		}
		return &server.Options{TLS: true, TLSConfig: tc, TLSVerify: verify, TLSTimeout: 2, JetStream: true}
	}

	tests := []struct {
		name string
		srv  *server.Options
		good ConnectOptions
		bad  ConnectOptions // must be refused
		// topology: also set up JetStream through ConnectWith.
		topology bool
	}{
		{"user and password", &server.Options{Username: "bantin", Password: "s3cret-pw", JetStream: true},
			ConnectOptions{User: "bantin", Password: "s3cret-pw"}, ConnectOptions{User: "bantin", Password: "wrong"}, true},
		{"token", &server.Options{Authorization: "t0ken-value"},
			ConnectOptions{Token: "t0ken-value"}, ConnectOptions{Token: "nope"}, false},
		{"nkey", &server.Options{Nkeys: []*server.NkeyUser{{Nkey: upub}}},
			ConnectOptions{NKeyFile: nkeyFile}, ConnectOptions{}, false},
		{"creds file", opOpts, ConnectOptions{CredsFile: credsFile}, ConnectOptions{}, false},
		{"TLS", tlsServer(false), ConnectOptions{TLSCA: caFile}, ConnectOptions{}, true},
		{"mutual TLS", tlsServer(true), ConnectOptions{TLSCA: caFile, TLSCert: cCert, TLSKey: cKey}, ConnectOptions{TLSCA: caFile}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, tt.srv)
			url := s.ClientURL()
			if tt.srv.TLS {
				url = strings.Replace(url, "nats://", "tls://", 1)
			}
			tt.good.Name, tt.bad.Name = "test", "test"
			tt.good.ReconnectWait, tt.bad.ReconnectWait = 10*time.Millisecond, 10*time.Millisecond
			nc, err := Dial(url, tt.good, log)
			if err != nil {
				t.Fatalf("good credentials refused: %v", err)
			}
			sub, err := nc.SubscribeSync("ping")
			if err != nil {
				t.Fatal(err)
			}
			if err := nc.Publish("ping", []byte("x")); err != nil {
				t.Fatal(err)
			}
			if _, err := sub.NextMsg(2 * time.Second); err != nil {
				t.Fatalf("round trip: %v", err)
			}
			nc.Close()
			if tt.topology {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				b, err := ConnectWith(ctx, url, tt.good, Topology{}, log)
				if err != nil {
					t.Fatalf("setting up JetStream: %v", err)
				}
				b.Close()
			}
			var logBuf bytes.Buffer
			_, err = Dial(url, tt.bad, slog.New(slog.NewTextHandler(&logBuf, nil)))
			if err == nil {
				t.Fatal("bad credentials accepted")
			}
			for _, secret := range append(tt.good.Secrets(), tt.bad.Secrets()...) {
				if strings.Contains(err.Error(), secret) || strings.Contains(logBuf.String(), secret) {
					t.Errorf("secret %q appears in the error or log: %v\n%s", secret, err, logBuf.String())
				}
			}
		})
	}
}

func TestConnectOptionsCheck(t *testing.T) {
	f := writeFile(t, "x", []byte("x"))
	tests := []struct {
		name string
		o    ConnectOptions
		ok   bool
	}{
		{"none", ConnectOptions{}, true},
		{"two methods", ConnectOptions{Token: "a", User: "u", Password: "p"}, false},
		{"password without user", ConnectOptions{Password: "p"}, false},
		{"cert without key", ConnectOptions{TLSCert: f}, false},
		{"missing file", ConnectOptions{CredsFile: filepath.Join(t.TempDir(), "none.creds")}, false},
		{"creds", ConnectOptions{CredsFile: f}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.o.check(); (err == nil) != tt.ok {
				t.Errorf("check() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	got := redactURL("nats://u:pw@a:4222,nats://b:4222")
	if strings.Contains(got, "pw") || !strings.Contains(got, "b:4222") {
		t.Errorf("redactURL = %q", got)
	}
}
