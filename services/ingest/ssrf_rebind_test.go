package ingest

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// rebindingDNS is an authoritative DNS server on loopback UDP whose
// answers for a name and type change from one query to the next: the
// n-th A (or AAAA) query of a name gets the n-th address of its list, the
// last one ever after. It counts the queries, as an attacker's server
// would see them.
type rebindingDNS struct {
	conn    net.PacketConn
	mu      sync.Mutex
	answers map[string][]netip.Addr // "name.|A" or "name.|AAAA"
	queries map[string]int
}

func startRebindingDNS(t *testing.T) (*rebindingDNS, *net.Resolver) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &rebindingDNS{conn: pc, answers: map[string][]netip.Addr{}, queries: map[string]int{}}
	go d.serve()
	t.Cleanup(func() { pc.Close() })
	addr := pc.LocalAddr().String()
	return d, &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var dl net.Dialer
		return dl.DialContext(ctx, "udp", addr)
	}}
}

// set makes name answer addrs in turn (A records for IPv4 addresses, AAAA
// for the others) and resets its query counts.
func (d *rebindingDNS) set(name string, addrs ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, typ := range []string{"A", "AAAA"} {
		delete(d.answers, name+".|"+typ)
		d.queries[name+".|"+typ] = 0
	}
	for _, a := range addrs {
		ip := netip.MustParseAddr(a)
		typ := "AAAA"
		if ip.Is4() {
			typ = "A"
		}
		d.answers[name+".|"+typ] = append(d.answers[name+".|"+typ], ip)
	}
}

// count returns the number of A queries for name.
func (d *rebindingDNS) count(name string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.queries[name+".|A"]
}

func (d *rebindingDNS) serve() {
	buf := make([]byte, 1500)
	for {
		n, from, err := d.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		var p dnsmessage.Parser
		h, err := p.Start(buf[:n])
		if err != nil {
			continue
		}
		q, err := p.Question()
		if err != nil {
			continue
		}
		typ := map[dnsmessage.Type]string{dnsmessage.TypeA: "A", dnsmessage.TypeAAAA: "AAAA"}[q.Type]
		key := q.Name.String() + "|" + typ
		d.mu.Lock()
		var ip netip.Addr
		if list := d.answers[key]; len(list) > 0 {
			ip = list[min(d.queries[key], len(list)-1)]
		}
		d.queries[key]++
		d.mu.Unlock()
		b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true})
		_ = b.StartQuestions()
		_ = b.Question(q)
		_ = b.StartAnswers()
		hdr := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 0}
		switch {
		case !ip.IsValid():
		case typ == "A":
			_ = b.AResource(hdr, dnsmessage.AResource{A: ip.As4()})
		case typ == "AAAA":
			_ = b.AAAAResource(hdr, dnsmessage.AAAAResource{AAAA: ip.As16()})
		}
		msg, err := b.Finish()
		if err != nil {
			continue
		}
		_, _ = d.conn.WriteTo(msg, from)
	}
}

// serveOn starts a counting HTTP server on addr ("127.0.0.2:8080").
func serveOn(t *testing.T, addr string, h http.HandlerFunc) (*httptest.Server, *atomic.Int64, error) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	var n atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h(w, r)
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &n, nil
}

// TestFetchRefusesDNSRebinding: a name that answers a public address
// first and a loopback one next is fetched from the public one, then
// refused, whether the second lookup comes from a new fetch or from a
// redirect back to the same name; redirects to names whose records are
// private, IPv6 loopback, link-local, unique-local or IPv4-mapped
// loopback are refused. The guard resolves once per connection and dials
// the address it checked: one lookup per dial, and the internal servers
// (on the same port, 127.0.0.2 and [::1]) get no request. ("Public" is
// 127.0.0.1:port, exempted from the guard as in
// TestFetchRefusesInternalAddresses.)
func TestFetchRefusesDNSRebinding(t *testing.T) {
	dns, resolver := startRebindingDNS(t)
	var port string
	public, publicHits, err := serveOn(t, "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close") // the next request dials, and so resolves, again
		switch {
		case r.URL.Path == "/again":
			http.Redirect(w, r, "http://rebind.test:"+port+"/secret.pdf", http.StatusFound)
		case strings.HasPrefix(r.URL.Path, "/to/"):
			http.Redirect(w, r, "http://"+strings.TrimPrefix(r.URL.Path, "/to/")+":"+port+"/secret.pdf", http.StatusFound)
		default:
			w.Write([]byte("%PDF-1.4 public"))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ = net.SplitHostPort(public.Listener.Addr().String())
	internal := func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("%PDF-1.4 secret")) }
	_, hits2, err := serveOn(t, "127.0.0.2:"+port, internal)
	if err != nil {
		t.Fatalf("listening on 127.0.0.2:%s (the whole of 127/8 is loopback on Linux): %v", port, err)
	}
	hits6 := &atomic.Int64{}
	if _, h, err := serveOn(t, "[::1]:"+port, internal); err == nil {
		hits6 = h
	} else {
		t.Logf("no IPv6 loopback here (%v): the [::1] cases check the refusal only", err)
	}
	newGuarded := func() *fetcher {
		f := newFetcher(Config{FetchTimeout: 2 * time.Second, Resolver: resolver, HostRate: 1000})
		f.dialer.exempt = map[netip.AddrPort]bool{netip.MustParseAddrPort(public.Listener.Addr().String()): true}
		return f
	}
	refused := func(t *testing.T, err error, want string) {
		t.Helper()
		if !errors.Is(err, ErrForbiddenAddress) || !strings.Contains(err.Error(), want) {
			t.Fatalf("err = %v, want ErrForbiddenAddress naming %q", err, want)
		}
	}

	t.Run("public first, loopback on the next lookup", func(t *testing.T) {
		dns.set("rebind.test", "127.0.0.1", "127.0.0.2")
		f := newGuarded()
		got, err := f.get(context.Background(), "http://rebind.test:"+port+"/doc.pdf")
		if err != nil || string(got.Body) != "%PDF-1.4 public" {
			t.Fatalf("first fetch: %v, %v; want the public server's file", got, err)
		}
		_, err = f.get(context.Background(), "http://rebind.test:"+port+"/doc.pdf")
		refused(t, err, "rebind.test: it resolves to 127.0.0.2 (loopback)")
		if n := dns.count("rebind.test"); n != 2 {
			t.Errorf("%d A lookups of rebind.test for 2 connections; want one per connection", n)
		}
	})
	t.Run("redirect back to the name after it flipped", func(t *testing.T) {
		dns.set("rebind.test", "127.0.0.1", "127.0.0.2")
		before := publicHits.Load()
		_, err := newGuarded().get(context.Background(), "http://rebind.test:"+port+"/again")
		refused(t, err, "127.0.0.2 (loopback)")
		if n := dns.count("rebind.test"); n != 2 {
			t.Errorf("%d A lookups of rebind.test for 2 connections; want 2", n)
		}
		if n := publicHits.Load() - before; n != 1 {
			t.Errorf("the public server got %d requests; want the one that redirected", n)
		}
	})
	for _, tt := range []struct{ name, addr, want string }{
		{name: "private", addr: "10.0.0.1", want: "10.0.0.1 (private)"},
		{name: "IPv6 loopback", addr: "::1", want: "::1 (loopback)"},
		{name: "IPv6 link-local", addr: "fe80::1", want: "fe80::1 (link-local)"},
		{name: "IPv6 unique-local", addr: "fc00::1", want: "fc00::1 (private)"},
		{name: "IPv4-mapped loopback", addr: "::ffff:127.0.0.2", want: "127.0.0.2 (loopback)"},
	} {
		t.Run("redirect to a name resolving to "+tt.name, func(t *testing.T) {
			host := strings.NewReplacer(" ", "-", "4", "four", "6", "six").Replace(strings.ToLower(tt.name)) + ".test"
			dns.set(host, tt.addr)
			_, err := newGuarded().get(context.Background(), public.URL+"/to/"+host)
			refused(t, err, tt.want)
		})
	}
	if n := hits2.Load() + hits6.Load(); n != 0 {
		t.Errorf("the internal servers got %d requests; want none", n)
	}
	t.Run("the internal servers answer when the guard is off", func(t *testing.T) {
		// Proves the refusals above were the guard's, not a dead server.
		dns.set("rebind.test", "127.0.0.2")
		f := newFetcher(Config{FetchTimeout: 2 * time.Second, Resolver: resolver, HostRate: 1000, AllowPrivateNetworks: true})
		got, err := f.get(context.Background(), "http://rebind.test:"+port+"/x.pdf")
		if err != nil || string(got.Body) != "%PDF-1.4 secret" || hits2.Load() != 1 {
			t.Fatalf("got %v, %v, %d hits; want the internal file", got, err, hits2.Load())
		}
	})
}
